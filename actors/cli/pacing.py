"""Real-time pacing: hold a sender back so audio leaves no faster than a chosen speed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Pacer:
    """Lets audio out at ``speed`` times real time, measured from the first `wait_until` call.

    ``speed=None`` means no pacing at all (as fast as the connection accepts). Waiting is done on
    ``stop`` so that a shutdown interrupts a pacer at once.
    """

    def __init__(
        self,
        speed: float | None,
        stop: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed is not None and speed <= 0:
            raise ValueError(f"speed must be positive or None (unpaced), got {speed}")
        self.speed = speed
        self._stop = stop or threading.Event()
        self._clock = clock
        self._origin: float | None = None

    def wait_until(self, audio_seconds: float) -> bool:
        """Block until ``audio_seconds`` of audio may have been sent; False if stopped meanwhile.

        A live microphone delivers a chunk when its last sample has been spoken, so callers pass
        the audio time at the *end* of the chunk they are about to send.
        """
        if self._origin is None:
            self._origin = self._clock()
        if self.speed is None:
            return not self._stop.is_set()
        due = self._origin + audio_seconds / self.speed
        delay = due - self._clock()
        if delay > 0:
            return not self._stop.wait(delay)
        return not self._stop.is_set()
