"""The event names a socket emits to callbacks registered with ``socket.on(...)``.

Same values as Deepgram's SDK (``deepgram.core.events.EventType``), so ported code keeps working.
"""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    """What a socket callback is registered for.

    ``OPEN`` fires once when listening starts (with the connection's ``Opened`` event),
    ``MESSAGE`` per server message (``bytes`` for audio), ``ERROR`` with an exception that did
    not stop listening or ended the connection, ``CLOSE`` once, last, with an object carrying
    ``code`` and ``reason``.
    """

    OPEN = "open"
    MESSAGE = "message"
    ERROR = "error"
    CLOSE = "close"


__all__ = ["EventType"]
