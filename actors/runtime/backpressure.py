"""The bounded outgoing queue of one connection and its policy when full.

Producers (any thread) put audio and encoded control frames; the connection actor takes
everything queued in one go and writes it to the socket. Audio counts against the bound;
control frames never do and are never dropped, so ``CloseStream`` cannot be lost to backpressure.
Order between audio and control frames is kept.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

import attrs

from actors._lean_attrs import LeanFrozen
from actors.errors import BackpressureError

OnFull = Literal["block", "drop_oldest", "fail"]
_ON_FULL_VALUES = ("block", "drop_oldest", "fail")


def _check_optional_positive(name: str) -> Any:
    def check(_inst: object, _attr: object, value: float | None) -> None:
        if value is not None and not value > 0:
            raise ValueError(f"SendBufferPolicy.{name} must be > 0 or None, got {value!r}")

    return check


@attrs.frozen(repr=False, eq=False)
class SendBufferPolicy(LeanFrozen):
    """How much audio may wait to be sent, and what ``send_audio`` does when that is exceeded.

    The bound is ``max_bytes`` and/or ``max_seconds`` (seconds need a known audio byte rate:
    linear16/linear32/mulaw/alaw with ``sample_rate``); the smaller one applies. ``on_full``:

    * ``"block"`` -- the caller waits up to ``block_timeout`` seconds for room, then gets
      :class:`~actors.errors.BackpressureError`;
    * ``"drop_oldest"`` -- the oldest queued audio is discarded (counted in the metrics and
      reported as a :class:`~actors.runtime.events.Backpressure` event);
    * ``"fail"`` -- ``send_audio`` raises :class:`~actors.errors.BackpressureError` at once.

    A single chunk larger than the whole bound is accepted when nothing else is queued.
    """

    max_bytes: int | None = attrs.field(
        default=4 * 1024 * 1024, validator=_check_optional_positive("max_bytes")
    )
    max_seconds: float | None = attrs.field(default=None, validator=_check_optional_positive("max_seconds"))
    on_full: OnFull = "block"
    block_timeout: float = 5.0

    def __attrs_post_init__(self) -> None:
        if self.on_full not in _ON_FULL_VALUES:
            raise ValueError(
                f"SendBufferPolicy.on_full must be one of {_ON_FULL_VALUES}, got {self.on_full!r}"
            )
        if not self.block_timeout >= 0:
            raise ValueError(f"SendBufferPolicy.block_timeout must be >= 0, got {self.block_timeout!r}")

    def limit_bytes(self, bytes_per_second: float | None) -> int | None:
        """The effective bound in bytes (None = unbounded) given the stream's audio byte rate."""
        limits: list[int] = []
        if self.max_bytes is not None:
            limits.append(self.max_bytes)
        if self.max_seconds is not None:
            if bytes_per_second is None:
                raise ValueError(
                    "SendBufferPolicy.max_seconds needs a known audio byte rate: set encoding and "
                    "sample_rate in the options (linear16, linear32, mulaw or alaw) or use max_bytes"
                )
            limits.append(max(1, int(self.max_seconds * bytes_per_second)))
        return min(limits) if limits else None


#: An item in the outgoing queue: audio (bytes) or an encoded control frame (str).
Frame = bytes | str


class SendBuffer:
    """Thread-safe outgoing queue with a byte bound on audio; see :class:`SendBufferPolicy`.

    ``put_*`` return True when the caller must wake the consumer (the queue went from
    "nothing pending" to "something pending"), so the consumer is told once per batch rather than
    once per chunk. ``take_all`` hands the whole backlog to the consumer.
    """

    def __init__(self, policy: SendBufferPolicy, bytes_per_second: float | None = None) -> None:
        self.policy = policy
        self.limit = policy.limit_bytes(bytes_per_second)
        self._items: deque[Frame] = deque()
        self._audio_bytes = 0
        self._wake_pending = False
        self._oldest_at = 0.0
        self._closed_error: Callable[[], BaseException] | None = None
        # Hot paths take the plain lock directly (``with Condition`` costs two Python calls);
        # waiting and notifying go through a condition on the same lock, made (under the lock) by
        # the first producer that has to wait: most buffers never need one (~1 KB each).
        self._lock = threading.Lock()
        self._cond: threading.Condition | None = None
        self._blocked = 0  # producers waiting in ``block`` for room (take_all wakes them)
        #: Audio bytes discarded by ``drop_oldest`` and not yet reported by the consumer.
        self.dropped_unreported = 0
        #: Audio bytes discarded over the buffer's life.
        self.dropped_total = 0

    @property
    def audio_bytes(self) -> int:
        """Audio bytes currently queued."""
        return self._audio_bytes

    @property
    def idle(self) -> bool:
        """True when nothing is queued and no consumer wake-up is outstanding."""
        return not self._wake_pending and not self._items

    def put_audio(self, data: bytes) -> bool:
        """Queue audio under the policy; return True when the consumer must be woken.

        Raises ``BackpressureError`` (policy ``fail``, or ``block`` after ``block_timeout``) and
        ``ConnectionClosedError`` once the buffer is closed.
        """
        size = len(data)
        with self._lock:
            if self._closed_error is not None:
                raise self._closed_error()
            limit = self.limit
            if limit is not None and self._audio_bytes and self._audio_bytes + size > limit:
                self._make_room(size, limit)
            self._items.append(data)
            self._audio_bytes += size
            if self._wake_pending:
                return False
            self._wake_pending = True
            self._oldest_at = time.monotonic()
            return True

    def put_text(self, frame: str) -> bool:
        """Queue an encoded control frame (never bounded, never dropped); True = wake the consumer."""
        with self._lock:
            self._raise_if_closed()
            self._items.append(frame)
            return self._mark_pending()

    def take_all(self) -> tuple[list[Frame], float]:
        """Remove and return everything queued, with the time the oldest item was queued."""
        with self._lock:
            items = list(self._items)
            self._items.clear()
            self._audio_bytes = 0
            self._wake_pending = False
            if self._blocked and self._cond is not None:
                self._cond.notify_all()
            return items, self._oldest_at

    def take_dropped(self) -> int:
        """Audio bytes dropped since the last call (for reporting once per batch)."""
        with self._lock:
            dropped, self.dropped_unreported = self.dropped_unreported, 0
            return dropped

    def close(self, make_error: Callable[[], BaseException]) -> None:
        """Refuse further puts and wake blocked producers; each gets a fresh ``make_error()``."""
        with self._lock:
            if self._closed_error is None:
                self._closed_error = make_error
            self._items.clear()
            self._audio_bytes = 0
            if self._cond is not None:
                self._cond.notify_all()

    def _mark_pending(self) -> bool:
        if self._wake_pending:
            return False
        self._wake_pending = True
        self._oldest_at = time.monotonic()
        return True

    def _raise_if_closed(self) -> None:
        if self._closed_error is not None:
            raise self._closed_error()

    def _make_room(self, size: int, limit: int) -> None:
        on_full = self.policy.on_full
        if on_full == "fail":
            raise BackpressureError(
                f"send buffer full ({self._audio_bytes} of {limit} bytes queued): the connection is not "
                "keeping up; send slower, raise SendBufferPolicy.max_bytes, or use on_full='drop_oldest'"
            )
        if on_full == "drop_oldest":
            self._drop_oldest(self._audio_bytes + size - limit)
            return
        deadline = time.monotonic() + self.policy.block_timeout
        while self._audio_bytes and self._audio_bytes + size > limit:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BackpressureError(
                    f"send buffer stayed full for {self.policy.block_timeout}s ({self._audio_bytes} of "
                    f"{limit} bytes queued): the server or network is not keeping up"
                )
            cond = self._cond
            if cond is None:
                cond = self._cond = threading.Condition(self._lock)
            self._blocked += 1
            try:
                cond.wait(remaining)
            finally:
                self._blocked -= 1
            self._raise_if_closed()

    def _drop_oldest(self, excess: int) -> None:
        kept: deque[Frame] = deque()
        dropped = 0
        for item in self._items:
            if dropped < excess and isinstance(item, bytes):
                dropped += len(item)
            else:
                kept.append(item)
        self._items = kept
        self._audio_bytes -= dropped
        self.dropped_unreported += dropped
        self.dropped_total += dropped


def audio_bytes_per_second(
    encoding: str | None, sample_rate: int | None, channels: int | None
) -> float | None:
    """Bytes per second of raw audio, or None when the encoding has no fixed byte rate."""
    widths = {"linear16": 2, "linear32": 4, "mulaw": 1, "alaw": 1}
    if encoding not in widths or not sample_rate:
        return None
    return float(widths[encoding] * sample_rate * (channels or 1))


__all__ = ["OnFull", "SendBuffer", "SendBufferPolicy", "audio_bytes_per_second"]
