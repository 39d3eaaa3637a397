"""Sync socket clients, one class per API, shaped as Deepgram's SDK socket clients.

A socket wraps one :class:`actors.runtime.Connection` whose events flow into a queue subscribed
at connect time, so nothing is lost before ``start_listening()`` or ``recv()``. The typed send
methods are generated from :mod:`actors.client.send_table` into
:mod:`actors.client.send_methods`.

Leaving the ``with`` block finishes gracefully: the runtime's ``finish`` (Listen: CloseStream
and wait for the finals and Metadata; Speak: Flush + Close, so the audio of every text sent
arrives; Agent: wait until every request that gets a reply was answered -- see
:mod:`actors.client.agent_replies` -- then close), then waits for a ``start_listening()``
running elsewhere to deliver CLOSE.

How long the finish may take (``DeepgramClient(finish_timeout=...)``, or ``finish(timeout=...)``):

* ``None`` (the default): an adaptive deadline (:class:`actors.runtime.deadline.OwedAudioDeadline`)
  -- ``FINISH_MARGIN`` (10 s) after the server's last frame, plus the audio still owed (sent but
  not yet covered by a result: Listen ``Results`` / Flux ``TurnInfo``) at ``FINISH_MIN_RATE``
  (a tenth of real time, so 10 s per second owed). A busy server that is working through the
  audio is waited for; one that went silent is given up on. Speak and Agent owe no audio in
  seconds (Speak's owed work is the text not yet synthesized, Agent's the replies still owed),
  so for them the deadline is the margin after the last frame: it lasts as long as audio or
  replies keep arriving.
* A number: a hard cap, as before -- the finish never waits longer than that many seconds,
  whatever is owed.

Thread safety: a socket may be sent to from any number of threads at once (sends are ordered
as they reach the connection) while ONE thread reads it (``start_listening``, ``recv`` or
iteration; concurrent readers are serialised and would each see only some of the events). End
it (``with`` exit, ``finish``, ``close``) from one thread, once the other senders are done.

No thread of your own is needed for callbacks: when callbacks were registered with ``on`` but
the socket was never read (no ``start_listening()``, ``recv()`` or iteration), leaving the
block delivers every event to them on the thread leaving it -- OPEN, each MESSAGE, ERROR, CLOSE,
once each -- after the graceful finish (so callbacks can no longer send).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Self

from actors.client.agent_replies import TracksAgentReplies, close_budget
from actors.client.send_methods import (
    AgentV1SendMethods,
    ListenV1SendMethods,
    ListenV2SendMethods,
    SpeakV1SendMethods,
    SpeakV2SendMethods,
)
from actors.client.send_table import TableSender, raw_text
from actors.client.socket_events import SKIP, SocketEvent, SocketState
from actors.core.events import EventType
from actors.errors import FinishTimeout, OptionsError, ReceiveTimeout

if TYPE_CHECKING:
    from actors.runtime.deadline import OwedAudioDeadline

log = logging.getLogger("actors.client")

Callback = Callable[[Any], Any]
#: How long leaving a block waits for a CLOSE still on its way when the finish used its deadline.
UNREAD_GRACE_SECONDS = 1.0
#: The adaptive finish deadline (``finish_timeout=None``): seconds allowed after the server's
#: last frame, and the slowest rate (audio seconds per second) assumed for the audio still owed.
FINISH_MARGIN = 10.0
FINISH_MIN_RATE = 0.1


class CallbackRegistry:
    """Callbacks per :class:`EventType`; ``emit`` reports a raising callback as ERROR and goes on."""

    def __init__(self) -> None:
        self._callbacks: dict[EventType, tuple[Callback, ...]] = {}
        self._lock = threading.Lock()

    def add(self, event_name: EventType | str, callback: Callback) -> None:
        """Register ``callback`` for ``event_name``; ``OptionsError`` for a bad name or non-callable."""
        try:
            kind = EventType(event_name)
        except ValueError:
            names = ", ".join(e.value for e in EventType)
            raise OptionsError("event_name", f"expected one of {names}, got {event_name!r}") from None
        if not callable(callback):
            raise OptionsError("callback", f"expected a callable, got {type(callback).__name__}")
        with self._lock:
            self._callbacks[kind] = (*self._callbacks.get(kind, ()), callback)

    def __bool__(self) -> bool:
        """True when at least one callback is registered."""
        with self._lock:
            return any(self._callbacks.values())

    def get(self, kind: EventType) -> tuple[Callback, ...]:
        """The callbacks registered for ``kind`` (a snapshot)."""
        return self._callbacks.get(kind, ())

    def emit(self, kind: EventType, payload: Any) -> None:
        """Call every callback for ``kind``; a raising callback is reported as ERROR (or logged)."""
        for callback in self.get(kind):
            try:
                callback(payload)
            except Exception as exc:
                self.report(kind, callback, exc)

    def report(self, kind: EventType, callback: Callback, exc: Exception) -> None:
        """Report that ``callback`` (for ``kind``) raised ``exc``: as ERROR, or logged if no one listens."""
        if self.log_unless_forwarded(kind, callback, exc):
            self.emit(EventType.ERROR, exc)

    def log_unless_forwarded(self, kind: EventType, callback: Callback, exc: Exception) -> bool:
        """Whether ``exc`` from a ``kind`` callback goes on to the ERROR callbacks; logs it when not.

        It does unless it came from an ERROR callback itself or no ERROR callback is registered.
        """
        if kind is EventType.ERROR or not self.get(EventType.ERROR):
            log.error("%s callback %r raised; listening continues", kind.value, callback, exc_info=exc)
            return False
        return True


class SocketBase(TableSender):
    """What the sync and async sockets share: the connection, callbacks, state and ``repr``.

    Each socket adds its own event queue, reading (blocking or awaited) and ending.
    """

    api_name: ClassVar[str] = ""

    def __init__(self, connection: Any, finish_timeout: float | None) -> None:
        self._connection = connection
        self._finish_timeout = finish_timeout
        self._callbacks = CallbackRegistry()
        self._state = SocketState()
        # Set by the first read of any kind; leaving the block runs callbacks only while unset.
        self._read_started = False

    def __repr__(self) -> str:
        state = "closed" if self._state.closed is not None else "open"
        return f"{type(self).__name__}(request_id={self.request_id!r}, {state})"

    @property
    def request_id(self) -> str | None:
        """The server's ``dg-request-id`` for this connection (None if it sent none)."""
        return getattr(self._connection, "request_id", None)

    @property
    def connection(self) -> Any:
        """The underlying :class:`actors.runtime.Connection` (for advanced use)."""
        return self._connection

    def _finish_limit(self, timeout: float | None) -> float | OwedAudioDeadline:
        """``timeout``, else the client's ``finish_timeout``, else a new adaptive deadline (started now)."""
        limit = self._finish_timeout if timeout is None else timeout
        if limit is not None:
            return limit
        from actors.runtime.deadline import OwedAudioDeadline

        return OwedAudioDeadline(
            self._connection.metrics_recorder, margin=FINISH_MARGIN, min_rate=FINISH_MIN_RATE
        )

    def _after_finish(self, started: float) -> float:
        """The monotonic time until which leaving a block waits for a listener, once the finish is over.

        A flat ``finish_timeout``: what is left of it (counted from ``started``); adaptive: the margin.
        """
        if self._finish_timeout is not None:
            return started + self._finish_timeout
        return time.monotonic() + FINISH_MARGIN


class SocketClient(SocketBase):
    """One live connection: ``on``, ``start_listening``, ``recv``, iteration, send methods.

    Made by ``client.<api>.connect(...)``; usable as a context manager (leaving it finishes
    gracefully and, if the socket was never read, runs the callbacks; see the module
    docstring). Thread-safe for sending from any thread while one thread reads
    (``start_listening``, ``recv`` or iteration); one thread ends it. Sockets are independent:
    many threads may each open and use their own socket from one shared client.
    """

    def __init__(self, connection: Any, events: queue.Queue[Any], finish_timeout: float | None) -> None:
        super().__init__(connection, finish_timeout)
        self._events = events
        self._read_lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self._listener_done = threading.Event()

    # -- events ---------------------------------------------------------------------------------

    def on(self, event_name: EventType | str, callback: Callback) -> None:
        """Call ``callback(payload)`` for every ``event_name`` event.

        Callbacks run in ``start_listening()``; if the socket is never read, they run when the
        ``with`` block ends (after the graceful finish, on the thread leaving it).
        """
        self._callbacks.add(event_name, callback)

    # -- sending (the typed send methods come from actors.client.send_methods) ----------------

    def send_raw(self, message: Mapping[str, Any] | str) -> None:
        """Send one text frame as is: a ``dict`` as JSON, a ``str`` verbatim; nothing is validated.

        For message types this version does not model. The SDK has it on Agent sockets only;
        here every socket has it. Ordered with the other sends.
        """
        self._deliver_text(raw_text(message))

    def _next(self, timeout: float | None) -> SocketEvent:
        """The next event; raises ``queue.Empty`` when ``timeout`` seconds pass without one."""
        if self._state.closed is not None:
            return self._state.track(self._state.closed)
        return self._state.track(self._events.get(timeout=timeout))

    def recv(self, timeout: float | None = None) -> Any:
        """The next server message (``bytes`` for audio); waits up to ``timeout`` seconds (None: forever).

        Raises ``actors.errors.ReceiveTimeout`` (a ``TimeoutError``; the connection stays open)
        when nothing arrived in time, ``ProtocolError`` for a frame that could not be decoded,
        and once the connection is over, the failure that ended it or
        ``ConnectionClosedError(code, reason)``.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        self._read_started = True
        with self._read_lock:
            while True:
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    event = self._next(remaining)
                except queue.Empty:
                    raise ReceiveTimeout(timeout or 0.0) from None
                outcome = self._state.recv_outcome(event)
                if outcome is not SKIP:
                    return outcome

    def __iter__(self) -> Iterator[Any]:
        """Yield server messages until the connection closes; raises the failure if it ended abnormally."""
        self._read_started = True
        while True:
            with self._read_lock:
                outcome = self._state.iter_outcome(self._next(None))
            if outcome is None:
                return
            if outcome is not SKIP:
                yield outcome

    def start_listening(self) -> None:
        """Emit OPEN, then MESSAGE per server message, ERROR per problem, and CLOSE; return at close.

        A callback that raises is reported as ERROR and listening goes on. CLOSE's payload carries
        ``code`` and ``reason``. Runs on the calling thread (use a thread if you need one; or
        do not call it at all and the callbacks run when the ``with`` block ends).
        """
        self._listener = threading.current_thread()
        self._listener_done.clear()
        self._read_started = True
        try:
            with self._read_lock:
                self._emit_until_close(None)
        finally:
            self._listener_done.set()

    def _emit_until_close(self, deadline: float | None) -> bool:
        """Emit OPEN (if already read) and every event to the callbacks, up to CLOSE.

        Hold ``_read_lock``. Waits for events until monotonic ``deadline`` (None: forever);
        returns False if it passed before CLOSE.
        """
        if self._state.opened is not None:
            self._callbacks.emit(EventType.OPEN, self._state.opened)
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                event = self._next(remaining)
            except queue.Empty:
                return False
            if event.kind is None:
                continue
            self._callbacks.emit(event.kind, event.payload)
            if event.kind is EventType.CLOSE:
                return True

    def _deliver_unread(self, deadline: float) -> None:
        """Run the callbacks for every event when the socket was never read (see the module docstring)."""
        if self._read_started or not self._callbacks:
            return
        with self._read_lock:
            if self._read_started:
                return
            self._read_started = True
            # The connection is closed, so every event is already queued; the deadline only
            # guards against a CLOSE that never came.
            if not self._emit_until_close(deadline):
                log.warning("no CLOSE event before the finish deadline; callbacks got the events so far")

    # -- ending ---------------------------------------------------------------------------------

    def finish(self, timeout: float | None = None) -> Any:
        """Finish gracefully (see the module docstring); returns the runtime's result.

        ``timeout``: at most that many seconds; None: the client's ``finish_timeout`` (by default
        the adaptive deadline that follows the audio still owed). Raises ``FinishTimeout`` if the
        server did not close in time (results so far are kept).
        """
        return self._connection.finish(timeout=self._finish_limit(timeout))

    def close(self) -> None:
        """Close the connection now, without waiting for pending results."""
        self._connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.leave(exc)

    def leave(self, exc: BaseException | None) -> None:
        """End the connection as leaving a ``with`` block does.

        Gracefully for a normal exit or an ``Exception`` in the block, then runs the callbacks
        of a socket never read; at once (no callbacks) for ``KeyboardInterrupt`` and the like.
        Raises ``FinishTimeout`` only after a clean block.
        """
        started = time.monotonic()
        timed_out: FinishTimeout | None = None
        graceful = exc is None or isinstance(exc, Exception)
        deadline = started
        try:
            if graceful:
                try:
                    self.finish()
                except FinishTimeout as error:
                    timed_out = error
            deadline = self._after_finish(started)
            listener = self._listener
            if listener is not None and listener is not threading.current_thread():
                self._listener_done.wait(max(0.0, deadline - time.monotonic()))
        finally:
            self._connection.close()
        if graceful:
            self._deliver_unread(max(deadline, time.monotonic() + UNREAD_GRACE_SECONDS))
        if timed_out is not None and exc is None:
            raise timed_out


class ListenV1SocketClient(ListenV1SendMethods, SocketClient):
    """A Listen V1 (live transcription) socket; see :class:`SocketClient`."""

    api_name = "listen.v1"


class ListenV2SocketClient(ListenV2SendMethods, SocketClient):
    """A Listen V2 (Flux) socket; see :class:`SocketClient`."""

    api_name = "listen.v2"


class SpeakV1SocketClient(SpeakV1SendMethods, SocketClient):
    """A Speak V1 (streaming TTS) socket; audio arrives as ``bytes`` messages."""

    api_name = "speak.v1"


class SpeakV2SocketClient(SpeakV2SendMethods, SocketClient):
    """A Speak V2 (Flux TTS) socket; audio arrives as ``bytes`` messages.

    Leaving the block flushes the open turn and closes: the last audio, ``SpeechMetadata``,
    ``Flushed`` and ``SessionMetadata`` arrive before CLOSE.
    """

    api_name = "speak.v2"


class AgentV1SocketClient(TracksAgentReplies, AgentV1SendMethods, SocketClient):
    """An Agent V1 (voice agent) socket; agent audio arrives as ``bytes`` messages.

    Its graceful finish first waits until every request sent so far was answered (Settings ->
    SettingsApplied, Update* -> *Updated, injections and function answers -> the reply's
    AgentAudioDone, ...; see :mod:`actors.client.agent_replies`), then closes.
    """

    api_name = "agent.v1"

    def __init__(self, connection: Any, events: queue.Queue[Any], finish_timeout: float | None) -> None:
        super().__init__(connection, events, finish_timeout)
        self._track_replies()

    def finish(self, timeout: float | None = None) -> Any:
        """Wait for the replies still owed, then close, all within ``timeout`` s (default: the
        client's ``finish_timeout``, by default adaptive: extended while the agent sends; a flat
        limit leaves the close at least ``MIN_CLOSE_SECONDS``).

        Raises ``FinishTimeout`` naming the requests still unanswered (after closing the
        connection) when the agent did not answer in time.
        """
        limit = self._finish_limit(timeout)
        started = time.monotonic()
        if not self._replies.wait(limit):
            error = self._replies_timeout(limit)
            self._connection.close()
            raise error
        return self._connection.finish(timeout=close_budget(limit, started))


SOCKET_CLASSES: dict[str, type[SocketClient]] = {
    cls.api_name: cls
    for cls in (
        ListenV1SocketClient,
        ListenV2SocketClient,
        SpeakV1SocketClient,
        SpeakV2SocketClient,
        AgentV1SocketClient,
    )
}

# The SDK's class names, for type hints in ported code.
V1SocketClient = ListenV1SocketClient
V2SocketClient = ListenV2SocketClient

__all__ = [
    "SOCKET_CLASSES",
    "AgentV1SocketClient",
    "CallbackRegistry",
    "ListenV1SocketClient",
    "ListenV2SocketClient",
    "SocketBase",
    "SocketClient",
    "SpeakV1SocketClient",
    "SpeakV2SocketClient",
    "V1SocketClient",
    "V2SocketClient",
]
