"""A throwaway PostgreSQL server from Debian's ``postgresql`` package, for the store tests.

Recipe: ``initdb`` and ``pg_ctl`` refuse to run as root, so (as root)
they run as the ``postgres`` user through ``su``, in a temp dir whose parents are o+x; the server
listens on 127.0.0.1 on a free port and on a unix socket in that dir, with trust auth. As a
non-root user they run directly. :meth:`PostgresServer.stop` / :meth:`start` let a test take the
database away and bring it back.
"""

from __future__ import annotations

import glob
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def find_pg_bin() -> Path | None:
    """Debian's PostgreSQL bin dir (newest version), or None when the package is not installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One PostgreSQL cluster in a temp dir; ``url`` connects as ``postgres`` to database ``postgres``."""

    def __init__(self, bin_dir: Path) -> None:
        self._bin = bin_dir
        self._as_root = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="actors-pg-", dir="/tmp"))
        self.root.chmod(0o755)
        self.data = self.root / "data"
        self.port = _free_port()
        if self._as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(f"{self._bin / 'initdb'} -D {self.data} -U postgres -A trust -E UTF8 --no-instructions")

    @property
    def url(self) -> str:
        """``postgresql://`` URL over TCP loopback."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, command: str) -> None:
        argv = ["su", "postgres", "-c", command] if self._as_root else shlex.split(command)
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{command!r} failed ({done.returncode}): {done.stdout}{done.stderr}")

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-k {self.root} -p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            f"{self._bin / 'pg_ctl'} -D {self.data} -l {self.root / 'log'} -w -o {shlex.quote(options)} start"
        )

    def stop(self) -> None:
        """Stop the server and wait for it: a fast shutdown (open connections are cut); when that has
        not finished in 30 s (seen once, with a backend stuck behind a client that stopped reading),
        an immediate one. Raises with the tail of the server's log when neither works."""
        try:
            self._run(f"{self._bin / 'pg_ctl'} -D {self.data} -m fast -w -t 30 stop")
        except RuntimeError:
            if not (self.data / "postmaster.pid").exists():  # it ended after all
                return
            try:
                self._run(f"{self._bin / 'pg_ctl'} -D {self.data} -m immediate -w -t 30 stop")
            except RuntimeError as exc:
                raise RuntimeError(f"{exc}\nserver log (tail):\n{self._log_tail()}") from None

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join((self.root / "log").read_text(errors="replace").splitlines()[-lines:])
        except OSError as exc:
            return f"(no log: {exc})"

    def remove(self) -> None:
        """Delete the cluster's directory (after :meth:`stop`)."""
        shutil.rmtree(self.root, ignore_errors=True)
