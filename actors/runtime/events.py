"""Typed events a connection delivers to its subscribers, besides the decoded protocol messages.

Order guarantee for every subscriber of a :class:`~actors.runtime.connection.Connection`:
:class:`Opened` first, then server messages in wire order (protocol ``Message`` objects,
:class:`AudioChunk` for binary frames, :class:`SubscriberError` / :class:`Backpressure` notices),
then exactly one :class:`Closed`, preceded by :class:`ConnectionFailed` when the end was abnormal.
A handshake that fails produces ``ConnectionFailed`` and ``Closed`` without ``Opened``.

:class:`Reconnecting` and :class:`Reconnected` are emitted by the supervisor (``supervisor.py``),
never by a single connection.
"""

from __future__ import annotations

from typing import Literal

import attrs

from actors._lean_attrs import LeanFrozen


@attrs.frozen(slots=True, repr=False, eq=False)
class AudioChunk(LeanFrozen):
    """A binary frame from the server (Speak and Agent audio), passed through unchanged."""

    data: bytes

    def __repr__(self) -> str:
        return f"AudioChunk(<{len(self.data)} bytes>)"


@attrs.frozen(slots=True, repr=False, eq=False)
class Opened(LeanFrozen):
    """The WebSocket handshake completed.

    ``request_id`` is the server's ``dg-request-id`` header (None if it sent none),
    ``url_path`` the path connected to (``/v1/listen``), ``stream_id`` the caller's name for the stream.
    """

    request_id: str | None
    url_path: str
    stream_id: str


@attrs.frozen(slots=True, repr=False, eq=False)
class Closed(LeanFrozen):
    """The connection is over; always the last event a subscriber receives.

    ``code`` is the close code from the server's close frame, 1005 for a close frame without a
    code and 1006 when the TCP connection ended without a close frame (or never opened).
    """

    code: int
    reason: str = ""


@attrs.frozen(slots=True, repr=False, eq=False)
class ConnectionFailed(LeanFrozen):
    """The connection ended abnormally; ``error`` says why (an ``actors.errors`` exception or an OSError).

    Always followed by exactly one :class:`Closed`.
    """

    error: BaseException


@attrs.frozen(slots=True, repr=False, eq=False)
class Reconnecting(LeanFrozen):
    """A supervised stream lost its connection and will reconnect after ``delay`` seconds.

    ``attempt`` counts from 1; ``cause`` is the failure that ended the previous connection.
    """

    stream_id: str
    attempt: int
    delay: float
    cause: BaseException | None = None


@attrs.frozen(slots=True, repr=False, eq=False)
class Reconnected(LeanFrozen):
    """A supervised stream is connected again.

    ``request_id`` is the new connection's ``dg-request-id``; ``replayed_seconds`` how much
    buffered audio was sent again to the new connection.
    """

    stream_id: str
    attempt: int
    request_id: str | None
    replayed_seconds: float = 0.0


@attrs.frozen(slots=True, repr=False, eq=False)
class Backpressure(LeanFrozen):
    """Outgoing audio hit the stream's send-buffer bound.

    ``policy`` is the buffer's ``on_full`` policy; ``dropped_bytes`` how much audio was discarded
    (``drop_oldest``) by this event; ``buffered_bytes`` what is still queued.
    """

    policy: Literal["block", "drop_oldest", "fail"]
    dropped_bytes: int
    buffered_bytes: int


@attrs.frozen(slots=True, repr=False, eq=False)
class SubscriberError(LeanFrozen):
    """A callable subscriber raised; it stays subscribed and the reader keeps going.

    ``subscriber`` is the repr of the failing subscriber and ``error`` the exception it raised,
    or :class:`~actors.errors.SubscriberOverflow` when an ``Offload`` subscriber lost events.
    """

    subscriber: str
    error: BaseException


#: Lifecycle event classes, for ``isinstance`` checks.
LIFECYCLE_EVENTS = (Opened, Closed, ConnectionFailed, Reconnecting, Reconnected)

__all__ = [
    "LIFECYCLE_EVENTS",
    "AudioChunk",
    "Backpressure",
    "Closed",
    "ConnectionFailed",
    "Opened",
    "Reconnected",
    "Reconnecting",
    "SubscriberError",
]
