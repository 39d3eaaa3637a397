"""A finish deadline that follows the work still owed instead of a flat number of seconds.

A graceful finish waits for the server to answer for everything sent. How long that takes depends
on how much audio the server has not answered for yet and how busy it is: a flat 10 s fails 20
concurrent requests on a busy engine that is slowly but steadily working through them. So:

    deadline = last_progress + margin + owed_audio_seconds / min_rate

* ``owed_audio_seconds`` -- :meth:`MetricsRecorder.audio_seconds_owed`: audio written to the socket
  minus the end of the latest result (Listen ``Results`` ``start + duration``, Flux ``TurnInfo``
  ``audio_window_end``), counted by the connection's reader. 0 for APIs whose client sends no
  audio with a known byte rate (Speak, Agent, or audio in a container such as WAV).
* ``min_rate`` -- the slowest processing speed assumed, in audio seconds per wall-clock second
  (0.1: the server may be ten times slower than real time -- a busy one is: a stream shares it).
* ``last_progress`` -- when the server last sent anything (a message or audio; the start of the
  wait before that). Every frame the server sends re-starts the clock, so a server that is slowly
  streaming Speak audio or Agent replies is not cut off, and one that went silent is given up on
  ``margin`` seconds (plus the owed audio's allowance) after its last frame.

The deadline is re-evaluated every ``check_interval`` seconds while waiting. A server that keeps
sending frames keeps the wait going; the owed audio can only shrink as results arrive, so a Listen
or Flux server that answers for nothing new is given up on at ``margin`` after its last frame.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from actors.runtime.metrics import MetricsRecorder

#: Seconds allowed after the server's last frame when nothing is owed.
DEFAULT_MARGIN = 10.0
#: The slowest processing speed assumed for owed audio (audio seconds per second). The local
#: real engine serving 20 unpaced streams on its 2 workers manages ~0.2x real time per stream.
DEFAULT_MIN_RATE = 0.1
#: How often a wait re-evaluates the deadline.
DEFAULT_CHECK_INTERVAL = 0.25


class OwedAudioDeadline:
    """The deadline of one graceful finish of one connection (see the module docstring).

    Created when the finish starts (the clock starts then); pass it to
    :meth:`actors.runtime.Connection.finish` as ``timeout``. One waiter at a time.
    """

    def __init__(
        self,
        metrics: MetricsRecorder,
        *,
        margin: float = DEFAULT_MARGIN,
        min_rate: float = DEFAULT_MIN_RATE,
        check_interval: float = DEFAULT_CHECK_INTERVAL,
    ) -> None:
        for name, value in (("margin", margin), ("min_rate", min_rate), ("check_interval", check_interval)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"OwedAudioDeadline {name} must be a number > 0, got {value!r}")
        self._metrics = metrics
        self.margin = float(margin)
        self.min_rate = float(min_rate)
        self.check_interval = float(check_interval)
        self.started = time.monotonic()
        self._mark = metrics.progress_mark()
        self._last_progress = self.started
        self._deadline = self.started

    def __repr__(self) -> str:
        return f"OwedAudioDeadline(margin={self.margin}, min_rate={self.min_rate})"

    def remaining(self) -> float:
        """Seconds left before the deadline, re-evaluated now (<= 0: it passed)."""
        now = time.monotonic()
        mark = self._metrics.progress_mark()
        if mark != self._mark:
            self._mark, self._last_progress = mark, now
        owed = self._metrics.audio_seconds_owed() or 0.0
        self._deadline = self._last_progress + self.margin + owed / self.min_rate
        return self._deadline - now

    def next_wait(self) -> float | None:
        """How long to wait before re-evaluating, or None once the deadline passed."""
        remaining = self.remaining()
        if remaining <= 0:
            return None
        return min(remaining, self.check_interval)

    def wait_until(self, done: Callable[[float], bool]) -> bool:
        """Call ``done(seconds)`` (which waits at most that long and says whether the thing waited
        for happened) until it returns True -> True, or until the deadline passed -> False."""
        while True:
            step = self.next_wait()
            if step is None:
                return False
            if done(step):
                return True

    def wait(self, event: threading.Event) -> bool:
        """Block until ``event`` is set (True) or the deadline passed (False)."""
        return event.is_set() or self.wait_until(event.wait)

    def describe(self) -> str:
        """How long the wait lasted and why it ended, for a ``FinishTimeout`` message."""
        owed = self._metrics.audio_seconds_owed()
        rule = f"{self.margin:g}s after the server's last frame"
        if owed is not None:
            rule += f" + {1 / self.min_rate:g}x the {owed:.1f}s of audio still owed"
        return f"{time.monotonic() - self.started:.1f}s (adaptive deadline: {rule})"


__all__ = ["DEFAULT_MARGIN", "DEFAULT_MIN_RATE", "OwedAudioDeadline"]
