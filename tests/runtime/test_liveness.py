"""Liveness: a connection is judged dead by unanswered pings, never by a lack of results.

The clock rules are pure (``KeepaliveClock``); the rest runs over real sockets against the local
server: its ``stall`` fault on the deterministic engine pauses reading (pings go unanswered: a
black-holed server), while on the real engine it blocks only the endpoint's thread and the
server's loop still answers pings (a server that is alive but sends no results).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from actors.protocol.listen_v1.options import ListenV1Options
from actors.protocol.session import KEEPALIVE_MESSAGE
from actors.runtime import Connection
from actors.runtime.events import Closed, ConnectionFailed
from actors.runtime.keepalive import KeepaliveClock, KeepalivePlan
from actors.runtime.policy import Backoff, RestartPolicy
from actors.runtime.supervisor import Supervisor
from actors.server import FaultRule
from actors.server.engines.deterministic import silence, synthesize_words
from tests.runtime.runtime_support import RATE, EventLog, listen_config

LIVENESS = KeepalivePlan(
    kind="message", interval=4.0, frame=KEEPALIVE_MESSAGE, ping_after=1.0, pong_timeout=2.0
)
CHUNK = silence(0.1, RATE)
FAST = Backoff(initial=0.02, maximum=0.2, jitter=0.5)


class Activity:
    """A stand-in for the reader's received-frames counter."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> int:
        return self.count


# -- the pure rule ------------------------------------------------------------------------------


def test_a_liveness_ping_is_due_after_server_silence_even_while_the_client_sends() -> None:
    clock = KeepaliveClock(LIVENESS, now=0.0, activity=Activity())
    for t in (0.2, 0.4, 0.6, 0.8):
        clock.note_sent(t)  # audio going out does not count as hearing from the server
    assert not clock.is_due(0.9)
    assert clock.seconds_until_due(0.9) == pytest.approx(0.1)
    assert clock.is_due(1.0)
    assert clock.take_due() == (False, True)  # a ping, not the idle keepalive
    assert clock.take_due() == (False, False)  # handed over once


def test_anything_received_answers_the_ping() -> None:
    activity = Activity()
    clock = KeepaliveClock(LIVENESS, now=0.0, activity=activity)
    assert clock.is_due(1.0)
    clock.note_ping(1.0)
    activity.count += 1  # a Results message arrived before the pong
    assert not clock.pong_overdue(10.0)
    assert clock.ping_sent_at is None and clock.last_heard == 10.0
    clock.take_due()
    assert clock.is_due(10.5)  # the client's idle keepalive is due, but no ping: the server was heard
    assert clock.take_due() == (True, False)


def test_a_ping_with_nothing_back_is_overdue_after_pong_timeout() -> None:
    clock = KeepaliveClock(LIVENESS, now=0.0, activity=Activity())
    assert clock.is_due(1.0)
    clock.note_ping(1.0)
    assert clock.seconds_until_due(1.0) == pytest.approx(2.0)
    assert not clock.pong_overdue(2.9)
    assert clock.pong_overdue(3.1)
    clock.note_pong()
    assert not clock.pong_overdue(3.2)


def test_liveness_pings_never_postpone_the_idle_keepalive() -> None:
    # Pings every 1 s of server silence; the server needs a KeepAlive message every 4 s.
    clock = KeepaliveClock(LIVENESS, now=0.0, activity=Activity())
    keepalives = []
    now = 0.0
    while now < 20.0:
        now = round(now + 0.05, 2)
        if clock.pong_overdue(now):
            raise AssertionError(f"ping unanswered at {now}")
        if clock.is_due(now):
            clock.note_sent(now)  # what the reader does before telling the actor
            idle, ping = clock.take_due()
            if ping:
                clock.note_ping(now)
                clock.note_pong()
            if idle:
                clock.note_sent(now)
                keepalives.append(now)
    assert keepalives == pytest.approx([4.0, 8.0, 12.0, 16.0, 20.0])


def test_liveness_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="ping_interval"):
        listen_config("ws://127.0.0.1:1", ping_interval=-1.0)
    with pytest.raises(ValueError, match="ping_timeout"):
        listen_config("ws://127.0.0.1:1", ping_timeout=0.0)
    with pytest.raises(ValueError, match="ping_after"):
        KeepalivePlan(kind="ping", interval=5.0, ping_after=0.0)
    assert listen_config("ws://127.0.0.1:1", ping_interval=0, keepalive=False).keepalive_plan() is None
    plan = listen_config("ws://127.0.0.1:1", keepalive=False).keepalive_plan()
    assert plan is not None and plan.interval is None and plan.ping_after == 5.0


# -- real sockets ----------------------------------------------------------------------------------


def _send_for(conn_send: Any, seconds: float) -> None:
    """Send 100 ms chunks of silence at real time for ``seconds`` (pacing a live source)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        conn_send(CHUNK)
        time.sleep(0.1)


def test_a_black_holed_server_fails_the_connection_within_ping_interval_plus_timeout(
    make_server: Any,
) -> None:
    server = make_server()
    server.faults.add(FaultRule(kind="stall", after_audio_seconds=0.3))
    log = EventLog()
    conn = Connection.open(
        listen_config(server.url, ping_interval=0.3, ping_timeout=0.5), subscribers=[log.queue]
    )
    started = time.monotonic()
    conn.send_audio(silence(0.5, RATE))
    for _ in range(40):  # keep sending, as a live call does, until the connection gives up
        if conn.closed.is_set():
            break
        try:
            conn.send_audio(CHUNK)
        except Exception:
            break
        conn.closed.wait(0.1)
    events = log.until_closed(timeout=10.0)
    elapsed = time.monotonic() - started
    failed = [e for e in events if isinstance(e, ConnectionFailed)]
    assert failed and "no pong" in str(failed[0].error), events[-3:]
    assert isinstance(events[-1], Closed) and events[-1].code == 1006
    assert elapsed < 3.0


def test_a_server_that_sends_no_results_but_answers_pings_is_not_torn_down(make_server: Any) -> None:
    # Real engine: the stall blocks the endpoint's thread only; websockets still answers pings.
    server = make_server(engine="real")
    server.faults.add(FaultRule(kind="stall"))
    log = EventLog()
    conn = Connection.open(
        listen_config(server.url, ping_interval=0.2, ping_timeout=0.3), subscribers=[log.queue]
    )
    _send_for(conn.send_audio, 2.5)  # > 5 ping rounds with not one result
    assert conn.result is None, conn.result
    assert conn.metrics.messages_received == 0
    result = conn.close()
    assert result is not None and result.error is None


def test_supervised_stream_on_a_silent_but_alive_server_is_not_restarted(make_server: Any) -> None:
    server = make_server(engine="real")
    server.faults.add(FaultRule(kind="stall"))
    with Supervisor(max_connections=2, stall_timeout=0.6) as sup:
        handle = sup.open_stream(listen_config(server.url), restart=RestartPolicy.on_failure(backoff=FAST))
        assert handle.wait_open(timeout=5)
        _send_for(handle.send_audio, 2.5)  # four stall timeouts of audio without any answer
        assert handle.metrics.connections == 1 and handle.metrics.reconnects == 0
        sup.stop_stream(handle.stream_id)
        assert handle.wait_closed(timeout=5)


def test_supervised_stream_recovers_from_a_black_holed_server_in_bounded_time(make_server: Any) -> None:
    server = make_server()
    server.faults.add(FaultRule(kind="stall", match_tag="hole", after_audio_seconds=0.5, times=1))
    words = ["one", "two", "three", "four", "five", "six"]
    options = ListenV1Options.from_kwargs(model="nova-3", encoding="linear16", sample_rate=RATE, tag=["hole"])
    audio = synthesize_words(words, RATE)
    step = RATE // 5  # 100 ms of 16-bit samples
    with Supervisor(max_connections=2, stall_timeout=1.0, keep_finals=True) as sup:
        handle = sup.open_stream(
            listen_config(server.url, options=options), restart=RestartPolicy.on_failure(backoff=FAST)
        )
        started = time.monotonic()
        for at in range(0, len(audio), step):
            handle.send_audio(audio[at : at + step])
            time.sleep(0.025)  # 4x real time
        result = handle.finish(timeout=15)
        elapsed = time.monotonic() - started
    assert result.ok, result.error
    assert result.transcript == " ".join(words)
    assert result.metrics.reconnects == 1
    assert elapsed < 8.0  # the stall lasts until the server stops: only liveness ends it
