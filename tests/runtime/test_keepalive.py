"""Keepalive: the pure clock, and idle streams kept open past the server's idle limit (real sockets)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from actors.protocol.apis import LISTEN_V2
from actors.protocol.listen_v2.options import ListenV2Options
from actors.protocol.session import KEEPALIVE_MESSAGE
from actors.runtime import Connection, ConnectionConfig
from actors.runtime.events import Closed, ConnectionFailed
from actors.runtime.keepalive import KeepaliveClock, KeepalivePlan
from actors.server.engines.deterministic import synthesize_words
from tests.runtime.runtime_support import RATE, EventLog, listen_config

PLAN = KeepalivePlan(kind="message", interval=4.0, frame=KEEPALIVE_MESSAGE)


def test_keepalive_is_due_only_after_a_silent_interval() -> None:
    clock = KeepaliveClock(PLAN, now=100.0)
    assert not clock.is_due(103.9)
    assert clock.seconds_until_due(101.0) == pytest.approx(3.0)
    clock.note_sent(103.0)  # audio went out: the idle period restarts
    assert not clock.is_due(106.0)
    assert clock.is_due(107.0)
    assert clock.seconds_until_due(200.0) == 0.0


def test_an_unanswered_ping_becomes_overdue() -> None:
    clock = KeepaliveClock(KeepalivePlan(kind="ping", interval=5.0, pong_timeout=2.0), now=0.0)
    clock.note_ping(5.0)
    assert clock.seconds_until_due(5.0) == pytest.approx(2.0)
    assert not clock.pong_overdue(6.9)
    assert clock.pong_overdue(7.1)
    clock.note_pong()
    assert not clock.pong_overdue(100.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "message", "interval": 0.0, "frame": KEEPALIVE_MESSAGE}, "interval"),
        ({"kind": "message", "interval": 1.0}, "frame"),
        ({"kind": "ping", "interval": 1.0, "pong_timeout": 0}, "pong_timeout"),
    ],
)
def test_bad_plans_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        KeepalivePlan(**kwargs)


def test_idle_listen_stream_outlives_the_server_idle_timeout(make_server: Any) -> None:
    server = make_server(idle_timeout=0.5)
    log = EventLog()
    conn = Connection.open(listen_config(server.url, keepalive_interval=0.15), subscribers=[log.queue])
    conn.send_audio(synthesize_words(["before"], sample_rate=RATE))
    time.sleep(1.6)  # three idle timeouts of silence from the user
    assert conn.result is None, conn.result
    conn.send_audio(synthesize_words(["after"], sample_rate=RATE))
    result = conn.finish()
    assert result.ok
    assert result.metrics.keepalives_sent >= 5
    events = log.until_closed()
    assert not any(isinstance(e, ConnectionFailed) for e in events)


def test_without_keepalive_the_idle_stream_is_closed_by_the_server(make_server: Any) -> None:
    server = make_server(idle_timeout=0.3)
    log = EventLog()
    conn = Connection.open(listen_config(server.url, keepalive=False), subscribers=[log.queue])
    conn.send_audio(synthesize_words(["lonely"], sample_rate=RATE))
    events = log.until_closed(timeout=5.0)
    assert isinstance(events[-2], ConnectionFailed)
    closed = events[-1]
    assert isinstance(closed, Closed) and closed.code == 1011 and "net0001" in closed.reason.lower()
    assert conn.wait_closed(5.0)


def test_flux_keepalive_pings_are_answered(local_server: Any) -> None:
    cfg = ConnectionConfig(
        api=LISTEN_V2,
        base_url=local_server.url,
        options=ListenV2Options.from_kwargs(model="flux-general-en", encoding="linear16", sample_rate=RATE),
        auth=listen_config(local_server.url).auth,
        keepalive_interval=0.1,
    )
    conn = Connection.open(cfg)
    deadline = time.monotonic() + 5.0
    while conn.metrics.keepalives_sent < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert conn.metrics.keepalives_sent >= 3
    assert conn.result is None  # pongs arrived, so no pong timeout ended it
    assert conn.finish().ok
