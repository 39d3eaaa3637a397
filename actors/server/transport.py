"""How endpoints reach their WebSocket: one asyncio loop for every connection, hooks inline or threaded.

The server runs ``websockets``' asyncio server on one loop thread. :class:`EndpointConnection`
takes every data frame straight from the protocol parser (no per-frame futures or queues) and
hands it to the connection's transport:

* :class:`InlineTransport` calls the endpoint's hooks on the loop thread itself. Used when the
  engine never blocks (``engine.nonblocking``, the deterministic engine): a frame costs one
  parse and one hook call, no thread wake-up, which is what lets one process carry a thousand
  real-time streams. Idle timeout and ticks are loop timers; a ``stall`` fault pauses reading.
* :class:`ThreadedTransport` runs :meth:`Endpoint.run` on its own thread
  (``actors-server-<path>-<rid8>``), fed through a queue. Used when hooks may block (the real
  engine's recognizer calls its worker processes synchronously).

Both give the endpoint the same small surface: ``send``, ``close``, ``close_socket``, ``stall``
and (threaded only) ``recv``.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from websockets.asyncio.server import ServerConnection
from websockets.frames import Frame, Opcode
from websockets.protocol import State

if TYPE_CHECKING:
    from actors.server.handshake import Accepted
    from actors.server.session import Endpoint

#: Bytes asked of each socket read. asyncio's default (256 KiB) allocates a buffer above glibc's
#: mmap threshold on every read: an mmap/munmap and page faults per frame, which was ~60% of the
#: server's CPU at 300 streams. 64 KiB stays on the heap and still takes any frame in a few reads.
READ_SIZE = 64 * 1024

#: Close reason for a text frame that is not UTF-8 (RFC 6455 7.4.1, code 1007).
INVALID_UTF8_REASON = "invalid UTF-8 in a text frame"


class TransportClosed(Exception):
    """The WebSocket is closed: nothing more can be received."""


FrameSink = Callable[[bytes | str], None]


class EndpointConnection(ServerConnection):
    """A websockets asyncio server connection that hands data frames to its transport directly.

    Frames that arrive before the transport is attached (right after the handshake) are kept
    and delivered in order on :meth:`attach`. Fragmented messages are reassembled.
    """

    accepted: Accepted | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._transport: InlineTransport | ThreadedTransport | None = None
        self._early: list[bytes | str] = []
        self._fragments: list[bytes] = []
        self._fragment_text = False

    def attach(self, transport: InlineTransport | ThreadedTransport) -> None:
        """Route frames to ``transport`` from now on, after the ones that already arrived."""
        self._transport = transport
        early, self._early = self._early, []
        for frame in early:
            transport.on_frame(frame)
        if self.protocol.state is State.CLOSED or self.protocol.close_rcvd is not None:
            transport.on_closed()

    def process_event(self, event: Any) -> None:
        """Deliver data frames to the transport; everything else goes to websockets."""
        if self.request is None or type(event) is not Frame:
            super().process_event(event)
            return
        opcode = event.opcode
        if opcode is Opcode.BINARY or opcode is Opcode.TEXT:
            if not event.fin:
                self._fragments = [bytes(event.data)]
                self._fragment_text = opcode is Opcode.TEXT
                return
            self._deliver(event.data, opcode is Opcode.TEXT)
        elif opcode is Opcode.CONT:
            self._fragments.append(bytes(event.data))
            if event.fin:
                data, self._fragments = b"".join(self._fragments), []
                self._deliver(data, self._fragment_text)
        elif opcode is Opcode.CLOSE:
            if self._transport is not None:
                self._transport.on_closed()
        else:
            super().process_event(event)

    def _deliver(self, data: bytes | bytearray | memoryview, text: bool) -> None:
        payload: bytes | str
        if text:
            try:
                payload = bytes(data).decode()
            except UnicodeDecodeError:
                self.protocol.fail(1007, INVALID_UTF8_REASON)
                self.send_data()
                return
        else:
            payload = data if type(data) is bytes else bytes(data)
        if self._transport is None:
            self._early.append(payload)
        else:
            self._transport.on_frame(payload)

    def connection_made(self, transport: Any) -> None:
        """Set up websockets' side, then read in small pieces (see ``READ_SIZE``)."""
        super().connection_made(transport)
        transport.max_size = READ_SIZE

    def connection_lost(self, exc: Exception | None) -> None:
        """Tell the transport the socket is gone (after websockets' own bookkeeping)."""
        super().connection_lost(exc)
        if self._transport is not None:
            self._transport.on_closed()

    def pause_writing(self) -> None:
        """The client reads slower than we write: stop reading from it too (backpressure)."""
        super().pause_writing()
        self.transport.pause_reading()
        if self._transport is not None:
            self._transport.on_writable(False)

    def resume_writing(self) -> None:
        """The client caught up: read again (unless a stall fault holds reading)."""
        super().resume_writing()
        if self._transport is not None:
            self._transport.on_writable(True)
            if not self._transport.stalled:
                self.transport.resume_reading()
        else:
            self.transport.resume_reading()

    # -- writes (loop thread only) --------------------------------------------------------------

    def write_frame(self, data: bytes | str) -> bool:
        """Send one text (str) or binary frame now; False when the connection is not open."""
        if self.protocol.state is not State.OPEN:
            return False
        if type(data) is str:
            self.protocol.send_text(data.encode())
        else:
            self.protocol.send_binary(data)  # type: ignore[arg-type]
        self.send_data()
        return True

    def start_close(self, code: int | None, reason: str) -> None:
        """Send a close frame (``code=None``: without a status); websockets finishes the handshake."""
        if self.protocol.state is not State.OPEN:
            return
        self.protocol.send_close(code, reason)
        self.send_data()
        if self.close_timeout is not None and self.close_deadline is None:
            self.close_deadline = self.loop.time() + self.close_timeout


class InlineTransport:
    """Runs an endpoint's hooks on the loop thread, one call per frame (see the module docstring)."""

    def __init__(self, connection: EndpointConnection, stopping: threading.Event) -> None:
        self.connection = connection
        self.stopping = stopping
        self.stalled = False
        self._loop = asyncio.get_running_loop()
        self._endpoint: Endpoint | None = None
        self._done: asyncio.Future[None] = self._loop.create_future()
        self._backlog: list[bytes | str] = []
        self._idle_timer: asyncio.TimerHandle | None = None
        self._tick_timer: asyncio.TimerHandle | None = None
        self._stall_timer: asyncio.TimerHandle | None = None

    # -- the endpoint's surface -----------------------------------------------------------------

    def send(self, data: bytes | str) -> bool:
        """Write one frame; False once the connection is closed."""
        return self.connection.write_frame(data)

    def close(self, code: int | None, reason: str) -> None:
        """Start the closing handshake; the endpoint is done."""
        self.connection.start_close(code, reason)
        self._finish()

    def close_socket(self) -> None:
        """Cut the TCP connection without a close frame."""
        self.connection.transport.abort()
        self._finish()

    def stall(self, duration: float | None) -> None:
        """Stop reading (frames already parsed wait) for ``duration`` s, or until the server stops."""
        self.stalled = True
        self.connection.transport.pause_reading()
        if duration is not None:
            self._stall_timer = self._loop.call_later(duration, self._unstall)

    def recv(self, timeout: float | None = None) -> bytes | str:
        """Not available inline: frames are pushed to the endpoint."""
        raise RuntimeError("an inline endpoint does not pull frames; its hooks are called")

    # -- driving --------------------------------------------------------------------------------

    async def serve(self, endpoint: Endpoint) -> None:
        """Open the endpoint, feed it frames and timers until it or the connection ends."""
        self._endpoint = endpoint
        endpoint.open_inline()
        self.connection.attach(self)
        if not self._done.done():
            self._idle_timer = self._loop.call_later(self._idle_left(), self._on_idle)
            tick = endpoint.tick_interval
            if tick:
                self._tick_timer = self._loop.call_later(tick, self._on_tick, tick)
        try:
            await self._done
        finally:
            for timer in (self._idle_timer, self._tick_timer, self._stall_timer):
                if timer is not None:
                    timer.cancel()
            endpoint.end_inline()

    def shutdown(self) -> None:
        """The server is stopping: let the endpoint close with 1001 and end; a stall ends here."""
        if self.stalled and not self.connection.paused:
            # Read again so the client's answer to our 1001 is seen: a paused socket made every
            # stop wait the whole close_timeout. Frames still go to the backlog, never delivered.
            self.connection.transport.resume_reading()
        self._finish()

    def on_frame(self, frame: bytes | str) -> None:
        """A client frame (loop thread)."""
        endpoint = self._endpoint
        if endpoint is None or endpoint.closed:
            return
        if self.stalled:
            self._backlog.append(frame)
            return
        endpoint.deliver(frame)
        if endpoint.closed:
            self._finish()

    def on_closed(self) -> None:
        """The client closed or the socket is gone."""
        if self._endpoint is not None:
            self._endpoint.closed = True
        self._finish()

    def on_writable(self, writable: bool) -> None:
        """Inline writes never block; reading is paused instead (see EndpointConnection)."""

    # -- internals ------------------------------------------------------------------------------

    def _finish(self) -> None:
        if not self._done.done():
            self._done.set_result(None)

    def _idle_left(self) -> float:
        """Seconds until the idle timeout (the endpoint stamps frames with ``time.monotonic()``)."""
        assert self._endpoint is not None
        return self._endpoint.last_frame_at + self._endpoint.context.idle_timeout - time.monotonic()

    def _on_idle(self) -> None:
        # One timer per idle window, re-armed lazily: frames only move last_frame_at.
        endpoint = self._endpoint
        if endpoint is None or self._done.done():
            return
        left = self._idle_left()
        if self.stalled or left > 0:
            delay = endpoint.context.idle_timeout if self.stalled else left
            self._idle_timer = self._loop.call_later(delay, self._on_idle)
            return
        endpoint.idle_timeout_inline()
        self._finish()

    def _on_tick(self, tick: float) -> None:
        endpoint = self._endpoint
        if endpoint is None or self._done.done():
            return
        if not self.stalled:
            endpoint.tick_inline()
            if endpoint.closed:
                self._finish()
                return
        self._tick_timer = self._loop.call_later(tick, self._on_tick, tick)

    def _unstall(self) -> None:
        self._stall_timer = None
        self.stalled = False
        if self._endpoint is not None:
            self._endpoint.last_frame_at = time.monotonic()
        if not self.connection.paused:
            self.connection.transport.resume_reading()
        backlog, self._backlog = self._backlog, []
        for frame in backlog:
            self.on_frame(frame)


_CLOSED = object()
_WAKE = object()


class ThreadedTransport:
    """Runs :meth:`Endpoint.run` on its own thread; frames reach it through a queue."""

    def __init__(self, connection: EndpointConnection, stopping: threading.Event, thread_name: str) -> None:
        self.connection = connection
        self.stopping = stopping
        self.stalled = False
        self.thread_name = thread_name
        self._loop = asyncio.get_running_loop()
        self._frames: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False
        self._writable = threading.Event()
        self._writable.set()

    # -- the endpoint's surface (endpoint thread) ---------------------------------------------

    def recv(self, timeout: float | None = None) -> bytes | str:
        """The next client frame; ``TimeoutError`` after ``timeout`` s, ``TransportClosed`` once closed."""
        try:
            item = self._frames.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError from None
        if item is _CLOSED:
            self._frames.put(_CLOSED)  # every later recv sees it too
            raise TransportClosed
        if item is _WAKE:
            raise TimeoutError
        frame: bytes | str = item
        return frame

    def send(self, data: bytes | str) -> bool:
        """Queue one frame for the loop to write; waits while the client does not read."""
        self._writable.wait()  # set again by resume_writing, on_closed and shutdown
        if self._closed:
            return False
        self._loop.call_soon_threadsafe(self.connection.write_frame, data)
        return True

    def close(self, code: int | None, reason: str) -> None:
        """Start the closing handshake (on the loop, after every frame sent before)."""
        self._loop.call_soon_threadsafe(self.connection.start_close, code, reason)

    def close_socket(self) -> None:
        """Cut the TCP connection without a close frame."""
        self._loop.call_soon_threadsafe(self.connection.transport.abort)

    def stall(self, duration: float | None) -> None:
        """Block this connection's thread for ``duration`` s (None: until the server stops)."""
        self.stalled = True
        try:
            self.stopping.wait(duration)
        finally:
            self.stalled = False

    # -- driving (loop thread) ----------------------------------------------------------------

    async def serve(self, endpoint: Endpoint) -> None:
        """Run the endpoint on its thread; return when :meth:`Endpoint.run` returned."""
        done: asyncio.Future[None] = self._loop.create_future()

        def run() -> None:
            try:
                endpoint.run()
            finally:
                self._loop.call_soon_threadsafe(_resolve, done)

        thread = threading.Thread(target=run, name=self.thread_name, daemon=True)
        self.connection.attach(self)
        thread.start()
        await asyncio.shield(done)
        thread.join()  # run() has returned: only the thread's exit is left

    def shutdown(self) -> None:
        """The server is stopping: wake the thread so it closes with 1001."""
        self._frames.put(_WAKE)
        self._writable.set()

    def on_frame(self, frame: bytes | str) -> None:
        """A client frame (loop thread)."""
        self._frames.put(frame)

    def on_closed(self) -> None:
        """The client closed or the socket is gone."""
        if not self._closed:
            self._closed = True
            self._frames.put(_CLOSED)
            self._writable.set()

    def on_writable(self, writable: bool) -> None:
        """Flow control from the socket: sends wait while it is False."""
        if writable:
            self._writable.set()
        elif not self._closed:
            self._writable.clear()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
