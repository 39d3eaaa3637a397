"""The sans-I/O state of one live client WebSocket connection: :class:`ConnectionCore`.

No sockets, no threads, no clock of its own (callers pass ``now``). It holds everything the
protocol needs once the opening handshake is done:

* frame building (every client frame masked) and parsing (:mod:`actors.runtime.frames`, with its
  RFC 6455 checks), fragmented messages joined;
* the close handshake: at most one close frame sent, a server's close answered with its code
  echoed, and no data frame after our close frame (RFC 6455 5.5.1);
* ping/pong: a server's ping answered with a pong;
* keepalive and liveness (:class:`~actors.runtime.keepalive.KeepaliveClock`): the API's idle
  keepalive after a silent interval, liveness pings after server silence, and the pong deadline;
* the read stall deadline: a frame left half received for ``read_timeout`` seconds fails the
  connection (close 1011 offered), silence between frames never does;
* the graceful finish: the API's finish frames (:class:`~actors.protocol.session.SessionRules`)
  or, for an API without any, our close frame.

Drivers feed it with :meth:`ConnectionCore.receive_data` / :meth:`~ConnectionCore.receive_eof`
and the ``send_*`` methods, write out :meth:`~ConnectionCore.data_to_send`, hand
:meth:`~ConnectionCore.events` to the application, and call
:meth:`~ConnectionCore.handle_deadline` at :meth:`~ConnectionCore.next_deadline`. One driver at a
time: the object has no lock, its owner holds one (:class:`~actors.runtime.socket_link.SocketLink`).
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from actors._lean_attrs import LeanFrozen
from actors.errors import ConnectionClosedError, ProtocolViolation
from actors.protocol.session import FinishMode, SessionRules
from actors.runtime.frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    EncodedBatch,
    FrameError,
    FrameParser,
    MessageAssembler,
    close_payload,
    encode_batch,
    encode_binary_frame,
    encode_frame,
    parse_close_payload,
)
from actors.runtime.keepalive import KeepaliveClock, KeepalivePlan

__all__ = [
    "PING_PAYLOAD",
    "CloseReceived",
    "ConnectionCore",
    "ConnectionLost",
    "CoreEvent",
    "MessageReceived",
]

#: The payload of our pings (the server echoes it in its pong).
PING_PAYLOAD = b"actors"
_NEVER = float("inf")


@attrs.frozen(slots=True, repr=False, eq=False)
class MessageReceived(LeanFrozen):
    """A whole data message from the server: ``opcode`` is ``OP_TEXT`` (valid UTF-8) or ``OP_BINARY``."""

    opcode: int
    payload: bytes


@attrs.frozen(slots=True, repr=False, eq=False)
class CloseReceived(LeanFrozen):
    """The server's close frame arrived (answered already): its ``code`` (1005 = none) and ``reason``."""

    code: int
    reason: str


@attrs.frozen(slots=True, repr=False, eq=False)
class ConnectionLost(LeanFrozen):
    """The connection is over without a close frame from the server; ``error`` says why.

    ``error`` is ``ProtocolViolation`` for a server breaking RFC 6455 (our close frame with the
    code it calls for is queued, no answer awaited), else ``ConnectionClosedError(1006, ...)``: a
    dropped socket, a pong or read-stall timeout. The owner decides whether that is a failure (a
    socket dropped after the client closed is not).
    """

    reason: str
    error: BaseException


CoreEvent = MessageReceived | CloseReceived | ConnectionLost


class ConnectionCore:
    """The protocol state of one open connection; see the module docstring.

    ``session`` gives the API's finish frames; ``plan`` its keepalive and liveness (None: none);
    ``coalesce_audio``/``max_frame_bytes`` how queued audio is framed.
    """

    __slots__ = (
        "_assembler",
        "_clock",
        "_close_received",
        "_close_sent",
        "_coalesce",
        "_ended",
        "_events",
        "_finishing",
        "_last_data_at",
        "_max_frame_bytes",
        "_out",
        "_parser",
        "_read_timeout",
        "_received_close",
        "_session",
        "keepalives_sent",
    )

    def __init__(
        self,
        session: SessionRules,
        plan: KeepalivePlan | None,
        now: float,
        *,
        read_timeout: float = 10.0,
        coalesce_audio: bool = True,
        max_frame_bytes: int = 1 << 20,
    ) -> None:
        self._session = session
        self._clock = KeepaliveClock(plan, now) if plan is not None else None
        self._parser = FrameParser()
        self._assembler = MessageAssembler()
        self._read_timeout = read_timeout
        self._coalesce = coalesce_audio
        self._max_frame_bytes = max_frame_bytes
        self._out: list[bytes] = []
        self._events: list[CoreEvent] = []
        self._close_sent = False
        self._close_received = False
        self._received_close: CloseReceived | None = None
        self._ended = False
        self._finishing = False
        self._last_data_at = now
        #: Idle keepalives sent so far (for the connection's metrics).
        self.keepalives_sent = 0

    # -- state -----------------------------------------------------------------------------------

    @property
    def close_sent(self) -> bool:
        """Our close frame is queued or sent: no more data frames go out."""
        return self._close_sent

    @property
    def close_received(self) -> bool:
        """The server's close frame arrived."""
        return self._close_received

    @property
    def received_close(self) -> CloseReceived | None:
        """The server's close frame (code and reason), once it arrived."""
        return self._received_close

    @property
    def ended(self) -> bool:
        """Nothing more will be read: a close frame arrived or the connection was lost."""
        return self._ended

    @property
    def finishing(self) -> bool:
        """:meth:`start_finish` was called."""
        return self._finishing

    @property
    def can_send(self) -> bool:
        """Data and control frames may still be queued (no close frame either way, not ended)."""
        return not (self._close_sent or self._ended)

    # -- sending -----------------------------------------------------------------------------------

    def send_batch(self, items: Iterable[bytes | str], now: float) -> EncodedBatch | None:
        """Queue audio (bytes, binary frames) and JSON text (str) in order; None once sending is over."""
        if not self.can_send:
            return None
        batch = encode_batch(items, self._coalesce, self._max_frame_bytes)
        self._out.append(batch.data)
        if self._clock is not None:
            self._clock.note_sent(now)
        return batch

    def send_audio_frame(self, data: bytes, now: float) -> bytes | None:
        """One audio chunk as one binary frame: the bytes to write now, with anything queued
        before it (None once sending is over). The hot path of immediate audio."""
        if self._close_sent or self._ended:
            return None
        clock = self._clock
        if clock is not None:
            clock.note_sent(now)
        frame = encode_binary_frame(data)
        if self._out:
            self._out.append(frame)
            return self.data_to_send()
        return frame

    def send_text(self, text: str, now: float) -> bool:
        """Queue one text frame; False (nothing queued) once sending is over."""
        if not self.can_send:
            return False
        self._out.append(encode_frame(OP_TEXT, text.encode("utf-8")))
        if self._clock is not None:
            self._clock.note_sent(now)
        return True

    def send_close(self, code: int = 1000, reason: str = "") -> bool:
        """Queue our close frame, once; True if this call queued it."""
        if self._close_sent or self._ended:
            return False
        self._close_sent = True
        self._out.append(encode_frame(OP_CLOSE, close_payload(code, reason)))
        return True

    def start_finish(self, mode: FinishMode, now: float) -> int:
        """Queue the API's finish for ``mode``; returns how many finish messages were queued.

        An API without finish messages (Agent) gets our close frame instead (0 returned).
        """
        if self._finishing or not self.can_send:
            return 0
        self._finishing = True
        frames = self._session.finish_frames(mode)
        if not frames:
            self.send_close(1000)
            return 0
        for frame in frames:
            self.send_text(frame, now)
        return len(frames)

    def data_to_send(self) -> bytes:
        """Everything queued for the wire since the last call, in order (b"" when nothing)."""
        out = self._out
        if not out:
            return b""
        self._out = []
        return out[0] if len(out) == 1 else b"".join(out)

    # -- receiving ---------------------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        """Account bytes read from the socket (any split); new events become available."""
        if self._ended or not data:
            return
        self._last_data_at = now
        try:
            for frame in self._parser.feed(data):
                opcode = frame.opcode
                if self._clock is not None:
                    self._clock.note_pong()  # anything at all from the server shows it is alive
                if opcode in (OP_CONT, OP_TEXT, OP_BINARY):
                    message = self._assembler.add(frame)
                    if message is not None:
                        self._events.append(MessageReceived(message[0], message[1]))
                elif opcode == OP_CLOSE:
                    code, reason = parse_close_payload(frame.payload)  # FrameError if invalid
                    # Echo the server's code (RFC 6455 5.5.1); 1005 must never be sent on the wire.
                    self.send_close(1000 if code == 1005 else code)
                    self._close_received = True
                    self._received_close = CloseReceived(code, reason)
                    self._end(self._received_close)
                    return
                elif opcode == OP_PING and not self._close_sent:
                    self._out.append(encode_frame(OP_PONG, frame.payload))
        except FrameError as error:
            self.send_close(error.code, str(error))
            self._end(
                ConnectionLost(
                    f"protocol error from the server: {error}", ProtocolViolation(error.code, str(error))
                )
            )

    def receive_eof(self, error: OSError | None = None) -> None:
        """The socket ended (EOF, reset): the connection is lost unless a close frame came first."""
        if self._ended:
            return
        reason = "connection dropped without a close frame"
        detail = f"{reason} ({error})" if error is not None else reason
        self._end(ConnectionLost(reason, ConnectionClosedError(1006, detail)))

    def events(self) -> list[CoreEvent]:
        """The events since the last call, in wire order (a ``CloseReceived`` or ``ConnectionLost`` last)."""
        events = self._events
        if events:
            self._events = []
        return events

    # -- time ----------------------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When :meth:`handle_deadline` must be called next (None: nothing is timed).

        It may be early (the clock notices what the server sent only when it looks), never late.
        """
        if self._ended:
            return None
        deadline = _NEVER
        clock = self._clock
        if clock is not None:
            plan = clock.plan
            sending = self.can_send
            if plan.interval is not None and sending and not self._finishing:
                deadline = clock.last_sent + plan.interval
            if clock.ping_sent_at is not None:
                deadline = min(deadline, clock.ping_sent_at + plan.pong_timeout)
            elif plan.ping_after is not None and sending:
                deadline = min(deadline, clock.last_heard + plan.ping_after)
        if self._parser.buffered:
            deadline = min(deadline, self._last_data_at + self._read_timeout)
        return None if deadline == _NEVER else deadline

    def handle_deadline(self, now: float) -> None:
        """Do what is due at ``now``: fail a stalled read or an unanswered ping, queue a keepalive."""
        if self._ended:
            return
        if self._parser.buffered and now - self._last_data_at >= self._read_timeout:
            reason = (
                f"the server stopped in the middle of a frame: {self._parser.buffered} byte(s) of it "
                f"received, then nothing for {self._read_timeout}s (read_timeout)"
            )
            self.send_close(1011, "read timeout in the middle of a frame")
            self._end(ConnectionLost(reason, ConnectionClosedError(1006, reason)))
            return
        clock = self._clock
        if clock is None:
            return
        if clock.pong_overdue(now):
            reason = f"no pong within {clock.plan.pong_timeout}s of a keepalive ping"
            self._end(ConnectionLost(reason, ConnectionClosedError(1006, reason)))
            return
        if not self.can_send:
            return
        idle, ping = clock.take_due_now(now)
        idle = idle and not self._finishing  # liveness pings go on while finishing; keepalives do not
        plan = clock.plan
        if ping or (idle and plan.kind == "ping"):
            clock.note_ping(now)
            self._out.append(encode_frame(OP_PING, PING_PAYLOAD))
        if idle and plan.kind == "message":
            assert plan.frame is not None
            self._out.append(encode_frame(OP_TEXT, plan.frame.encode("utf-8")))
            clock.note_sent(now)
        if idle:
            self.keepalives_sent += 1

    def _end(self, event: CloseReceived | ConnectionLost) -> None:
        self._ended = True
        self._events.append(event)
