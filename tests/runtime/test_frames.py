"""The pure WebSocket frame layer: client frame encoding, server frame parsing, message assembly."""

from __future__ import annotations

import random
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from actors.runtime.frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_TEXT,
    Frame,
    FrameError,
    FrameParser,
    MessageAssembler,
    _xor_mask,
    apply_mask,
    close_payload,
    encode_batch,
    encode_frame,
    parse_close_payload,
)

MASK = b"\x11\x22\x33\x44"


def server_frame(opcode: int, payload: bytes, *, fin: bool = True, first_extra: int = 0) -> bytes:
    """An unmasked frame as a server sends it."""
    first = (0x80 if fin else 0) | opcode | first_extra
    size = len(payload)
    if size < 126:
        return bytes((first, size)) + payload
    if size < 65536:
        return struct.pack("!BBH", first, 126, size) + payload
    return struct.pack("!BBQ", first, 127, size) + payload


def decode_client_frame(data: bytes) -> tuple[bool, int, bytes, int]:
    """(fin, opcode, unmasked payload, total length) of one masked client frame."""
    fin, opcode = bool(data[0] & 0x80), data[0] & 0x0F
    assert data[1] & 0x80, "client frames must be masked"
    size, pos = data[1] & 0x7F, 2
    if size == 126:
        (size,) = struct.unpack_from("!H", data, 2)
        pos = 4
    elif size == 127:
        (size,) = struct.unpack_from("!Q", data, 2)
        pos = 10
    key = data[pos : pos + 4]
    payload = _xor_mask(data[pos + 4 : pos + 4 + size], key)
    return fin, opcode, payload, pos + 4 + size


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 70001])
def test_client_frames_are_masked_and_carry_every_length_form(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    data = encode_frame(OP_BINARY, payload, mask=MASK)
    fin, opcode, unmasked, total = decode_client_frame(data)
    assert (fin, opcode, unmasked, total) == (True, OP_BINARY, payload, len(data))
    assert payload == b"" or data[-size:] != payload  # really masked on the wire


def test_the_c_and_python_maskers_agree_and_random_masks_differ() -> None:
    data = bytes(range(256)) * 13 + b"tail"
    assert apply_mask(data, MASK) == _xor_mask(data, MASK)
    assert _xor_mask(_xor_mask(data, MASK), MASK) == data
    assert encode_frame(OP_TEXT, b"same") != encode_frame(OP_TEXT, b"same")  # fresh key per frame


def test_masking_comes_from_wsaccel_a_core_dependency() -> None:
    assert apply_mask is not _xor_mask
    assert "wsaccel.xormask" in sys.modules


SIZES = sorted({*range(70), *range(125, 135), 1599, 1600, 1601, 3199, 3200, 3203, 65535, 65537, 69999, 70000})


def test_wsaccel_masking_equals_the_pure_xor_for_random_payloads_of_many_sizes() -> None:
    rng = random.Random(17)
    for size in SIZES + [rng.randrange(0, 70_001) | 1 for _ in range(40)]:
        data, mask = rng.randbytes(size), rng.randbytes(4)
        assert apply_mask(data, mask) == _xor_mask(data, mask), size
        if size < 300:  # an independent byte-by-byte reference for the short ones
            assert _xor_mask(data, mask) == bytes(b ^ mask[i % 4] for i, b in enumerate(data)), size


def test_without_wsaccel_masking_falls_back_to_the_pure_xor() -> None:
    script = textwrap.dedent(
        """
        import sys
        sys.modules["wsaccel"] = None  # makes ``import wsaccel.xormask`` raise ImportError
        from actors.runtime.frames import _xor_mask, apply_mask, encode_frame
        assert apply_mask is _xor_mask, apply_mask
        assert encode_frame(2, b"abc", mask=b"\\x01\\x02\\x03\\x04")[-3:] == bytes((0x60, 0x60, 0x60))
        print("ok")
        """
    )
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=repo, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "ok"


def test_the_parser_yields_the_same_frames_however_the_bytes_are_split() -> None:
    frames = [
        (OP_TEXT, b'{"type":"Results"}'),
        (OP_BINARY, b"\x01" * 300),
        (OP_PING, b"p"),
        (OP_BINARY, b"\x02" * 70000),
        (OP_CLOSE, struct.pack("!H", 1000) + b"bye"),
    ]
    stream = b"".join(server_frame(op, payload) for op, payload in frames)
    expected = [Frame(True, op, payload) for op, payload in frames]
    for step in (1, 2, 7, 125, 4096, 65536, len(stream)):
        parser = FrameParser()
        got: list[Frame] = []
        for start in range(0, len(stream), step):
            got.extend(parser.feed(stream[start : start + step]))
        assert got == expected, step
        assert parser.buffered == 0


def test_a_partial_frame_waits_for_the_rest() -> None:
    parser = FrameParser()
    data = server_frame(OP_TEXT, b"hello world")
    assert list(parser.feed(data[:5])) == []
    assert parser.buffered == 5
    assert list(parser.feed(data[5:])) == [Frame(True, OP_TEXT, b"hello world")]


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        (bytes((0x81, 0x80 | 2)) + MASK + b"hi", 1002, "masked"),
        (server_frame(OP_TEXT, b"x", first_extra=0x40), 1002, "RSV"),
        (server_frame(0x3, b"x"), 1002, "opcode 0x3"),
        (server_frame(OP_PING, b"x", fin=False), 1002, "fragmented"),
        (server_frame(OP_PING, b"x" * 126), 1002, "max 125"),
        (server_frame(OP_BINARY, b"x" * 2000), 1009, "larger than 1000"),
    ],
)
def test_protocol_violations_raise_with_the_close_code_to_send(data: bytes, code: int, message: str) -> None:
    parser = FrameParser(max_message_bytes=1000)
    with pytest.raises(FrameError, match=message) as info:
        list(parser.feed(data))
    assert info.value.code == code


def test_fragmented_messages_are_joined_around_control_frames() -> None:
    stream = (
        server_frame(OP_TEXT, b'{"a":', fin=False)
        + server_frame(OP_PING, b"mid")
        + server_frame(OP_CONT, b'"b"', fin=False)
        + server_frame(OP_CONT, b"}")
        + server_frame(OP_BINARY, b"whole")
    )
    assembler = MessageAssembler()
    messages, controls = [], []
    for frame in FrameParser().feed(stream):
        if frame.opcode in (OP_CONT, OP_TEXT, OP_BINARY):
            message = assembler.add(frame)
            if message is not None:
                messages.append(message)
        else:
            controls.append(frame.opcode)
    assert messages == [(OP_TEXT, b'{"a":"b"}'), (OP_BINARY, b"whole")]
    assert controls == [OP_PING]


def test_bad_fragment_sequences_are_protocol_errors() -> None:
    with pytest.raises(FrameError, match="without a message"):
        MessageAssembler().add(Frame(True, OP_CONT, b"x"))
    assembler = MessageAssembler()
    assembler.add(Frame(False, OP_TEXT, b"x"))
    with pytest.raises(FrameError, match="still in progress"):
        assembler.add(Frame(True, OP_BINARY, b"y"))
    big = MessageAssembler(max_message_bytes=4)
    big.add(Frame(False, OP_BINARY, b"abc"))
    with pytest.raises(FrameError) as info:
        big.add(Frame(True, OP_CONT, b"de"))
    assert info.value.code == 1009


def test_a_batch_keeps_order_and_coalesces_audio_up_to_the_frame_limit() -> None:
    items: list[bytes | str] = [b"a" * 4, b"b" * 4, '{"type":"Finalize"}', b"c" * 4, b"d" * 4, b"e" * 4]
    batch = encode_batch(items, coalesce=True, max_frame_bytes=8)
    frames = []
    data = batch.data
    while data:
        _fin, opcode, payload, used = decode_client_frame(data)
        frames.append((opcode, payload))
        data = data[used:]
    assert frames == [
        (OP_BINARY, b"aaaabbbb"),
        (OP_TEXT, b'{"type":"Finalize"}'),
        (OP_BINARY, b"ccccdddd"),
        (OP_BINARY, b"eeee"),
    ]
    assert (batch.audio_bytes, batch.audio_frames, batch.control_frames) == (20, 3, 1)
    single = encode_batch([b"x" * 3, b"y" * 3], coalesce=False, max_frame_bytes=100)
    assert single.audio_frames == 2


def test_close_payloads_round_trip_and_reasons_are_cut_to_fit() -> None:
    assert parse_close_payload(close_payload(4000, "bye now")) == (4000, "bye now")
    assert parse_close_payload(b"") == (1005, "")
    long = close_payload(1000, "é" * 100)  # 200 bytes of UTF-8: cut on a character boundary
    assert len(long) <= 125
    code, reason = parse_close_payload(long)
    assert code == 1000 and reason == "é" * 61
