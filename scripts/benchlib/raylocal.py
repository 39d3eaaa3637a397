"""A private single-node Ray cluster for a benchmark run, and the CPU and RSS of Ray's own processes.

`LocalRay` starts Ray in this process (``ray.init``) with everything under a fresh temporary
directory (``RAY_TMPDIR`` and ``_temp_dir``), token auth and usage stats off and Ray's logs kept
out of the output. Every process Ray starts inherits a marker variable naming that directory;
the benchmark's other children (server, one-process client) are started after it is dropped from
this process's environment, so the marker tells Ray's processes from the rest. On exit Ray is shut
down, every process still carrying the marker is killed (a worker can outlive ``ray.shutdown``,
as measured on Ray 2.60) and the directory is removed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Collection
from pathlib import Path
from types import TracebackType

import psutil

#: The environment variable every Ray process of one `LocalRay` carries (its temp directory).
MARKER = "ACTORS_BENCH_RAY_DIR"


class LocalRay:
    """``ray.init(num_cpus=cpus)`` on a private temp dir, as a context manager (see the module docstring).

    ``python_path`` is put first on ``PYTHONPATH`` of Ray's processes, so its workers import the
    same code as this process (e.g. a pool's ``worker_class`` from ``scripts/benchlib``).
    ``worker_niceness`` is the nice value of Ray's worker processes (``RAY_worker_niceness``). Ray's
    own default is 15: its workers would then yield the CPU to every normal process of the machine
    (the benchmark's server and one-process client run at 0), so the default here is 0.
    """

    def __init__(self, cpus: int, python_path: list[str], namespace: str, worker_niceness: int = 0) -> None:
        self.cpus = cpus
        self.worker_niceness = worker_niceness
        self.python_path = python_path
        self.namespace = namespace
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-ray-", dir="/tmp"))  # short: Ray's socket paths

    def __enter__(self) -> LocalRay:
        saved = {k: os.environ.get(k) for k in ("PYTHONPATH", MARKER, "RAY_worker_niceness")}
        os.environ.update(
            {
                "RAY_TMPDIR": str(self.tmp),
                "RAY_AUTH_MODE": "disabled",
                "RAY_USAGE_STATS_ENABLED": "0",
                MARKER: str(self.tmp),
                "RAY_worker_niceness": str(self.worker_niceness),
                "PYTHONPATH": os.pathsep.join([*self.python_path, *filter(None, [saved["PYTHONPATH"]])]),
            }
        )
        import ray

        try:
            ray.init(
                num_cpus=self.cpus,
                include_dashboard=False,
                log_to_driver=False,
                logging_level="WARNING",
                object_store_memory=200 << 20,
                namespace=self.namespace,
                _temp_dir=str(self.tmp),
            )
        except BaseException:
            self._cleanup()
            raise
        finally:  # Ray's processes have it now; the benchmark's other children must not
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        return self

    def processes(self, exclude: Collection[int] = ()) -> list[psutil.Process]:
        """Ray's own processes now (gcs, raylet, agents, idle workers...), but not those in ``exclude``."""
        found = []
        for process in psutil.process_iter(["pid"]):
            if process.pid == os.getpid() or process.pid in exclude:
                continue
            try:
                if process.environ().get(MARKER) == str(self.tmp):
                    found.append(process)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                pass
        return found

    def _cleanup(self) -> None:
        for process in self.processes():
            with contextlib.suppress(psutil.Error):
                process.send_signal(signal.SIGKILL)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        import ray

        try:
            ray.shutdown()
        finally:
            self._cleanup()


class CpuMeter:
    """User + system CPU seconds a set of processes used since it was created (gone ones count what
    they had used when last read)."""

    def __init__(self, processes: list[psutil.Process]) -> None:
        self._processes = processes
        self._start = {p.pid: _cpu(p) for p in processes}
        self._last = dict(self._start)

    def used(self) -> float:
        """CPU seconds used since creation, all the processes together."""
        for process in self._processes:
            value = _cpu(process)
            if value is not None:
                self._last[process.pid] = value
        return sum(
            (self._last[pid] or 0.0) - (self._start[pid] or 0.0)
            for pid in self._start
            if self._start[pid] is not None
        )

    def rss(self) -> int:
        """The processes' RSS now, in bytes, together."""
        total = 0
        for process in self._processes:
            with contextlib.suppress(psutil.Error):
                total += int(process.memory_info().rss)
        return total


def _cpu(process: psutil.Process) -> float | None:
    try:
        times = process.cpu_times()
    except psutil.Error:
        return None
    return float(times.user + times.system)
