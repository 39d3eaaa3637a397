"""One live WebSocket connection: the :class:`ConnectionActor` and the user's :class:`Connection` handle.

Threads (the budget is two per live stream, both named ``actors-conn-<stream>`` and
``actors-read-<stream>``, both joined when the connection ends):

* the actor thread connects, writes control, keepalive and finish frames, runs the close
  handshake and takes over any write that must block -- it never reads the socket;
* the reader thread (:mod:`actors.runtime.reader`) is the only reader; it broadcasts decoded
  messages straight to the subscribers and tells the actor when the socket ends or is idle.

Audio does not travel through the actor's mailbox. Every write holds the socket's write lock
(:class:`~actors.runtime.transport.SocketWriter`), which keeps frames whole and ordered:

* ``audio_flush_interval == 0`` (immediate, the default for a plain ``Connection``):
  ``send_audio`` writes the frame on the caller's thread, without blocking, when nothing is
  queued ahead of it and the lock is free. Otherwise the chunk goes into the bounded
  :class:`~actors.runtime.backpressure.SendBuffer` behind what is queued and the actor is told to
  drain it (once per batch, not per chunk). A write the kernel does not take whole is finished
  by the actor (it may block up to ``send_timeout``).
* ``audio_flush_interval > 0`` (a coalescing window): ``send_audio`` only queues; the shared
  flusher thread (:mod:`actors.runtime.flusher`) writes everything queued as one frame per
  window, for all connections in one wake-up.

Control messages always go into the buffer (after the audio queued before them) and the actor
drains it, so their order with the audio is kept.

Events reach subscribers in this order: ``Opened``, server messages in wire order, then
``ConnectionFailed`` (only for an abnormal end) and exactly one ``Closed``.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

import attrs
import pykka
import websocket

from actors.errors import ActorsError, ConnectionClosedError, FinishTimeout
from actors.runtime.backpressure import SendBuffer
from actors.runtime.classify import ConnectionState, Outcome, check_transition, classify_close
from actors.runtime.config import ConnectionConfig
from actors.runtime.events import Backpressure, Closed, ConnectionFailed, Opened
from actors.runtime.flusher import AudioFlusher, shared_flusher
from actors.runtime.frames import OP_PING, OP_TEXT, encode_batch, encode_frame
from actors.runtime.keepalive import KeepaliveClock
from actors.runtime.metrics import MetricsRecorder, MetricsSnapshot
from actors.runtime.profiles import ApiProfile, FinishMode, profile_for
from actors.runtime.reader import CloseHandshake, KeepaliveDue, Reader, ReaderEnded
from actors.runtime.subscribers import SubscriberSet
from actors.runtime.transport import SendTimeout, SocketWriter, open_socket

if TYPE_CHECKING:
    from actors.runtime.deadline import OwedAudioDeadline

log = logging.getLogger(__name__)

_stream_numbers = itertools.count(1)
# How long the actor waits for its reader to finish delivering after the socket ended.
_READER_JOIN_TIMEOUT = 5.0
# Extra time allowed for thread teardown after a deadline has already passed.
_TEARDOWN_GRACE = 5.0


@attrs.frozen
class FinishResult:
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


@attrs.frozen(slots=True)
class _Connect:
    pass


@attrs.frozen(slots=True)
class _Drain:
    pass


@attrs.frozen(slots=True)
class _Finish:
    mode: FinishMode


@attrs.frozen(slots=True)
class _Close:
    code: int
    reason: str


@attrs.frozen(slots=True)
class _Abort:
    error: BaseException | None
    reason: str


@attrs.frozen(slots=True)
class _SendFailed:
    """A write on another thread (caller or flusher) failed; the actor ends the connection."""

    error: BaseException


_DRAIN = _Drain()


class _Shared:
    """State the handle and the actor both see. Each field has one writer (noted)."""

    def __init__(self, config: ConnectionConfig, stream_id: str, subscribers: Iterable[object]) -> None:
        self.config = config
        self.stream_id = stream_id
        self.profile: ApiProfile = profile_for(config.api.name)
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
        self.writer: SocketWriter | None = None  # actor, once connected
        self.clock: KeepaliveClock | None = None  # actor, once connected (None: no keepalive, no liveness)
        self.close_handshake: CloseHandshake | None = None  # actor, once connected
        # Whether threads other than the actor may write (caller, flusher). Set by the actor once
        # open; cleared by whoever sees the connection going away.
        self.write_ok = False
        self.flush_interval: float = config.audio_flush_interval or 0.0
        self.flusher: AudioFlusher | None = None  # acquired by Connection.start when flushing
        self.abort: _Abort | None = None  # handle: a deadline passed, drop the socket
        self.actor_thread: threading.Thread | None = None  # actor, in on_start
        self.reader_thread: threading.Thread | None = None  # actor

    def write_items(
        self, writer: SocketWriter, items: list[bytes | str], queued_at: float, *, blocking: bool
    ) -> bool:
        """Encode queued items and write them in one go (``writer.lock`` held by the caller).

        Returns False when a non-blocking write left a backlog (the actor must finish it).
        Raises ``OSError`` (``SendTimeout`` included) when the socket fails. Once our close frame
        is out (either side started the close), the items are dropped: RFC 6455 5.5.1 forbids
        data frames after it, and the connection is ending anyway.
        """
        handshake = self.close_handshake
        if handshake is not None and handshake.sent:
            return True
        config = self.config
        batch = encode_batch(items, config.coalesce_audio, config.max_frame_bytes)
        if blocking:
            writer.send_blocking(batch.data)
            done = True
        else:
            done = writer.send_nowait(batch.data)
        now = time.monotonic()
        self.metrics.record_batch_sent(
            batch.audio_bytes, batch.audio_frames, batch.control_frames, queued_at, now
        )
        clock = self.clock
        if clock is not None:
            clock.note_sent(now)
        return done

    def _count_dropped_event(self) -> None:
        self.metrics.events_dropped += 1

    def _count_subscriber_error(self) -> None:
        self.metrics.subscriber_errors += 1


class ConnectionActor(pykka.ThreadingActor):
    """Owns one socket: connects, writes every frame, runs keepalive and the close handshake.

    Driven only through :class:`Connection`; see the module docstring for the design.
    """

    # A connection the user forgot to close must not keep the interpreter alive at exit;
    # normal stops still run on_stop.
    use_daemon_thread = True

    def __init__(self, shared: _Shared) -> None:
        super().__init__()
        self._s = shared
        self._ws: websocket.WebSocket | None = None
        self._writer: SocketWriter | None = None
        self._reader: Reader | None = None
        self._close_handshake: CloseHandshake | None = None
        self._clock: KeepaliveClock | None = None
        self._send_error: BaseException | None = None
        self._abort: _Abort | None = None
        self._client_closed = False
        self._ended = False

    # -- pykka hooks ---------------------------------------------------------------------------

    def on_start(self) -> None:
        """Name the thread after the stream so thread dumps and the thread budget are readable."""
        thread = threading.current_thread()
        thread.name = f"actors-conn-{self._s.stream_id}"
        self._s.actor_thread = thread

    def on_receive(self, message: Any) -> Any:
        """Dispatch a command; any unexpected error ends the connection visibly instead of silently."""
        try:
            if message is _DRAIN or isinstance(message, _Drain):
                self._drain()
            elif isinstance(message, ReaderEnded):
                self._on_reader_ended(message)
            elif isinstance(message, KeepaliveDue):
                self._send_keepalive()
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
        sock = opened.ws.sock
        assert sock is not None
        self._ws = opened.ws
        s.ws = opened.ws
        self._writer = SocketWriter(sock, s.config.send_timeout)
        s.request_id = opened.request_id
        s.state = check_transition(s.state, ConnectionState.OPEN)
        now = time.monotonic()
        s.metrics.opened_at = now
        plan = s.config.keepalive_plan()
        metrics = s.metrics
        self._clock = (
            KeepaliveClock(plan, now, lambda: metrics.messages_received + metrics.audio_bytes_received)
            if plan is not None
            else None
        )
        s.clock = self._clock
        self._close_handshake = CloseHandshake(self._writer)
        s.close_handshake = self._close_handshake
        s.subscribers.broadcast(Opened(opened.request_id, opened.url_path, s.stream_id))
        decode = s.config.api.server_codec.decode
        self._reader = Reader(
            sock=sock,
            writer=self._writer,
            decode=decode,
            subscribers=s.subscribers,
            metrics=s.metrics,
            profile=s.profile,
            close_handshake=self._close_handshake,
            keepalive=self._clock,
            tell_owner=self._tell_self,
            name=f"actors-read-{s.stream_id}",
            read_timeout=s.config.read_timeout,
        )
        s.reader_thread = self._reader.thread
        self._reader.start()
        s.writer = self._writer
        s.write_ok = s.abort is None
        s.opened.set()
        if not s.buffer.idle:
            self._drain()  # sent before the handshake finished (normally already told as _Drain)

    def _tell_self(self, message: object) -> None:
        # ActorDeadError: the connection already ended; nothing left to tell.
        with contextlib.suppress(pykka.ActorDeadError):
            self.actor_ref.tell(message)

    def _can_send(self) -> bool:
        return (
            self._ws is not None
            and self._send_error is None
            and self._abort is None
            and not self._client_closed
            and not (self._close_handshake is not None and self._close_handshake.sent)
            and self._s.state in (ConnectionState.OPEN, ConnectionState.FINISHING)
        )

    def _drain(self) -> None:
        """Write everything queued (and any unfinished write), blocking up to ``send_timeout``."""
        s = self._s
        dropped = s.buffer.take_dropped()
        if dropped:
            s.metrics.bytes_dropped += dropped
            s.subscribers.broadcast(Backpressure("drop_oldest", dropped, s.buffer.audio_bytes))
        writer = self._writer
        if writer is None or not self._can_send():
            s.buffer.take_all()  # the connection is going away: nothing queued will be sent
            return
        with writer.lock:
            items, queued_at = s.buffer.take_all()
            if not items and not writer.has_backlog:
                return
            try:
                if items:
                    s.write_items(writer, items, queued_at, blocking=True)
                else:
                    writer.send_blocking()
            except OSError as error:
                self._on_send_failed(error)

    def _write_control(self, frame: bytes) -> None:
        """Write one control frame after anything unfinished (blocking; the lock is taken here)."""
        writer = self._writer
        assert writer is not None
        with writer.lock:
            writer.send_blocking(frame)

    def _send_keepalive(self) -> None:
        """Send what the clock asked for: the idle keepalive (while open) and/or a liveness ping.

        Liveness pings also go out while finishing: a server that dies then is noticed before the
        finish deadline.
        """
        clock = self._clock
        if clock is None:
            return
        idle, ping = clock.take_due()
        state = self._s.state
        if not self._can_send() or state not in (ConnectionState.OPEN, ConnectionState.FINISHING):
            return
        idle = idle and state is ConnectionState.OPEN
        plan = clock.plan
        now = time.monotonic()
        try:
            if ping or (idle and plan.kind == "ping"):
                clock.note_ping(now)  # before the write: its pong may be read before the write returns
                self._write_control(encode_frame(OP_PING, b"actors"))
            if idle and plan.kind == "message":
                assert plan.frame is not None
                self._write_control(encode_frame(OP_TEXT, plan.frame.encode("utf-8")))
                clock.note_sent(now)
        except OSError as error:
            self._on_send_failed(error, what="keepalive")
            return
        if idle:
            self._s.metrics.keepalives_sent += 1

    def _finish(self, mode: FinishMode) -> None:
        s = self._s
        if s.state is not ConnectionState.OPEN or not self._can_send():
            return
        self._drain()  # audio queued before finish() goes out before the finish frames
        if not self._can_send():
            return
        s.state = check_transition(s.state, ConnectionState.FINISHING)
        s.write_ok = False  # stray audio after the finish goes through the actor, as before
        s.metrics.finish_requested_at = time.monotonic()
        frames = s.profile.finish_frames[mode]
        if not frames:
            assert self._close_handshake is not None
            self._close_handshake.send(1000)
            return
        try:
            for frame in frames:
                self._write_control(encode_frame(OP_TEXT, frame.encode("utf-8")))
                s.metrics.record_control_sent(time.monotonic())
        except OSError as error:
            self._on_send_failed(error, what="finish")

    def _close(self, code: int, reason: str) -> None:
        if self._s.state is ConnectionState.CLOSED or self._client_closed:
            return
        self._client_closed = True
        self._s.write_ok = False
        if self._close_handshake is not None and self._send_error is None:
            self._close_handshake.send(code, reason)

    def _do_abort(self, abort: _Abort) -> None:
        if self._ended or self._abort is not None:
            return
        self._abort = abort
        self._s.write_ok = False
        if self._reader is None:
            self._end(1006, abort.reason, abort.error)
            return
        self._reader.request_stop()
        if self._ws is not None:
            self._ws.abort()

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
        # Wake the reader; it reports how the socket ended (a close frame already read wins).
        if self._ws is not None:
            self._ws.abort()

    def _on_reader_ended(self, ended: ReaderEnded) -> None:
        if self._reader is not None:
            self._reader.join(_READER_JOIN_TIMEOUT)
        abort = self._abort or self._s.abort
        error: BaseException | None
        if ended.close_frame:
            code, reason = ended.code, ended.reason
            normal = self._client_closed or classify_close(code) is Outcome.NORMAL
            error = None if normal else ConnectionClosedError(code, reason)
            if abort is not None and abort.error is not None:
                error = abort.error
        else:
            code = 1006
            if abort is not None:
                reason, error = abort.reason, abort.error
            elif self._send_error is not None:
                reason, error = str(self._send_error.args[0]), self._send_error
            elif self._client_closed:
                reason, error = "closed by the client", None
            else:
                reason, error = ended.reason, ended.error or ConnectionClosedError(1006, ended.reason)
        self._end(code, reason, error)

    # -- the one way a connection ends ----------------------------------------------------------

    def _end(self, code: int, reason: str, error: BaseException | None, stop_actor: bool = True) -> None:
        if self._ended:
            return
        self._ended = True
        s = self._s
        s.state = ConnectionState.CLOSED
        s.write_ok = False
        s.buffer.close(lambda: ConnectionClosedError(code, reason or "the connection is closed"))
        ws, reader = self._ws, self._reader
        if reader is not None:
            reader.request_stop()
            if ws is not None:
                ws.abort()
            if not reader.join(_READER_JOIN_TIMEOUT):
                log.warning("reader of %s did not stop in time (a subscriber may be blocking)", s.stream_id)
        if ws is not None:
            ws.shutdown()
        flusher, s.flusher = s.flusher, None
        if flusher is not None:
            flusher.release()  # the last flushing connection joins the flusher thread here
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
        if shared.flush_interval > 0:
            shared.flusher = shared_flusher().acquire()  # released by the actor when the connection ends
        try:
            ref = ConnectionActor.start(shared)
        except BaseException:
            if shared.flusher is not None:
                shared.flusher.release()
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
        """The threads this connection started (at most two), for accounting and tests."""
        return tuple(t for t in (self._s.actor_thread, self._s.reader_thread) if t is not None)

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
        if interval:
            if s.buffer.put_audio(data):
                flusher = s.flusher
                if not (s.write_ok and flusher is not None and flusher.schedule(self, interval)):
                    self._tell(_DRAIN)  # not open yet (or going away): the actor decides
            return
        writer = s.writer
        if s.write_ok and writer is not None and s.buffer.idle and writer.lock.acquire(blocking=False):
            try:
                # Re-checked under the lock: nothing queued ahead, nothing half-written.
                if s.write_ok and s.buffer.idle and not writer.has_backlog:
                    self._write_now(writer, [data])
                    return
            finally:
                writer.lock.release()
        if s.buffer.put_audio(data):
            self._tell(_DRAIN)

    def flush_queued_audio(self) -> None:
        """Write the queued audio as one frame without blocking (called by the audio flusher).

        When the socket is busy or cannot take it all, the connection's actor finishes the job.
        """
        s = self._s
        writer = s.writer
        if not s.write_ok or writer is None or not writer.lock.acquire(blocking=False):
            self._tell(_DRAIN)
            return
        try:
            if writer.has_backlog or s.buffer.dropped_unreported:
                self._tell(_DRAIN)  # the actor finishes the write / reports the dropped audio
                return
            items, queued_at = s.buffer.take_all()
            if items:
                self._write_now(writer, items, queued_at)
        finally:
            writer.lock.release()

    def _write_now(
        self, writer: SocketWriter, items: list[bytes | str], queued_at: float | None = None
    ) -> None:
        # Caller or flusher thread, writer lock held: never blocks.
        try:
            if not self._s.write_items(writer, items, queued_at or time.monotonic(), blocking=False):
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
        current = threading.current_thread()
        return current is self._s.actor_thread or current is self._s.reader_thread

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
