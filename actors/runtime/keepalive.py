"""Idle-aware keepalive and liveness: what to send, how often, and when the server counts as gone.

Pure and clock-free (callers pass ``now``). A connection's
:class:`~actors.runtime.connection_core.ConnectionCore` holds one clock: the read pool calls the
core when the clock's next deadline comes, and the core sends what
:meth:`KeepaliveClock.take_due_now` says is due.

Two jobs, one clock:

* **keepalive** (``interval``): the client has been silent that long -> send the API's keepalive
  (a ``KeepAlive`` text frame for Listen V1 / Agent, a WebSocket ping for Flux / Speak) so the
  server's idle timeout does not close the stream;
* **liveness** (``ping_after``): the *server* has been silent that long -> send a WebSocket ping,
  whatever the client is sending. Anything at all the server sends (a message, audio, a pong)
  shows the connection is alive; nothing within ``pong_timeout`` of a ping ends the connection
  as a failure (1006) -- never a silent stop. A server that is alive but has no results to send
  (long silence, a stalled transcriber) still answers pings, so it is never torn down for that.

A keepalive that cannot be sent ends the connection as a failure too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Literal

import attrs

from actors._lean_attrs import LeanFrozen
from actors.protocol.session import SessionRules

#: The longest wait :meth:`KeepaliveClock.seconds_until_due` returns (a plan that asks for nothing).
_LONGEST_WAIT = 60.0


def _positive_or_none(name: str) -> Callable[[object, object, float | None], None]:
    def check(_inst: object, _attr: object, value: float | None) -> None:
        if value is not None and not value > 0:
            raise ValueError(f"{name} must be > 0 seconds or None, got {value!r}")

    return check


@attrs.frozen(repr=False, eq=False)
class KeepalivePlan(LeanFrozen):
    """How one connection is kept alive and checked for liveness.

    ``kind`` is ``"message"`` (send ``frame``, a JSON text frame) or ``"ping"`` (a WebSocket ping)
    and ``interval`` is how long the client may stay silent before it is sent (None: no idle
    keepalive). ``ping_after`` is how long the server may stay silent before a liveness ping goes
    out (None: no liveness pings); any ping must be answered -- by a pong or any other frame --
    within ``pong_timeout`` seconds.
    """

    kind: Literal["message", "ping"]
    interval: float | None = attrs.field(validator=_positive_or_none("keepalive interval"))
    frame: str | None = None
    pong_timeout: float = 10.0
    ping_after: float | None = attrs.field(default=None, validator=_positive_or_none("ping_after"))

    def __attrs_post_init__(self) -> None:
        if self.kind == "message" and not self.frame:
            raise ValueError("a message keepalive needs the frame to send")
        if not self.pong_timeout > 0:
            raise ValueError(f"pong_timeout must be > 0 seconds, got {self.pong_timeout!r}")

    @classmethod
    def for_session(cls, rules: SessionRules) -> KeepalivePlan:
        """The idle keepalive ``rules`` declare (no liveness pings)."""
        return cls(
            kind=rules.keepalive_kind, interval=rules.keepalive_interval, frame=rules.keepalive_message
        )

    def with_interval(self, interval: float | None) -> KeepalivePlan:
        """This plan with another interval (None keeps the API's default)."""
        return self if interval is None else attrs.evolve(self, interval=interval)

    def with_liveness(self, ping_after: float | None, pong_timeout: float | None = None) -> KeepalivePlan:
        """This plan with liveness pings after ``ping_after`` s of server silence (None: none);
        ``pong_timeout`` None keeps the plan's."""
        timeout = self.pong_timeout if pong_timeout is None else pong_timeout
        return attrs.evolve(self, ping_after=ping_after, pong_timeout=timeout)

    def without_idle_keepalive(self) -> KeepalivePlan:
        """This plan with liveness pings only (no idle keepalive)."""
        return attrs.evolve(self, interval=None)

    @property
    def active(self) -> bool:
        """Whether the plan does anything (an idle keepalive or liveness pings)."""
        return self.interval is not None or self.ping_after is not None


class KeepaliveClock:
    """When the connection last sent and heard something, and whether a ping awaits its answer.

    Owned by one :class:`~actors.runtime.connection_core.ConnectionCore` and used under its
    driver's lock: the core notes sends, pings and whatever the server sent, and asks at its
    deadlines what is due (:meth:`take_due_now`). :meth:`is_due` / :meth:`take_due` split that
    question in two (a requested liveness ping is recorded under a small lock, so it is never
    lost between the two calls).

    ``activity`` (optional) returns a number that changes whenever the server sent something; a
    change counts as an answer to an outstanding ping, as :meth:`note_pong` does.
    """

    __slots__ = (
        "_activity",
        "_due_idle",
        "_due_ping",
        "_lock",
        "_ponged",
        "_seen",
        "_skip_push",
        "last_heard",
        "last_sent",
        "ping_sent_at",
        "plan",
    )

    def __init__(self, plan: KeepalivePlan, now: float, activity: Callable[[], int] | None = None) -> None:
        self.plan = plan
        self.last_sent = now
        self.last_heard = now
        self.ping_sent_at: float | None = None
        self._activity = activity
        self._seen = activity() if activity is not None else 0
        self._ponged = False
        self._skip_push = False
        self._due_idle = False
        self._due_ping = False
        self._lock = threading.Lock()

    # -- notes from the writers, the actor and the reader ------------------------------------

    def note_sent(self, now: float) -> None:
        """Any frame was sent at ``now``: the idle period restarts.

        The reader calls this right after :meth:`is_due` said yes (so it does not spin while the
        actor sends); when only a liveness ping was due, that one push is skipped, so liveness
        pings never postpone the keepalive the server needs.
        """
        if self._skip_push:
            self._skip_push = False
            return
        self.last_sent = now

    def note_ping(self, now: float) -> None:
        """A ping was sent at ``now`` (it is the idle keepalive when the plan's kind is ``ping``)."""
        if self.plan.kind == "ping":
            self.last_sent = now
        if self.ping_sent_at is None:
            self.ping_sent_at = now

    def note_pong(self) -> None:
        """A pong arrived: the outstanding ping is answered."""
        self.ping_sent_at = None
        self._ponged = True

    def _observe(self, now: float) -> None:
        """Anything received since the last look answers the ping and restarts the server's silence."""
        heard = self._ponged
        activity = self._activity
        if activity is not None:
            count = activity()
            if count != self._seen:
                self._seen = count
                heard = True
        if heard:
            self._ponged = False
            self.last_heard = now
            self.ping_sent_at = None

    # -- questions from the reader ------------------------------------------------------------

    def _idle_due(self, now: float) -> bool:
        interval = self.plan.interval
        return interval is not None and now - self.last_sent >= interval

    def _ping_due(self, now: float) -> bool:
        after = self.plan.ping_after
        return after is not None and self.ping_sent_at is None and now - self.last_heard >= after

    def is_due(self, now: float) -> bool:
        """True when something must be sent now: the idle keepalive or a liveness ping.

        Records what for :meth:`take_due`; a liveness ping's pong deadline starts here.
        """
        self._observe(now)
        idle, ping = self._idle_due(now), self._ping_due(now)
        if not (idle or ping):
            return False
        with self._lock:
            if ping:
                self.ping_sent_at = now
                self._due_ping = True
            if idle:
                self._due_idle = True
            self._skip_push = not idle
        return True

    def take_due(self) -> tuple[bool, bool]:
        """For the actor: ``(idle_keepalive, liveness_ping)`` asked for since the last call."""
        with self._lock:
            due = (self._due_idle, self._due_ping)
            self._due_idle = self._due_ping = False
        return due

    def take_due_now(self, now: float) -> tuple[bool, bool]:
        """:meth:`is_due` and :meth:`take_due` in one step, for an owner that sends what is due at once.

        Returns ``(idle_keepalive, liveness_ping)``; the caller notes what it sends
        (:meth:`note_ping`, :meth:`note_sent`).
        """
        if not self.is_due(now):
            return False, False
        self._skip_push = False
        return self.take_due()

    def pong_overdue(self, now: float) -> bool:
        """True when a ping has waited longer than ``pong_timeout`` with nothing received."""
        self._observe(now)
        return self.ping_sent_at is not None and now - self.ping_sent_at > self.plan.pong_timeout

    def seconds_until_due(self, now: float) -> float:
        """How long the reader may wait before it must check again (never negative)."""
        self._observe(now)
        plan = self.plan
        wait = float("inf")
        if plan.interval is not None:
            wait = self.last_sent + plan.interval - now
        if self.ping_sent_at is not None:
            wait = min(wait, self.ping_sent_at + plan.pong_timeout - now)
        elif plan.ping_after is not None:
            wait = min(wait, self.last_heard + plan.ping_after - now)
        return max(0.0, min(wait, _LONGEST_WAIT))


__all__ = ["KeepaliveClock", "KeepalivePlan"]
