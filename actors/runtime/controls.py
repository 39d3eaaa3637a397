"""Control messages of a supervised stream, kept in order with its audio across reconnects.

A control message (``Finalize``, ``Configure``, ``ForceEndTurn``...) is recorded with the
position of the stream's audio when it was sent: it follows the audio up to that position. On a
new connection the stream sends the replayed audio and the recorded messages interleaved at their
positions, so the new connection sees the same sequence the old one did:

* messages sent while no connection was open are sent after the audio that preceded them;
* with lossless replay, messages already sent on a lost connection whose audio is replayed are
  sent again at their place (a ``Finalize`` or ``ForceEndTurn`` whose result never arrived);
* *sticky* messages (``Configure``, Agent ``Settings``) change the session's settings, so every
  new connection gets them again -- the ones before the replayed audio first, in order.

``KeepAlive`` is never recorded (each connection keeps itself alive) and the finish messages
(``CloseStream``, Speak ``Close``) belong to ``StreamHandle.finish``. Pure: no sockets, no clock.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs

#: Messages that are dropped while no connection is open (the next connection has its own keepalive).
DROPPED_WHILE_DISCONNECTED = frozenset({"KeepAlive"})
#: Messages that end a stream: a supervised stream ends with ``finish()``, never with these.
FINISH_TYPES = frozenset({"CloseStream", "Close"})
#: Messages that set session settings: re-sent on every new connection.
STICKY_TYPES = frozenset({"Configure", "Settings"})
#: At most this many sticky messages are kept (the oldest are forgotten beyond it).
MAX_STICKY = 64


@attrs.define(eq=False, slots=True)
class ControlEntry:
    """One recorded control message: its encoded ``frame``, wire ``tag`` and audio ``position``."""

    position: int
    frame: str
    tag: str | None
    sticky: bool


class ControlLog:
    """The control messages a future connection may need, ordered as they were sent.

    Positions are logical audio byte offsets of the stream (the same as the replay buffer's).
    Not thread-safe: the owning stream serialises calls.
    """

    def __init__(self, max_sticky: int = MAX_STICKY) -> None:
        self._entries: list[ControlEntry] = []
        self._max_sticky = max_sticky

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[ControlEntry]:
        return iter(list(self._entries))

    def record(self, position: int, frame: str, tag: str | None) -> ControlEntry:
        """Remember ``frame`` as sent after the audio up to ``position``; return its entry."""
        entry = ControlEntry(position=position, frame=frame, tag=tag, sticky=tag in STICKY_TYPES)
        self._entries.append(entry)
        if entry.sticky:
            sticky = [e for e in self._entries if e.sticky]
            for old in sticky[: max(0, len(sticky) - self._max_sticky)]:
                self.forget(old)
        return entry

    def forget(self, entry: ControlEntry) -> None:
        """Drop one entry (it was sent and will not be needed again)."""
        self._entries = [e for e in self._entries if e is not entry]

    def ack(self, position: int) -> None:
        """Forget non-sticky messages at or before ``position``: final results cover their audio."""
        self._entries = [e for e in self._entries if e.sticky or e.position > position]

    def plan(self, start: int) -> list[ControlEntry]:
        """What a new connection whose audio starts at ``start`` must get, in sending order.

        Sticky messages from before ``start`` come first (moved to ``start``), then every entry at
        or after ``start`` in recorded order. Non-sticky entries before ``start`` are forgotten:
        their audio is not replayed any more.
        """
        self._entries = [e for e in self._entries if e.sticky or e.position >= start]
        before = [attrs.evolve(e, position=start) for e in self._entries if e.position < start]
        return before + [e for e in self._entries if e.position >= start]


__all__ = [
    "DROPPED_WHILE_DISCONNECTED",
    "FINISH_TYPES",
    "MAX_STICKY",
    "STICKY_TYPES",
    "ControlEntry",
    "ControlLog",
]
