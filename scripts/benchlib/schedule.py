"""The real-time sending schedule shared by both clients' drivers."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TypeVar

import attrs

T = TypeVar("T")

#: Streams are spread over this many phases within one chunk period, like independent calls,
#: so N streams do not all send in the same instant.
PHASES = 4


@attrs.frozen
class Schedule:
    """Chunk ``k`` of stream ``i`` is due at ``starts[i] + k * chunk_seconds`` (monotonic clock)."""

    starts: tuple[float, ...]
    chunk_seconds: float

    @classmethod
    def begin(cls, streams: int, chunk_seconds: float, delay: float = 0.2) -> Schedule:
        """A schedule starting ``delay`` s from now, streams spread over :data:`PHASES` phases."""
        return cls.starting_at(time.monotonic() + delay, streams, chunk_seconds)

    @classmethod
    def starting_at(cls, t0: float, streams: int, chunk_seconds: float) -> Schedule:
        """A schedule whose first phase starts at monotonic time ``t0`` (the monotonic clock is the
        machine's, so processes on one host can share a ``t0``), streams spread over :data:`PHASES`."""
        step = chunk_seconds / PHASES
        return cls(tuple(t0 + (i % PHASES) * step for i in range(streams)), chunk_seconds)

    def due(self, stream: int, chunk: int) -> float:
        """When chunk ``chunk`` of stream ``stream`` is due."""
        return self.starts[stream] + chunk * self.chunk_seconds


def sleep_until(when: float) -> None:
    """Sleep until monotonic time ``when`` (returns at once if it has passed)."""
    delay = when - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def by_phase(streams: Sequence[T]) -> list[tuple[int, Sequence[T]]]:
    """``streams`` (one item a stream, in stream order) cut by phase: ``(first, items)`` per phase,
    ``first`` the phase's first stream (its due times are :meth:`Schedule.due` of ``first``)."""
    return [(first, streams[first::PHASES]) for first in range(min(PHASES, len(streams)))]
