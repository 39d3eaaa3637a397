"""The replies an Agent V1 socket still waits for, so a graceful end does not cut them off.

The Agent API has no ``CloseStream``: the client ends a session with a close frame, and a server
cannot send after it. Leaving a ``with`` block right after ``send_settings(...)`` would lose the
``SettingsApplied`` still in flight. So an agent socket records every request that gets a reply
and its graceful finish waits until all of them were answered (bounded by the finish timeout).

What answers what (first match in send order wins; ``Error`` answers the oldest request):

* ``Settings`` -> ``SettingsApplied``; with an ``agent.greeting``, then also the greeting's
  ``AgentAudioDone`` (the greeting is the reply's audio).
* ``UpdateSpeak`` / ``UpdatePrompt`` / ``UpdateThink`` / ``UpdateListen`` / ``UpdateThink_Live``
  -> ``SpeakUpdated`` / ``PromptUpdated`` / ``ThinkUpdated`` / ``ListenUpdated`` /
  ``ThinkLiveUpdated``.
* ``InjectAgentMessage`` (also the dynamic form) -> ``AgentAudioDone`` or ``InjectionRefused``.
* ``InjectUserMessage`` -> the reply turn's ``AgentAudioDone``, ``InjectionRefused``, or a
  ``FunctionCallRequest`` with a client-side call (the turn then waits for the user's
  ``FunctionCallResponse``, which is itself a tracked request).
* ``FunctionCallResponse`` -> the following ``AgentAudioDone``, a client-side
  ``FunctionCallRequest`` (a chained call), or ``Warning`` ``UNEXPECTED_FUNCTION_CALL_RESPONSE``
  (the service ignores a late answer).

Replies cannot be matched to requests by id (the protocol has none), so a turn the user started
by speaking may settle an injection early; the cost is an earlier close, never a hang.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import attrs

from actors._lean_attrs import LeanAttrs
from actors.client.sending import MessageSender
from actors.errors import FinishTimeout

if TYPE_CHECKING:
    from actors.runtime.deadline import OwedAudioDeadline

#: Request wire type -> the reply types that answer it.
ANSWERED_BY: dict[str, frozenset[str]] = {
    "Settings": frozenset({"SettingsApplied"}),
    "UpdateSpeak": frozenset({"SpeakUpdated"}),
    "UpdatePrompt": frozenset({"PromptUpdated"}),
    "UpdateThink": frozenset({"ThinkUpdated"}),
    "UpdateListen": frozenset({"ListenUpdated"}),
    "UpdateThink_Live": frozenset({"ThinkLiveUpdated"}),
    "InjectAgentMessage": frozenset({"AgentAudioDone", "InjectionRefused"}),
    "InjectUserMessage": frozenset({"AgentAudioDone", "InjectionRefused", "ClientFunctionCall"}),
    "FunctionCallResponse": frozenset({"AgentAudioDone", "ClientFunctionCall", "UnexpectedFunctionResponse"}),
}
#: What a greeting (sent with Settings) waits for once ``SettingsApplied`` arrived.
GREETING_ANSWERED_BY = frozenset({"AgentAudioDone"})

ERROR = "Error"
#: The server message types the ledger looks at; everything else passes at the cost of one lookup.
REPLY_TYPES = frozenset(
    {ERROR, "Warning", "FunctionCallRequest"}.union(*ANSWERED_BY.values())
    - {"ClientFunctionCall", "UnexpectedFunctionResponse"}
)


@attrs.define(repr=False, eq=False)
class Awaited(LeanAttrs):
    """One request still waiting: its wire type, what answers it, and what it waits for next."""

    request: str
    answered_by: frozenset[str]
    then: Awaited | None = None

    def describe(self) -> str:
        """``Settings (waiting for SettingsApplied)``."""
        return f"{self.request} (waiting for {' or '.join(sorted(self.answered_by))})"


def reply_key(message: Any) -> str | None:
    """The key a server message settles requests by, or None when it answers nothing.

    The wire type, except: a ``FunctionCallRequest`` counts only when a call is client-side
    (``ClientFunctionCall``; server-side calls are followed by the agent's own reply) and a
    ``Warning`` only for a late function answer (``UnexpectedFunctionResponse``).
    """
    kind = getattr(message, "type", None)
    if kind not in REPLY_TYPES:
        return None
    if kind == "FunctionCallRequest":
        calls = getattr(message, "functions", None) or ()
        return "ClientFunctionCall" if any(getattr(c, "client_side", False) for c in calls) else None
    if kind == "Warning":
        code = getattr(message, "code", None)
        return "UnexpectedFunctionResponse" if code == "UNEXPECTED_FUNCTION_CALL_RESPONSE" else None
    return str(kind)


def awaited_for(request_type: object, greeting: object = None) -> Awaited | None:
    """What a request of ``request_type`` waits for (None: it gets no reply, e.g. ``KeepAlive``)."""
    if not isinstance(request_type, str) or request_type not in ANSWERED_BY:
        return None
    then = None
    if request_type == "Settings" and isinstance(greeting, str) and greeting:
        then = Awaited("Settings greeting", GREETING_ANSWERED_BY)
    return Awaited(request_type, ANSWERED_BY[request_type], then)


def awaited_for_message(message: Any) -> Awaited | None:
    """What a protocol message the socket is about to send waits for."""
    agent = getattr(message, "agent", None)
    return awaited_for(getattr(message, "type", None), getattr(agent, "greeting", None))


def awaited_for_frame(frame: str) -> Awaited | None:
    """What a raw JSON text frame (``send_raw``) waits for; None for anything unparsable."""
    import orjson

    try:
        data = orjson.loads(frame)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, Mapping):
        return None
    agent = data.get("agent")
    return awaited_for(data.get("type"), agent.get("greeting") if isinstance(agent, Mapping) else None)


class PendingReplies:
    """A connection subscriber that counts the agent requests still waiting for their reply.

    ``awaiting(message)`` wraps a send; the subscriber (called on the connection's reader
    thread: it only looks at the message type and takes a lock briefly) settles requests as
    replies arrive; ``wait(timeout)`` returns once none is outstanding or the connection closed.
    Thread-safe.
    """

    def __init__(self) -> None:
        from actors.runtime.events import Closed

        self._closed_type = Closed
        self._pending: list[Awaited] = []
        self._closed = False
        self._changed = threading.Condition(threading.Lock())

    def __repr__(self) -> str:
        return f"PendingReplies({self.outstanding()!r})"

    @contextmanager
    def awaiting(self, expected: Awaited | None) -> Iterator[None]:
        """Record ``expected`` before the send in the block (a reply may beat the send's return);
        forget it again if the send raises."""
        if expected is None:
            yield
            return
        with self._changed:
            self._pending.append(expected)
        try:
            yield
        except BaseException:
            with self._changed:
                if expected in self._pending:
                    self._pending.remove(expected)
                self._changed.notify_all()
            raise

    def __call__(self, event: Any) -> None:
        """Subscriber: settle the request a server message answers; wake waiters at ``Closed``."""
        if isinstance(event, self._closed_type):
            with self._changed:
                self._closed = True
                self._changed.notify_all()
            return
        key = reply_key(event)
        if key is None:
            return
        with self._changed:
            if self._settle(key):
                self._changed.notify_all()

    def _settle(self, key: str) -> bool:
        pending = self._pending
        for index, awaited in enumerate(pending):
            if key == ERROR or key in awaited.answered_by:
                if awaited.then is not None and key != ERROR:
                    pending[index] = awaited.then
                else:
                    del pending[index]
                return True
        return False

    def outstanding(self) -> list[str]:
        """The requests still waiting, oldest first, described for a message."""
        with self._changed:
            return [awaited.describe() for awaited in self._pending]

    def wait(self, timeout: float | OwedAudioDeadline) -> bool:
        """Block until no request is outstanding or the connection closed; False after ``timeout``
        seconds (or once an adaptive deadline passed: it is extended while the server sends)."""
        with self._changed:
            if not isinstance(timeout, (int, float)):
                return timeout.wait_until(lambda step: self._changed.wait_for(self._settled, step))
            deadline = time.monotonic() + timeout
            while not self._settled():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    def _settled(self) -> bool:
        return not self._pending or self._closed


#: The least time left for the close handshake after the replies arrived late in the deadline.
MIN_CLOSE_SECONDS = 1.0


class TracksAgentReplies(MessageSender):
    """Mixin of the Agent sockets (sync and async): every sent request is recorded in
    ``_replies`` (a :class:`PendingReplies` subscribed to the connection) before it is sent.

    The socket calls ``_track_replies()`` once at construction and, in its graceful finish,
    ``_replies.wait(...)`` before closing; see :meth:`_replies_timeout` and :func:`close_budget`.
    """

    _replies: PendingReplies

    def _track_replies(self) -> None:
        self._replies = PendingReplies()
        self._connection.subscribe(self._replies)

    def _deliver_message(self, message: Any) -> None:
        with self._replies.awaiting(awaited_for_message(message)):
            self._connection.send(message)

    def _deliver_text(self, frame: str) -> None:
        with self._replies.awaiting(awaited_for_frame(frame)):
            self._connection.send_text(frame)

    def _replies_timeout(self, limit: float | OwedAudioDeadline) -> FinishTimeout:
        """The ``FinishTimeout`` for replies that did not arrive within ``limit``."""
        waiting = "; ".join(self._replies.outstanding()) or "nothing"
        return FinishTimeout(
            f"the agent did not answer within {describe_limit(limit)} of the graceful finish; still "
            f"waiting for: {waiting}. The connection was closed (messages received so far were "
            "delivered); raise finish_timeout if the agent needs longer"
        )


def describe_limit(limit: float | OwedAudioDeadline) -> str:
    """``limit`` in words: ``"0.5s"`` or the adaptive deadline's own description."""
    return f"{limit}s" if isinstance(limit, (int, float)) else limit.describe()


def close_budget(limit: float | OwedAudioDeadline, started: float) -> float | OwedAudioDeadline:
    """What is left of ``limit`` (begun at monotonic ``started``) for the close handshake.

    A flat limit: the seconds left, at least ``MIN_CLOSE_SECONDS``; an adaptive deadline goes on
    (it was just extended by the reply that ended the wait).
    """
    if not isinstance(limit, (int, float)):
        return limit
    return max(MIN_CLOSE_SECONDS, limit - (time.monotonic() - started))


__all__ = [
    "ANSWERED_BY",
    "MIN_CLOSE_SECONDS",
    "Awaited",
    "PendingReplies",
    "TracksAgentReplies",
    "awaited_for",
    "awaited_for_frame",
    "awaited_for_message",
    "close_budget",
    "describe_limit",
    "reply_key",
]
