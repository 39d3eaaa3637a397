"""RFC 6455 conformance of the client's frame layer, end to end against a raw-socket server.

The server (:mod:`tests.support.raw_ws_server`) upgrades by hand and then writes whatever bytes
a test wants, so each test breaks one MUST of RFC 6455 and checks both sides of the failure: the
close code the client sends back on the wire, and the error the user (or the supervisor) sees.
"""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from actors.errors import ConnectionClosedError, ProtocolViolation, StreamFailed
from actors.protocol.base import UnknownMessage
from actors.runtime import Connection, ConnectionConfig, Supervisor
from actors.runtime.classify import Outcome, classify_error
from actors.runtime.events import Closed, ConnectionFailed, Opened, Reconnecting
from actors.runtime.frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    Frame,
    FrameError,
    MessageAssembler,
    is_valid_close_code,
    parse_close_payload,
)
from actors.runtime.policy import Backoff, RestartPolicy
from tests.runtime.runtime_support import EventLog, listen_config
from tests.support.raw_ws_server import RawPeer, RawWsServer, accept_value, server_frame

MASK = b"\x01\x02\x03\x04"
FAST = Backoff(initial=0.02, maximum=0.2, jitter=0.5)


@pytest.fixture
def raw_server() -> Iterator[RawWsServer]:
    with RawWsServer() as server:
        yield server


def _config(server: RawWsServer, **overrides: Any) -> ConnectionConfig:
    overrides.setdefault("keepalive", False)
    return listen_config(server.url, **overrides)


def _open(server: RawWsServer, **overrides: Any) -> tuple[Connection, RawPeer, EventLog]:
    log = EventLog()
    conn = Connection.open(_config(server, **overrides), subscribers=[log.queue])
    return conn, server.accept(), log


def _close(code: int, reason: bytes = b"") -> bytes:
    return server_frame(OP_CLOSE, struct.pack("!H", code) + reason)


def test_the_accept_value_is_the_one_of_the_rfc_example() -> None:
    assert accept_value("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455 1.3


VIOLATIONS = {
    # section 5.1: a server MUST NOT mask
    "masked frame": (server_frame(OP_TEXT, b"{}", mask=MASK), 1002, "masked"),
    # section 5.2: RSV bits without a negotiated extension
    "RSV1": (server_frame(OP_TEXT, b"{}", rsv=0x40), 1002, "RSV"),
    "RSV2": (server_frame(OP_BINARY, b"x", rsv=0x20), 1002, "RSV"),
    "RSV3": (server_frame(OP_PING, b"", rsv=0x10), 1002, "RSV"),
    "64-bit length MSB": (server_frame(OP_BINARY, b"", length=1 << 63), 1002, "most significant bit"),
    # unknown opcodes: reserved data (0x3-0x7) and control (0xB-0xF)
    "opcode 0x3": (server_frame(0x3, b"x"), 1002, "unknown frame opcode 0x3"),
    "opcode 0xb": (server_frame(0xB, b""), 1002, "unknown frame opcode 0xb"),
    # section 5.5: control frames
    "ping > 125": (server_frame(OP_PING, b"p" * 126), 1002, "126 bytes"),
    "close > 125": (server_frame(OP_CLOSE, struct.pack("!H", 1000) + b"r" * 124), 1002, "126 bytes"),
    "fragmented ping": (server_frame(OP_PING, b"p", fin=False), 1002, "fragmented"),
    "fragmented pong": (server_frame(OP_PONG, b"p", fin=False), 1002, "fragmented"),
    # section 5.4: fragmentation
    "continuation without a start": (server_frame(OP_CONT, b"x"), 1002, "without a message"),
    "text inside a fragmented text": (
        server_frame(OP_TEXT, b'{"a":', fin=False) + server_frame(OP_TEXT, b"{}"),
        1002,
        "still in progress",
    ),
    "binary inside a fragmented text": (
        server_frame(OP_TEXT, b'{"a":', fin=False) + server_frame(OP_BINARY, b"x"),
        1002,
        "still in progress",
    ),
    # sections 5.6 and 8.1: text must be UTF-8
    "text not UTF-8": (server_frame(OP_TEXT, b'{"type":"\xff"}'), 1007, "not valid UTF-8"),
    "surrogate in text": (server_frame(OP_TEXT, b'"\xed\xa0\x80"'), 1007, "not valid UTF-8"),
    "overlong in text": (server_frame(OP_TEXT, b'"\xc0\xaf"'), 1007, "not valid UTF-8"),
    "fragments assembling to invalid UTF-8": (
        server_frame(OP_TEXT, b'{"t":"\xc3', fin=False) + server_frame(OP_CONT, b'("}'),
        1007,
        "not valid UTF-8",
    ),
    "text ending inside a character": (
        server_frame(OP_TEXT, b'"\xe2\x82', fin=False) + server_frame(OP_CONT, b""),
        1007,
        "not valid UTF-8",
    ),
    # section 7.4 (and 5.5.1): the close frame itself
    "close payload of 1 byte": (server_frame(OP_CLOSE, b"\x03"), 1002, "1 byte"),
    "close reason not UTF-8": (_close(1000, b"bye \xff"), 1007, "reason is not valid UTF-8"),
    **{
        f"close code {code}": (_close(code), 1002, f"invalid close code {code}")
        for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535)
    },
}


@pytest.mark.parametrize(("wire", "code", "message"), VIOLATIONS.values(), ids=VIOLATIONS.keys())
def test_a_protocol_violation_fails_the_connection_with_its_close_code(
    raw_server: RawWsServer, wire: bytes, code: int, message: str
) -> None:
    conn, peer, log = _open(raw_server)
    peer.send(wire)
    sent_code, sent_reason = peer.read_close()
    assert sent_code == code and message in sent_reason
    assert peer.wait_eof(), "the client must not wait for an answer to a failed connection"
    assert conn.wait_closed(5)
    events = log.until_closed()
    assert isinstance(events[0], Opened)
    failed, closed = events[-2:]
    assert isinstance(failed, ConnectionFailed) and isinstance(closed, Closed)
    error = failed.error
    assert isinstance(error, ProtocolViolation) and isinstance(error, ConnectionClosedError)
    assert error.code == code and message in str(error)
    assert str(error).startswith("the server broke the WebSocket protocol")
    assert closed.code == 1006  # no close frame was received (RFC 6455 7.1.5)
    result = conn.result
    assert result is not None and result.error is error
    assert classify_error(error) is Outcome.FATAL
    assert not [e for e in events if isinstance(e, UnknownMessage)]  # nothing undecodable slipped through


def test_text_fragments_may_split_multibyte_characters(raw_server: RawWsServer) -> None:
    conn, peer, log = _open(raw_server)
    text = '{"type":"Mystery","text":"héllo 😀 € ok"}'.encode()
    cut1 = text.index("é".encode()) + 1  # inside the 2-byte é
    cut2 = text.index("😀".encode()) + 2  # inside the 4-byte emoji
    peer.send(
        server_frame(OP_TEXT, text[:cut1], fin=False)
        + server_frame(OP_PING, b"mid")  # a control frame between fragments is allowed
        + server_frame(OP_CONT, text[cut1:cut2], fin=False)
        + server_frame(OP_CONT, text[cut2:])
        + server_frame(OP_TEXT, '{"type":"Mystery","text":"ünï"}'.encode())
    )
    pong = peer.read_frame()
    assert (pong.opcode, pong.payload) == (OP_PONG, b"mid")
    first = log.wait_for(UnknownMessage)
    second = log.wait_for(UnknownMessage)
    assert (first.raw["text"], second.raw["text"]) == ("héllo 😀 € ok", "ünï")
    assert not conn.closed.is_set()
    peer.send(_close(1000))
    assert peer.read_close() == (1000, "")
    assert conn.wait_closed(5)
    assert conn.result is not None and conn.result.error is None


@pytest.mark.parametrize(
    ("wire", "echo", "code"),
    [
        (_close(1000, "bye ✓".encode()), 1000, 1000),
        (server_frame(OP_CLOSE, b""), 1000, 1005),  # no status: answered with 1000, 1005 never on the wire
        (_close(1001), 1001, 1001),
        (_close(1012), 1012, 1012),  # 1012-1014 are registered with IANA
        (_close(1014), 1014, 1014),
        (_close(3000), 3000, 3000),
        (_close(4999), 4999, 4999),
    ],
)
def test_a_valid_close_frame_is_echoed(raw_server: RawWsServer, wire: bytes, echo: int, code: int) -> None:
    conn, peer, _log = _open(raw_server)
    peer.send(wire)
    assert peer.read_close()[0] == echo
    assert conn.wait_closed(5)
    result = conn.result
    assert result is not None and result.code == code
    assert not isinstance(result.error, ProtocolViolation)


def test_a_server_silent_mid_frame_ends_within_the_read_timeout(raw_server: RawWsServer) -> None:
    # keepalive on (Listen V1 sends a KeepAlive every 4 s): it does not keep a half frame alive.
    conn, peer, log = _open(raw_server, read_timeout=0.5, keepalive=True)
    frame = server_frame(OP_BINARY, b"\x00" * 100)
    peer.send(frame[:12])  # a header promising 100 bytes, then 10 of them, then nothing
    started = time.monotonic()
    assert conn.wait_closed(5), "a stalled frame must not wait for TCP to give up"
    elapsed = time.monotonic() - started
    assert 0.45 <= elapsed < 4.0, elapsed  # TCP itself would wait for minutes
    assert peer.read_close()[0] == 1011  # told, when the socket takes it at once
    failed = log.wait_for(ConnectionFailed)
    assert isinstance(failed.error, ConnectionClosedError) and not isinstance(failed.error, ProtocolViolation)
    assert failed.error.code == 1006 and "middle of a frame" in str(failed.error)
    assert "read_timeout" in str(failed.error) and "12 byte(s)" in str(failed.error)
    assert classify_error(failed.error) is Outcome.RETRYABLE


def test_silence_between_frames_and_a_slow_frame_are_not_stalls(raw_server: RawWsServer) -> None:
    conn, peer, log = _open(raw_server, read_timeout=0.6)
    peer.send(server_frame(OP_TEXT, b'{"type":"Mystery","n":1}'))
    assert log.wait_for(UnknownMessage).raw["n"] == 1
    assert not conn.wait_closed(1.0), "an idle connection between frames was ended by read_timeout"
    # One frame trickling in over 2x read_timeout: the clock restarts with every byte received.
    frame = server_frame(OP_TEXT, b'{"type":"Mystery","n":2}')
    for start in range(0, len(frame), 5):
        peer.send(frame[start : start + 5])
        assert not conn.wait_closed(0.2)
    assert log.wait_for(UnknownMessage).raw["n"] == 2
    peer.send(_close(1000))
    assert conn.wait_closed(5) and conn.result is not None and conn.result.error is None


def test_read_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="read_timeout"):
        listen_config("ws://127.0.0.1:1", read_timeout=0)


@pytest.fixture
def supervisor() -> Iterator[Supervisor]:
    with Supervisor(max_connections=4, connectors=1) as sup:
        yield sup


@pytest.mark.parametrize(
    ("wire", "code"),
    [(server_frame(OP_TEXT, b'{"type":"\xff"}'), 1007), (server_frame(OP_TEXT, b"{}", rsv=0x40), 1002)],
    ids=["1007", "1002"],
)
def test_a_supervised_stream_does_not_retry_a_protocol_violation(
    raw_server: RawWsServer, supervisor: Supervisor, wire: bytes, code: int
) -> None:
    log = EventLog()
    handle = supervisor.open_stream(
        _config(raw_server), subscribers=[log.queue], restart=RestartPolicy.on_failure(backoff=FAST)
    )
    peer = raw_server.accept()
    assert handle.wait_open(timeout=5)
    peer.send(wire)
    assert peer.read_close()[0] == code
    assert handle.wait_closed(timeout=5)
    error = handle.error
    assert isinstance(error, StreamFailed) and "fatal" in str(error)
    assert isinstance(error.cause, ProtocolViolation) and error.cause.code == code
    assert handle.metrics.reconnects == 0 and raw_server.accepted == 1
    failed = log.wait_for(ConnectionFailed)
    assert failed.error is error


def test_a_supervised_stream_reconnects_after_a_mid_frame_stall(
    raw_server: RawWsServer, supervisor: Supervisor
) -> None:
    log = EventLog()
    handle = supervisor.open_stream(
        _config(raw_server, read_timeout=0.3),
        subscribers=[log.queue],
        restart=RestartPolicy.on_failure(backoff=FAST),
    )
    first = raw_server.accept()
    first.send(server_frame(OP_TEXT, b'{"type":"Mystery"}')[:5])
    second = raw_server.accept(timeout=5)  # the stall was retryable: a new connection
    assert first.read_close()[0] == 1011
    cause = log.wait_for(Reconnecting).cause
    assert isinstance(cause, ConnectionClosedError) and "middle of a frame" in str(cause)
    # finish() sends CloseStream and waits for the server's close: answer it from this thread.
    results: list[Any] = []
    finisher = threading.Thread(target=lambda: results.append(handle.finish(timeout=5)), name="test-finish")
    finisher.start()
    try:
        while True:
            frame = second.read_frame()
            if frame.opcode == OP_TEXT and b"CloseStream" in frame.payload:
                break
        second.send(_close(1000))
    finally:
        finisher.join(10)
    (result,) = results
    assert result.ok, result.error
    assert result.metrics.reconnects == 1 and raw_server.accepted == 2


def test_the_close_code_table_is_rfc_6455_section_7_4() -> None:
    registered = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014}
    valid = [code for code in range(65536) if is_valid_close_code(code)]
    assert valid == sorted(registered | set(range(3000, 5000)))


def test_the_assembler_checks_utf8_on_the_whole_message_only() -> None:
    text = "€uro".encode()  # € is 3 bytes: every cut inside it leaves invalid fragments
    for cut in (1, 2):
        assembler = MessageAssembler()
        assert assembler.add(Frame(False, OP_TEXT, text[:cut])) is None
        assert assembler.add(Frame(True, OP_CONT, text[cut:])) == (OP_TEXT, text)
    assert MessageAssembler().add(Frame(True, OP_BINARY, b"\xff")) == (
        OP_BINARY,
        b"\xff",
    )  # binary: any bytes
    with pytest.raises(FrameError, match="not valid UTF-8") as info:
        MessageAssembler().add(Frame(True, OP_TEXT, text[:2]))
    assert info.value.code == 1007
    assert parse_close_payload(struct.pack("!H", 4000) + "✓".encode()) == (4000, "✓")


@pytest.mark.parametrize(
    ("wire", "code"), [(_close(1000), 1000), (server_frame(OP_TEXT, b"\xff"), 1007)], ids=["echo", "failure"]
)
def test_no_data_frame_follows_the_clients_close_frame(
    raw_server: RawWsServer, wire: bytes, code: int
) -> None:
    """RFC 6455 5.5.1, while another thread keeps sending audio (it used to slip ~17 frames in)."""
    conn, peer, _log = _open(raw_server)
    stop = threading.Event()

    def pump() -> None:
        while not stop.is_set():
            try:
                conn.send_audio(b"\x00" * 640)
            except ConnectionClosedError:
                return

    sender = threading.Thread(target=pump, name="test-audio-pump")
    sender.start()
    try:
        for _ in range(20):
            assert peer.read_frame().opcode == OP_BINARY  # audio is flowing
        peer.send(wire)
        while (frame := peer.read_frame()).opcode != OP_CLOSE:
            assert frame.opcode == OP_BINARY
        assert struct.unpack("!H", frame.payload[:2])[0] == code
        with pytest.raises(EOFError):  # the socket ends with nothing after the close frame
            peer.read_frame()
    finally:
        stop.set()
        sender.join(5)
    assert conn.wait_closed(5)
