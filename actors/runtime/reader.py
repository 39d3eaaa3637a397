"""The reader thread: the only thread that reads a connection's socket.

It waits for the socket to become readable with a timeout taken from the keepalive clock, so an
idle connection wakes it to ask the actor for a keepalive -- no extra timer thread. It reads the
(non-blocking) socket in large chunks and parses frames itself (:mod:`actors.runtime.frames`):
one ``recv`` per wake-up instead of websocket-client's several small reads per frame. Pings are
answered with a pong, fragmented messages are joined, and the close handshake is ours: a close
frame is answered once, with the server's code echoed, and its code and reason are kept.

A server breaking RFC 6455 (see :mod:`actors.runtime.frames` for the checks) fails the
connection: the reader sends the close code the violation calls for (1002, 1007, 1009), does not
wait for an answer, and ends with :class:`~actors.errors.ProtocolViolation`. A server that goes
silent in the middle of a frame (part of a frame received, then nothing for ``read_timeout``
seconds while the socket stays open) ends the connection too, with close 1011 sent if the socket
takes it at once and ``ConnectionClosedError(1006, ...)``; silence *between* frames is never
timed here (keepalive and its pong timeout watch an idle connection).

Text frames are decoded with the API's server codec and broadcast as typed messages; binary
frames become :class:`~actors.runtime.events.AudioChunk`. When the socket ends, the reader tells
its owner how (:class:`ReaderEnded`) and returns.
"""

from __future__ import annotations

import logging
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import attrs

from actors.errors import ConnectionClosedError, ProtocolViolation
from actors.runtime.events import AudioChunk
from actors.runtime.frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameError,
    FrameParser,
    MessageAssembler,
    close_payload,
    encode_frame,
    parse_close_payload,
)
from actors.runtime.keepalive import KeepaliveClock
from actors.runtime.metrics import MetricsRecorder, result_audio_end
from actors.runtime.profiles import ApiProfile
from actors.runtime.subscribers import SubscriberSet
from actors.runtime.transport import SocketWriter

log = logging.getLogger(__name__)

_POLL_IN = select.POLLIN | select.POLLPRI | select.POLLHUP | select.POLLERR
# With no keepalive the reader still wakes this often to notice a stop request.
_IDLE_WAKE = 5.0
#: One read takes up to this much; the bytes object shrinks to what arrived.
READ_SIZE = 64 * 1024
_WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


@attrs.frozen(slots=True)
class ReaderEnded:
    """Told to the owner once, when the reader stops.

    ``close_frame`` is True when the server sent a close frame (``code``/``reason`` come from it);
    otherwise ``code`` is 1006 and ``error`` says what broke (None when the owner asked to stop).
    """

    code: int
    reason: str
    close_frame: bool
    error: BaseException | None = None


@attrs.frozen(slots=True)
class KeepaliveDue:
    """Told to the owner when the connection has been silent for a keepalive interval."""


class CloseHandshake:
    """Makes sure exactly one close frame is sent per connection, by whichever thread is first."""

    def __init__(self, writer: SocketWriter) -> None:
        self._writer = writer
        self._lock = threading.Lock()
        self.sent = False

    def send(self, code: int, reason: str = "") -> bool:
        """Send our close frame unless one was sent already; True if this call sent it.

        Waits at most the writer's ``send_timeout`` for a write in progress on another thread.
        """
        with self._lock:
            if self.sent:
                return False
            self.sent = True
        writer = self._writer
        if not writer.lock.acquire(timeout=writer.send_timeout):
            log.debug("close frame not sent: another write held the socket for %ss", writer.send_timeout)
            return True
        try:
            writer.send_blocking(encode_frame(OP_CLOSE, close_payload(code, reason)))
        except OSError:  # SendTimeout included: the socket is going away anyway
            log.debug("close frame could not be sent", exc_info=True)
        finally:
            writer.lock.release()
        return True

    def try_send(self, code: int, reason: str = "") -> bool:
        """Send our close frame only if that can be done now without blocking; True if it was sent.

        For a connection being failed on a deadline: no waiting for another thread's write, and
        nothing is sent while an earlier frame is still half written.
        """
        with self._lock:
            if self.sent:
                return False
            writer = self._writer
            if not writer.lock.acquire(blocking=False):
                return False
            self.sent = True
        try:
            if writer.has_backlog:
                return False
            return writer.send_nowait(encode_frame(OP_CLOSE, close_payload(code, reason)))
        except OSError:
            log.debug("close frame could not be sent", exc_info=True)
            return False
        finally:
            writer.lock.release()


class Reader:
    """Reads one socket on a named thread until it ends; see the module docstring.

    ``tell_owner`` receives :class:`KeepaliveDue` and, exactly once, :class:`ReaderEnded`.
    ``read_timeout`` bounds how long a frame may stay half received with nothing arriving.
    """

    def __init__(
        self,
        sock: socket.socket,
        writer: SocketWriter,
        decode: Callable[[bytes], Any],
        subscribers: SubscriberSet,
        metrics: MetricsRecorder,
        profile: ApiProfile,
        close_handshake: CloseHandshake,
        keepalive: KeepaliveClock | None,
        tell_owner: Callable[[object], None],
        name: str,
        read_timeout: float = 10.0,
    ) -> None:
        self._sock = sock
        self._writer = writer
        self._decode = decode
        self._subscribers = subscribers
        self._metrics = metrics
        self._profile = profile
        self._close = close_handshake
        self._keepalive = keepalive
        self._tell_owner = tell_owner
        self._read_timeout = read_timeout
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def thread(self) -> threading.Thread:
        """The reader's thread (for joining and thread accounting)."""
        return self._thread

    def start(self) -> None:
        """Start reading."""
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the reader to end at its next wake-up; the owner also aborts the socket to wake it now."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True if it has."""
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        ended: ReaderEnded
        try:
            ended = self._loop()
        except BaseException as error:  # anything unexpected still ends the connection visibly
            log.exception("reader of %s failed", self._thread.name)
            ended = ReaderEnded(1006, f"reader failed: {error!r}", False, error)
        self._tell_owner(ended)

    def _loop(self) -> ReaderEnded:
        sock = self._sock
        try:
            fileno = sock.fileno()
        except OSError:
            fileno = -1
        if fileno < 0:
            return ReaderEnded(1006, "socket already closed", False, None)
        poller = select.poll()
        poller.register(fileno, _POLL_IN)
        pending = getattr(sock, "pending", None)  # TLS sockets may hold decrypted bytes poll cannot see
        parser = FrameParser()
        assembler = MessageAssembler()
        recv = sock.recv
        # When the parser holds part of a frame: the time the last bytes of it arrived (else None).
        partial_since: float | None = None
        while True:
            if self._stop.is_set():
                return ReaderEnded(1006, "stopped by the client", False, None)
            wait_ms = self._wait_ms()
            if partial_since is not None:
                wait_ms = min(wait_ms, self._stall_wait_ms(partial_since))
            if not (pending is not None and pending()) and not poller.poll(wait_ms):
                if partial_since is not None and time.monotonic() - partial_since >= self._read_timeout:
                    return self._stalled(parser.buffered)
                overdue = self._on_idle()
                if overdue is not None:
                    return overdue
                continue
            try:
                data = recv(READ_SIZE)
            except _WOULD_BLOCK:
                continue  # woken without a whole TLS record, or spuriously: wait again
            except OSError as error:
                return self._dropped(error)
            if not data:
                return self._dropped(None)
            try:
                for frame in parser.feed(data):
                    opcode = frame.opcode
                    if opcode in (OP_CONT, OP_TEXT, OP_BINARY):
                        message = assembler.add(frame)
                        if message is not None:
                            self._deliver(message[0], message[1])
                    elif opcode == OP_CLOSE:
                        code, reason = parse_close_payload(frame.payload)  # FrameError if invalid
                        # Echo the server's code (RFC 6455 5.5.1); 1005 must never be sent on the wire.
                        self._close.send(1000 if code == 1005 else code)
                        return ReaderEnded(code, reason, True, None)
                    elif opcode == OP_PING:
                        failed = self._pong(frame.payload)
                        if failed is not None:
                            return failed
                    elif opcode == OP_PONG and self._keepalive is not None:
                        self._keepalive.note_pong()
            except FrameError as error:
                self._close.send(error.code, str(error))
                failure = ProtocolViolation(error.code, str(error))
                return ReaderEnded(1006, f"protocol error from the server: {error}", False, failure)
            # Only a read that ends inside a frame costs a clock read; between frames nothing is timed.
            partial_since = time.monotonic() if parser.buffered else None

    def _stall_wait_ms(self, partial_since: float) -> int:
        left = self._read_timeout - (time.monotonic() - partial_since)
        return max(1, int(left * 1000) + 1)

    def _stalled(self, buffered: int) -> ReaderEnded:
        reason = (
            f"the server stopped in the middle of a frame: {buffered} byte(s) of it received, "
            f"then nothing for {self._read_timeout}s (read_timeout)"
        )
        self._close.try_send(1011, "read timeout in the middle of a frame")
        return ReaderEnded(1006, reason, False, ConnectionClosedError(1006, reason))

    def _dropped(self, error: OSError | None) -> ReaderEnded:
        if self._stop.is_set():
            return ReaderEnded(1006, "stopped by the client", False, None)
        reason = "connection dropped without a close frame"
        detail = f"{reason} ({error})" if error is not None else reason
        return ReaderEnded(1006, reason, False, ConnectionClosedError(1006, detail))

    def _pong(self, payload: bytes) -> ReaderEnded | None:
        writer = self._writer
        try:
            if not writer.lock.acquire(timeout=writer.send_timeout):
                raise TimeoutError(f"the socket stayed busy for {writer.send_timeout}s")
            try:
                writer.send_blocking(encode_frame(OP_PONG, payload))
            finally:
                writer.lock.release()
        except OSError as error:
            return ReaderEnded(
                1006, "pong failed", False, ConnectionClosedError(1006, f"pong failed: {error}")
            )
        return None

    def _wait_ms(self) -> int:
        if self._keepalive is None:
            return int(_IDLE_WAKE * 1000)
        return max(1, int(self._keepalive.seconds_until_due(time.monotonic()) * 1000) + 1)

    def _on_idle(self) -> ReaderEnded | None:
        clock = self._keepalive
        if clock is None:
            return None
        now = time.monotonic()
        if clock.pong_overdue(now):
            reason = f"no pong within {clock.plan.pong_timeout}s of a keepalive ping"
            return ReaderEnded(1006, reason, False, ConnectionClosedError(1006, reason))
        if clock.is_due(now):
            # Push the deadline so the reader does not spin while the actor sends the keepalive.
            clock.note_sent(now)
            self._tell_owner(KeepaliveDue())
        return None

    def _deliver(self, opcode: int, data: bytes) -> None:
        metrics = self._metrics
        if opcode == OP_BINARY:
            metrics.audio_bytes_received += len(data)
            if self._profile.audio_is_result and metrics.first_result_at is None:
                metrics.record_result(time.monotonic(), False)
            self._subscribers.broadcast(AudioChunk(data))
            return
        message = self._decode(data)
        metrics.messages_received += 1
        if getattr(message, "type", None) in self._profile.result_types:
            metrics.record_result(
                time.monotonic(), getattr(message, "from_finalize", None) is True, result_audio_end(message)
            )
        self._subscribers.broadcast(message)
