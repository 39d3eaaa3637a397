"""scripts/bench_frames.py: it compares like with like, and a tiny run prints every line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from websocket._abnf import continuous_frame, frame_buffer

from actors.runtime.frames import OP_BINARY, OP_TEXT, FrameParser, MessageAssembler, encode_frame

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
sys.path.insert(0, str(SCRIPTS))

from bench_frames import BytesRecv, build_stream, segments, verdict  # noqa: E402

ITEMS = [
    "(a) build 1600 B frame",
    "(a) build 3200 B frame",
    "(a) build+send 1600 B frame",
    "(a) build+send 3200 B frame",
    "(b) parse, recv callable",
    "(b) parse, socket pair",
    "(c) message + JSON, socket pair",
]
VERDICT = r"(ours kept: \d+\.\dx faster|websocket-client's is as fast|websocket-client's is faster: \d+\.\dx)"


def test_both_parsers_read_the_same_messages_from_the_bench_stream() -> None:
    messages = build_stream(60)
    assert {opcode for opcode, _ in messages} == {OP_TEXT, OP_BINARY}
    assert all(300 <= len(p) <= 1600 for op, p in messages if op == OP_TEXT)
    ((data, count),) = segments(messages)
    assert count == 60
    parser, assembler = FrameParser(), MessageAssembler()
    ours = []
    for i in range(0, len(data), 65536):
        for frame in parser.feed(data[i : i + 65536]):
            message = assembler.add(frame)
            if message is not None:
                ours.append(message)
    buffer = frame_buffer(BytesRecv(data), skip_utf8_validation=False)
    cont = continuous_frame(fire_cont_frame=False, skip_utf8_validation=False)
    theirs = []
    for _ in range(count):
        received = buffer.recv_frame()
        cont.add(received)
        opcode, whole = cont.extract(received)
        theirs.append((opcode, whole.data))
    assert ours == theirs == messages


def test_websocket_client_reads_our_masked_client_frames() -> None:
    for size in (0, 125, 1600, 3200, 70_000):
        payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
        frame = frame_buffer(
            BytesRecv(encode_frame(OP_BINARY, payload)), skip_utf8_validation=False
        ).recv_frame()
        assert (frame.fin, frame.opcode, frame.mask_value, frame.data) == (1, OP_BINARY, 1, payload)


def test_verdicts() -> None:
    assert verdict(1.0, 4.0) == "ours kept: 4.0x faster"
    assert verdict(1.0, 1.1) == "websocket-client's is as fast"
    assert verdict(3.0, 1.0) == "websocket-client's is faster: 3.0x"


def test_a_tiny_run_prints_the_table_and_a_verdict_per_item() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPTS / "bench_frames.py"),
            "--reps",
            "1",
            "--number",
            "20",
            "--messages",
            "40",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert re.match(r"python 3\.\d+\.\d+ +websocket-client \S+ +frames\.apply_mask: wsaccel$", lines[0]), (
        lines[0]
    )
    for size in (1600, 3200):
        (mask,) = [line for line in lines if line.startswith(f"mask {size} B: ")]
        for name in ("frames.apply_mask", "wsaccel XorMaskerSimple", "websocket-client ABNF.mask", "int XOR"):
            assert re.search(re.escape(name) + r"[^:]* \d+\.\d\d us", mask), (name, mask)
    number = r"\d+\.\d\d us"
    for item in ITEMS:
        (row,) = [line for line in lines if line.startswith(item + " ")]
        assert re.search(
            rf"ours +{number} +websocket-client +{number} +ours/websocket-client +\d+\.\d\d", row
        ), row
        assert re.search(rf"floor +{number} \(", row), row
    verdicts = [line for line in lines if line.startswith("verdict ")]
    assert [v.split(": ", 1)[0] for v in verdicts] == [f"verdict {item}" for item in ITEMS]
    assert all(re.fullmatch(r"verdict [^:]+: " + VERDICT, v) for v in verdicts), verdicts
