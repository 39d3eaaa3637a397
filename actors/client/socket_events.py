"""How a runtime event becomes what a socket user sees (shared by the sync and async sockets).

The runtime delivers, in order: ``Opened``, protocol messages / ``AudioChunk`` / notices, then
``ConnectionFailed`` when the end was abnormal, then exactly one ``Closed``. A socket maps each to
an :class:`~actors.core.events.EventType` and a payload: audio becomes ``bytes`` (as in the SDK),
``Closed`` is passed on as the CLOSE payload (it carries ``code`` and ``reason``).
"""

from __future__ import annotations

import logging
from typing import Any

import attrs

from actors._lean_attrs import LeanFrozen
from actors.core.events import EventType

log = logging.getLogger("actors.client")


@attrs.frozen(repr=False, eq=False)
class SocketEvent(LeanFrozen):
    """One event as a socket emits it: ``kind`` (None for events users never see) and ``payload``.

    ``fatal`` is True for the failure that ended the connection (``ConnectionFailed``), as
    opposed to a problem with one frame that did not stop it (a frame that could not be decoded).
    """

    kind: EventType | None
    payload: Any
    fatal: bool = False


def interpret(event: Any) -> SocketEvent:
    """Map one runtime event to what a socket emits (see the module docstring)."""
    from actors.protocol.base import DecodeError
    from actors.runtime import events as rt

    if isinstance(event, rt.AudioChunk):
        return SocketEvent(EventType.MESSAGE, event.data)
    if isinstance(event, rt.Closed):
        return SocketEvent(EventType.CLOSE, event)
    if isinstance(event, rt.Opened):
        return SocketEvent(EventType.OPEN, event)
    if isinstance(event, rt.ConnectionFailed):
        return SocketEvent(EventType.ERROR, event.error, fatal=True)
    if isinstance(event, rt.SubscriberError):
        return SocketEvent(EventType.ERROR, event.error)
    if isinstance(event, DecodeError):
        return SocketEvent(EventType.ERROR, event.to_exception())
    if isinstance(event, (rt.Backpressure, rt.Reconnecting, rt.Reconnected)):
        log.debug("socket notice: %r", event)
        return SocketEvent(None, event)
    return SocketEvent(EventType.MESSAGE, event)


__all__ = ["SocketEvent", "interpret"]


class _Skip:
    """Marker: this event gives ``recv()``/iteration nothing to return."""


SKIP = _Skip()


class SocketState:
    """What a socket has learned from its events: the ``Opened``, the failure and the ``Closed``.

    Not thread-safe by itself: one reader (``recv``, iteration or ``start_listening``) at a time,
    as with the SDK.
    """

    def __init__(self) -> None:
        self.opened: Any = None
        self.failure: BaseException | None = None
        self.closed: Any = None

    def track(self, raw: Any) -> SocketEvent:
        """Interpret ``raw`` and remember lifecycle facts from it."""
        event = interpret(raw)
        if event.kind is EventType.OPEN:
            self.opened = event.payload
        elif event.kind is EventType.CLOSE:
            self.closed = event.payload
        elif event.fatal:
            self.failure = event.payload
        return event

    def closed_error(self) -> BaseException:
        """The error ``recv()`` raises once the connection is over.

        The failure that ended it when there was one, else ``ConnectionClosedError(code, reason)``.
        """
        from actors.errors import ConnectionClosedError

        if self.failure is not None:
            return self.failure
        code = getattr(self.closed, "code", 1006)
        reason = getattr(self.closed, "reason", "")
        return ConnectionClosedError(code, reason or "the connection is closed; no more messages")

    def recv_outcome(self, event: SocketEvent) -> Any:
        """What ``recv()`` does with ``event``: the message to return, SKIP, or raise."""
        if event.kind is EventType.MESSAGE:
            return event.payload
        if event.kind is EventType.CLOSE:
            raise self.closed_error()
        if event.kind is EventType.ERROR and not event.fatal:
            raise event.payload
        return SKIP

    def iter_outcome(self, event: SocketEvent) -> Any:
        """What iteration does with ``event``: the message, SKIP, or StopIteration-worthy None.

        Returns None at a normal close; raises the failure at an abnormal one. Frames that could
        not be decoded are logged and skipped, as the SDK does.
        """
        if event.kind is EventType.MESSAGE:
            return event.payload
        if event.kind is EventType.CLOSE:
            if self.failure is not None:
                raise self.failure
            return None
        if event.kind is EventType.ERROR and not event.fatal:
            log.warning("skipping a frame that could not be decoded: %s", event.payload)
        return SKIP


__all__ += ["SKIP", "SocketState"]
