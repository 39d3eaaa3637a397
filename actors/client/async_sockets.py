"""Async socket clients: the sync sockets' behaviour, awaited on an event loop.

The connection is the same runtime actor as for the sync client; its events are bridged into an
``asyncio.Queue`` with ``loop.call_soon_threadsafe``, so reading never blocks the loop. Sends go
straight to the runtime (they enqueue and return); opening and the graceful finish, which wait on
the network, run in a worker thread.

Leaving ``async with`` finishes gracefully as the sync socket does (Agent sockets first wait for
the replies still owed). Callbacks registered with ``on`` on a socket that was never read (no
``start_listening()``, ``recv()`` or ``async for``) get every event -- OPEN, each MESSAGE, ERROR,
CLOSE, once each -- when the block ends, on the event loop, after the graceful finish.

The finish deadline is the sync sockets' (see :mod:`actors.client.sockets`): adaptive by default
(follows the audio still owed and the server's progress), a hard cap when ``finish_timeout`` or
``finish(timeout=...)`` is a number.

Thread safety: an async socket belongs to the event loop it was opened on; use it from coroutines
on that loop only (from other threads, go through ``asyncio.run_coroutine_threadsafe``).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from actors.client.agent_replies import TracksAgentReplies, close_budget
from actors.client.sending import raw_text
from actors.client.socket_events import SKIP, SocketEvent
from actors.client.sockets import UNREAD_GRACE_SECONDS, Callback, CallbackRegistry, SocketBase
from actors.core.events import EventType
from actors.errors import FinishTimeout, ReceiveTimeout

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

log = logging.getLogger("actors.client")


class LoopBridge:
    """A runtime subscriber that hands every event to ``queue`` on ``loop``'s thread.

    Events arriving after the loop closed are dropped (no one can read them any more).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[Any]) -> None:
        self._loop = loop
        self._queue = queue

    def __call__(self, event: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, event)
        except RuntimeError:  # loop closed
            log.debug("event after the event loop closed: %r", event)

    def __repr__(self) -> str:
        return "LoopBridge()"


async def _emit(callbacks: CallbackRegistry, kind: EventType, payload: Any) -> None:
    for callback in callbacks.get(kind):
        try:
            result = callback(payload)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            if callbacks.log_unless_forwarded(kind, callback, exc):
                await _emit(callbacks, EventType.ERROR, exc)


class AsyncSocketClient(SocketBase):
    """One live connection for asyncio code: ``on``, ``await start_listening()``, ``await recv()``,
    ``async for``, and awaitable send methods. ``async with`` finishes gracefully on exit and, if
    the socket was never read, then runs the callbacks (see the module docstring).
    """

    def __init__(self, connection: Any, events: asyncio.Queue[Any], finish_timeout: float | None) -> None:
        super().__init__(connection, finish_timeout)
        self._events = events
        self._read_lock = asyncio.Lock()
        self._listening = False
        self._listener_done = asyncio.Event()

    def on(self, event_name: EventType | str, callback: Callback) -> None:
        """Call ``callback(payload)`` (awaited if it returns an awaitable) for every ``event_name`` event.

        Callbacks run in ``start_listening()``; if the socket is never read, they run when the
        ``async with`` block ends (after the graceful finish, on the event loop).
        """
        self._callbacks.add(event_name, callback)

    async def send_raw(self, message: Mapping[str, Any] | str) -> None:
        """Send one text frame as is (a ``dict`` as JSON, a ``str`` verbatim); see the sync ``send_raw``."""
        self._deliver_text(raw_text(message))

    async def _next(self) -> SocketEvent:
        if self._state.closed is not None:
            return self._state.track(self._state.closed)
        return self._state.track(await self._events.get())

    async def recv(self, timeout: float | None = None) -> Any:
        """The next server message (``bytes`` for audio); see the sync ``recv`` for what it raises.

        No message within ``timeout`` seconds: ``actors.errors.ReceiveTimeout`` (a ``TimeoutError``).
        """
        self._read_started = True
        async with self._read_lock:
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    event = await asyncio.wait_for(self._next(), remaining)
                except TimeoutError:
                    raise ReceiveTimeout(timeout or 0.0) from None
                outcome = self._state.recv_outcome(event)
                if outcome is not SKIP:
                    return outcome

    async def __aiter__(self) -> AsyncIterator[Any]:
        """Yield server messages until the connection closes; raises the failure if it ended abnormally."""
        self._read_started = True
        while True:
            async with self._read_lock:
                outcome = self._state.iter_outcome(await self._next())
            if outcome is None:
                return
            if outcome is not SKIP:
                yield outcome

    async def start_listening(self) -> None:
        """Emit OPEN, MESSAGE per message, ERROR per problem and CLOSE; return at close.

        A callback that raises is reported as ERROR and listening goes on.
        """
        self._listening = True
        self._listener_done.clear()
        self._read_started = True
        try:
            async with self._read_lock:
                await self._emit_until_close(None)
        finally:
            self._listener_done.set()

    async def _emit_until_close(self, deadline: float | None) -> bool:
        """Emit OPEN (if already read) and every event to the callbacks, up to CLOSE.

        Hold ``_read_lock``. Waits for events until monotonic ``deadline`` (None: forever);
        returns False if it passed before CLOSE.
        """
        if self._state.opened is not None:
            await _emit(self._callbacks, EventType.OPEN, self._state.opened)
        while True:
            try:
                if deadline is None:
                    event = await self._next()
                else:
                    event = await asyncio.wait_for(self._next(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                return False
            if event.kind is None:
                continue
            await _emit(self._callbacks, event.kind, event.payload)
            if event.kind is EventType.CLOSE:
                return True

    async def _deliver_unread(self, deadline: float) -> None:
        """Run the callbacks for every event when the socket was never read (see the module docstring)."""
        if self._read_started or not self._callbacks:
            return
        async with self._read_lock:
            if self._read_started:
                return
            self._read_started = True
            if not await self._emit_until_close(deadline):
                log.warning("no CLOSE event before the finish deadline; callbacks got the events so far")

    async def finish(self, timeout: float | None = None) -> Any:
        """Finish gracefully without blocking the loop; ``timeout`` as for the sync ``finish``
        (None: the client's ``finish_timeout``, by default the adaptive deadline)."""
        limit = self._finish_limit(timeout)
        return await asyncio.to_thread(self._connection.finish, timeout=limit)

    async def close(self) -> None:
        """Close the connection now, without waiting for pending results."""
        await asyncio.to_thread(self._connection.close)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.leave(exc)

    async def leave(self, exc: BaseException | None) -> None:
        """End the connection as leaving ``async with`` does (graceful unless cancelled/interrupted).

        After a graceful finish, a socket never read runs its callbacks (see the module docstring).
        """
        started = time.monotonic()
        timed_out: FinishTimeout | None = None
        graceful = exc is None or isinstance(exc, Exception)
        deadline = started
        try:
            if graceful:
                try:
                    await self.finish()
                except FinishTimeout as error:
                    timed_out = error
                deadline = self._after_finish(started)
                if self._listening:
                    try:
                        await asyncio.wait_for(
                            self._listener_done.wait(), max(0.0, deadline - time.monotonic())
                        )
                    except TimeoutError:
                        log.warning("start_listening() did not reach CLOSE before the finish deadline")
        finally:
            await asyncio.to_thread(self._connection.close)
        if graceful:
            await self._deliver_unread(max(deadline, time.monotonic() + UNREAD_GRACE_SECONDS))
        if timed_out is not None and exc is None:
            raise timed_out


class AsyncListenV1SocketClient(AsyncSocketClient):
    """An async Listen V1 (live transcription) socket."""

    @classmethod
    def api(cls) -> ApiSpec:
        """:data:`~actors.protocol.apis.LISTEN_V1` (imported when first asked for)."""
        from actors.protocol.apis import LISTEN_V1

        return LISTEN_V1

    async def send_listen_v_1_media(self, message: bytes) -> None:
        """Send audio bytes (one binary frame)."""
        self._send_audio("send_listen_v_1_media", message)

    send_media = send_listen_v_1_media

    async def send_listen_v_1_finalize(
        self, message: ListenV1Finalize | Mapping[str, Any] | None = None
    ) -> None:
        """Ask for final results of the audio sent so far."""
        from actors.protocol.listen_v1.messages import ListenV1Finalize

        self._send_message("send_listen_v_1_finalize", ListenV1Finalize, message)

    send_finalize = send_listen_v_1_finalize

    async def send_listen_v_1_close_stream(
        self, message: ListenV1CloseStream | Mapping[str, Any] | None = None
    ) -> None:
        """End the audio; the server sends finals, Metadata, closes."""
        from actors.protocol.listen_v1.messages import ListenV1CloseStream

        self._send_message("send_listen_v_1_close_stream", ListenV1CloseStream, message)

    send_close_stream = send_listen_v_1_close_stream

    async def send_listen_v_1_keep_alive(
        self, message: ListenV1KeepAlive | Mapping[str, Any] | None = None
    ) -> None:
        """Keep an idle connection open."""
        from actors.protocol.listen_v1.messages import ListenV1KeepAlive

        self._send_message("send_listen_v_1_keep_alive", ListenV1KeepAlive, message)

    send_keep_alive = send_listen_v_1_keep_alive

    async def send_listen_v_1_configure(
        self, message: ListenV1Configure | Mapping[str, Any] | None = None
    ) -> None:
        """Change keyterms or features mid-stream."""
        from actors.protocol.listen_v1.messages import ListenV1Configure

        self._send_message("send_listen_v_1_configure", ListenV1Configure, message)

    send_configure = send_listen_v_1_configure


class AsyncListenV2SocketClient(AsyncSocketClient):
    """An async Listen V2 (Flux) socket."""

    @classmethod
    def api(cls) -> ApiSpec:
        """:data:`~actors.protocol.apis.LISTEN_V2` (imported when first asked for)."""
        from actors.protocol.apis import LISTEN_V2

        return LISTEN_V2

    async def send_listen_v_2_media(self, message: bytes) -> None:
        """Send audio bytes (one binary frame)."""
        self._send_audio("send_listen_v_2_media", message)

    send_media = send_listen_v_2_media

    async def send_listen_v_2_close_stream(
        self, message: ListenV2CloseStream | Mapping[str, Any] | None = None
    ) -> None:
        """End the audio; the server sends its last updates and closes."""
        from actors.protocol.listen_v2.messages import ListenV2CloseStream

        self._send_message("send_listen_v_2_close_stream", ListenV2CloseStream, message)

    send_close_stream = send_listen_v_2_close_stream

    async def send_listen_v_2_force_end_turn(
        self, message: ListenV2ForceEndTurn | Mapping[str, Any] | None = None
    ) -> None:
        """End the current turn now."""
        from actors.protocol.listen_v2.messages import ListenV2ForceEndTurn

        self._send_message("send_listen_v_2_force_end_turn", ListenV2ForceEndTurn, message)

    send_force_end_turn = send_listen_v_2_force_end_turn

    async def send_listen_v_2_configure(
        self, message: ListenV2Configure | Mapping[str, Any] | None = None
    ) -> None:
        """Change thresholds, keyterms or language hints mid-stream."""
        from actors.protocol.listen_v2.messages import ListenV2Configure

        self._send_message("send_listen_v_2_configure", ListenV2Configure, message)

    send_configure = send_listen_v_2_configure


class AsyncSpeakV1SocketClient(AsyncSocketClient):
    """An async Speak V1 (streaming TTS) socket; audio arrives as ``bytes`` messages."""

    @classmethod
    def api(cls) -> ApiSpec:
        """:data:`~actors.protocol.apis.SPEAK_V1` (imported when first asked for)."""
        from actors.protocol.apis import SPEAK_V1

        return SPEAK_V1

    async def send_speak_v_1_text(self, message: SpeakV1Text | Mapping[str, Any]) -> None:
        """Queue text to be spoken."""
        from actors.protocol.speak_v1.messages import SpeakV1Text

        self._send_message("send_speak_v_1_text", SpeakV1Text, message)

    send_text = send_speak_v_1_text

    async def send_speak_v_1_flush(self, message: SpeakV1Flush | Mapping[str, Any] | None = None) -> None:
        """Synthesize all queued text now; the server answers Flushed."""
        from actors.protocol.speak_v1.messages import SpeakV1Flush

        self._send_message("send_speak_v_1_flush", SpeakV1Flush, message)

    send_flush = send_speak_v_1_flush

    async def send_speak_v_1_clear(self, message: SpeakV1Clear | Mapping[str, Any] | None = None) -> None:
        """Drop queued text; the server answers Cleared."""
        from actors.protocol.speak_v1.messages import SpeakV1Clear

        self._send_message("send_speak_v_1_clear", SpeakV1Clear, message)

    send_clear = send_speak_v_1_clear

    async def send_speak_v_1_close(self, message: SpeakV1Close | Mapping[str, Any] | None = None) -> None:
        """Finish the audio of queued text and close."""
        from actors.protocol.speak_v1.messages import SpeakV1Close

        self._send_message("send_speak_v_1_close", SpeakV1Close, message)

    send_close = send_speak_v_1_close


class AsyncSpeakV2SocketClient(AsyncSocketClient):
    """An async Speak V2 (Flux TTS) socket; audio arrives as ``bytes`` messages (finish as the sync one)."""

    @classmethod
    def api(cls) -> ApiSpec:
        """:data:`~actors.protocol.apis.SPEAK_V2` (imported when first asked for)."""
        from actors.protocol.apis import SPEAK_V2

        return SPEAK_V2

    async def send_speak_v_2_speak(self, message: SpeakV2Speak | Mapping[str, Any]) -> None:
        """Add text to the current turn."""
        from actors.protocol.speak_v2.messages import SpeakV2Speak

        self._send_message("send_speak_v_2_speak", SpeakV2Speak, message)

    send_speak = send_speak_v_2_speak

    async def send_speak_v_2_flush(self, message: SpeakV2Flush | Mapping[str, Any] | None = None) -> None:
        """End the turn: synthesize it now; the server answers SpeechMetadata and Flushed."""
        from actors.protocol.speak_v2.messages import SpeakV2Flush

        self._send_message("send_speak_v_2_flush", SpeakV2Flush, message)

    send_flush = send_speak_v_2_flush

    async def send_speak_v_2_interrupt(
        self, message: SpeakV2Interrupt | Mapping[str, Any] | None = None
    ) -> None:
        """Stop the current turn (barge-in); the server answers SpeechInterrupted."""
        from actors.protocol.speak_v2.messages import SpeakV2Interrupt

        self._send_message("send_speak_v_2_interrupt", SpeakV2Interrupt, message)

    send_interrupt = send_speak_v_2_interrupt

    async def send_speak_v_2_configure(
        self, message: SpeakV2Configure | Mapping[str, Any] | None = None
    ) -> None:
        """Change the speech rate; the server answers ConfigureSuccess or ConfigureFailure."""
        from actors.protocol.speak_v2.messages import SpeakV2Configure

        self._send_message("send_speak_v_2_configure", SpeakV2Configure, message)

    send_configure = send_speak_v_2_configure

    async def send_speak_v_2_close(self, message: SpeakV2Close | Mapping[str, Any] | None = None) -> None:
        """Finish the flushed turns' audio and close; the server answers SessionMetadata."""
        from actors.protocol.speak_v2.messages import SpeakV2Close

        self._send_message("send_speak_v_2_close", SpeakV2Close, message)

    send_close = send_speak_v_2_close


class AsyncAgentV1SocketClient(TracksAgentReplies, AsyncSocketClient):
    """An async Agent V1 (voice agent) socket; agent audio arrives as ``bytes`` messages.

    Its graceful finish first waits (off the loop) until every request sent so far was answered,
    as the sync :class:`~actors.client.sockets.AgentV1SocketClient` does, then closes.
    """

    @classmethod
    def api(cls) -> ApiSpec:
        """:data:`~actors.protocol.apis.AGENT_V1` (imported when first asked for)."""
        from actors.protocol.apis import AGENT_V1

        return AGENT_V1

    async def send_agent_v_1_settings(self, message: AgentV1Settings | Mapping[str, Any]) -> None:
        """Configure the agent (must be the first message)."""
        from actors.protocol.agent_v1.messages import AgentV1Settings

        self._send_message("send_agent_v_1_settings", AgentV1Settings, message)

    send_settings = send_agent_v_1_settings

    async def send_agent_v_1_media(self, message: bytes) -> None:
        """Send user audio bytes (one binary frame)."""
        self._send_audio("send_agent_v_1_media", message)

    send_media = send_agent_v_1_media

    async def send_agent_v_1_keep_alive(
        self, message: AgentV1KeepAlive | Mapping[str, Any] | None = None
    ) -> None:
        """Keep an idle connection open."""
        from actors.protocol.agent_v1.messages import AgentV1KeepAlive

        self._send_message("send_agent_v_1_keep_alive", AgentV1KeepAlive, message)

    send_keep_alive = send_agent_v_1_keep_alive

    async def send_agent_v_1_update_speak(self, message: AgentV1UpdateSpeak | Mapping[str, Any]) -> None:
        """Change the speak (TTS) provider mid-conversation."""
        from actors.protocol.agent_v1.messages import AgentV1UpdateSpeak

        self._send_message("send_agent_v_1_update_speak", AgentV1UpdateSpeak, message)

    send_update_speak = send_agent_v_1_update_speak

    async def send_agent_v_1_update_prompt(self, message: AgentV1UpdatePrompt | Mapping[str, Any]) -> None:
        """Add to the agent's prompt."""
        from actors.protocol.agent_v1.messages import AgentV1UpdatePrompt

        self._send_message("send_agent_v_1_update_prompt", AgentV1UpdatePrompt, message)

    send_update_prompt = send_agent_v_1_update_prompt

    async def send_agent_v_1_update_listen(self, message: AgentV1UpdateListen | Mapping[str, Any]) -> None:
        """Change the listen (STT) provider mid-conversation."""
        from actors.protocol.agent_v1.messages import AgentV1UpdateListen

        self._send_message("send_agent_v_1_update_listen", AgentV1UpdateListen, message)

    send_update_listen = send_agent_v_1_update_listen

    async def send_agent_v_1_update_think(self, message: AgentV1UpdateThink | Mapping[str, Any]) -> None:
        """Change the think (LLM) provider mid-conversation."""
        from actors.protocol.agent_v1.messages import AgentV1UpdateThink

        self._send_message("send_agent_v_1_update_think", AgentV1UpdateThink, message)

    send_update_think = send_agent_v_1_update_think

    async def send_agent_v_1_inject_user_message(
        self, message: AgentV1InjectUserMessage | Mapping[str, Any]
    ) -> None:
        """Inject text as if the user said it."""
        from actors.protocol.agent_v1.messages import AgentV1InjectUserMessage

        self._send_message("send_agent_v_1_inject_user_message", AgentV1InjectUserMessage, message)

    send_inject_user_message = send_agent_v_1_inject_user_message

    async def send_agent_v_1_inject_agent_message(
        self, message: AgentV1InjectAgentMessage | Mapping[str, Any]
    ) -> None:
        """Make the agent say this text."""
        from actors.protocol.agent_v1.messages import AgentV1InjectAgentMessage

        self._send_message("send_agent_v_1_inject_agent_message", AgentV1InjectAgentMessage, message)

    send_inject_agent_message = send_agent_v_1_inject_agent_message

    async def send_agent_v_1_send_function_call_response(
        self, message: AgentV1SendFunctionCallResponse | Mapping[str, Any]
    ) -> None:
        """Answer a client-side FunctionCallRequest."""
        from actors.protocol.agent_v1.messages import AgentV1SendFunctionCallResponse

        self._send_message(
            "send_agent_v_1_send_function_call_response", AgentV1SendFunctionCallResponse, message
        )

    send_function_call_response = send_agent_v_1_send_function_call_response

    async def send_agent_v_1_force_end_turn(
        self, message: AgentV1ForceEndTurn | Mapping[str, Any] | None = None
    ) -> None:
        """End the user's turn now."""
        from actors.protocol.agent_v1.messages import AgentV1ForceEndTurn

        self._send_message("send_agent_v_1_force_end_turn", AgentV1ForceEndTurn, message)

    send_force_end_turn = send_agent_v_1_force_end_turn

    async def send_agent_v_1_update_think_live(
        self, message: AgentV1UpdateThinkLive | Mapping[str, Any]
    ) -> None:
        """Change the Think Live configuration mid-conversation (wire type ``UpdateThink_Live``)."""
        from actors.protocol.agent_v1.messages import AgentV1UpdateThinkLive

        self._send_message("send_agent_v_1_update_think_live", AgentV1UpdateThinkLive, message)

    send_update_think_live = send_agent_v_1_update_think_live

    async def send_agent_v_1_inject_dynamic_agent_message(
        self, message: AgentV1InjectDynamicAgentMessage | Mapping[str, Any] | None = None
    ) -> None:
        """Ask the agent to compose and say a message now (``InjectAgentMessage``, ``is_dynamic``)."""
        from actors.protocol.agent_v1.messages import AgentV1InjectDynamicAgentMessage

        self._send_message(
            "send_agent_v_1_inject_dynamic_agent_message", AgentV1InjectDynamicAgentMessage, message
        )

    send_inject_dynamic_agent_message = send_agent_v_1_inject_dynamic_agent_message

    async def send_agent_v_1_custom_to_think_provider(
        self, message: AgentV1CustomToThinkProvider | Mapping[str, Any]
    ) -> None:
        """Pass data through to a custom think provider (``__customToThinkProvider``)."""
        from actors.protocol.agent_v1.messages import AgentV1CustomToThinkProvider

        self._send_message("send_agent_v_1_custom_to_think_provider", AgentV1CustomToThinkProvider, message)

    send_custom_to_think_provider = send_agent_v_1_custom_to_think_provider

    def __init__(self, connection: Any, events: asyncio.Queue[Any], finish_timeout: float | None) -> None:
        super().__init__(connection, events, finish_timeout)
        self._track_replies()

    async def finish(self, timeout: float | None = None) -> Any:
        """Wait for the replies still owed, then close, within ``timeout`` s, without blocking the
        loop; ``FinishTimeout`` names the requests unanswered (see the sync ``finish``)."""
        limit = self._finish_limit(timeout)
        started = time.monotonic()
        if not await asyncio.to_thread(self._replies.wait, limit):
            error = self._replies_timeout(limit)
            await asyncio.to_thread(self._connection.close)
            raise error
        return await asyncio.to_thread(self._connection.finish, timeout=close_budget(limit, started))


# The SDK's class names, for type hints in ported code.
AsyncV1SocketClient = AsyncListenV1SocketClient
AsyncV2SocketClient = AsyncListenV2SocketClient

__all__ = [
    "AsyncAgentV1SocketClient",
    "AsyncListenV1SocketClient",
    "AsyncListenV2SocketClient",
    "AsyncSocketClient",
    "AsyncSpeakV1SocketClient",
    "AsyncSpeakV2SocketClient",
    "AsyncV1SocketClient",
    "AsyncV2SocketClient",
    "LoopBridge",
]
