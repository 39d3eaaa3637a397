"""ConnectionCore without sockets: bytes in, events and bytes out, deadlines by the clock passed in."""

from __future__ import annotations

import pytest

from actors.errors import ConnectionClosedError, ProtocolViolation
from actors.protocol.apis import AGENT_V1, LISTEN_V1, LISTEN_V2
from actors.protocol.session import KEEPALIVE_MESSAGE
from actors.runtime.connection_core import (
    PING_PAYLOAD,
    CloseReceived,
    ConnectionCore,
    ConnectionLost,
    MessageReceived,
)
from actors.runtime.frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    Frame,
    FrameParser,
    apply_mask,
    close_payload,
)
from actors.runtime.keepalive import KeepalivePlan


def server_frame(opcode: int, payload: bytes = b"", *, fin: bool = True) -> bytes:
    """An unmasked server frame (payloads < 126 bytes, as these tests use)."""
    assert len(payload) < 126
    return bytes(((0x80 if fin else 0) | opcode, len(payload))) + payload


def client_frames(data: bytes) -> list[Frame]:
    """Parse what the core wrote (client frames are masked: unmask them first)."""
    frames = []
    pos = 0
    while pos < len(data):
        first, second = data[pos], data[pos + 1]
        assert second & 0x80, "every client frame is masked"
        size = second & 0x7F
        start = pos + 2
        if size == 126:
            size = int.from_bytes(data[start : start + 2], "big")
            start += 2
        elif size == 127:
            size = int.from_bytes(data[start : start + 8], "big")
            start += 8
        mask = data[start : start + 4]
        payload = apply_mask(data[start + 4 : start + 4 + size], mask)
        frames.append(Frame(bool(first & 0x80), first & 0x0F, payload))
        pos = start + 4 + size
    return frames


LISTEN_PLAN = KeepalivePlan.for_session(LISTEN_V1.session).with_liveness(5.0, 10.0)


def listen_core(
    now: float = 0.0, plan: KeepalivePlan | None = LISTEN_PLAN, **kwargs: float
) -> ConnectionCore:
    return ConnectionCore(LISTEN_V1.session, plan, now, **kwargs)  # type: ignore[arg-type]


def test_messages_split_anywhere_come_out_whole_and_in_order() -> None:
    core = listen_core()
    wire = server_frame(OP_TEXT, b'{"type":"Results"}') + server_frame(OP_BINARY, b"\x01\x02")
    wire += server_frame(OP_TEXT, b'{"type":', fin=False) + server_frame(OP_CONT, b'"Metadata"}')
    for i in range(len(wire)):  # one byte at a time
        core.receive_data(wire[i : i + 1], now=1.0)
    assert core.events() == [
        MessageReceived(OP_TEXT, b'{"type":"Results"}'),
        MessageReceived(OP_BINARY, b"\x01\x02"),
        MessageReceived(OP_TEXT, b'{"type":"Metadata"}'),
    ]
    assert core.events() == []  # handed over once
    assert core.data_to_send() == b""


def test_a_ping_is_answered_with_its_payload() -> None:
    core = listen_core()
    core.receive_data(server_frame(OP_PING, b"hello"), now=1.0)
    assert [(f.opcode, f.payload) for f in client_frames(core.data_to_send())] == [(OP_PONG, b"hello")]
    assert core.events() == []


def test_the_servers_close_is_echoed_once_and_ends_the_connection() -> None:
    core = listen_core()
    core.receive_data(
        server_frame(OP_CLOSE, close_payload(1011, "NET-0001")) + server_frame(OP_TEXT, b"{}"), 1.0
    )
    assert core.events() == [CloseReceived(1011, "NET-0001")]
    (echo,) = client_frames(core.data_to_send())
    assert echo.opcode == OP_CLOSE and echo.payload[:2] == (1011).to_bytes(2, "big")
    assert core.ended and core.close_received and core.close_sent and not core.can_send
    assert core.send_batch([b"late audio"], now=2.0) is None  # RFC 6455 5.5.1: no data after close
    assert core.data_to_send() == b""
    assert core.next_deadline() is None


def test_an_empty_close_is_answered_with_1000_never_1005() -> None:
    core = listen_core()
    core.receive_data(server_frame(OP_CLOSE), 1.0)
    assert core.events() == [CloseReceived(1005, "")]
    (echo,) = client_frames(core.data_to_send())
    assert echo.payload == (1000).to_bytes(2, "big")


def test_a_masked_server_frame_is_a_protocol_violation_answered_with_1002() -> None:
    core = listen_core()
    core.receive_data(bytes((0x81, 0x80 | 2)) + b"\0\0\0\0" + b"{}", 1.0)
    (lost,) = core.events()
    assert isinstance(lost, ConnectionLost) and isinstance(lost.error, ProtocolViolation)
    assert lost.error.code == 1002
    (close,) = client_frames(core.data_to_send())
    assert close.opcode == OP_CLOSE and close.payload[:2] == (1002).to_bytes(2, "big")


def test_audio_and_text_are_framed_in_order_and_coalesced() -> None:
    core = listen_core(max_frame_bytes=6)
    batch = core.send_batch([b"abc", b"def", '{"type":"KeepAlive"}', b"gh"], now=1.0)
    assert batch is not None and (batch.audio_frames, batch.control_frames, batch.audio_bytes) == (2, 1, 8)
    frames = client_frames(core.data_to_send())
    assert [(f.opcode, f.payload) for f in frames] == [
        (OP_BINARY, b"abcdef"),
        (OP_TEXT, b'{"type":"KeepAlive"}'),
        (OP_BINARY, b"gh"),
    ]


def test_the_idle_keepalive_is_due_after_the_api_interval_of_client_silence() -> None:
    core = listen_core(now=100.0, plan=KeepalivePlan.for_session(LISTEN_V1.session))  # no liveness pings
    assert core.next_deadline() == 104.0  # Listen V1: KeepAlive after 4 s
    core.send_batch([b"audio"], now=103.0)  # audio restarts the idle period
    core.data_to_send()
    assert core.next_deadline() == 107.0
    core.handle_deadline(103.5)  # early: nothing
    assert core.data_to_send() == b""
    core.receive_data(server_frame(OP_TEXT, b"{}"), 106.0)  # the server was heard
    core.events()
    core.handle_deadline(107.0)
    frames = client_frames(core.data_to_send())
    assert [(f.opcode, f.payload) for f in frames] == [(OP_TEXT, KEEPALIVE_MESSAGE.encode())]
    assert core.keepalives_sent == 1
    assert core.next_deadline() == 111.0


def test_liveness_pings_after_server_silence_and_an_unanswered_ping_fails_the_connection() -> None:
    plan = KeepalivePlan.for_session(LISTEN_V2.session).without_idle_keepalive().with_liveness(1.0, 2.0)
    core = ConnectionCore(LISTEN_V2.session, plan, 0.0)
    assert core.next_deadline() == 1.0
    core.send_batch([b"audio"], now=0.9)  # the client sending does not count as hearing the server
    core.data_to_send()
    core.handle_deadline(1.0)
    (ping,) = client_frames(core.data_to_send())
    assert (ping.opcode, ping.payload) == (OP_PING, PING_PAYLOAD)
    assert core.next_deadline() == 3.0  # the pong deadline
    core.handle_deadline(3.01)
    (lost,) = core.events()
    assert isinstance(lost, ConnectionLost) and isinstance(lost.error, ConnectionClosedError)
    assert "no pong within 2.0s" in str(lost.error)
    assert core.ended and core.next_deadline() is None


def test_any_frame_answers_a_liveness_ping() -> None:
    plan = KeepalivePlan.for_session(LISTEN_V2.session).without_idle_keepalive().with_liveness(1.0, 2.0)
    core = ConnectionCore(LISTEN_V2.session, plan, 0.0)
    core.handle_deadline(1.0)
    core.data_to_send()
    core.receive_data(server_frame(OP_TEXT, b'{"type":"TurnInfo"}'), 1.5)  # not a pong, but alive
    core.events()
    core.handle_deadline(3.5)
    assert core.events() == []  # not failed
    assert not core.ended


def test_a_frame_stalled_mid_way_fails_after_the_read_timeout_and_offers_1011() -> None:
    core = listen_core(now=0.0, plan=None, read_timeout=0.5)
    assert core.next_deadline() is None  # silence between frames is never timed
    core.receive_data(bytes((0x82, 100)) + b"\0" * 10, 1.0)
    assert core.next_deadline() == 1.5
    core.handle_deadline(1.49)
    assert core.events() == []
    core.handle_deadline(1.5)
    (lost,) = core.events()
    assert (
        isinstance(lost, ConnectionLost)
        and "12 byte(s)" in str(lost.error)
        and "read_timeout" in str(lost.error)
    )
    (close,) = client_frames(core.data_to_send())
    assert close.payload[:2] == (1011).to_bytes(2, "big")


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("close", [b'{"type":"CloseStream"}']),
        ("finalize", [b'{"type":"Finalize"}', b'{"type":"CloseStream"}']),
    ],
)
def test_finish_sends_the_api_declared_frames(mode: str, expected: list[bytes]) -> None:
    core = listen_core()
    assert core.start_finish(mode, 1.0) == len(expected)  # type: ignore[arg-type]
    assert [f.payload for f in client_frames(core.data_to_send())] == expected
    assert core.finishing and core.can_send  # the server still sends its last results
    assert core.start_finish(mode, 2.0) == 0  # type: ignore[arg-type]  # once


def test_an_api_without_finish_messages_finishes_with_a_close_frame() -> None:
    core = ConnectionCore(AGENT_V1.session, None, 0.0)
    assert core.start_finish("close", 1.0) == 0
    (close,) = client_frames(core.data_to_send())
    assert close.opcode == OP_CLOSE and close.payload[:2] == (1000).to_bytes(2, "big")
    assert core.close_sent and not core.can_send


def test_no_idle_keepalive_while_finishing_but_liveness_pings_go_on() -> None:
    core = listen_core(now=0.0)
    core.start_finish("close", 0.0)
    core.data_to_send()
    assert core.next_deadline() == 5.0  # the liveness ping, not the 4 s keepalive
    core.handle_deadline(5.0)
    assert [f.opcode for f in client_frames(core.data_to_send())] == [OP_PING]


def test_a_dropped_socket_is_a_lost_connection() -> None:
    core = listen_core()
    core.receive_eof(ConnectionResetError("reset"))
    (lost,) = core.events()
    assert isinstance(lost, ConnectionLost) and "reset" in str(lost.error)
    core.receive_eof(None)  # once
    assert core.events() == []


def test_the_parser_the_core_uses_checks_the_server_frames() -> None:
    # The core is a thin owner of the frame layer: its checks are the FrameParser's.
    with pytest.raises(Exception, match="RSV"):
        list(FrameParser().feed(bytes((0xC1, 0))))
