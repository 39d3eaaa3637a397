"""What a benchmark client records per stream: results, delays from server send, errors, bytes sent.

Written from the client's delivery threads; every field of :class:`StreamProbe` has one writer
(the thread that delivers that stream's messages, or its sender), so no locks are needed.
"""

from __future__ import annotations

import time
from array import array
from typing import Any

#: The field the local server adds with ``--stamp-send-time`` (wall-clock seconds at send).
SENT_AT_FIELD = "actors_sent_at"


class DelayLog:
    """Server send -> subscriber callback delays in seconds (``array.append`` is atomic under the GIL)."""

    def __init__(self) -> None:
        self.values: array[float] = array("d")

    def add(self, seconds: float) -> None:
        """Record one delay."""
        self.values.append(seconds)


class StreamProbe:
    """The subscriber / message callback of one stream: counts Results and records their delay.

    ``finals`` counts final Results that carry words (the empty final at close is not counted).

    Works for both clients: it reads ``type``, ``is_final`` and the server's send stamp as
    attributes, which both actors' attrs messages and the SDK's pydantic models expose.
    """

    __slots__ = ("delays", "errors", "finals", "index", "results", "sent_bytes")

    def __init__(self, index: int, delays: DelayLog) -> None:
        self.index = index
        self.delays = delays
        self.results = 0
        self.finals = 0
        self.sent_bytes = 0  # written by the sender when the client itself does not count bytes
        self.errors: list[str] = []

    def __call__(self, message: Any) -> None:
        """Handle one delivered event or message."""
        now = time.time()
        if getattr(message, "type", None) != "Results":
            if type(message).__name__ == "ConnectionFailed":  # actors' failure event
                self.error(getattr(message, "error", message))
            return
        sent_at = getattr(message, SENT_AT_FIELD, None)
        if isinstance(sent_at, int | float):
            self.delays.add(now - sent_at)
        self.results += 1
        if getattr(message, "is_final", False) and _transcript(message):
            self.finals += 1

    def on_json(self, message: dict[str, Any]) -> None:
        """Handle one parsed JSON message (the raw floor client: a dict, not an attribute object)."""
        now = time.time()
        if message.get("type") != "Results":
            return
        sent_at = message.get(SENT_AT_FIELD)
        if isinstance(sent_at, int | float):
            self.delays.add(now - sent_at)
        self.results += 1
        if message.get("is_final"):
            try:
                words = message["channel"]["alternatives"][0]["transcript"]
            except (KeyError, IndexError, TypeError):
                words = ""
            if words:
                self.finals += 1

    def error(self, error: object) -> None:
        """Record an error the client reported for this stream (kept short)."""
        self.errors.append(repr(error)[:200])

    def send_failed(self, error: BaseException) -> None:
        """Record a failed send, unless an error is already recorded (a broken stream's later
        sends fail too; its first error is the one that says why)."""
        if not self.errors:
            self.error(error)


def _transcript(message: Any) -> str:
    """The first alternative's transcript of a Results message ("" when absent)."""
    try:
        return str(message.channel.alternatives[0].transcript or "")
    except (AttributeError, IndexError, TypeError):
        return ""
