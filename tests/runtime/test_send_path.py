"""The supervised audio hot path: what ``StreamHandle.send_audio`` accepts, keeps and refuses.

Real sockets against the session's local server; pure checks of the replay buffer's fast append.
"""

from __future__ import annotations

import struct
import time

import pytest

from actors.errors import OptionsError
from actors.runtime import Supervisor
from actors.runtime.flusher import AudioFlusher
from actors.runtime.replay import AudioFormat, ReplayBuffer
from actors.server import LocalServer
from actors.server.engines.deterministic import synthesize_words
from tests.runtime.runtime_support import RATE, listen_config

CHUNK = 640  # 20 ms of 16 kHz linear16


def _wav_header(rate: int = RATE) -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return (
        b"RIFF" + struct.pack("<I", 0) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + b"\0" * 4
    )


def test_append_returns_the_new_end_and_bounds_raw_audio() -> None:
    buf = ReplayBuffer(AudioFormat(sample_rate=10, frame_bytes=2), max_seconds=1.0)  # keeps 20 bytes
    assert buf.append(b"a" * 8) == 8
    assert buf.append(b"b" * 8) == 16
    assert buf.append(b"c" * 8) == 24  # 4 bytes over: the oldest whole frames go
    assert buf.start == 4 and buf.buffered_bytes == 20 and buf.dropped_bytes == 4
    buf.ack_position(10)
    assert buf.append(b"d" * 2) == 26 and buf.start == 10


def test_append_sniffs_a_wav_header_then_bounds_the_audio_after_it() -> None:
    buf = ReplayBuffer(None, max_seconds=0.01)  # 160 frames = 320 bytes once the format is known
    header = _wav_header()
    assert buf.append(header[:20]) == 0  # header incomplete: no audio yet
    assert buf.append(header[20:] + b"\x01" * 100) == 100
    assert buf.format == AudioFormat(sample_rate=RATE, frame_bytes=2) and buf.header == header
    assert buf.append(b"\x02" * 400) == 500
    assert buf.buffered_bytes == 320 and buf.start == 180 and buf.dropped_bytes == 180


def test_send_audio_takes_any_bytes_like_chunk_and_every_byte_reaches_the_server(
    local_server: LocalServer,
) -> None:
    pcm = synthesize_words(["bytes", "like"], sample_rate=RATE)
    chunks = [pcm[i : i + CHUNK] for i in range(0, len(pcm), CHUNK)]
    with Supervisor(max_connections=1, audio_flush_interval=0.02) as sup:
        handle = sup.open_stream(listen_config(local_server.url), keep_finals=True)
        assert handle.wait_open(timeout=5)
        for n, chunk in enumerate(chunks):
            handle.send_audio((bytes, bytearray, memoryview)[n % 3](chunk))
        handle.send_audio(b"")  # ignored: an empty frame would end the stream
        with pytest.raises(TypeError, match="str"):
            handle.send_audio("not audio")  # type: ignore[arg-type]
        result = handle.finish(timeout=10)
    assert result.ok, result.error
    assert result.metrics.audio_seconds == pytest.approx(len(pcm) / (2 * RATE))
    assert result.transcript == "bytes like"
    with pytest.raises(OptionsError, match="closed"):
        handle.send_audio(b"\x00\x00")


def test_send_audio_is_refused_once_the_stream_is_finishing(local_server: LocalServer) -> None:
    with Supervisor(max_connections=1) as sup:
        handle = sup.open_stream(listen_config(local_server.url))
        assert handle.wait_open(timeout=5)
        handle.send_audio(b"\x00" * CHUNK)
        stream = handle._stream
        stream._finishing = True  # the state finish() sets before it waits for the server
        with pytest.raises(OptionsError, match="finishing"):
            handle.send_audio(b"\x00" * CHUNK)
        stream._finishing = False
        assert handle.finish(timeout=10).ok


def test_the_flusher_reports_how_busy_and_how_late_it_is() -> None:
    class Target:
        def __init__(self) -> None:
            self.flushed = 0

        def flush_queued_audio(self) -> None:
            self.flushed += 1
            time.sleep(0.002)  # simulates a slow socket write

    flusher = AudioFlusher(name="actors-test-flusher-stats").acquire()
    try:
        targets = [Target() for _ in range(5)]
        for target in targets:
            flusher.schedule(target, 0.02)
        deadline = time.monotonic() + 5.0
        while sum(t.flushed for t in targets) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        flusher.release()
    assert sum(t.flushed for t in targets) == 5
    assert flusher.busy_seconds >= 0.01  # five writes of 2 ms
    assert 0.01 <= flusher.max_tick_seconds <= flusher.busy_seconds
    assert flusher.max_late_seconds >= 0.0
