"""Idle-aware keepalive: what to send, how often, and when it is due.

Pure and clock-free (callers pass ``now``). The connection's reader thread waits on the socket
with a timeout of :meth:`KeepaliveClock.seconds_until_due`; when that passes with nothing sent,
the actor sends the keepalive. A keepalive that cannot be sent, or a ping with no pong within
``pong_timeout``, ends the connection as a failure -- never a silent stop.
"""

from __future__ import annotations

from typing import Literal

import attrs

KEEPALIVE_FRAME = '{"type":"KeepAlive"}'


@attrs.frozen
class KeepalivePlan:
    """How one API is kept alive.

    ``kind`` is ``"message"`` (send ``frame``, a JSON text frame) or ``"ping"`` (a WebSocket ping
    whose pong must arrive within ``pong_timeout`` seconds); ``interval`` is how long the client
    may stay silent before it is sent.
    """

    kind: Literal["message", "ping"]
    interval: float
    frame: str | None = None
    pong_timeout: float = 10.0

    def __attrs_post_init__(self) -> None:
        if not self.interval > 0:
            raise ValueError(f"keepalive interval must be > 0 seconds, got {self.interval!r}")
        if self.kind == "message" and not self.frame:
            raise ValueError("a message keepalive needs the frame to send")
        if not self.pong_timeout > 0:
            raise ValueError(f"pong_timeout must be > 0 seconds, got {self.pong_timeout!r}")

    def with_interval(self, interval: float | None) -> KeepalivePlan:
        """This plan with another interval (None keeps the API's default)."""
        return self if interval is None else attrs.evolve(self, interval=interval)


class KeepaliveClock:
    """When the connection last sent something, and whether a ping is waiting for its pong.

    Plain float fields read and written without a lock: the actor notes sends and pings, the
    reader notes pongs and pushes ``last_sent`` forward when it asks for a keepalive. A lost
    update can only shift one keepalive by one interval check, never stop keepalives.
    """

    __slots__ = ("last_sent", "ping_sent_at", "plan")

    def __init__(self, plan: KeepalivePlan, now: float) -> None:
        self.plan = plan
        self.last_sent = now
        self.ping_sent_at: float | None = None

    def note_sent(self, now: float) -> None:
        """Any frame was sent at ``now``: the idle period restarts."""
        self.last_sent = now

    def note_ping(self, now: float) -> None:
        """A keepalive ping was sent at ``now``."""
        self.last_sent = now
        if self.ping_sent_at is None:
            self.ping_sent_at = now

    def note_pong(self) -> None:
        """A pong arrived: the outstanding ping is answered."""
        self.ping_sent_at = None

    def is_due(self, now: float) -> bool:
        """True when the client has been silent for a whole interval."""
        return now - self.last_sent >= self.plan.interval

    def pong_overdue(self, now: float) -> bool:
        """True when a ping has waited longer than ``pong_timeout`` for its pong."""
        return self.ping_sent_at is not None and now - self.ping_sent_at > self.plan.pong_timeout

    def seconds_until_due(self, now: float) -> float:
        """How long the reader may wait before it must check again (never negative)."""
        wait = self.last_sent + self.plan.interval - now
        if self.ping_sent_at is not None:
            wait = min(wait, self.ping_sent_at + self.plan.pong_timeout - now)
        return max(0.0, wait)


__all__ = ["KEEPALIVE_FRAME", "KeepaliveClock", "KeepalivePlan"]
