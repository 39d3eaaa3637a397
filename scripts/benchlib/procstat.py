"""Process measurements for a benchmark child: CPU time, RSS and threads, and the audio-lag sampler."""

from __future__ import annotations

import re
import resource
import threading
import time
from collections.abc import Callable, Sequence
from typing import ParamSpec

import psutil

from benchlib.stats import MillisHistogram

P = ParamSpec("P")


def cpu_seconds() -> float:
    """User + system CPU seconds used by this process so far (all threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def usage_counters() -> dict[str, float]:
    """User/system CPU seconds and voluntary/involuntary context switches so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "user": usage.ru_utime,
        "system": usage.ru_stime,
        "voluntary_switches": usage.ru_nvcsw,
        "involuntary_switches": usage.ru_nivcsw,
    }


#: A thread's group: its name without the trailing numbers (``actors-read-1`` -> ``actors-read``).
_NUMBERED_TAIL = re.compile(r"([-_]?\d+)+$")


def thread_group(name: str) -> str:
    """The group a thread is counted in: its name without trailing numbers (one per stream or pool)."""
    return _NUMBERED_TAIL.sub("", name) or name


ThreadTimes = dict[int, tuple[str, float, float]]


def thread_times() -> ThreadTimes:
    """User and system CPU seconds of every live thread, by native id, with the thread's group."""
    names = {t.native_id: t.name for t in threading.enumerate() if t.native_id is not None}
    return {
        t.id: (thread_group(names.get(t.id, "unnamed")), t.user_time, t.system_time)
        for t in psutil.Process().threads()
    }


def cpu_by_thread_group(
    before: ThreadTimes, after: ThreadTimes, extra: dict[str, tuple[float, float]] | None = None
) -> dict[str, dict[str, float]]:
    """CPU each thread group used between two :func:`thread_times` readings: ``{group: {"user",
    "system", "threads"}}``, largest first. A thread that ended in between is missing from
    ``after`` (its time is lost), so a driver passes the threads it joined in ``extra`` (group ->
    user, system seconds)."""
    deltas = [(group, user, system) for group, (user, system) in (extra or {}).items()]
    for tid, (group, user, system) in after.items():
        _, user0, system0 = before.get(tid, (group, 0.0, 0.0))
        deltas.append((group, user - user0, system - system0))
    groups: dict[str, dict[str, float]] = {}
    for group, user, system in deltas:
        entry = groups.setdefault(group, {"user": 0.0, "system": 0.0, "threads": 0})
        entry["user"] += user
        entry["system"] += system
        entry["threads"] += 1
    ordered = sorted(groups.items(), key=lambda kv: -(kv[1]["user"] + kv[1]["system"]))
    return {g: {k: round(v, 3) for k, v in e.items()} for g, e in ordered}


def own_thread_cpu() -> tuple[float, float]:
    """The calling thread's user and system CPU seconds so far."""
    usage = resource.getrusage(resource.RUSAGE_THREAD)
    return usage.ru_utime, usage.ru_stime


def counting_cpu(target: Callable[P, None], into: dict[str, tuple[float, float]]) -> Callable[P, None]:
    """``target`` wrapped so that, when it returns or raises, its thread's CPU (user, system seconds)
    is stored in ``into`` under the thread's group: how a driver's pacer, joined before the
    per-thread reading at the end of sending, still gets counted (``extra`` of
    :func:`cpu_by_thread_group`)."""

    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            target(*args, **kwargs)
        finally:
            into[thread_group(threading.current_thread().name)] = own_thread_cpu()

    return run


class ProcessSnapshot:
    """RSS (bytes) and thread count of this process, read now."""

    def __init__(self) -> None:
        proc = psutil.Process()
        self.rss = int(proc.memory_info().rss)
        self.threads = int(proc.num_threads())


class LiveSampler:
    """A named thread that, every ``interval`` s, samples RSS/threads and each stream's audio lag.

    Audio lag of a stream at time t: how late the oldest chunk not yet on the wire is, i.e.
    ``t - due(first unsent chunk)`` (0 when on schedule). ``sent_chunks(i)`` must be cheap: it
    reads a counter the client keeps anyway. Stop it with :meth:`stop` (joins the thread).
    """

    def __init__(
        self,
        starts: Sequence[float],
        chunk_seconds: float,
        total_chunks: int,
        sent_chunks: Callable[[int], int],
        interval: float = 0.1,
    ) -> None:
        self.starts = starts
        self.chunk_seconds = chunk_seconds
        self.total_chunks = total_chunks
        self.sent_chunks = sent_chunks
        self.interval = interval
        self.lag = MillisHistogram()
        self.peak_rss = 0
        self.peak_threads = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)

    def start(self) -> None:
        """Start sampling."""
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling and join the thread."""
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        proc = psutil.Process()
        while not self._stop.wait(self.interval):
            now = time.monotonic()
            lags = []
            for i, start in enumerate(self.starts):
                if now < start:
                    continue
                sent = self.sent_chunks(i)
                if sent >= self.total_chunks:
                    continue
                lags.append(max(0.0, now - (start + sent * self.chunk_seconds)))
            self.lag.add_many(lags)
            self.peak_rss = max(self.peak_rss, int(proc.memory_info().rss))
            self.peak_threads = max(self.peak_threads, int(proc.num_threads()))
