#!/usr/bin/env python3
"""websocket-client's WebSocket framing against ours (``actors.runtime.frames``), side by side.

One run measures, interleaved round by round (median of ``--reps`` rounds, ``time.perf_counter``):

* mask: ``frames.apply_mask`` (wsaccel when installed), wsaccel's ``XorMaskerSimple``,
  websocket-client's ``ABNF.mask``, websockets' compiled ``apply_mask`` (when installed) and our
  pure-Python ``int`` XOR, on 1,600 and 3,200 bytes.
* (a) building one masked client binary frame of 1,600 / 3,200 bytes:
  ``ABNF.create_frame(data, ABNF.OPCODE_BINARY).format()`` against ``encode_frame``; and sending
  it on a connected socket pair: ``WebSocket.send_binary`` against ``sock.sendall(encode_frame())``.
  Floors: joining header, key and the unmasked payload; ``sock.send`` of the pre-built frame.
* (b) parsing a stream of server frames (3 in 4 JSON text frames of 300-1,500 bytes, the others
  binary frames of 1,000-4,000 bytes): websocket-client's ``frame_buffer`` + ``continuous_frame``
  (what ``WebSocket.recv_data_frame`` runs) fed by a recv callable over the bytes, and
  ``WebSocket.recv_data_frame`` on a socket pair; against ``FrameParser.feed`` +
  ``MessageAssembler`` on 64 KiB reads. Floors: cutting the bytes in 64 KiB pieces; bare 64 KiB
  ``recv`` of the same bytes.
* (c) per message including JSON: ``WebSocket.recv()`` + ``orjson.loads`` of each text message
  against ours + ``orjson.loads``; floor: ``orjson.loads`` alone plus the bare reads.

Both sides validate UTF-8 (websocket-client with wsaccel's validator when installed). The
socket pair is filled before each timed read (its buffers are enlarged to 4 MiB), so only the
reading side is timed. websocket-client's ``WebSocket`` gets the socket without a handshake
(``ws.sock = ...``): framing only. Prints microseconds per frame, ours/websocket-client and one
verdict line per item.

    .venv/bin/python scripts/bench_frames.py                # 9 rounds
    .venv/bin/python scripts/bench_frames.py --reps 1 --number 20 --messages 40   # a smoke run
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson
import websocket
from websocket import ABNF
from websocket._abnf import continuous_frame, frame_buffer

from actors.runtime.frames import (
    OP_BINARY,
    OP_TEXT,
    FrameParser,
    MessageAssembler,
    _xor_mask,
    apply_mask,
    encode_frame,
)

READ = 64 * 1024
SOCKET_BUFFER = 4 * 1024 * 1024
#: ours/websocket-client at or below this counts as faster (below the noise of a shared machine).
FASTER = 0.8

#: A timed candidate: runs once, returns (seconds spent in the timed part, frames handled).
Candidate = Callable[[], tuple[float, int]]


def median_us(candidates: dict[str, Candidate], reps: int) -> dict[str, float]:
    """Median microseconds per frame of each candidate, the candidates interleaved in every round."""
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(reps):
        for name, run in candidates.items():
            seconds, frames = run()
            samples[name].append(seconds / frames * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


def verdict(ours: float, theirs: float) -> str:
    """The verdict for one item from its two medians."""
    ratio = ours / theirs
    if ratio <= FASTER:
        return f"ours kept: {1 / ratio:.1f}x faster"
    if ratio <= 1 / FASTER:
        return "websocket-client's is as fast"
    return f"websocket-client's is faster: {ratio:.1f}x"


def socket_pair() -> tuple[socket.socket, socket.socket]:
    """A connected, blocking pair with 4 MiB buffers (a whole segment fits before it is read)."""
    left, right = socket.socketpair()
    for sock in (left, right):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
    return left, right


def websocket_over(sock: socket.socket) -> websocket.WebSocket:
    """websocket-client's WebSocket on an already connected socket (no handshake: framing only)."""
    ws = websocket.WebSocket()
    ws.sock = sock
    ws.connected = True
    return ws


class Drain:
    """Reads and discards what the peer of ``sock`` writes, in a named thread, until end of stream."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.received = 0
        self._thread = threading.Thread(target=self._run, name="bench-frames-drain")

    def start(self) -> None:
        """Start the reading thread."""
        self._thread.start()

    def _run(self) -> None:
        while chunk := self._sock.recv(1 << 20):
            self.received += len(chunk)

    def join(self, timeout: float = 10.0) -> None:
        """Wait for the thread: call after the writing side was shut down."""
        self._thread.join(timeout)


# --- server streams ------------------------------------------------------------------------------


def server_frame(opcode: int, payload: bytes) -> bytes:
    """One unmasked final frame as a server sends it."""
    size = len(payload)
    if size < 126:
        return bytes((0x80 | opcode, size)) + payload
    if size < 65536:
        return bytes((0x80 | opcode, 126)) + size.to_bytes(2, "big") + payload
    return bytes((0x80 | opcode, 127)) + size.to_bytes(8, "big") + payload


def json_message(rng: random.Random, target: int) -> bytes:
    """A Results-like JSON text of about ``target`` bytes."""
    words: list[dict[str, object]] = []
    body: dict[str, object] = {"type": "Results", "is_final": rng.random() < 0.3, "start": 12.04}
    while True:
        body["channel"] = {"alternatives": [{"transcript": "hello " * len(words), "words": words}]}
        data = orjson.dumps(body)
        if len(data) >= target:
            return data
        i = len(words)
        words.append(
            {
                "word": f"w{i}",
                "start": round(0.31 * i, 3),
                "end": round(0.31 * i + 0.2, 3),
                "confidence": 0.98,
            }
        )


def build_stream(count: int, seed: int = 17) -> list[tuple[int, bytes]]:
    """``count`` server messages: 3 in 4 JSON texts (300-1,500 bytes), the rest binary (1,000-4,000)."""
    rng = random.Random(seed)
    messages: list[tuple[int, bytes]] = []
    for _ in range(count):
        if rng.random() < 0.75:
            messages.append((OP_TEXT, json_message(rng, rng.randint(300, 1500))))
        else:
            messages.append((OP_BINARY, rng.randbytes(rng.randint(1000, 4000))))
    return messages


def segments(messages: list[tuple[int, bytes]], limit: int = SOCKET_BUFFER // 2) -> list[tuple[bytes, int]]:
    """The wire bytes cut at frame boundaries into pieces of at most ``limit``: (bytes, frames)."""
    out: list[tuple[bytes, int]] = []
    current: list[bytes] = []
    size = 0
    for opcode, payload in messages:
        frame = server_frame(opcode, payload)
        if current and size + len(frame) > limit:
            out.append((b"".join(current), len(current)))
            current, size = [], 0
        current.append(frame)
        size += len(frame)
    if current:
        out.append((b"".join(current), len(current)))
    return out


class BytesRecv:
    """A recv callable over bytes: returns the next ``n`` bytes, as a socket with enough data does."""

    def __init__(self, data: bytes) -> None:
        self._view = memoryview(data)
        self._pos = 0

    def __call__(self, n: int) -> bytes:
        chunk = bytes(self._view[self._pos : self._pos + n])
        self._pos += len(chunk)
        return chunk


# --- items ---------------------------------------------------------------------------------------


def mask_candidates(size: int, number: int) -> dict[str, Candidate]:
    """Masking ``size`` bytes, ``number`` times, by each masker that is installed."""
    data, key = os.urandom(size), os.urandom(4)
    maskers: dict[str, Callable[[], object]] = {"frames.apply_mask": lambda: apply_mask(data, key)}
    try:
        from wsaccel.xormask import XorMaskerSimple  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        pass
    else:
        maskers["wsaccel XorMaskerSimple"] = lambda: XorMaskerSimple(key).process(data)
    maskers["websocket-client ABNF.mask"] = lambda: ABNF.mask(key, data)
    try:
        from websockets.speedups import apply_mask as websockets_mask  # the server extra
    except ImportError:
        pass
    else:
        maskers["websockets.speedups"] = lambda: websockets_mask(data, key)
    maskers["int XOR (fallback)"] = lambda: _xor_mask(data, key)

    def timed(fn: Callable[[], object]) -> Candidate:
        def run() -> tuple[float, int]:
            start = time.perf_counter()
            for _ in range(number):
                fn()
            return time.perf_counter() - start, number

        return run

    return {name: timed(fn) for name, fn in maskers.items()}


def build_candidates(size: int, number: int) -> dict[str, Candidate]:
    """(a) building one masked binary client frame of ``size`` bytes."""
    data = os.urandom(size)
    create, binary = ABNF.create_frame, ABNF.OPCODE_BINARY

    def ours() -> tuple[float, int]:
        start = time.perf_counter()
        for _ in range(number):
            encode_frame(OP_BINARY, data)
        return time.perf_counter() - start, number

    def theirs() -> tuple[float, int]:
        start = time.perf_counter()
        for _ in range(number):
            create(data, binary).format()
        return time.perf_counter() - start, number

    def floor() -> tuple[float, int]:
        header, key, join = encode_frame(OP_BINARY, data)[:4], os.urandom(4), b"".join
        start = time.perf_counter()
        for _ in range(number):
            join((header, key, data))
        return time.perf_counter() - start, number

    return {"ours": ours, "websocket-client": theirs, "floor": floor}


def send_candidates(size: int, number: int, sock: socket.socket) -> dict[str, Candidate]:
    """(a) building and sending the frame on ``sock`` (drained by the peer); floor: bare send."""
    data = os.urandom(size)
    prebuilt = encode_frame(OP_BINARY, data)
    ws = websocket_over(sock)

    def ours() -> tuple[float, int]:
        sendall = sock.sendall
        start = time.perf_counter()
        for _ in range(number):
            sendall(encode_frame(OP_BINARY, data))
        return time.perf_counter() - start, number

    def theirs() -> tuple[float, int]:
        send = ws.send_binary
        start = time.perf_counter()
        for _ in range(number):
            send(data)
        return time.perf_counter() - start, number

    def floor() -> tuple[float, int]:
        send = sock.send
        start = time.perf_counter()
        for _ in range(number):
            send(prebuilt)
        return time.perf_counter() - start, number

    return {"ours": ours, "websocket-client": theirs, "floor": floor}


def parse_fake_candidates(pieces: list[tuple[bytes, int]]) -> dict[str, Candidate]:
    """(b) parsing with no socket: our parser on 64 KiB slices, websocket-client's on a recv callable."""
    reads = [[data[i : i + READ] for i in range(0, len(data), READ)] for data, _ in pieces]
    frames = sum(count for _, count in pieces)

    def ours() -> tuple[float, int]:
        parser, assembler = FrameParser(), MessageAssembler()
        feed, add = parser.feed, assembler.add
        done = 0
        start = time.perf_counter()
        for chunks in reads:
            for chunk in chunks:
                for frame in feed(chunk):
                    if add(frame) is not None:
                        done += 1
        elapsed = time.perf_counter() - start
        assert done == frames, (done, frames)
        return elapsed, frames

    def theirs() -> tuple[float, int]:
        done = 0
        elapsed = 0.0
        for data, count in pieces:
            buffer = frame_buffer(BytesRecv(data), skip_utf8_validation=False)
            cont = continuous_frame(fire_cont_frame=False, skip_utf8_validation=False)
            start = time.perf_counter()
            for _ in range(count):  # the data-frame branch of WebSocket.recv_data_frame
                frame = buffer.recv_frame()
                cont.validate(frame)
                cont.add(frame)
                if cont.is_fire(frame):
                    cont.extract(frame)
                    done += 1
            elapsed += time.perf_counter() - start
        assert done == frames, (done, frames)
        return elapsed, frames

    def floor() -> tuple[float, int]:
        start = time.perf_counter()
        for data, _ in pieces:
            for i in range(0, len(data), READ):
                data[i : i + READ]
        return time.perf_counter() - start, frames

    return {"ours": ours, "websocket-client": theirs, "floor": floor}


def parse_socket_candidates(
    pieces: list[tuple[bytes, int]], writer: socket.socket, reader: socket.socket, decode: bool
) -> dict[str, Candidate]:
    """(b) / (c) reading the frames from a socket pair; with ``decode``, JSON-decoding every text."""
    frames = sum(count for _, count in pieces)
    ws = websocket_over(reader)
    loads = orjson.loads

    def ours() -> tuple[float, int]:
        parser, assembler = FrameParser(), MessageAssembler()
        feed, add, recv = parser.feed, assembler.add, reader.recv
        elapsed = 0.0
        for data, count in pieces:
            writer.sendall(data)
            done = 0
            start = time.perf_counter()
            while done < count:
                for frame in feed(recv(READ)):
                    message = add(frame)
                    if message is not None:
                        done += 1
                        if decode and message[0] == OP_TEXT:
                            loads(message[1])
            elapsed += time.perf_counter() - start
        return elapsed, frames

    def theirs() -> tuple[float, int]:
        elapsed = 0.0
        for data, count in pieces:
            writer.sendall(data)
            start = time.perf_counter()
            if decode:
                recv = ws.recv
                for _ in range(count):
                    message = recv()
                    if type(message) is str:
                        loads(message)
            else:
                recv_data_frame = ws.recv_data_frame
                for _ in range(count):
                    recv_data_frame()
            elapsed += time.perf_counter() - start
        return elapsed, frames

    texts = [_texts(data) if decode else [] for data, _ in pieces]

    def floor() -> tuple[float, int]:
        recv = reader.recv
        elapsed = 0.0
        for (data, _), decoded in zip(pieces, texts, strict=True):
            writer.sendall(data)
            left = len(data)
            start = time.perf_counter()
            while left:
                left -= len(recv(min(READ, left)))
            for text in decoded:
                loads(text)
            elapsed += time.perf_counter() - start
        return elapsed, frames

    return {"ours": ours, "websocket-client": theirs, "floor": floor}


def _texts(data: bytes) -> list[bytes]:
    out: list[bytes] = []
    for frame in FrameParser().feed(data):
        if frame.opcode == OP_TEXT:
            out.append(frame.payload)
    return out


# --- report --------------------------------------------------------------------------------------


def row(item: str, result: dict[str, float], floor_note: str = "") -> tuple[str, str]:
    """The table line and the verdict line of one item."""
    ours, theirs = result["ours"], result["websocket-client"]
    floor = f"  floor {result['floor']:8.2f} us ({floor_note})" if "floor" in result else ""
    line = (
        f"{item:<34} ours {ours:8.2f} us  websocket-client {theirs:8.2f} us"
        f"  ours/websocket-client {ours / theirs:5.2f}{floor}"
    )
    return line, f"verdict {item}: {verdict(ours, theirs)}"


def main(argv: list[str] | None = None) -> int:
    """Run every item, print the table (us per frame) and a verdict per item."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=9, help="rounds; the median is reported (9)")
    parser.add_argument("--number", type=int, default=2000, help="frames built or sent per round (2000)")
    parser.add_argument("--messages", type=int, default=2000, help="server messages parsed per round (2000)")
    args = parser.parse_args(argv)
    if min(args.reps, args.number, args.messages) < 1:
        parser.error("--reps, --number and --messages must be positive")

    masker = "wsaccel" if apply_mask is not _xor_mask else "pure-Python int XOR (wsaccel missing)"
    versions = f"python {sys.version.split()[0]}  websocket-client {websocket.__version__}"
    print(f"{versions}  frames.apply_mask: {masker}")
    print(f"median of {args.reps} rounds, us per frame (per message in (b) and (c))")
    print()
    for size in (1600, 3200):
        result = median_us(mask_candidates(size, args.number), args.reps)
        print(f"mask {size} B: " + "  ".join(f"{name} {us:.2f} us" for name, us in result.items()))
    print()

    lines: list[str] = []
    verdicts: list[str] = []

    def report(item: str, result: dict[str, float], floor_note: str = "") -> None:
        line, text = row(item, result, floor_note)
        print(line, flush=True)
        lines.append(line)
        verdicts.append(text)

    for size in (1600, 3200):
        result = median_us(build_candidates(size, args.number), args.reps)
        report(f"(a) build {size} B frame", result, "joining header, key and unmasked payload")
    writer, drained = socket_pair()
    drain = Drain(drained)
    drain.start()
    try:
        for size in (1600, 3200):
            result = median_us(send_candidates(size, args.number, writer), args.reps)
            report(f"(a) build+send {size} B frame", result, "sock.send of the pre-built frame")
    finally:
        writer.shutdown(socket.SHUT_WR)
        drain.join()
        writer.close()
        drained.close()

    messages = build_stream(args.messages)
    pieces = segments(messages)
    texts = sum(1 for opcode, _ in messages if opcode == OP_TEXT)
    wire = sum(len(data) for data, _ in pieces)
    print(f"server stream: {len(messages)} messages ({texts} JSON texts), {wire} bytes, read in 64 KiB")
    result = median_us(parse_fake_candidates(pieces), args.reps)
    report("(b) parse, recv callable", result, "cutting the bytes in 64 KiB pieces")
    writer, reader = socket_pair()
    try:
        result = median_us(parse_socket_candidates(pieces, writer, reader, decode=False), args.reps)
        report("(b) parse, socket pair", result, "bare 64 KiB recv")
        result = median_us(parse_socket_candidates(pieces, writer, reader, decode=True), args.reps)
        report("(c) message + JSON, socket pair", result, "bare recv + orjson.loads")
    finally:
        writer.close()
        reader.close()
    print()
    for text in verdicts:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
