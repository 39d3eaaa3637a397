"""Admission control: a cap on concurrent connections, a queue beyond it, and 429 slow-down.

:class:`Admission` is pure bookkeeping owned by one thread (the supervisor actor): it never
blocks, never reads the clock (``now`` is passed in) and starts nothing. The owner calls
:meth:`Admission.admit` after every change and, when it returns a wake-up time, schedules a
call for then.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Callable, Hashable

from actors.runtime.policy import Backoff

#: Default pause after a 429: 0.5 s, doubling per consecutive 429 up to 30 s.
DEFAULT_RATE_LIMIT_BACKOFF = Backoff(initial=0.5, maximum=30.0, multiplier=2.0, jitter=0.2)


class Admission:
    """Grants connection slots: at most ``max_connections`` at once, first come first served.

    * :meth:`request` queues a key (restarts of live streams may jump the queue with
      ``priority=True``: they already hold a caller's audio).
    * :meth:`admit` pops the keys that may connect now; each holds a slot until :meth:`release`.
    * :meth:`rate_limited` (a 429 at handshake) pauses admission for a growing delay;
      :meth:`connected` (a handshake succeeded) resets that growth.
    """

    def __init__(
        self,
        max_connections: int,
        rate_limit_backoff: Backoff = DEFAULT_RATE_LIMIT_BACKOFF,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if max_connections < 1:
            raise ValueError(f"max_connections must be >= 1, got {max_connections!r}")
        self.max_connections = max_connections
        self._backoff = rate_limit_backoff
        self._rng = rng
        self._waiting: OrderedDict[Hashable, None] = OrderedDict()
        self._active: set[Hashable] = set()
        self._paused_until = 0.0
        self._rate_limit_streak = 0
        self.rate_limited_count = 0

    @property
    def active(self) -> int:
        """Slots in use."""
        return len(self._active)

    @property
    def waiting(self) -> int:
        """Keys queued for a slot."""
        return len(self._waiting)

    def is_waiting(self, key: Hashable) -> bool:
        """Whether ``key`` is queued."""
        return key in self._waiting

    def holds_slot(self, key: Hashable) -> bool:
        """Whether ``key`` currently holds a slot."""
        return key in self._active

    def request(self, key: Hashable, *, priority: bool = False) -> None:
        """Queue ``key`` for a slot (no-op if already queued or holding one)."""
        if key in self._active or key in self._waiting:
            return
        self._waiting[key] = None
        if priority:
            self._waiting.move_to_end(key, last=False)

    def cancel(self, key: Hashable) -> None:
        """Remove ``key`` from the queue and free its slot if it holds one."""
        self._waiting.pop(key, None)
        self._active.discard(key)

    def release(self, key: Hashable) -> None:
        """Free the slot held by ``key`` (no-op if it holds none)."""
        self._active.discard(key)

    def rate_limited(self, now: float) -> float:
        """Record a 429: pause admission; return the time admission resumes."""
        self._rate_limit_streak += 1
        self.rate_limited_count += 1
        delay = self._backoff.delay(self._rate_limit_streak, self._rng)
        self._paused_until = max(self._paused_until, now + delay)
        return self._paused_until

    def connected(self) -> None:
        """Record a successful handshake: the next 429 starts from the initial pause again."""
        self._rate_limit_streak = 0

    def admit(self, now: float) -> tuple[list[Hashable], float | None]:
        """Pop the keys that may connect now and mark them active.

        Returns ``(admitted, wake_at)``: ``wake_at`` is the time to call again when keys are left
        waiting only because of a 429 pause, else None (the next :meth:`release` or
        :meth:`request` is the next chance).
        """
        if not self._waiting:
            return [], None
        if now < self._paused_until:
            return [], self._paused_until
        admitted: list[Hashable] = []
        while self._waiting and len(self._active) < self.max_connections:
            key, _ = self._waiting.popitem(last=False)
            self._active.add(key)
            admitted.append(key)
        return admitted, None
