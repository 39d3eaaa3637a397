"""Files that appear under their final name only once complete.

An `AtomicFile` is written under a hidden temporary name in the same directory
(``.NAME.part``); `AtomicFile.commit` flushes, fsyncs and renames it to ``NAME`` with
``os.replace`` (atomic on POSIX and Windows within one file system), then fsyncs the directory
so the rename itself survives a power cut. Until then a reader sees either the previous file or
none, never a half-written one. `AtomicFile.discard` removes the temporary file;
`AtomicFile.keep_as` renames it to another (non-final) name, for partial results.

`write_atomic` does the whole cycle for content that is ready at once.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import BinaryIO

PART_SUFFIX = ".part"


def part_path(path: Path) -> Path:
    """The temporary name `AtomicFile` writes ``path`` under: ``.NAME.part`` beside it."""
    return path.with_name(f".{path.name}{PART_SUFFIX}")


def fsync_directory(directory: Path) -> None:
    """Make renames in ``directory`` durable (a no-op where directories cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a directory; the rename is still atomic
    finally:
        os.close(fd)


class AtomicFile:
    """A binary file written under `part_path` and renamed to its final ``path`` by `commit`.

    Not thread-safe by itself: callers serialise `write` with `commit`/`discard`.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.part = part_path(path)
        self._file: BinaryIO | None = self.part.open("wb")

    @property
    def closed(self) -> bool:
        """True once committed, discarded or kept."""
        return self._file is None

    def write(self, data: bytes) -> None:
        """Append ``data`` and flush it to the OS (a crash of this process then loses nothing)."""
        if self._file is None:
            raise ValueError(f"{self.path}: already closed")
        self._file.write(data)
        self._file.flush()

    def _close(self, sync: bool) -> bool:
        file, self._file = self._file, None
        if file is None:
            return False
        try:
            if sync:
                file.flush()
                os.fsync(file.fileno())
        finally:
            file.close()
        return True

    def commit(self) -> None:
        """Flush, fsync and rename to the final name, replacing any earlier file. Idempotent."""
        if self._close(sync=True):
            os.replace(self.part, self.path)
            fsync_directory(self.path.parent)

    def keep_as(self, path: Path) -> None:
        """Close and rename the temporary file to ``path`` (not the final name). Idempotent."""
        if self._close(sync=True):
            os.replace(self.part, path)

    def discard(self) -> None:
        """Close and remove the temporary file. Idempotent."""
        if self._close(sync=False):
            with contextlib.suppress(FileNotFoundError):
                self.part.unlink()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through `AtomicFile`: readers see the old file or the new one, whole."""
    file = AtomicFile(path)
    try:
        file.write(data)
    except BaseException:
        file.discard()
        raise
    file.commit()
