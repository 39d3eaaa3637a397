"""Lifecycle: state machine and close classification (pure), thread budget and leak-freedom (real sockets)."""

from __future__ import annotations

import os
import threading
import time

import pytest

from actors.errors import BackpressureError, ConnectionClosedError, FinishTimeout, HandshakeError
from actors.runtime import Connection
from actors.runtime.classify import (
    ConnectionState,
    Outcome,
    can_transition,
    check_transition,
    classify_close,
    classify_error,
    classify_status,
)
from actors.runtime.read_pool import DEFAULT_READ_THREADS, shared_read_pool
from actors.server import FaultRule, LocalServer
from actors.server.engines.deterministic import synthesize_words
from tests.runtime.runtime_support import RATE, EventLog, listen_config

S = ConnectionState


def test_state_machine_allows_only_forward_moves() -> None:
    assert can_transition(S.CONNECTING, S.OPEN)
    assert can_transition(S.OPEN, S.FINISHING)
    assert can_transition(S.FINISHING, S.CLOSED)
    assert can_transition(S.OPEN, S.CLOSED) and can_transition(S.CONNECTING, S.CLOSED)
    assert not can_transition(S.CLOSED, S.OPEN)
    assert not can_transition(S.FINISHING, S.OPEN)
    with pytest.raises(ValueError, match="closed to open"):
        check_transition(S.CLOSED, S.OPEN)


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (1000, Outcome.NORMAL),
        (1005, Outcome.NORMAL),
        (1003, Outcome.FATAL),
        (1008, Outcome.FATAL),
        (1006, Outcome.RETRYABLE),
        (1011, Outcome.RETRYABLE),
        (1012, Outcome.RETRYABLE),
        (1013, Outcome.RETRYABLE),
    ],
)
def test_close_codes_are_classified(code: int, outcome: Outcome) -> None:
    assert classify_close(code) is outcome


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(400, Outcome.FATAL), (401, Outcome.FATAL), (402, Outcome.FATAL), (403, Outcome.FATAL),
     (429, Outcome.RETRYABLE), (503, Outcome.RETRYABLE), (500, Outcome.RETRYABLE)],
)  # fmt: skip
def test_handshake_statuses_are_classified(status: int, outcome: Outcome) -> None:
    assert classify_status(status) is outcome
    assert classify_error(HandshakeError(status)) is outcome


def test_errors_are_classified() -> None:
    assert classify_error(None) is Outcome.NORMAL
    assert classify_error(ConnectionClosedError(1008, "DATA-0000")) is Outcome.FATAL
    assert classify_error(ConnectionClosedError(1011, "NET-0001")) is Outcome.RETRYABLE
    assert classify_error(FinishTimeout("late")) is Outcome.RETRYABLE
    assert classify_error(ConnectionRefusedError()) is Outcome.RETRYABLE
    assert classify_error(BackpressureError("full")) is Outcome.FATAL


def _runtime_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(("actors-conn-", "actors-read-"))]


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_live_stream_uses_one_named_thread_and_the_shared_read_pool(local_server: LocalServer) -> None:
    pool = shared_read_pool()
    conn = Connection.open(listen_config(local_server.url), stream_id="budget")
    try:
        assert [t.name for t in conn.threads] == ["actors-conn-budget"]
        assert all(t.is_alive() for t in conn.threads)
        readers = pool.threads
        assert sorted(t.name for t in readers) == [f"actors-read-{i}" for i in range(DEFAULT_READ_THREADS)]
        assert pool.watched == 1
    finally:
        conn.finish()
    assert not any(t.is_alive() for t in conn.threads)
    assert not any(t.is_alive() for t in readers)  # the last connection joined the pool's threads
    assert pool.threads == ()


def test_a_thousand_open_finish_cycles_leave_no_thread_or_socket(local_server: LocalServer) -> None:
    pcm = synthesize_words(["hi"], sample_rate=RATE)
    cfg = listen_config(local_server.url)
    # Warm up so lazily created process-wide objects are not counted as leaks.
    Connection.open(cfg).finish()
    threads_before = threading.active_count()
    fds_before = _open_fds()
    batch = 25
    for _round in range(1000 // batch):
        conns = [Connection.start(cfg) for _ in range(batch)]
        for conn in conns:
            conn.wait_open()
            conn.send_audio(pcm)
        for conn in conns:
            assert conn.finish(timeout=10.0).ok
    assert _runtime_threads() == []
    # The server's per-connection threads end asynchronously; give them a moment.
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline and (
        threading.active_count() > threads_before or _open_fds() > fds_before
    ):
        time.sleep(0.05)
    assert threading.active_count() <= threads_before
    assert _open_fds() <= fds_before


def test_finish_timeout_drops_the_connection_and_raises(make_server: LocalServer) -> None:
    server = make_server()  # type: ignore[operator]
    server.faults.add(FaultRule(kind="stall", match_tag="stall", duration=5.0))
    log = EventLog()
    conn = Connection.open(listen_config(server.url, extra_query={"tag": "stall"}), subscribers=[log.queue])
    started = time.monotonic()
    with pytest.raises(FinishTimeout):
        conn.finish(timeout=0.3)
    assert time.monotonic() - started < 3.0
    events = log.until_closed()
    assert isinstance(events[-2].error, FinishTimeout)
    assert conn.result is not None and isinstance(conn.result.error, FinishTimeout)
    assert not any(t.is_alive() for t in conn.threads)


def test_non_blocking_start_reports_a_refused_handshake_as_events(make_server: LocalServer) -> None:
    server = make_server(api_keys={"other"})  # type: ignore[operator]
    log = EventLog()
    conn = Connection.start(listen_config(server.url), subscribers=[log.queue])
    events = log.until_closed()
    assert [type(e).__name__ for e in events] == ["ConnectionFailed", "Closed"]
    with pytest.raises(HandshakeError):
        conn.wait_open()
    assert conn.wait_closed(5.0)
