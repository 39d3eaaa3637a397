"""Compressed recordings (FLAC, Ogg Vorbis, Ogg Opus, MP3, ...) decoded block by block by libsndfile.

`soundfile` is the decoding library: its wheels bundle libsndfile 1.2, which reads all four
codecs, so nothing has to be installed on the system. It is imported only when such a file is
given, so WAV-only runs do not pay for its import.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import attrs

from actors.errors import AudioFileError


@attrs.frozen
class SoundfileInfo:
    """What libsndfile reports about a file: enough to build the Listen query and the progress."""

    sample_rate: int
    channels: int
    frames: int  # 0 when libsndfile cannot tell
    format: str  # e.g. "FLAC", "OGG", "MP3"


def _soundfile() -> Any:
    try:
        import soundfile
    except ImportError:  # pragma: no cover - soundfile is in the cli extra
        return None
    return soundfile


def probe(name: str) -> SoundfileInfo | None:
    """Open ``name`` with libsndfile; None when it is not a format libsndfile reads.

    Raises `AudioFileError` when `soundfile` is not installed.
    """
    soundfile = _soundfile()
    if soundfile is None:  # pragma: no cover - soundfile is in the cli extra
        raise AudioFileError(name, "reading FLAC, Ogg and MP3 needs `pip install soundfile`")
    try:
        info = soundfile.info(name)
    except (RuntimeError, TypeError):  # LibsndfileError is a RuntimeError
        return None
    return SoundfileInfo(int(info.samplerate), int(info.channels), max(0, int(info.frames)), str(info.format))


@attrs.define
class SoundfileSource:
    """Decodes a file to linear16 a block at a time; reopens it for every pass."""

    name: str

    def blocks(self, frames: int) -> Iterator[bytes]:
        """Yield interleaved little-endian 16-bit PCM, ``frames`` sample frames per block."""
        soundfile = _soundfile()
        try:
            with soundfile.SoundFile(self.name) as audio:
                for block in audio.blocks(blocksize=frames, dtype="int16"):
                    if sys.byteorder == "big":  # pragma: no cover - big-endian hosts
                        block = block.byteswap()
                    yield block.tobytes()
        except RuntimeError as exc:  # libsndfile could not decode (a damaged stream)
            raise AudioFileError(self.name, f"cannot decode: {exc}") from None
        except OSError as exc:
            raise AudioFileError(self.name, f"cannot read: {exc.strerror or exc}") from None
