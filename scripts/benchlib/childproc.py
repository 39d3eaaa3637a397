"""Benchmark children that speak JSON lines, and a sampler of other processes' CPU, RSS and threads.

:class:`JsonChild` runs ``python -m <module> ...`` from ``scripts/`` with stdin and stdout piped and
stderr to a file: its first stdout line is a JSON object (e.g. ``{"port": P}``); closing its stdin
asks it to finish, and its last stdout line is a JSON object of final figures.
:class:`ProcessSampler` samples peak RSS and threads of a few pids on a named thread.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import attrs
import psutil

from benchlib.serverproc import REPO

SCRIPTS = REPO / "scripts"


class ChildFailed(Exception):
    """A benchmark child died, printed no JSON, or did not finish in time; the message has its stderr tail."""


def child_env() -> dict[str, str]:
    """The environment of a child: this checkout's ``scripts/`` and root first on the path."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(SCRIPTS), str(REPO)]))


def stderr_tail(path: Path, chars: int = 3000) -> str:
    """The end of a child's stderr file."""
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


class JsonChild:
    """``python -m module *args`` as a context manager; :attr:`first` is its first JSON line."""

    def __init__(self, module: str, args: list[str], stderr_path: Path) -> None:
        self.module = module
        self.args = args
        self.stderr_path = stderr_path
        self.first: dict[str, Any] = {}
        self.proc: subprocess.Popen[str] | None = None
        self._stderr: IO[str] | None = None

    def __enter__(self) -> JsonChild:
        self._stderr = self.stderr_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module, *self.args],
            cwd=SCRIPTS,
            env=child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # blocks until the child is ready (or died)
        try:
            self.first = json.loads(line)
        except json.JSONDecodeError:
            self._kill()
            raise ChildFailed(
                f"{self.module} did not start: {line.strip()!r}\n{stderr_tail(self.stderr_path)}"
            ) from None
        return self

    @property
    def pid(self) -> int:
        """The child's process id."""
        assert self.proc is not None
        return self.proc.pid

    def finish(self, timeout: float) -> dict[str, Any]:
        """Close the child's stdin and return its last JSON line (it must exit 0 within ``timeout`` s)."""
        proc = self.proc
        assert proc is not None
        try:
            out, _ = proc.communicate(timeout=timeout)  # closes stdin first
        except subprocess.TimeoutExpired:
            self._kill()
            raise ChildFailed(
                f"{self.module} did not finish within {timeout:g} s\n{stderr_tail(self.stderr_path)}"
            ) from None
        lines = out.strip().splitlines()
        if proc.returncode != 0 or not lines:
            raise ChildFailed(f"{self.module} exited {proc.returncode}\n{stderr_tail(self.stderr_path)}")
        result: dict[str, Any] = json.loads(lines[-1])
        return result

    def _kill(self) -> None:
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._kill()
        if self.proc is not None:
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream is not None and not stream.closed:
                    stream.close()
        if self._stderr is not None:
            self._stderr.close()


def cpu_of(pid: int) -> float:
    """User + system CPU seconds process ``pid`` has used so far (all its threads)."""
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


@attrs.define
class Peaks:
    """The largest RSS (bytes) and thread count seen for one process."""

    rss: int = 0
    threads: int = 0


class ProcessSampler:
    """A named thread sampling RSS and threads of ``pids`` every ``interval`` s; :meth:`stop` joins it."""

    def __init__(self, pids: dict[str, int], interval: float = 0.25) -> None:
        self.peaks = {name: Peaks() for name in pids}
        self._procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-process-sampler", daemon=True)

    def start(self) -> ProcessSampler:
        """Start sampling."""
        self._thread.start()
        return self

    def stop(self) -> dict[str, Peaks]:
        """Stop, join, and return the peaks by name."""
        self._stop.set()
        self._thread.join()
        return self.peaks

    def _sample(self) -> None:
        for name, proc in self._procs.items():
            try:
                with proc.oneshot():
                    rss, threads = int(proc.memory_info().rss), int(proc.num_threads())
            except psutil.Error:
                continue  # it exited
            peak = self.peaks[name]
            peak.rss, peak.threads = max(peak.rss, rss), max(peak.threads, threads)

    def _run(self) -> None:
        self._sample()
        while not self._stop.wait(self._interval):
            self._sample()
