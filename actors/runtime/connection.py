"""One live WebSocket connection: the :class:`ConnectionActor` and the user's :class:`Connection` handle.

The protocol state lives in a sans-I/O :class:`~actors.runtime.connection_core.ConnectionCore`,
driven under one lock through a :class:`~actors.runtime.socket_link.SocketLink`. Its drivers:

* the actor thread (``actors-conn-<stream>``, the one thread per connection, joined when it
  ends) connects, queues control and finish frames, finishes any write that must block, and
  ends the connection (``ConnectionFailed`` / ``Closed``);
* a shared read-pool thread (:mod:`actors.runtime.read_pool`, a fixed few per process) reads the
  socket, answers pings and close frames, sends keepalives and liveness pings when due, decodes
  the messages and delivers them to the subscribers, and tells the actor when the socket ended.
  A connection whose subscribers hold that thread for more than ``DELIVERY_MOVES_AFTER`` (20 ms)
  in one batch has its later messages delivered by its own actor, so a slow subscriber stalls
  only its own connection.

Audio does not travel through the actor's mailbox. Every write holds the link's lock (which
keeps frames whole and ordered) and never blocks:

* ``audio_flush_interval == 0`` (immediate, the default for a plain ``Connection``):
  ``send_audio`` writes the frame on the caller's thread when nothing is queued ahead of it and
  the lock is free. Otherwise the chunk goes into the bounded
  :class:`~actors.runtime.backpressure.SendBuffer` behind what is queued and the actor is told to
  drain it (once per batch, not per chunk). A write the kernel does not take whole is finished
  by the actor (waiting up to ``send_timeout`` for the socket, without the lock).
* ``audio_flush_interval > 0`` (a coalescing window): ``send_audio`` only queues; the shared
  flusher thread (:mod:`actors.runtime.flusher`) writes everything queued as one frame per
  window, for all connections in one wake-up. A chunk holding at least a whole window of audio
  (when the audio's byte rate is known) has nothing to wait for: it takes the immediate path
  above, so large chunks get no added latency.

Control messages always go into the buffer (after the audio queued before them) and the actor
drains it, so their order with the audio is kept.

Events reach subscribers in this order: ``Opened``, server messages in wire order, then
``ConnectionFailed`` (only for an abnormal end) and exactly one ``Closed`` (the end waits for a
delivery in progress, up to 5 s).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import queue
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

import attrs
import pykka
import websocket

from actors._lean_attrs import LeanFrozen
from actors.errors import ActorsError, ConnectionClosedError, FinishTimeout
from actors.protocol.session import FinishMode, SessionRules
from actors.runtime.backpressure import SendBuffer
from actors.runtime.classify import ConnectionState, Outcome, check_transition, classify_close
from actors.runtime.config import ConnectionConfig
from actors.runtime.connection_core import (
    CloseReceived,
    ConnectionCore,
    ConnectionLost,
    CoreEvent,
    MessageReceived,
)
from actors.runtime.events import AudioChunk, Backpressure, Closed, ConnectionFailed, Opened
from actors.runtime.flusher import AudioFlusher, shared_flusher
from actors.runtime.frames import OP_BINARY
from actors.runtime.metrics import MetricsRecorder, MetricsSnapshot, result_audio_end
from actors.runtime.read_pool import ReadPool, in_read_thread, shared_read_pool
from actors.runtime.socket_link import SocketLink
from actors.runtime.subscribers import SubscriberSet
from actors.runtime.transport import OpenSocket, SendTimeout, open_socket

if TYPE_CHECKING:
    from actors.runtime.deadline import OwedAudioDeadline

log = logging.getLogger(__name__)

_stream_numbers = itertools.count(1)
# Extra time allowed for thread teardown after a deadline has already passed.
_TEARDOWN_GRACE = 5.0
# How long the end of a connection waits for a subscriber still running on the read pool.
_DELIVERY_JOIN_TIMEOUT = 5.0
#: Subscribers holding a read-pool thread longer than this (seconds, one batch) move their
#: connection's deliveries to the connection's own actor thread for the rest of its life.
DELIVERY_MOVES_AFTER = 0.02


@attrs.frozen(repr=False, eq=False)
class FinishResult(LeanFrozen):
    """How a connection ended.

    ``code``/``reason`` come from the server's close frame (1005 = no code, 1006 = no close frame);
    ``error`` is None for a normal end, else the failure (also delivered as ``ConnectionFailed``).
    """

    code: int
    reason: str
    error: BaseException | None
    request_id: str | None
    stream_id: str
    metrics: MetricsSnapshot

    @property
    def ok(self) -> bool:
        """True when the connection ended normally."""
        return self.error is None

    def raise_for_error(self) -> FinishResult:
        """Return self, or raise ``error`` when the end was abnormal."""
        if self.error is not None:
            raise self.error
        return self


# -- messages to the actor (plain frozen objects: cheaper than proxies) --------------------------


@attrs.frozen(slots=True, repr=False, eq=False)
class _Connect(LeanFrozen):
    pass


@attrs.frozen(slots=True, repr=False, eq=False)
class _Drain(LeanFrozen):
    pass


@attrs.frozen(slots=True, repr=False, eq=False)
class _Received(LeanFrozen):
    """What the core reported after one read or deadline, in wire order."""

    events: list[CoreEvent]


@attrs.frozen(slots=True, repr=False, eq=False)
class _Finish(LeanFrozen):
    mode: FinishMode


@attrs.frozen(slots=True, repr=False, eq=False)
class _Close(LeanFrozen):
    code: int
    reason: str


@attrs.frozen(slots=True, repr=False, eq=False)
class _Abort(LeanFrozen):
    error: BaseException | None
    reason: str


@attrs.frozen(slots=True, repr=False, eq=False)
class _SendFailed(LeanFrozen):
    """A write on another thread (caller or flusher) failed; the actor ends the connection."""

    error: BaseException


_DRAIN = _Drain()


class _Shared:
    """State the handle and the actor both see. Each field has one writer (noted)."""

    def __init__(self, config: ConnectionConfig, stream_id: str, subscribers: Iterable[object]) -> None:
        self.config = config
        self.stream_id = stream_id
        self.session: SessionRules = config.api.session
        bytes_per_second = config.audio_bytes_per_second()
        self.metrics = MetricsRecorder(bytes_per_second)
        self.subscribers = SubscriberSet(
            subscribers,
            queue_put_timeout=config.queue_put_timeout,
            on_dropped=self._count_dropped_event,
            on_error=self._count_subscriber_error,
        )
        self.buffer = SendBuffer(config.send_buffer, bytes_per_second)
        self.opened = threading.Event()  # set by the actor: handshake done or failed
        self.closed = threading.Event()  # set by the actor once everything is delivered
        self.state = ConnectionState.CONNECTING  # actor
        self.request_id: str | None = None  # actor
        self.result: FinishResult | None = None  # actor, before ``closed`` is set
        self.open_error: BaseException | None = None  # actor, when the handshake failed
        self.ws: websocket.WebSocket | None = None  # actor, once connected
        self.link: SocketLink | None = None  # actor, once connected
        # Whether threads other than the actor may write (caller, flusher). Set by the actor once
        # open; cleared by whoever sees the connection going away.
        self.write_ok = False
        self.flush_interval: float = config.audio_flush_interval or 0.0
        # Audio bytes of one window: a chunk at least this long is a whole frame by itself and is
        # written at once, as without a window (None: the byte rate is unknown).
        self.window_bytes: int | None = (
            max(1, int(self.flush_interval * bytes_per_second))
            if self.flush_interval > 0 and bytes_per_second
            else None
        )
        self.flusher: AudioFlusher | None = None  # acquired by Connection.start when flushing
        self.read_pool: ReadPool | None = None  # acquired by Connection.start, released at the end
        self.abort: _Abort | None = None  # handle: a deadline passed, drop the socket
        self.actor_thread: threading.Thread | None = None  # actor, in on_start

    def _count_dropped_event(self) -> None:
        self.metrics.events_dropped += 1

    def _count_subscriber_error(self) -> None:
        self.metrics.subscriber_errors += 1


class ConnectionActor(pykka.ThreadingActor):
    """Owns one connection: connects, queues control frames, delivers what arrives, ends it.

    Driven only through :class:`Connection`; see the module docstring for the design.
    """

    # A connection the user forgot to close must not keep the interpreter alive at exit;
    # normal stops still run on_stop.
    use_daemon_thread = True

    @staticmethod
    def _create_actor_inbox() -> queue.SimpleQueue[Any]:
        # One inbox per live stream: the C SimpleQueue (put/get/empty, all pykka uses) costs about
        # 100 bytes, where pykka's default queue.Queue holds three Conditions and a deque (~3.5 KB).
        return queue.SimpleQueue()

    def __init__(self, shared: _Shared) -> None:
        super().__init__()
        self._s = shared
        self._ws: websocket.WebSocket | None = None
        self._link: SocketLink | None = None
        self._decode = shared.config.api.server_codec.decode
        self._send_error: BaseException | None = None
        self._abort: _Abort | None = None
        self._client_closed = False
        self._ended = False
        self._deliver_on_actor = False  # set (once) by the read-pool thread, see _route_events

    # -- pykka hooks ---------------------------------------------------------------------------

    def on_start(self) -> None:
        """Name the thread after the stream so thread dumps and the thread budget are readable."""
        thread = threading.current_thread()
        thread.name = f"actors-conn-{self._s.stream_id}"
        self._s.actor_thread = thread

    def on_receive(self, message: Any) -> Any:
        """Dispatch a command; any unexpected error ends the connection visibly instead of silently."""
        try:
            if message is _DRAIN:
                self._drain()
            elif isinstance(message, _Received):
                self._on_events(message.events)
            elif isinstance(message, _Connect):
                self._connect()
            elif isinstance(message, _Finish):
                self._finish(message.mode)
            elif isinstance(message, _Close):
                self._close(message.code, message.reason)
            elif isinstance(message, _Abort):
                self._do_abort(message)
            elif isinstance(message, _SendFailed):
                self._on_send_failed(message.error)
            else:
                log.warning("connection %s ignored unexpected message %r", self._s.stream_id, message)
        except Exception as error:
            log.exception("connection %s failed handling %r", self._s.stream_id, message)
            self._end(1006, f"internal error: {error!r}", error)
        return None

    def on_failure(self, *_exc_info: Any) -> None:
        """Last resort: close the socket and tell the subscribers."""
        error = ConnectionClosedError(1006, "connection actor failed")
        self._end(1006, "connection actor failed", error, stop_actor=False)

    def on_stop(self) -> None:
        """Close the socket if the actor is stopped before the connection ended."""
        self._end(1006, "connection actor stopped", None, stop_actor=False)

    # -- commands -----------------------------------------------------------------------------

    def _connect(self) -> None:
        s = self._s
        try:
            opened = open_socket(s.config)
        except Exception as error:
            s.open_error = error
            self._end(1006, f"could not connect: {error}", error)
            return
        try:
            self._start_link(opened)
        except Exception as error:
            # Failed after the handshake: wait_open() must raise this, not report a live connection.
            if not s.opened.is_set():
                s.open_error = error
            if self._ws is None:  # nothing else owns the socket yet
                with contextlib.suppress(OSError, websocket.WebSocketException):
                    opened.ws.shutdown()
            raise  # on_receive logs it and ends the connection (1006)
        if not s.buffer.idle:
            self._drain()  # sent before the handshake finished (normally already told as _Drain)

    def _start_link(self, opened: OpenSocket) -> None:
        s = self._s
        sock = opened.ws.sock
        assert sock is not None and s.read_pool is not None
        config = s.config
        now = time.monotonic()
        core = ConnectionCore(
            s.session,
            config.keepalive_plan(),
            now,
            read_timeout=config.read_timeout,
            coalesce_audio=config.coalesce_audio,
            max_frame_bytes=config.max_frame_bytes,
        )
        link = SocketLink(sock, core, s.metrics, s.read_pool, self._route_events, self._tell_drain)
        self._ws = opened.ws
        s.ws = opened.ws
        self._link = link
        s.request_id = opened.request_id
        s.state = check_transition(s.state, ConnectionState.OPEN)
        s.metrics.opened_at = now
        s.subscribers.broadcast(Opened(opened.request_id, opened.url_path, s.stream_id))
        s.link = link
        s.write_ok = s.abort is None
        link.start(opened.early_data)
        s.opened.set()

    def _route_events(self, events: list[CoreEvent]) -> None:
        """On the read-pool thread: deliver the messages here, hand the end to the actor.

        A connection whose subscribers once held the pool thread longer than
        ``DELIVERY_MOVES_AFTER`` has every later batch delivered by its own actor instead, so one
        slow subscriber stalls its own connection only (once), not the pool's other sockets.
        """
        if self._ended:
            return
        if self._deliver_on_actor:
            self._tell(_Received(events))
            return
        started = time.monotonic()
        for event in events:
            if type(event) is MessageReceived:
                self._deliver(event.opcode, event.payload)
            else:
                self._tell(_Received([event]))  # the end: the actor decides how it went
        took = time.monotonic() - started
        if took > DELIVERY_MOVES_AFTER:
            self._deliver_on_actor = True
            log.info(
                "connection %s: subscribers took %.0f ms on a read-pool thread; its events are "
                "delivered on its own thread from now on",
                self._s.stream_id,
                took * 1000,
            )

    def _tell(self, message: object) -> None:
        with contextlib.suppress(pykka.ActorDeadError):  # already ended
            self.actor_ref.tell(message)

    def _tell_drain(self) -> None:
        self._tell(_DRAIN)

    def _can_send(self) -> bool:
        link = self._link
        return (
            link is not None
            and self._send_error is None
            and self._abort is None
            and not self._client_closed
            and link.core.can_send
            and self._s.state in (ConnectionState.OPEN, ConnectionState.FINISHING)
        )

    def _drain(self) -> None:
        """Write everything queued (and any unfinished write), blocking up to ``send_timeout``."""
        s = self._s
        dropped = s.buffer.take_dropped()
        if dropped:
            s.metrics.bytes_dropped += dropped
            s.subscribers.broadcast(Backpressure("drop_oldest", dropped, s.buffer.audio_bytes))
        link = self._link
        if link is None or not self._can_send():
            s.buffer.take_all()  # the connection is going away: nothing queued will be sent
            return
        try:
            with link.lock:
                items, queued_at = s.buffer.take_all()
                if not items and not link.writer.has_backlog:
                    return
                done = link.write_items(items, queued_at) if items else link.flush_nowait()
            if not done:
                link.flush_blocking(s.config.send_timeout)
        except OSError as error:
            self._on_send_failed(error)

    def _flush(self, link: SocketLink, what: str) -> None:
        """Write what the core queued, waiting for the socket as needed; a failure ends the connection."""
        try:
            with link.lock:
                done = link.flush_nowait()
            if not done:
                link.flush_blocking(self._s.config.send_timeout)
        except OSError as error:
            self._on_send_failed(error, what=what)

    def _finish(self, mode: FinishMode) -> None:
        s = self._s
        if s.state is not ConnectionState.OPEN or not self._can_send():
            return
        self._drain()  # audio queued before finish() goes out before the finish frames
        link = self._link
        if link is None or not self._can_send():
            return
        s.state = check_transition(s.state, ConnectionState.FINISHING)
        s.write_ok = False  # stray audio after the finish goes through the actor, as before
        now = time.monotonic()
        s.metrics.finish_requested_at = now
        with link.lock:
            sent = link.core.start_finish(mode, now)
        self._flush(link, "finish")
        for _ in range(sent):
            s.metrics.record_control_sent(time.monotonic())

    def _close(self, code: int, reason: str) -> None:
        if self._s.state is ConnectionState.CLOSED or self._client_closed:
            return
        self._client_closed = True
        self._s.write_ok = False
        link = self._link
        if link is None or self._send_error is not None:
            return
        with link.lock:
            queued = link.core.send_close(code, reason)
        if queued:
            try:
                with link.lock:
                    done = link.flush_nowait()
                if not done:
                    link.flush_blocking(self._s.config.send_timeout)
            except OSError:  # SendTimeout included: the socket is going away anyway
                log.debug("close frame could not be sent", exc_info=True)

    def _do_abort(self, abort: _Abort) -> None:
        if self._ended or self._abort is not None:
            return
        self._abort = abort
        self._s.write_ok = False
        self._stop_reading_and_end(abort.reason, abort.error)

    def _on_send_failed(self, error: BaseException, what: str = "send") -> None:
        self._s.write_ok = False
        if self._send_error is not None:
            return
        if isinstance(error, SendTimeout):
            message = (
                f"{what} blocked for more than {self._s.config.send_timeout}s: the server stopped reading"
            )
        else:
            message = f"{what} failed: {error}"
        self._send_error = ConnectionClosedError(1006, message)
        self._s.buffer.close(lambda: ConnectionClosedError(1006, message))
        self._stop_reading_and_end(message, self._send_error)

    def _stop_reading_and_end(self, reason: str, error: BaseException | None) -> None:
        """Drop the socket now; end with (1006, ``reason``, ``error``) unless the server's close came first.

        A delivery in progress on the read pool ends first, so every message delivered comes
        before the end; when the server's close frame was already read, its code is kept.
        """
        link = self._link
        received = link.detach(_DELIVERY_JOIN_TIMEOUT) if link is not None else None
        if self._ws is not None:
            self._ws.abort()
        if received is not None:
            self._on_close_received(received)
        else:
            self._end(1006, reason, error)

    def _on_events(self, events: list[CoreEvent]) -> None:
        for event in events:
            if self._ended:
                return
            if type(event) is MessageReceived:
                self._deliver(event.opcode, event.payload)
            elif isinstance(event, CloseReceived):
                self._on_close_received(event)
            elif isinstance(event, ConnectionLost):
                self._on_lost(event)

    def _deliver(self, opcode: int, data: bytes) -> None:
        s = self._s
        metrics = s.metrics
        if opcode == OP_BINARY:
            metrics.audio_bytes_received += len(data)
            if s.session.audio_is_result and metrics.first_result_at is None:
                metrics.record_result(time.monotonic(), False)
            s.subscribers.broadcast(AudioChunk(data))
            return
        message = self._decode(data)
        metrics.messages_received += 1
        if getattr(message, "type", None) in s.session.result_types:
            metrics.record_result(
                time.monotonic(), getattr(message, "from_finalize", None) is True, result_audio_end(message)
            )
        s.subscribers.broadcast(message)

    def _on_close_received(self, event: CloseReceived) -> None:
        code, reason = event.code, event.reason
        normal = self._client_closed or classify_close(code) is Outcome.NORMAL
        error: BaseException | None = None if normal else ConnectionClosedError(code, reason)
        abort = self._abort or self._s.abort
        if abort is not None and abort.error is not None:
            error = abort.error
        self._end(code, reason, error)

    def _on_lost(self, event: ConnectionLost) -> None:
        abort = self._abort or self._s.abort
        error: BaseException | None
        if abort is not None:
            reason, error = abort.reason, abort.error
        elif self._send_error is not None:
            reason, error = str(self._send_error.args[0]), self._send_error
        elif self._client_closed:
            reason, error = "closed by the client", None
        else:
            reason, error = event.reason, event.error
        self._end(1006, reason, error)

    # -- the one way a connection ends ----------------------------------------------------------

    def _end(self, code: int, reason: str, error: BaseException | None, stop_actor: bool = True) -> None:
        if self._ended:
            return
        self._ended = True
        s = self._s
        s.state = ConnectionState.CLOSED
        s.write_ok = False
        s.buffer.close(lambda: ConnectionClosedError(code, reason or "the connection is closed"))
        link, ws = self._link, self._ws
        if link is not None:
            link.detach(_DELIVERY_JOIN_TIMEOUT)  # no message is delivered after the end
        if ws is not None:
            ws.shutdown()
        flusher, s.flusher = s.flusher, None
        if flusher is not None:
            flusher.release()  # the last flushing connection joins the flusher thread here
        pool, s.read_pool = s.read_pool, None
        if pool is not None:
            pool.release()  # the last connection joins the read threads here
        s.metrics.closed_at = time.monotonic()
        if error is not None:
            s.subscribers.broadcast(ConnectionFailed(error))
        s.subscribers.broadcast(Closed(code, reason))
        s.result = FinishResult(
            code=code,
            reason=reason,
            error=error,
            request_id=s.request_id,
            stream_id=s.stream_id,
            metrics=s.metrics.snapshot(),
        )
        s.opened.set()
        s.closed.set()
        if stop_actor:
            self.stop()


class Connection:
    """The user's handle on one live connection; every method is safe to call from any thread.

    Create it with :meth:`open` (blocks until the handshake is done) or :meth:`start` (returns at
    once; the outcome arrives as events). Events go to the subscribers given here or added with
    :meth:`subscribe`: callables (called on the connection's threads -- keep them fast and do not
    call :meth:`finish` from inside them), ``queue.Queue`` objects or pykka ``ActorRef``s.
    """

    def __init__(self, shared: _Shared, actor_ref: pykka.ActorRef[ConnectionActor]) -> None:
        """Internal: use :meth:`open` or :meth:`start`."""
        self._s = shared
        self._ref = actor_ref
        self._finishing = False

    # -- creation -------------------------------------------------------------------------------

    @classmethod
    def start(
        cls, config: ConnectionConfig, subscribers: Iterable[object] = (), stream_id: str | None = None
    ) -> Connection:
        """Start connecting in the background and return the handle at once.

        A failed handshake is delivered as ``ConnectionFailed(error)`` then ``Closed(1006, ...)``
        (no ``Opened``), and :meth:`wait_open` raises it.
        """
        if not isinstance(config, ConnectionConfig):
            raise TypeError(f"config must be a ConnectionConfig, got {type(config).__name__}")
        name = stream_id if stream_id is not None else f"stream-{next(_stream_numbers)}"
        shared = _Shared(config, name, list(subscribers))
        shared.read_pool = shared_read_pool().acquire()  # released by the actor when the connection ends
        if shared.flush_interval > 0:
            shared.flusher = shared_flusher().acquire()  # released by the actor when the connection ends
        try:
            ref = ConnectionActor.start(shared)
        except BaseException:
            if shared.flusher is not None:
                shared.flusher.release()
            shared.read_pool.release()
            raise
        ref.tell(_Connect())
        return cls(shared, ref)

    @classmethod
    def open(
        cls, config: ConnectionConfig, subscribers: Iterable[object] = (), stream_id: str | None = None
    ) -> Connection:
        """Connect and return once the handshake completed.

        Raises ``HandshakeError`` (refused upgrade: status, dg-error, request id, body),
        ``TimeoutError`` (``connect_timeout`` passed) or another ``OSError`` (network). Subscribers
        also receive ``ConnectionFailed`` and ``Closed`` for a failed open.
        """
        conn = cls.start(config, subscribers, stream_id)
        conn.wait_open()
        return conn

    def wait_open(self, timeout: float | None = None) -> None:
        """Block until the handshake completed; raise its error if it failed.

        ``timeout`` defaults to the config's ``connect_timeout`` plus a grace period.
        """
        limit = timeout if timeout is not None else self._s.config.connect_timeout + _TEARDOWN_GRACE
        if not self._s.opened.wait(limit):
            self._force_abort(_Abort(TimeoutError(f"not connected within {limit}s"), "connect timed out"))
            self._join(_TEARDOWN_GRACE)
            raise TimeoutError(f"stream {self.stream_id}: not connected within {limit}s")
        error = self._s.open_error
        if error is not None:
            self._join(_TEARDOWN_GRACE)
            raise error

    # -- state ----------------------------------------------------------------------------------

    @property
    def stream_id(self) -> str:
        """The caller's name for this stream (generated when not given)."""
        return self._s.stream_id

    @property
    def request_id(self) -> str | None:
        """The server's ``dg-request-id`` from the handshake (None before it completed)."""
        return self._s.request_id

    @property
    def config(self) -> ConnectionConfig:
        """The configuration this connection was opened with."""
        return self._s.config

    @property
    def state(self) -> ConnectionState:
        """Where the connection is: connecting, open, finishing or closed."""
        return self._s.state

    @property
    def metrics(self) -> MetricsSnapshot:
        """A snapshot of this stream's metrics."""
        return self._s.metrics.snapshot()

    @property
    def metrics_recorder(self) -> MetricsRecorder:
        """The live recorder (the supervisor adds reconnects and replayed seconds to it)."""
        return self._s.metrics

    @property
    def closed(self) -> threading.Event:
        """Set once the connection has ended and ``Closed`` has been delivered."""
        return self._s.closed

    @property
    def result(self) -> FinishResult | None:
        """How the connection ended, or None while it is still live."""
        return self._s.result if self._s.closed.is_set() else None

    @property
    def threads(self) -> tuple[threading.Thread, ...]:
        """The thread this connection started (its actor), for accounting and tests.

        Its socket is read by the process's shared read pool (:mod:`actors.runtime.read_pool`).
        """
        return tuple(t for t in (self._s.actor_thread,) if t is not None)

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Block until the connection ended and its threads are gone; True if that happened in time."""
        if not self._s.closed.wait(timeout):
            return False
        self._join(timeout if timeout is not None else _TEARDOWN_GRACE)
        return True

    def __repr__(self) -> str:
        api = self._s.config.api.name
        return f"Connection(stream_id={self.stream_id!r}, api={api!r}, state={self.state.value})"

    # -- sending --------------------------------------------------------------------------------

    def send_audio(self, data: bytes | bytearray | memoryview) -> None:
        """Queue audio to be sent as a binary frame, in order with control messages; returns fast.

        Empty chunks are ignored (an empty binary frame means "end of stream" to Listen V1).
        Raises ``BackpressureError`` per the send-buffer policy and ``ConnectionClosedError`` once
        the connection is finishing or closed.
        """
        if type(data) is not bytes:
            if isinstance(data, str):
                raise TypeError("send_audio takes bytes; use send() for control messages")
            data = bytes(data)
        if not data:
            return
        if self._finishing:
            raise self._refusal("audio")
        s = self._s
        interval = s.flush_interval
        window = s.window_bytes
        if interval and (window is None or len(data) < window):
            if s.buffer.put_audio(data):
                flusher = s.flusher
                if not (s.write_ok and flusher is not None and flusher.schedule(self, interval)):
                    self._tell(_DRAIN)  # not open yet (or going away): the actor decides
            return
        link = s.link
        if link is not None and s.write_ok and link.lock.acquire(blocking=False):
            try:
                # Checked under the lock: nothing queued ahead, nothing half-written.
                if s.write_ok and s.buffer.idle and not link.writer.has_backlog:
                    try:
                        if not link.write_audio(data):
                            self._tell(_DRAIN)  # the kernel took part of it: the actor writes the rest
                    except OSError as error:
                        s.write_ok = False
                        self._tell(_SendFailed(error))
                    return
            finally:
                link.lock.release()
        if s.buffer.put_audio(data):
            self._tell(_DRAIN)

    def flush_queued_audio(self) -> None:
        """Write the queued audio as one frame without blocking (called by the audio flusher).

        When the socket is busy or cannot take it all, the connection's actor finishes the job.
        """
        s = self._s
        link = s.link
        if not s.write_ok or link is None or not link.lock.acquire(blocking=False):
            self._tell(_DRAIN)
            return
        try:
            if link.writer.has_backlog or s.buffer.dropped_unreported:
                self._tell(_DRAIN)  # the actor finishes the write / reports the dropped audio
                return
            items, queued_at = s.buffer.take_all()
            if items:
                self._write_now(link, items, queued_at)
        finally:
            link.lock.release()

    def _write_now(self, link: SocketLink, items: list[bytes | str], queued_at: float | None = None) -> None:
        # Caller or flusher thread, link lock held: never blocks.
        try:
            if not link.write_items(items, queued_at or time.monotonic()):
                self._tell(_DRAIN)  # the kernel took part of it: the actor writes the rest
        except OSError as error:
            self._s.write_ok = False
            self._tell(_SendFailed(error))

    def send(self, message: Any) -> None:
        """Encode a control message with the API's codec and queue it, in order with audio.

        Raises ``ProtocolError`` when the message cannot be encoded and ``ConnectionClosedError``
        once the connection is finishing or closed.
        """
        frame = self._s.config.api.client_codec.encode(message)
        self.send_text(frame)

    def send_text(self, frame: str) -> None:
        """Queue an already-encoded JSON text frame (escape hatch for messages newer than the codec)."""
        if not isinstance(frame, str):
            raise TypeError(f"send_text takes a str, got {type(frame).__name__}")
        if self._finishing:
            raise self._refusal("control messages")
        # With a flush window the control message must not wait for the next tick.
        if self._s.buffer.put_text(frame) or self._s.flush_interval:
            self._tell(_DRAIN)

    def subscribe(self, subscriber: object) -> None:
        """Add a subscriber; it receives events from now on (not the ones already delivered)."""
        self._s.subscribers.add(subscriber)

    def unsubscribe(self, subscriber: object) -> bool:
        """Remove a subscriber; True if it was subscribed."""
        return self._s.subscribers.remove(subscriber)

    # -- ending ---------------------------------------------------------------------------------

    def finish(
        self, timeout: float | OwedAudioDeadline = 10.0, mode: Literal["close", "finalize"] = "close"
    ) -> FinishResult:
        """Finish gracefully and block until the server closed; return how it ended.

        Sends what is queued, then the API's finish messages (Listen ``CloseStream``, preceded by
        ``Finalize`` in mode ``finalize``; Speak ``Flush`` + ``Close``; Flux ``CloseStream``; Agent a
        close frame). Every message the server sent before closing is delivered first. An abnormal
        end is returned in ``result.error`` (``raise_for_error()`` raises it). If the server has not
        closed within ``timeout`` seconds -- or, given an :class:`~actors.runtime.deadline.OwedAudioDeadline`
        made from this connection's ``metrics_recorder``, by that deadline (which follows the audio
        still owed and the server's progress) -- the connection is dropped and ``FinishTimeout`` is
        raised.
        """
        if mode not in ("close", "finalize"):
            raise ValueError(f"finish mode must be 'close' or 'finalize', got {mode!r}")
        if isinstance(timeout, (int, float)) and not timeout > 0:
            raise ValueError(f"finish timeout must be > 0 seconds, got {timeout!r}")
        self._refuse_inside_callbacks("finish")
        self._finishing = True
        self._tell(_Finish(mode))
        if isinstance(timeout, (int, float)):
            closed_in_time, limit = self._s.closed.wait(timeout), f"{timeout}s"
        else:
            closed_in_time = timeout.wait(self._s.closed)
            limit = timeout.describe()
        if not closed_in_time:
            error = FinishTimeout(
                f"stream {self.stream_id}: the server did not close within {limit} of finish(); "
                "the connection was dropped (results received so far were delivered)"
            )
            self._force_abort(_Abort(error, f"finish timed out after {limit}"))
            self._s.closed.wait(_TEARDOWN_GRACE)
            self._join(_TEARDOWN_GRACE)
            raise error
        self._join(_TEARDOWN_GRACE)
        result = self._s.result
        assert result is not None
        return result

    def close(self, code: int = 1000, reason: str = "") -> FinishResult | None:
        """Close now without a graceful finish; idempotent.

        Sends a close frame and waits up to ``close_timeout`` for the server's, then drops the
        socket. Returns how the connection ended, or None when called from one of the
        connection's own threads (a subscriber callback), where it cannot wait.
        """
        self._finishing = True
        self._tell(_Close(code, reason))
        if self._in_own_thread():
            return None
        if not self._s.closed.wait(self._s.config.close_timeout):
            reason = f"server did not answer the close frame within {self._s.config.close_timeout}s"
            self._force_abort(_Abort(None, reason))
            self._s.closed.wait(_TEARDOWN_GRACE)
        self._join(_TEARDOWN_GRACE)
        return self._s.result

    def abort(self, error: BaseException | None = None, *, wait: bool = True) -> FinishResult | None:
        """Kill the connection now: shut the socket down without a close handshake; idempotent.

        Subscribers get ``ConnectionFailed(error)`` (only when ``error`` is given) and then
        ``Closed(1006, ...)`` -- unless the server's close frame was already read, whose code is
        kept. Nothing queued is sent any more; later sends raise ``ConnectionClosedError``. Use it
        when a connection must go at once (a stalled server, a stop): unlike :meth:`close` it
        never waits ``close_timeout`` for a server that may not answer.

        With ``wait=True`` it blocks until ``Closed`` was delivered (a few milliseconds) and
        returns the result; with ``wait=False``, or from a subscriber callback, it returns None
        at once. A connection still in its handshake ends when the handshake returns (at most
        ``connect_timeout``).
        """
        self._finishing = True
        reason = f"aborted by the client: {error}" if error is not None else "aborted by the client"
        self._force_abort(_Abort(error, reason))
        if not wait or self._in_own_thread():
            return None
        self._s.closed.wait(self._s.config.connect_timeout + _TEARDOWN_GRACE)
        self._join(_TEARDOWN_GRACE)
        return self._s.result

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None and self.result is None:
            self.finish()
        else:
            self.close()

    # -- internals ------------------------------------------------------------------------------

    def _tell(self, message: object) -> None:
        # ActorDeadError: already ended; the result says how.
        with contextlib.suppress(pykka.ActorDeadError):
            self._ref.tell(message)

    def _force_abort(self, abort: _Abort) -> None:
        # Shut the socket down from this thread: the actor may be blocked in a send to a server
        # that stopped reading, and would only see a told _Abort after send_timeout.
        if self._s.abort is None:
            self._s.abort = abort
        self._s.write_ok = False
        ws = self._s.ws
        if ws is not None:
            ws.abort()
        self._tell(abort)

    def _refusal(self, what: str) -> ConnectionClosedError:
        result = self._s.result
        if result is not None:
            return ConnectionClosedError(result.code, f"cannot send {what}: the connection is closed")
        return ConnectionClosedError(1000, f"cannot send {what}: finish() or close() was already called")

    def _in_own_thread(self) -> bool:
        return threading.current_thread() is self._s.actor_thread or in_read_thread()

    def _refuse_inside_callbacks(self, what: str) -> None:
        if self._in_own_thread():
            raise ActorsError(
                f"{what}() cannot wait inside a subscriber callback (it would block the connection's own "
                "thread); call it from another thread, or call close() which does not wait there"
            )

    def _join(self, timeout: float) -> None:
        if self._in_own_thread():
            return
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            if thread.is_alive():
                thread.join(max(0.0, deadline - time.monotonic()))


__all__ = ["Connection", "ConnectionActor", "FinishResult"]
