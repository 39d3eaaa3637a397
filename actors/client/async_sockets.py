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
from typing import Any, Self

from actors.client.agent_replies import TracksAgentReplies, close_budget
from actors.client.send_methods import (
    AsyncAgentV1SendMethods,
    AsyncListenV1SendMethods,
    AsyncListenV2SendMethods,
    AsyncSpeakV1SendMethods,
    AsyncSpeakV2SendMethods,
)
from actors.client.send_table import raw_text
from actors.client.socket_events import SKIP, SocketEvent
from actors.client.sockets import UNREAD_GRACE_SECONDS, Callback, CallbackRegistry, SocketBase
from actors.core.events import EventType
from actors.errors import FinishTimeout, ReceiveTimeout

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


class AsyncListenV1SocketClient(AsyncListenV1SendMethods, AsyncSocketClient):
    """An async Listen V1 (live transcription) socket."""

    api_name = "listen.v1"


class AsyncListenV2SocketClient(AsyncListenV2SendMethods, AsyncSocketClient):
    """An async Listen V2 (Flux) socket."""

    api_name = "listen.v2"


class AsyncSpeakV1SocketClient(AsyncSpeakV1SendMethods, AsyncSocketClient):
    """An async Speak V1 (streaming TTS) socket; audio arrives as ``bytes`` messages."""

    api_name = "speak.v1"


class AsyncSpeakV2SocketClient(AsyncSpeakV2SendMethods, AsyncSocketClient):
    """An async Speak V2 (Flux TTS) socket; audio arrives as ``bytes`` messages (finish as the sync one)."""

    api_name = "speak.v2"


class AsyncAgentV1SocketClient(TracksAgentReplies, AsyncAgentV1SendMethods, AsyncSocketClient):
    """An async Agent V1 (voice agent) socket; agent audio arrives as ``bytes`` messages.

    Its graceful finish first waits (off the loop) until every request sent so far was answered,
    as the sync :class:`~actors.client.sockets.AgentV1SocketClient` does, then closes.
    """

    api_name = "agent.v1"

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


ASYNC_SOCKET_CLASSES: dict[str, type[AsyncSocketClient]] = {
    cls.api_name: cls
    for cls in (
        AsyncListenV1SocketClient,
        AsyncListenV2SocketClient,
        AsyncSpeakV1SocketClient,
        AsyncSpeakV2SocketClient,
        AsyncAgentV1SocketClient,
    )
}

# The SDK's class names, for type hints in ported code.
AsyncV1SocketClient = AsyncListenV1SocketClient
AsyncV2SocketClient = AsyncListenV2SocketClient

__all__ = [
    "ASYNC_SOCKET_CLASSES",
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
