"""Process measurements for a benchmark child: CPU time, RSS and threads, and the audio-lag sampler."""

from __future__ import annotations

import resource
import threading
import time
from collections.abc import Callable, Sequence

import psutil

from benchlib.stats import MillisHistogram


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
