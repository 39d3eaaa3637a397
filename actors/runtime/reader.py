"""The reader thread: the only thread that reads a connection's socket.

It waits for the socket to become readable with a timeout taken from the keepalive clock, so an
idle connection wakes it to ask the actor for a keepalive -- no extra timer thread. Frames are
read with ``recv_frame`` (not ``recv_data_frame``) so the close handshake is ours: a close frame
is answered once, with the server's code echoed, and its code and reason are kept.

Text frames are decoded with the API's server codec and broadcast as typed messages; binary
frames become :class:`~actors.runtime.events.AudioChunk`. When the socket ends, the reader tells
its owner how (:class:`ReaderEnded`) and returns.
"""

from __future__ import annotations

import logging
import select
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

import attrs
import websocket
from websocket import ABNF

from actors.errors import ConnectionClosedError
from actors.runtime.events import AudioChunk
from actors.runtime.keepalive import KeepaliveClock
from actors.runtime.metrics import MetricsRecorder
from actors.runtime.profiles import ApiProfile
from actors.runtime.subscribers import SubscriberSet

log = logging.getLogger(__name__)

_POLL_IN = select.POLLIN | select.POLLPRI | select.POLLHUP | select.POLLERR
# With no keepalive the reader still wakes this often to notice a stop request.
_IDLE_WAKE = 5.0


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


def parse_close_payload(data: bytes) -> tuple[int, str]:
    """Close frame payload -> (code, reason); an empty payload is 1005 ("no status received")."""
    if len(data) < 2:
        return 1005, ""
    (code,) = struct.unpack("!H", data[:2])
    return code, data[2:].decode("utf-8", "replace")


class CloseHandshake:
    """Makes sure exactly one close frame is sent per connection, by whichever thread is first."""

    def __init__(self, ws: websocket.WebSocket) -> None:
        self._ws = ws
        self._lock = threading.Lock()
        self.sent = False

    def send(self, code: int, reason: str = "") -> bool:
        """Send our close frame unless one was sent already; True if this call sent it."""
        with self._lock:
            if self.sent:
                return False
            self.sent = True
        try:
            self._ws.send_close(code, reason.encode("utf-8")[:123])
        except (websocket.WebSocketException, OSError):
            log.debug("close frame could not be sent", exc_info=True)
        return True


class Reader:
    """Reads one socket on a named thread until it ends; see the module docstring.

    ``tell_owner`` receives :class:`KeepaliveDue` and, exactly once, :class:`ReaderEnded`.
    """

    def __init__(
        self,
        ws: websocket.WebSocket,
        decode: Callable[[bytes], Any],
        subscribers: SubscriberSet,
        metrics: MetricsRecorder,
        profile: ApiProfile,
        close_handshake: CloseHandshake,
        keepalive: KeepaliveClock | None,
        tell_owner: Callable[[object], None],
        name: str,
    ) -> None:
        self._ws = ws
        self._decode = decode
        self._subscribers = subscribers
        self._metrics = metrics
        self._profile = profile
        self._close = close_handshake
        self._keepalive = keepalive
        self._tell_owner = tell_owner
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
        ws = self._ws
        sock = ws.sock
        if sock is None:
            return ReaderEnded(1006, "socket already closed", False, None)
        poller = select.poll()
        poller.register(sock.fileno(), _POLL_IN)
        pending = getattr(sock, "pending", None)  # TLS sockets may hold decrypted bytes poll cannot see
        text = ABNF.OPCODE_TEXT
        binary = ABNF.OPCODE_BINARY
        while True:
            if self._stop.is_set():
                return ReaderEnded(1006, "stopped by the client", False, None)
            if not (pending is not None and pending()) and not poller.poll(self._wait_ms()):
                overdue = self._on_idle()
                if overdue is not None:
                    return overdue
                continue
            try:
                frame = ws.recv_frame()
            except websocket.WebSocketTimeoutException:
                continue  # a partial frame is kept by websocket-client; keep reading
            except (websocket.WebSocketException, OSError) as error:
                if self._stop.is_set():
                    return ReaderEnded(1006, "stopped by the client", False, None)
                reason = "connection dropped without a close frame"
                return ReaderEnded(1006, reason, False, ConnectionClosedError(1006, f"{reason} ({error})"))
            opcode = frame.opcode
            if frame.fin and opcode in (text, binary):
                self._deliver(opcode, frame.data)
            elif opcode in (text, binary, ABNF.OPCODE_CONT):
                ws.cont_frame.validate(frame)
                ws.cont_frame.add(frame)
                if ws.cont_frame.is_fire(frame):
                    op, data = ws.cont_frame.extract(frame)
                    self._deliver(op, data)
            elif opcode == ABNF.OPCODE_CLOSE:
                code, reason = parse_close_payload(frame.data)
                # Echo the server's code (RFC 6455 5.5.1); 1005 must never be sent on the wire.
                self._close.send(1000 if code in (1005, 1006, 1015) else code)
                return ReaderEnded(code, reason, True, None)
            elif opcode == ABNF.OPCODE_PING:
                try:
                    ws.pong(frame.data)
                except (websocket.WebSocketException, OSError) as error:
                    return ReaderEnded(
                        1006, "pong failed", False, ConnectionClosedError(1006, f"pong failed: {error}")
                    )
            elif opcode == ABNF.OPCODE_PONG and self._keepalive is not None:
                self._keepalive.note_pong()

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
        if opcode == ABNF.OPCODE_BINARY:
            metrics.audio_bytes_received += len(data)
            if self._profile.audio_is_result and metrics.first_result_at is None:
                metrics.record_result(time.monotonic(), False)
            self._subscribers.broadcast(AudioChunk(data))
            return
        message = self._decode(data)
        metrics.messages_received += 1
        if getattr(message, "type", None) in self._profile.result_types:
            metrics.record_result(time.monotonic(), getattr(message, "from_finalize", None) is True)
        self._subscribers.broadcast(message)
