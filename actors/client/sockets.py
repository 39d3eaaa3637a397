"""Sync socket clients, one class per API, shaped as Deepgram's SDK socket clients.

A socket wraps one :class:`actors.runtime.Connection` whose events flow into a queue subscribed
at connect time, so nothing is lost before ``start_listening()`` or ``recv()``. Each API's typed
send methods are written out on its class (the async twins in :mod:`actors.client.async_sockets`):
one per message of its ``ApiSpec.client_sends`` (plus ``send_..._media`` when the client sends
audio), under the reference name and the SDK's short name, each calling
:meth:`~actors.client.sending.MessageSender._send_message` with its message class.

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
from typing import TYPE_CHECKING, Any, Self

from actors.client.agent_replies import TracksAgentReplies, close_budget
from actors.client.sending import MessageSender, raw_text
from actors.client.socket_events import SKIP, SocketEvent, SocketState
from actors.core.events import EventType
from actors.errors import FinishTimeout, OptionsError, ReceiveTimeout

if TYPE_CHECKING:
    from actors.protocol.agent_v1.messages import (
        AgentV1CustomToThinkProvider,
        AgentV1ForceEndTurn,
        AgentV1InjectAgentMessage,
        AgentV1InjectDynamicAgentMessage,
        AgentV1InjectUserMessage,
        AgentV1KeepAlive,
        AgentV1SendFunctionCallResponse,
        AgentV1Settings,
        AgentV1UpdateListen,
        AgentV1UpdatePrompt,
        AgentV1UpdateSpeak,
        AgentV1UpdateThink,
        AgentV1UpdateThinkLive,
    )
    from actors.protocol.apis import ApiSpec
    from actors.protocol.listen_v1.messages import (
        ListenV1CloseStream,
        ListenV1Configure,
        ListenV1Finalize,
        ListenV1KeepAlive,
    )
    from actors.protocol.listen_v2.messages import (
        ListenV2CloseStream,
        ListenV2Configure,
        ListenV2ForceEndTurn,
    )
    from actors.protocol.speak_v1.messages import SpeakV1Clear, SpeakV1Close, SpeakV1Flush, SpeakV1Text
    from actors.protocol.speak_v2.messages import (
        SpeakV2Close,
        SpeakV2Configure,
        SpeakV2Flush,
        SpeakV2Interrupt,
        SpeakV2Speak,
    )
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


class SocketBase(MessageSender):
    """What the sync and async sockets share: the connection, callbacks, state and ``repr``.

    Each socket adds its own event queue, reading (blocking or awaited) and ending; each API's
    socket class returns its :class:`~actors.protocol.apis.ApiSpec` from ``api()`` and has its send
    methods, each importing its message class on first use (a Listen V1 connection imports no
    other API's messages).
    """

    @classmethod
    def api(cls) -> ApiSpec:
        """The :class:`~actors.protocol.apis.ApiSpec` this socket class speaks (each API's class says).

        Imported when first asked for, so opening one API's socket imports no other API.
        """
        raise NotImplementedError(f"{cls.__name__} is not the socket class of an API")

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

    # -- sending (each API's socket class below has its typed send methods) -------------------

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


class ListenV1SocketClient(SocketClient):
    """A Listen V1 (live transcription) socket; see :class:`SocketClient`."""

    @classmethod
    def api(cls) -> ApiSpec:
        """:data:`~actors.protocol.apis.LISTEN_V1` (imported when first asked for)."""
        from actors.protocol.apis import LISTEN_V1

        return LISTEN_V1

    def send_listen_v_1_media(self, message: bytes) -> None:
        """Send audio bytes (one binary frame)."""
        self._send_audio("send_listen_v_1_media", message)

    send_media = send_listen_v_1_media

    def send_listen_v_1_finalize(self, message: ListenV1Finalize | Mapping[str, Any] | None = None) -> None:
        """Ask for final results of the audio sent so far."""
        from actors.protocol.listen_v1.messages import ListenV1Finalize

        self._send_message("send_listen_v_1_finalize", ListenV1Finalize, message)

    send_finalize = send_listen_v_1_finalize

    def send_listen_v_1_close_stream(
        self, message: ListenV1CloseStream | Mapping[str, Any] | None = None
    ) -> None:
        """End the audio; the server sends finals, Metadata, closes."""
        from actors.protocol.listen_v1.messages import ListenV1CloseStream

        self._send_message("send_listen_v_1_close_stream", ListenV1CloseStream, message)

    send_close_stream = send_listen_v_1_close_stream

    def send_listen_v_1_keep_alive(
        self, message: ListenV1KeepAlive | Mapping[str, Any] | None = None
    ) -> None:
        """Keep an idle connection open."""
        from actors.protocol.listen_v1.messages import ListenV1KeepAlive

        self._send_message("send_listen_v_1_keep_alive", ListenV1KeepAlive, message)

    send_keep_alive = send_listen_v_1_keep_alive

    def send_listen_v_1_configure(self, message: ListenV1Configure | Mapping[str, Any] | None = None) -> None:
        """Change keyterms or features mid-stream."""
        from actors.protocol.listen_v1.messages import ListenV1Configure

        self._send_message("send_listen_v_1_configure", ListenV1Configure, message)

    send_configure = send_listen_v_1_configure


class ListenV2SocketClient(SocketClient):
    """A Listen V2 (Flux) socket; see :class:`SocketClient`."""

    @classmethod
    def api(cls) -> ApiSpec:
        """:data:`~actors.protocol.apis.LISTEN_V2` (imported when first asked for)."""
        from actors.protocol.apis import LISTEN_V2

        return LISTEN_V2

    def send_listen_v_2_media(self, message: bytes) -> None:
        """Send audio bytes (one binary frame)."""
        self._send_audio("send_listen_v_2_media", message)

    send_media = send_listen_v_2_media

    def send_listen_v_2_close_stream(
        self, message: ListenV2CloseStream | Mapping[str, Any] | None = None
    ) -> None:
        """End the audio; the server sends its last updates and closes."""
        from actors.protocol.listen_v2.messages import ListenV2CloseStream

        self._send_message("send_listen_v_2_close_stream", ListenV2CloseStream, message)

    send_close_stream = send_listen_v_2_close_stream

    def send_listen_v_2_force_end_turn(
        self, message: ListenV2ForceEndTurn | Mapping[str, Any] | None = None
    ) -> None:
        """End the current turn now."""
        from actors.protocol.listen_v2.messages import ListenV2ForceEndTurn

        self._send_message("send_listen_v_2_force_end_turn", ListenV2ForceEndTurn, message)

    send_force_end_turn = send_listen_v_2_force_end_turn

    def send_listen_v_2_configure(self, message: ListenV2Configure | Mapping[str, Any] | None = None) -> None:
        """Change thresholds, keyterms or language hints mid-stream."""
        from actors.protocol.listen_v2.messages import ListenV2Configure

        self._send_message("send_listen_v_2_configure", ListenV2Configure, message)

    send_configure = send_listen_v_2_configure


class SpeakV1SocketClient(SocketClient):
    """A Speak V1 (streaming TTS) socket; audio arrives as ``bytes`` messages."""

    @classmethod
    def api(cls) -> ApiSpec:
        """:data:`~actors.protocol.apis.SPEAK_V1` (imported when first asked for)."""
        from actors.protocol.apis import SPEAK_V1

        return SPEAK_V1

    def send_speak_v_1_text(self, message: SpeakV1Text | Mapping[str, Any]) -> None:
        """Queue text to be spoken."""
        from actors.protocol.speak_v1.messages import SpeakV1Text

        self._send_message("send_speak_v_1_text", SpeakV1Text, message)

    send_text = send_speak_v_1_text

    def send_speak_v_1_flush(self, message: SpeakV1Flush | Mapping[str, Any] | None = None) -> None:
        """Synthesize all queued text now; the server answers Flushed."""
        from actors.protocol.speak_v1.messages import SpeakV1Flush

        self._send_message("send_speak_v_1_flush", SpeakV1Flush, message)

    send_flush = send_speak_v_1_flush

    def send_speak_v_1_clear(self, message: SpeakV1Clear | Mapping[str, Any] | None = None) -> None:
        """Drop queued text; the server answers Cleared."""
        from actors.protocol.speak_v1.messages import SpeakV1Clear

        self._send_message("send_speak_v_1_clear", SpeakV1Clear, message)

    send_clear = send_speak_v_1_clear

    def send_speak_v_1_close(self, message: SpeakV1Close | Mapping[str, Any] | None = None) -> None:
        """Finish the audio of queued text and close."""
        from actors.protocol.speak_v1.messages import SpeakV1Close

        self._send_message("send_speak_v_1_close", SpeakV1Close, message)

    send_close = send_speak_v_1_close


class SpeakV2SocketClient(SocketClient):
    """A Speak V2 (Flux TTS) socket; audio arrives as ``bytes`` messages.

    Leaving the block flushes the open turn and closes: the last audio, ``SpeechMetadata``,
    ``Flushed`` and ``SessionMetadata`` arrive before CLOSE.
    """

    @classmethod
    def api(cls) -> ApiSpec:
        """:data:`~actors.protocol.apis.SPEAK_V2` (imported when first asked for)."""
        from actors.protocol.apis import SPEAK_V2

        return SPEAK_V2

    def send_speak_v_2_speak(self, message: SpeakV2Speak | Mapping[str, Any]) -> None:
        """Add text to the current turn."""
        from actors.protocol.speak_v2.messages import SpeakV2Speak

        self._send_message("send_speak_v_2_speak", SpeakV2Speak, message)

    send_speak = send_speak_v_2_speak

    def send_speak_v_2_flush(self, message: SpeakV2Flush | Mapping[str, Any] | None = None) -> None:
        """End the turn: synthesize it now; the server answers SpeechMetadata and Flushed."""
        from actors.protocol.speak_v2.messages import SpeakV2Flush

        self._send_message("send_speak_v_2_flush", SpeakV2Flush, message)

    send_flush = send_speak_v_2_flush

    def send_speak_v_2_interrupt(self, message: SpeakV2Interrupt | Mapping[str, Any] | None = None) -> None:
        """Stop the current turn (barge-in); the server answers SpeechInterrupted."""
        from actors.protocol.speak_v2.messages import SpeakV2Interrupt

        self._send_message("send_speak_v_2_interrupt", SpeakV2Interrupt, message)

    send_interrupt = send_speak_v_2_interrupt

    def send_speak_v_2_configure(self, message: SpeakV2Configure | Mapping[str, Any] | None = None) -> None:
        """Change the speech rate; the server answers ConfigureSuccess or ConfigureFailure."""
        from actors.protocol.speak_v2.messages import SpeakV2Configure

        self._send_message("send_speak_v_2_configure", SpeakV2Configure, message)

    send_configure = send_speak_v_2_configure

    def send_speak_v_2_close(self, message: SpeakV2Close | Mapping[str, Any] | None = None) -> None:
        """Finish the flushed turns' audio and close; the server answers SessionMetadata."""
        from actors.protocol.speak_v2.messages import SpeakV2Close

        self._send_message("send_speak_v_2_close", SpeakV2Close, message)

    send_close = send_speak_v_2_close


class AgentV1SocketClient(TracksAgentReplies, SocketClient):
    """An Agent V1 (voice agent) socket; agent audio arrives as ``bytes`` messages.

    Its graceful finish first waits until every request sent so far was answered (Settings ->
    SettingsApplied, Update* -> *Updated, injections and function answers -> the reply's
    AgentAudioDone, ...; see :mod:`actors.client.agent_replies`), then closes.
    """

    @classmethod
    def api(cls) -> ApiSpec:
        """:data:`~actors.protocol.apis.AGENT_V1` (imported when first asked for)."""
        from actors.protocol.apis import AGENT_V1

        return AGENT_V1

    def send_agent_v_1_settings(self, message: AgentV1Settings | Mapping[str, Any]) -> None:
        """Configure the agent (must be the first message)."""
        from actors.protocol.agent_v1.messages import AgentV1Settings

        self._send_message("send_agent_v_1_settings", AgentV1Settings, message)

    send_settings = send_agent_v_1_settings

    def send_agent_v_1_media(self, message: bytes) -> None:
        """Send user audio bytes (one binary frame)."""
        self._send_audio("send_agent_v_1_media", message)

    send_media = send_agent_v_1_media

    def send_agent_v_1_keep_alive(self, message: AgentV1KeepAlive | Mapping[str, Any] | None = None) -> None:
        """Keep an idle connection open."""
        from actors.protocol.agent_v1.messages import AgentV1KeepAlive

        self._send_message("send_agent_v_1_keep_alive", AgentV1KeepAlive, message)

    send_keep_alive = send_agent_v_1_keep_alive

    def send_agent_v_1_update_speak(self, message: AgentV1UpdateSpeak | Mapping[str, Any]) -> None:
        """Change the speak (TTS) provider mid-conversation."""
        from actors.protocol.agent_v1.messages import AgentV1UpdateSpeak

        self._send_message("send_agent_v_1_update_speak", AgentV1UpdateSpeak, message)

    send_update_speak = send_agent_v_1_update_speak

    def send_agent_v_1_update_prompt(self, message: AgentV1UpdatePrompt | Mapping[str, Any]) -> None:
        """Add to the agent's prompt."""
        from actors.protocol.agent_v1.messages import AgentV1UpdatePrompt

        self._send_message("send_agent_v_1_update_prompt", AgentV1UpdatePrompt, message)

    send_update_prompt = send_agent_v_1_update_prompt

    def send_agent_v_1_update_listen(self, message: AgentV1UpdateListen | Mapping[str, Any]) -> None:
        """Change the listen (STT) provider mid-conversation."""
        from actors.protocol.agent_v1.messages import AgentV1UpdateListen

        self._send_message("send_agent_v_1_update_listen", AgentV1UpdateListen, message)

    send_update_listen = send_agent_v_1_update_listen

    def send_agent_v_1_update_think(self, message: AgentV1UpdateThink | Mapping[str, Any]) -> None:
        """Change the think (LLM) provider mid-conversation."""
        from actors.protocol.agent_v1.messages import AgentV1UpdateThink

        self._send_message("send_agent_v_1_update_think", AgentV1UpdateThink, message)

    send_update_think = send_agent_v_1_update_think

    def send_agent_v_1_inject_user_message(
        self, message: AgentV1InjectUserMessage | Mapping[str, Any]
    ) -> None:
        """Inject text as if the user said it."""
        from actors.protocol.agent_v1.messages import AgentV1InjectUserMessage

        self._send_message("send_agent_v_1_inject_user_message", AgentV1InjectUserMessage, message)

    send_inject_user_message = send_agent_v_1_inject_user_message

    def send_agent_v_1_inject_agent_message(
        self, message: AgentV1InjectAgentMessage | Mapping[str, Any]
    ) -> None:
        """Make the agent say this text."""
        from actors.protocol.agent_v1.messages import AgentV1InjectAgentMessage

        self._send_message("send_agent_v_1_inject_agent_message", AgentV1InjectAgentMessage, message)

    send_inject_agent_message = send_agent_v_1_inject_agent_message

    def send_agent_v_1_send_function_call_response(
        self, message: AgentV1SendFunctionCallResponse | Mapping[str, Any]
    ) -> None:
        """Answer a client-side FunctionCallRequest."""
        from actors.protocol.agent_v1.messages import AgentV1SendFunctionCallResponse

        self._send_message(
            "send_agent_v_1_send_function_call_response", AgentV1SendFunctionCallResponse, message
        )

    send_function_call_response = send_agent_v_1_send_function_call_response

    def send_agent_v_1_force_end_turn(
        self, message: AgentV1ForceEndTurn | Mapping[str, Any] | None = None
    ) -> None:
        """End the user's turn now."""
        from actors.protocol.agent_v1.messages import AgentV1ForceEndTurn

        self._send_message("send_agent_v_1_force_end_turn", AgentV1ForceEndTurn, message)

    send_force_end_turn = send_agent_v_1_force_end_turn

    def send_agent_v_1_update_think_live(self, message: AgentV1UpdateThinkLive | Mapping[str, Any]) -> None:
        """Change the Think Live configuration mid-conversation (wire type ``UpdateThink_Live``)."""
        from actors.protocol.agent_v1.messages import AgentV1UpdateThinkLive

        self._send_message("send_agent_v_1_update_think_live", AgentV1UpdateThinkLive, message)

    send_update_think_live = send_agent_v_1_update_think_live

    def send_agent_v_1_inject_dynamic_agent_message(
        self, message: AgentV1InjectDynamicAgentMessage | Mapping[str, Any] | None = None
    ) -> None:
        """Ask the agent to compose and say a message now (``InjectAgentMessage``, ``is_dynamic``)."""
        from actors.protocol.agent_v1.messages import AgentV1InjectDynamicAgentMessage

        self._send_message(
            "send_agent_v_1_inject_dynamic_agent_message", AgentV1InjectDynamicAgentMessage, message
        )

    send_inject_dynamic_agent_message = send_agent_v_1_inject_dynamic_agent_message

    def send_agent_v_1_custom_to_think_provider(
        self, message: AgentV1CustomToThinkProvider | Mapping[str, Any]
    ) -> None:
        """Pass data through to a custom think provider (``__customToThinkProvider``)."""
        from actors.protocol.agent_v1.messages import AgentV1CustomToThinkProvider

        self._send_message("send_agent_v_1_custom_to_think_provider", AgentV1CustomToThinkProvider, message)

    send_custom_to_think_provider = send_agent_v_1_custom_to_think_provider

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


# The SDK's class names, for type hints in ported code.
V1SocketClient = ListenV1SocketClient
V2SocketClient = ListenV2SocketClient

__all__ = [
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
