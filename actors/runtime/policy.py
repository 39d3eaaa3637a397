"""Restart policy of a supervised stream: when to restart, how long to wait, and when to give up.

Everything here is pure (no threads, no sockets, no clock reads): callers pass ``now`` and a
random source, so the behaviour is exact in tests.

* :class:`Backoff` -- exponential delay with jitter.
* :class:`RestartPolicy` -- ``never`` / ``on_failure`` / ``always`` plus a restart budget
  (``max_restarts`` within ``within`` seconds) and a :class:`Backoff`.
* :class:`RestartWindow` -- the sliding window that enforces the budget (restart intensity).
* :func:`classify_failure` -- fatal (report at once, never retry), retryable or rate limited,
  from the tables of :mod:`actors.runtime.classify`.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable
from typing import Literal

import attrs

from actors.runtime.classify import (
    FATAL_CLOSE_CODES,
    FATAL_STATUSES,
    RATE_LIMITED_STATUS,
    Outcome,
    classify_error,
    is_rate_limited,
)

RestartMode = Literal["never", "on_failure", "always"]

#: Kept for callers of the first version; the tables live in :mod:`actors.runtime.classify`.
FATAL_HTTP_STATUSES = FATAL_STATUSES


def _check_positive(name: str, value: float, *, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {value!r}")


@attrs.frozen
class Backoff:
    """Exponential backoff with jitter: ``initial * multiplier**(attempt-1)`` capped at ``maximum``.

    ``jitter`` is the fraction of the delay that is randomised: 0 gives the exact exponential
    delay, 1 gives "full jitter" (uniform between 0 and the delay), 0.2 (the default) gives a
    delay uniform in ``[0.8 * d, d]``. Jitter spreads the reconnects of many streams that failed
    together (a server restart) so they do not hammer the server in lock step.
    """

    initial: float = 0.1
    maximum: float = 10.0
    multiplier: float = 2.0
    jitter: float = 0.2

    def __attrs_post_init__(self) -> None:
        _check_positive("Backoff.initial", self.initial, allow_zero=True)
        _check_positive("Backoff.maximum", self.maximum, allow_zero=True)
        if self.maximum < self.initial:
            raise ValueError(f"Backoff.maximum ({self.maximum}) must be >= initial ({self.initial})")
        if self.multiplier < 1.0:
            raise ValueError(f"Backoff.multiplier must be >= 1, got {self.multiplier!r}")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError(f"Backoff.jitter must be between 0 and 1, got {self.jitter!r}")

    def ceiling(self, attempt: int) -> float:
        """The un-jittered delay before restart number ``attempt`` (1 for the first restart)."""
        if attempt < 1:
            raise ValueError(f"attempt counts from 1, got {attempt!r}")
        # Cap the exponent so huge attempt numbers cannot overflow a float.
        exponent = min(attempt - 1, 64)
        return float(min(self.maximum, self.initial * self.multiplier**exponent))

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """The delay in seconds before restart number ``attempt``; ``rng`` returns a float in [0, 1)."""
        ceiling = self.ceiling(attempt)
        return ceiling * (1.0 - self.jitter * rng())


class RestartWindow:
    """Counts restarts in a sliding time window: at most ``max_restarts`` within ``within`` seconds.

    ``try_record(now)`` records a restart and returns True when the budget allows it, and returns
    False (recording nothing) when the stream has already restarted ``max_restarts`` times in the
    last ``within`` seconds -- the caller then escalates instead of restarting.
    """

    def __init__(self, max_restarts: int, within: float) -> None:
        if max_restarts < 0:
            raise ValueError(f"max_restarts must be >= 0, got {max_restarts!r}")
        _check_positive("within", within)
        self.max_restarts = max_restarts
        self.within = within
        self._times: list[float] = []  # max_restarts at most; a list costs ~700 bytes less than a deque

    def _expire(self, now: float) -> None:
        times = self._times
        expired = 0
        while expired < len(times) and now - times[expired] >= self.within:
            expired += 1
        if expired:
            del times[:expired]

    def count(self, now: float) -> int:
        """How many restarts happened in the window ending at ``now``."""
        self._expire(now)
        return len(self._times)

    def try_record(self, now: float) -> bool:
        """Record one restart at ``now`` if the budget allows it; return whether it did."""
        self._expire(now)
        if len(self._times) >= self.max_restarts:
            return False
        self._times.append(now)
        return True


@attrs.frozen
class RestartPolicy:
    """When a supervised stream is restarted after its connection ends.

    * ``never`` -- any end of the connection ends the stream (failures are reported).
    * ``on_failure`` -- retryable failures are restarted; a clean close ends the stream.
    * ``always`` -- a clean close the caller did not ask for (the server ended the session) is
      restarted too.

    Fatal failures (bad credentials, bad options, undecodable audio) are never restarted. More
    than ``max_restarts`` restarts within ``within`` seconds escalates: the stream fails with
    :class:`actors.errors.StreamFailed`. ``backoff`` spaces the attempts.
    """

    mode: RestartMode = "on_failure"
    max_restarts: int = 5
    within: float = 60.0
    backoff: Backoff = attrs.field(factory=Backoff)

    def __attrs_post_init__(self) -> None:
        if self.mode not in ("never", "on_failure", "always"):
            raise ValueError(
                f"RestartPolicy.mode must be 'never', 'on_failure' or 'always', got {self.mode!r}"
            )
        if self.max_restarts < 0:
            raise ValueError(f"RestartPolicy.max_restarts must be >= 0, got {self.max_restarts!r}")
        _check_positive("RestartPolicy.within", self.within)

    @classmethod
    def never(cls) -> RestartPolicy:
        """A policy that never restarts: the first end of the connection ends the stream."""
        return cls(mode="never", max_restarts=0)

    @classmethod
    def on_failure(
        cls, max_restarts: int = 5, within: float = 60.0, backoff: Backoff | None = None
    ) -> RestartPolicy:
        """Restart after retryable failures, at most ``max_restarts`` times within ``within`` s."""
        return cls(mode="on_failure", max_restarts=max_restarts, within=within, backoff=backoff or Backoff())

    @classmethod
    def always(
        cls, max_restarts: int = 5, within: float = 60.0, backoff: Backoff | None = None
    ) -> RestartPolicy:
        """Restart after retryable failures and after clean closes the caller did not ask for."""
        return cls(mode="always", max_restarts=max_restarts, within=within, backoff=backoff or Backoff())

    def new_window(self) -> RestartWindow:
        """A fresh restart-intensity window for one stream."""
        return RestartWindow(self.max_restarts, self.within)

    def wants_restart(self, failure: Failure | None) -> bool:
        """Whether this policy restarts after an end described by ``failure`` (None: clean close).

        The restart budget is checked separately, with :class:`RestartWindow`.
        """
        if self.mode == "never":
            return False
        if failure is None:
            return self.mode == "always"
        return failure.kind is not FailureKind.FATAL


class FailureKind(enum.Enum):
    """How a connection failure is handled."""

    FATAL = "fatal"  # report at once, never retry
    RETRYABLE = "retryable"  # retry with backoff
    RATE_LIMITED = "rate_limited"  # retry with backoff, and slow admission of new connections


@attrs.frozen
class Failure:
    """A classified connection failure: the original error and what to do about it."""

    error: BaseException
    kind: FailureKind

    @property
    def fatal(self) -> bool:
        """True when retrying cannot help."""
        return self.kind is FailureKind.FATAL


def classify_failure(error: BaseException) -> Failure:
    """Classify ``error`` (from a handshake or a live connection) as fatal, retryable or rate limited.

    The rules are :func:`actors.runtime.classify.classify_error` (the one table of the runtime);
    this adds the restart-specific split of retryable failures: a handshake refused with 429 is
    :attr:`FailureKind.RATE_LIMITED` (retried, and admission of new connections slows down).
    """
    if is_rate_limited(error):
        return Failure(error, FailureKind.RATE_LIMITED)
    if classify_error(error) is Outcome.FATAL:
        return Failure(error, FailureKind.FATAL)
    return Failure(error, FailureKind.RETRYABLE)


__all__ = [
    "FATAL_CLOSE_CODES",
    "FATAL_HTTP_STATUSES",
    "RATE_LIMITED_STATUS",
    "Backoff",
    "Failure",
    "FailureKind",
    "RestartMode",
    "RestartPolicy",
    "RestartWindow",
    "classify_failure",
]
