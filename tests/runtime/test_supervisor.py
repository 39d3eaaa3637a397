"""Supervisor against the local server over real sockets: restarts, fatal errors, admission, stops.

Audio comes from the deterministic engine, so the words (and their timings) a stream must
produce are known exactly.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from actors.errors import HandshakeError, OptionsError, StreamFailed
from actors.protocol.apis import LISTEN_V1
from actors.protocol.auth import Auth
from actors.protocol.listen_v1.options import ListenV1Options
from actors.runtime import events
from actors.runtime.config import ConnectionConfig
from actors.runtime.policy import Backoff, RestartPolicy
from actors.runtime.stream import StreamHandle, StreamResult, StreamState
from actors.runtime.supervisor import Supervisor
from actors.server import FaultRule, LocalServer
from actors.server.engines.deterministic import expected_words, synthesize_words

RATE = 16000
BYTES_PER_SECOND = RATE * 2
FAST = Backoff(initial=0.02, maximum=0.2, jitter=0.5)
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]


def listen_config(server: LocalServer, tag: str, key: str = "test-key", **options: Any) -> ConnectionConfig:
    """A Listen V1 config for raw linear16 at 16 kHz, tagged so fault rules can target it."""
    opts = ListenV1Options(model="nova-3", encoding="linear16", sample_rate=RATE, tag=[tag], **options)
    return ConnectionConfig(api=LISTEN_V1, base_url=server.url, options=opts, auth=Auth.token(key))


def send_paced(handle: StreamHandle, audio: bytes, chunk_seconds: float = 0.1, speed: float = 0.0) -> None:
    """Send ``audio`` in chunks; ``speed`` > 0 sleeps to simulate ``speed``x real time (0: no pacing)."""
    step = int(chunk_seconds * BYTES_PER_SECOND)
    for start in range(0, len(audio), step):
        handle.send_audio(audio[start : start + step])
        if speed:
            time.sleep(chunk_seconds / speed)


def run_with_restarts(
    supervisor: Supervisor, config: ConnectionConfig, audio: bytes, q: queue.Queue[Any], timeout: float
) -> StreamResult:
    """Open a stream that restarts on failure (``FAST`` backoff) with ``q`` subscribed, send
    ``audio`` at 8x real time and return the result of finishing it within ``timeout`` s."""
    handle = supervisor.open_stream(config, subscribers=[q], restart=RestartPolicy.on_failure(backoff=FAST))
    send_paced(handle, audio, speed=8.0)
    return handle.finish(timeout=timeout)


def words_of(result: StreamResult) -> list[tuple[str, float, float]]:
    """Every word of every final, as (word, start, end) rounded to the millisecond."""
    out = []
    for final in result.finals:
        for word in final.channel.alternatives[0].words:
            out.append((word.word, round(word.start, 3), round(word.end, 3)))
    return out


def expected(words: list[str], gap_ms: int = 100) -> list[tuple[str, float, float]]:
    """What the deterministic engine must recognise in ``synthesize_words(words, gap_ms=gap_ms)``."""
    words_out = expected_words(words, RATE, gap_ms=gap_ms)
    return [(w.text.lower(), round(w.start, 3), round(w.end, 3)) for w in words_out]


def drain(q: queue.Queue[Any]) -> list[Any]:
    """Everything queued so far."""
    out = []
    while True:
        try:
            out.append(q.get_nowait())
        except queue.Empty:
            return out


def assert_monotonic(result: StreamResult) -> None:
    """Word timestamps never go backwards across the whole stream."""
    last_end = -1.0
    for word, start, end in words_of(result):
        assert start >= last_end - 1e-6, (
            f"{word} starts at {start} before the previous word ended ({last_end})"
        )
        assert end >= start
        last_end = end


def _server_thread(thread: threading.Thread) -> bool:
    """Threads of the in-process LocalServer (its handlers and websockets' event readers)."""
    return thread.name.startswith("actors-server") or thread.name.endswith("(recv_events)")


@pytest.fixture
def supervisor() -> Iterator[Supervisor]:
    """A started supervisor with a short stall timeout, stopped (and joined) at teardown."""
    with Supervisor(keep_finals=True, max_connections=20, stall_timeout=1.0) as sup:
        yield sup


@pytest.fixture
def server(make_server: Callable[..., LocalServer]) -> LocalServer:
    """A fresh server per test, so fault rules never leak between tests."""
    return make_server()


def test_clean_stream_yields_exact_words_and_one_closed(supervisor: Supervisor, server: LocalServer) -> None:
    q: queue.Queue[Any] = queue.Queue()
    handle = supervisor.open_stream(listen_config(server, "clean"), subscribers=[q], stream_id="call-clean")
    assert handle.stream_id == "call-clean"
    send_paced(handle, synthesize_words(WORDS, RATE))
    result = handle.finish(timeout=10)
    assert result.ok, result.error
    assert words_of(result) == expected(WORDS)
    assert result.transcript == " ".join(WORDS)
    assert len(result.request_ids) == 1 and result.metrics.reconnects == 0
    seen = drain(q)
    assert isinstance(seen[0], events.Opened) and seen[0].stream_id == "call-clean"
    assert isinstance(seen[-1], events.Closed) and seen[-1].code == 1000
    assert sum(isinstance(e, events.Closed) for e in seen) == 1
    assert handle.state is StreamState.CLOSED


def test_drop_mid_stream_reconnects_and_loses_nothing(supervisor: Supervisor, server: LocalServer) -> None:
    server.faults.add(FaultRule(kind="drop", match_tag="drop", after_audio_seconds=1.0, times=1))
    q: queue.Queue[Any] = queue.Queue()
    result = run_with_restarts(
        supervisor, listen_config(server, "drop"), synthesize_words(WORDS, RATE), q, timeout=10
    )
    assert result.ok, result.error
    assert words_of(result) == expected(WORDS)
    assert_monotonic(result)
    assert result.metrics.reconnects == 1 and len(set(result.request_ids)) == 2
    assert result.metrics.replayed_seconds > 0
    seen = drain(q)
    reconnecting = [e for e in seen if isinstance(e, events.Reconnecting)]
    reconnected = [e for e in seen if isinstance(e, events.Reconnected)]
    assert len(reconnecting) == 1 and reconnecting[0].attempt == 1
    assert len(reconnected) == 1 and reconnected[0].request_id == result.request_ids[1]
    assert sum(isinstance(e, events.Closed) for e in seen) == 1 and isinstance(seen[-1], events.Closed)


def test_server_error_close_1011_is_retried(supervisor: Supervisor, server: LocalServer) -> None:
    server.faults.add(
        FaultRule(kind="close", match_tag="e1011", code=1011, reason="NET-0000", after_audio_seconds=0.5)
    )
    handle = supervisor.open_stream(
        listen_config(server, "e1011"), restart=RestartPolicy.on_failure(backoff=FAST)
    )
    send_paced(handle, synthesize_words(WORDS[:4], RATE), speed=8.0)
    server.faults.clear()
    result = handle.finish(timeout=10)
    assert result.ok, result.error
    assert words_of(result) == expected(WORDS[:4])
    assert result.metrics.reconnects >= 1


def test_bad_credentials_fail_fast_without_restarts(
    supervisor: Supervisor, make_server: Callable[..., LocalServer]
) -> None:
    server = make_server(api_keys={"right-key"})
    q: queue.Queue[Any] = queue.Queue()
    started = time.monotonic()
    handle = supervisor.open_stream(listen_config(server, "auth", key="wrong-key"), subscribers=[q])
    with pytest.raises(StreamFailed) as failed:
        handle.wait_open(timeout=5)
    assert time.monotonic() - started < 1.0
    assert isinstance(failed.value.cause, HandshakeError) and failed.value.cause.status == 401
    assert "wrong-key" not in str(failed.value)
    result = handle.result()
    assert result.metrics.connections == 0 and result.metrics.reconnects == 0
    seen = drain(q)
    assert not any(isinstance(e, events.Reconnecting) for e in seen)
    assert [type(e) for e in seen] == [events.ConnectionFailed, events.Closed]
    with pytest.raises(StreamFailed):
        handle.send_audio(b"\x00\x00")


def test_undecodable_audio_close_1008_is_fatal(supervisor: Supervisor, server: LocalServer) -> None:
    server.faults.add(
        FaultRule(kind="close", match_tag="e1008", code=1008, reason="DATA-0000", after_audio_seconds=0.2)
    )
    handle = supervisor.open_stream(
        listen_config(server, "e1008"), restart=RestartPolicy.on_failure(backoff=FAST)
    )
    handle.send_audio(synthesize_words(WORDS[:3], RATE))
    assert handle.wait_closed(timeout=5)
    assert isinstance(handle.error, StreamFailed) and "fatal" in str(handle.error)
    assert handle.metrics.reconnects == 0


def test_restart_budget_exhausted_escalates(supervisor: Supervisor, server: LocalServer) -> None:
    server.faults.add(FaultRule(kind="drop", match_tag="flaky", after_audio_seconds=0.1))
    q: queue.Queue[Any] = queue.Queue()
    policy = RestartPolicy.on_failure(max_restarts=2, within=30.0, backoff=FAST)
    handle = supervisor.open_stream(listen_config(server, "flaky"), subscribers=[q], restart=policy)
    # 0.4 s into a 0.7 s word: no final can cover it, so every new connection gets it all replayed
    send_paced(handle, synthesize_words(["extraordinarily-long-word"], RATE)[: BYTES_PER_SECOND * 4 // 10])
    assert handle.wait_closed(timeout=10)
    assert isinstance(handle.error, StreamFailed) and "restart budget" in str(handle.error)
    seen = drain(q)
    assert len([e for e in seen if isinstance(e, events.Reconnecting)]) == 2
    assert isinstance(seen[-2], events.ConnectionFailed) and isinstance(seen[-1], events.Closed)


def test_never_policy_reports_the_first_failure(supervisor: Supervisor, server: LocalServer) -> None:
    server.faults.add(FaultRule(kind="drop", match_tag="never", after_audio_seconds=0.1))
    handle = supervisor.open_stream(listen_config(server, "never"), restart=RestartPolicy.never())
    handle.send_audio(synthesize_words(WORDS[:2], RATE))
    assert handle.wait_closed(timeout=5)
    assert isinstance(handle.error, StreamFailed) and "never" in str(handle.error)


def test_429_on_reconnect_backs_off_and_recovers(supervisor: Supervisor, server: LocalServer) -> None:
    server.faults.add(FaultRule(kind="drop", match_tag="r429", after_audio_seconds=0.8, times=1))
    server.faults.add(FaultRule(kind="reject", match_tag="r429", status=429, times=2))
    q: queue.Queue[Any] = queue.Queue()
    result = run_with_restarts(
        supervisor, listen_config(server, "r429"), synthesize_words(WORDS, RATE), q, timeout=15
    )
    assert result.ok, result.error
    assert words_of(result) == expected(WORDS)
    causes = [e.cause for e in drain(q) if isinstance(e, events.Reconnecting)]
    assert any(isinstance(c, HandshakeError) and c.status == 429 for c in causes)


def test_admission_caps_concurrent_connections(server: LocalServer) -> None:
    with Supervisor(keep_finals=True, max_connections=2) as sup:
        handles = [sup.open_stream(listen_config(server, f"adm-{i}")) for i in range(3)]
        assert handles[0].wait_open(timeout=5) and handles[1].wait_open(timeout=5)
        assert not handles[2].wait_open(timeout=0.3)
        assert handles[2].state is StreamState.QUEUED
        handles[2].send_audio(synthesize_words(WORDS[:2], RATE))  # buffered while queued
        handles[0].send_audio(synthesize_words(WORDS[:1], RATE))
        assert handles[0].finish(timeout=5).ok
        assert handles[2].wait_open(timeout=5)
        result = handles[2].finish(timeout=5)
        assert words_of(result) == expected(WORDS[:2])
        assert handles[1].finish(timeout=5).ok


def test_stop_stream_closes_once_without_restart(supervisor: Supervisor, server: LocalServer) -> None:
    q: queue.Queue[Any] = queue.Queue()
    handle = supervisor.open_stream(listen_config(server, "stop"), subscribers=[q], stream_id="to-stop")
    assert handle.wait_open(timeout=5)
    assert [h.stream_id for h in supervisor.streams()] == ["to-stop"]
    supervisor.stop_stream("to-stop")
    assert handle.wait_closed(timeout=5)
    assert handle.error is None
    seen = drain(q)
    assert sum(isinstance(e, events.Closed) for e in seen) == 1
    assert not any(isinstance(e, events.Reconnecting) for e in seen)
    assert supervisor.streams() == []
    with pytest.raises(KeyError, match="nope"):
        supervisor.stop_stream("nope")


def test_stalled_server_is_detected_and_replaced(supervisor: Supervisor, server: LocalServer) -> None:
    server.faults.add(
        FaultRule(kind="stall", match_tag="stall", after_audio_seconds=0.5, duration=4.0, times=1)
    )
    handle = supervisor.open_stream(
        listen_config(server, "stall"), restart=RestartPolicy.on_failure(backoff=FAST)
    )
    send_paced(handle, synthesize_words(WORDS[:5], RATE), speed=4.0)
    result = handle.finish(timeout=15)
    assert result.ok, result.error
    assert words_of(result) == expected(WORDS[:5])
    assert result.metrics.reconnects >= 1


def test_open_stream_rejects_bad_input(supervisor: Supervisor, server: LocalServer) -> None:
    supervisor.open_stream(listen_config(server, "dup"), stream_id="dup")
    with pytest.raises(OptionsError, match="stream_id"):
        supervisor.open_stream(listen_config(server, "dup"), stream_id="dup")
    opus = ConnectionConfig(
        api=LISTEN_V1,
        base_url=server.url,
        options=ListenV1Options(model="nova-3", encoding="opus", sample_rate=48000),
        auth=Auth.token("k"),
    )
    with pytest.raises(OptionsError, match="encoding"):
        supervisor.open_stream(opus, lossless=True)
    with pytest.raises(TypeError, match="subscriber"):
        supervisor.open_stream(listen_config(server, "bad-sub"), subscribers=[42])
    with pytest.raises(OptionsError, match="max_connections"):
        Supervisor(max_connections=0)


def test_finish_before_any_audio_ends_at_once(supervisor: Supervisor, server: LocalServer) -> None:
    with Supervisor(keep_finals=True, max_connections=1) as sup:
        blocker = sup.open_stream(listen_config(server, "blocker"))
        assert blocker.wait_open(timeout=5)
        idle = sup.open_stream(listen_config(server, "idle"))
        result = idle.finish(timeout=2)
        assert result.ok and result.finals == () and result.metrics.connections == 0


def test_always_policy_restarts_after_an_unrequested_normal_close(
    supervisor: Supervisor, server: LocalServer
) -> None:
    rule = FaultRule(kind="close", match_tag="always", code=1000, after_audio_seconds=0.8, times=1)
    server.faults.add(rule)
    policy = RestartPolicy.always(backoff=FAST)
    handle = supervisor.open_stream(listen_config(server, "always"), restart=policy)
    send_paced(handle, synthesize_words(WORDS, RATE), speed=8.0)
    result = handle.finish(timeout=10)
    assert result.ok, result.error
    assert result.metrics.reconnects == 1
    assert words_of(result) == expected(WORDS)


def test_on_failure_policy_reconnects_after_an_unrequested_normal_close(
    supervisor: Supervisor, server: LocalServer
) -> None:
    # A 1000 before finish() is not the end of the stream: the rest of the audio must be heard.
    rule = FaultRule(kind="close", match_tag="normal", code=1000, after_audio_seconds=0.2, times=1)
    server.faults.add(rule)
    policy = RestartPolicy.on_failure(backoff=FAST)
    handle = supervisor.open_stream(listen_config(server, "normal"), restart=policy)
    send_paced(handle, synthesize_words(WORDS[:2], RATE), speed=8.0)
    result = handle.finish(timeout=10)
    assert result.ok, result.error
    assert result.close_code == 1000
    assert result.metrics.reconnects == 1
    assert words_of(result) == expected(WORDS[:2])
    with pytest.raises(OptionsError, match="closed"):
        handle.send_audio(b"\x00\x00")


def test_stop_joins_every_thread_it_started(server: LocalServer) -> None:
    before = set(threading.enumerate())
    sup = Supervisor(keep_finals=True, max_connections=4, stall_timeout=0.5).start()
    handles = [sup.open_stream(listen_config(server, f"threads-{i}")) for i in range(3)]
    assert all(h.wait_open(timeout=5) for h in handles)
    sup.stop(timeout=5)
    assert all(h.done and h.error is None for h in handles)
    # Streams are aborted (no close handshake), so the in-process server's own threads may still
    # be winding down: they are the server's, not the supervisor's.
    leftover = [t.name for t in set(threading.enumerate()) - before if t.is_alive() and not _server_thread(t)]
    assert leftover == []
    with pytest.raises(OptionsError, match="not running"):
        sup.open_stream(listen_config(server, "late"))
