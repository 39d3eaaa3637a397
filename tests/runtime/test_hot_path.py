"""The audio hot path over real sockets: the flush window, the shared flusher, and result retention."""

from __future__ import annotations

import threading
import time

import pytest

from actors.errors import ActorsError, OptionsError
from actors.protocol.listen_v1.messages import ListenV1Finalize
from actors.runtime import Connection, Supervisor
from actors.runtime.flusher import THREAD_NAME, AudioFlusher, shared_flusher
from actors.server import LocalServer
from actors.server.engines.deterministic import synthesize_words
from tests.runtime.runtime_support import RATE, EventLog, listen_config, transcript

CHUNK = 640  # 20 ms of 16 kHz linear16


def _flusher_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == THREAD_NAME]


class _Target:
    """A flush target that records when it was flushed."""

    def __init__(self) -> None:
        self.flushed_at: list[float] = []
        self.done = threading.Event()

    def flush_queued_audio(self) -> None:
        self.flushed_at.append(time.monotonic())
        self.done.set()


def test_due_targets_share_one_wake_up_and_none_is_flushed_too_early() -> None:
    flusher = AudioFlusher(name="actors-test-flusher").acquire()
    try:
        targets = [_Target() for _ in range(20)]
        scheduled = time.monotonic()
        for i, target in enumerate(targets):
            flusher.schedule(target, 0.1 + i * 0.002)  # out of phase, within half a window
        assert all(t.done.wait(2.0) for t in targets)
        assert flusher.ticks == 1 and flusher.flushes == 20
        assert all(t.flushed_at[0] - scheduled >= 0.05 for t in targets)
    finally:
        flusher.release()
    assert not any(t.name == "actors-test-flusher" for t in threading.enumerate())
    with pytest.raises(RuntimeError, match="without a matching acquire"):
        flusher.release()
    assert flusher.schedule(_Target(), 0.1) is False  # not running: the caller writes another way


def test_a_flush_window_keeps_control_messages_in_place_among_the_audio(local_server: LocalServer) -> None:
    log = EventLog()
    cfg = listen_config(local_server.url, audio_flush_interval=0.05)
    conn = Connection.open(cfg, subscribers=[log.queue])
    first = synthesize_words(["first"], sample_rate=RATE, gap_ms=1)
    for i in range(0, len(first), CHUNK):
        conn.send_audio(first[i : i + CHUNK])
    conn.send(ListenV1Finalize())
    second = synthesize_words(["second"], sample_rate=RATE)
    for i in range(0, len(second), CHUNK):
        conn.send_audio(second[i : i + CHUNK])
    result = conn.finish(timeout=10.0)
    events = log.until_closed()
    finalized = [e for e in events if getattr(e, "from_finalize", False)]
    assert result.ok and finalized
    assert [w.word for w in finalized[0].channel.alternatives[0].words] == ["first"]
    assert transcript(events) == ["first", "second"]
    assert result.metrics.bytes_sent == len(first) + len(second)
    assert not _flusher_threads() or shared_flusher().users > 0  # released with the connection


def test_paced_audio_with_a_window_goes_out_in_fewer_frames_within_the_window(
    local_server: LocalServer,
) -> None:
    cfg = listen_config(local_server.url, audio_flush_interval=0.06)
    conn = Connection.open(cfg)
    pcm = synthesize_words(["paced", "audio"], sample_rate=RATE)
    chunks = [pcm[i : i + CHUNK] for i in range(0, len(pcm), CHUNK)]
    for chunk in chunks:
        conn.send_audio(chunk)
        time.sleep(0.01)  # faster than real time, still many chunks per window
    result = conn.finish(timeout=10.0)
    audio_frames = result.metrics.frames_sent - result.metrics.control_messages_sent
    assert result.metrics.bytes_sent == len(pcm)
    assert audio_frames <= len(chunks) // 2
    assert result.metrics.max_audio_lag is not None and result.metrics.max_audio_lag < 0.5


def test_a_chunk_of_a_whole_window_is_written_at_once_and_smaller_ones_still_wait(
    local_server: LocalServer,
) -> None:
    """A 1 s window: 1 s chunks never wait for the flusher; the short rest is coalesced, in order."""
    log = EventLog()
    cfg = listen_config(local_server.url, audio_flush_interval=1.0)
    window = 2 * RATE  # one second of 16 kHz linear16
    pcm = synthesize_words(["whole", "windows", "then", "small", "chunks"], sample_rate=RATE)
    whole = len(pcm) // window * window
    assert whole >= window and len(pcm) - whole >= 4 * CHUNK
    conn = Connection.open(cfg, subscribers=[log.queue])
    sent = time.monotonic()
    for i in range(0, whole, window):
        conn.send_audio(pcm[i : i + window])
    # On the wire well before the window's second (by the caller's thread, or its actor when the
    # socket was busy), not by the flusher once the window has passed.
    deadline = sent + 0.8
    while conn.metrics.bytes_sent < whole and time.monotonic() < deadline:
        time.sleep(0.005)
    assert conn.metrics.bytes_sent == whole
    for i in range(whole, len(pcm), CHUNK):
        conn.send_audio(pcm[i : i + CHUNK])  # 20 ms chunks: queued for the window
    result = conn.finish(timeout=10.0)
    audio_frames = result.metrics.frames_sent - result.metrics.control_messages_sent
    assert result.ok and result.metrics.bytes_sent == len(pcm)
    small = -(-(len(pcm) - whole) // CHUNK)
    assert audio_frames < whole // window + small  # the small chunks were coalesced
    assert transcript(log.until_closed()) == ["whole", "windows", "then", "small", "chunks"]


def test_supervised_streams_share_one_flusher_and_keep_no_finals_by_default(
    local_server: LocalServer,
) -> None:
    pcm = synthesize_words(["keep", "nothing", "here"], sample_rate=RATE)
    with Supervisor(max_connections=4) as sup:
        assert sup.audio_flush_interval > 0
        handles = [sup.open_stream(listen_config(local_server.url), stream_id=f"hp-{i}") for i in range(3)]
        last_two = sup.open_stream(listen_config(local_server.url), stream_id="hp-last", keep_finals=2)
        for handle in [*handles, last_two]:
            assert handle.wait_open(timeout=5)
            for i in range(0, len(pcm), CHUNK):
                handle.send_audio(pcm[i : i + CHUNK])
        assert len(_flusher_threads()) == 1
        results = [h.finish(timeout=10) for h in handles]
        kept = last_two.finish(timeout=10)
    for result in results:
        assert result.ok and result.finals == () and result.metrics.finals >= 3
        with pytest.raises(ActorsError, match="keep_finals=True"):
            _ = result.transcript
    assert len(kept.finals) == 2 and kept.metrics.finals >= 3
    assert "here" in kept.transcript and "keep" not in kept.transcript
    assert _flusher_threads() == []  # joined once the last flushing connection ended
    with pytest.raises(OptionsError, match="keep_finals"), Supervisor() as sup:
        sup.open_stream(listen_config(local_server.url), keep_finals=-1)
