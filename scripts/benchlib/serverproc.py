"""The local server in its own process (``python -m actors serve``), for benchmarks."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from types import TracebackType

REPO = Path(__file__).resolve().parents[2]
_URL = re.compile(r"serving on (ws://\S+)")


class ServerProcess:
    """``python -m actors serve --engine deterministic --stamp-send-time`` on a free port.

    Use as a context manager: the URL is read from the server's first line of output; exit sends
    SIGTERM and waits for the process.
    """

    def __init__(self, idle_timeout: float = 30.0) -> None:
        self.idle_timeout = idle_timeout
        self.url = ""
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> ServerProcess:
        cmd = [
            sys.executable, "-m", "actors", "serve", "--port", "0", "--engine", "deterministic",
            "--stamp-send-time", "--idle-timeout", str(self.idle_timeout),
        ]  # fmt: skip
        env = dict(os.environ, PYTHONPATH=str(REPO))
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # blocks until the server printed its URL (or died)
        match = _URL.search(line)
        if match is None:
            self.stop()
            raise RuntimeError(f"the benchmark server did not start: {line.strip()!r}")
        self.url = match.group(1)
        return self

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s) and wait for it."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
