"""Small statistics helpers: percentiles over samples and a compact millisecond histogram."""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0..100, nearest rank) of ``values``; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def median(values: Sequence[float]) -> float | None:
    """The median (nearest rank) of ``values``; None when there are none."""
    return percentile(values, 50)


class MillisHistogram:
    """Counts of durations rounded up to whole milliseconds; thread-safe, O(distinct values) memory.

    Used for audio lag, where there are millions of samples but only a few distinct values.
    """

    def __init__(self) -> None:
        self._counts: Counter[int] = Counter()
        self._lock = threading.Lock()

    def add(self, seconds: float) -> None:
        """Record one duration (negative durations count as 0)."""
        key = max(0, math.ceil(seconds * 1000.0))
        with self._lock:
            self._counts[key] += 1

    def add_many(self, seconds: Iterable[float]) -> None:
        """Record several durations under one lock."""
        keys = [max(0, math.ceil(s * 1000.0)) for s in seconds]
        with self._lock:
            self._counts.update(keys)

    def counts(self) -> dict[int, int]:
        """The histogram as ``{milliseconds: count}`` (e.g. to send it to another process)."""
        with self._lock:
            return dict(self._counts)

    def merge(self, counts: Mapping[int, int]) -> None:
        """Add another histogram's :meth:`counts`."""
        with self._lock:
            self._counts.update({int(k): int(n) for k, n in counts.items()})

    @property
    def count(self) -> int:
        """How many durations were recorded."""
        with self._lock:
            return sum(self._counts.values())

    def percentile_ms(self, q: float) -> int | None:
        """The ``q``-th percentile in milliseconds (nearest rank); None when empty."""
        with self._lock:
            items = sorted(self._counts.items())
        total = sum(n for _, n in items)
        if total == 0:
            return None
        rank = max(1, math.ceil(q / 100.0 * total))
        seen = 0
        for key, n in items:
            seen += n
            if seen >= rank:
                return key
        return items[-1][0]

    def max_ms(self) -> int | None:
        """The largest recorded duration in milliseconds; None when empty."""
        with self._lock:
            return max(self._counts) if self._counts else None


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """The ``q``-quantile (0..1) of a Prometheus histogram, as PromQL's ``histogram_quantile`` does it.

    ``buckets`` are ``(upper bound, cumulative count)`` in order, the last one ``+Inf``. The value is
    interpolated linearly inside the bucket that holds the rank (a bucket's lower bound is the previous
    bound, 0 for the first); a rank in the ``+Inf`` bucket gives the largest finite bound. None when the
    histogram is empty.
    """
    if not buckets or buckets[-1][1] <= 0:
        return None
    total = buckets[-1][1]
    rank = q * total
    lower, below = 0.0, 0.0
    for bound, cumulative in buckets:
        if cumulative >= rank:
            if math.isinf(bound):
                return lower
            inside = cumulative - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, cumulative
    return lower
