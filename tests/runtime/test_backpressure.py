"""Backpressure: the bounded send buffer (pure) and a stalled server (real sockets)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from actors.errors import BackpressureError, ConnectionClosedError
from actors.runtime import Connection, SendBufferPolicy
from actors.runtime.backpressure import SendBuffer, audio_bytes_per_second
from actors.runtime.events import Backpressure, ConnectionFailed
from actors.server import FaultRule
from tests.runtime.runtime_support import EventLog, listen_config


def test_only_the_first_put_of_a_batch_asks_for_a_wake_up() -> None:
    buf = SendBuffer(SendBufferPolicy(max_bytes=100))
    assert buf.put_audio(b"a" * 10) is True
    assert buf.put_text('{"type":"KeepAlive"}') is False
    assert buf.put_audio(b"b" * 10) is False
    items, _queued_at = buf.take_all()
    assert items == [b"a" * 10, '{"type":"KeepAlive"}', b"b" * 10]
    assert buf.audio_bytes == 0
    assert buf.put_audio(b"c") is True


def test_fail_policy_raises_at_once_with_an_actionable_message() -> None:
    buf = SendBuffer(SendBufferPolicy(max_bytes=20, on_full="fail"))
    buf.put_audio(b"x" * 15)
    with pytest.raises(BackpressureError, match="max_bytes"):
        buf.put_audio(b"y" * 10)
    assert buf.audio_bytes == 15


def test_drop_oldest_discards_old_audio_but_never_control_frames() -> None:
    buf = SendBuffer(SendBufferPolicy(max_bytes=20, on_full="drop_oldest"))
    buf.put_audio(b"1" * 10)
    buf.put_text('{"type":"Finalize"}')
    buf.put_audio(b"2" * 10)
    buf.put_audio(b"3" * 10)
    items, _ = buf.take_all()
    assert items == ['{"type":"Finalize"}', b"2" * 10, b"3" * 10]
    assert buf.take_dropped() == 10 and buf.take_dropped() == 0
    assert buf.dropped_total == 10


def test_block_policy_waits_for_room_then_times_out() -> None:
    buf = SendBuffer(SendBufferPolicy(max_bytes=10, on_full="block", block_timeout=2.0))
    buf.put_audio(b"x" * 10)
    threading.Timer(0.1, buf.take_all).start()
    started = time.monotonic()
    buf.put_audio(b"y" * 5)  # unblocked when the consumer takes the backlog
    assert 0.05 < time.monotonic() - started < 1.5
    quick = SendBuffer(SendBufferPolicy(max_bytes=10, on_full="block", block_timeout=0.1))
    quick.put_audio(b"x" * 10)
    with pytest.raises(BackpressureError, match="stayed full"):
        quick.put_audio(b"y")


def test_a_chunk_larger_than_the_bound_is_accepted_when_nothing_is_queued() -> None:
    buf = SendBuffer(SendBufferPolicy(max_bytes=10, on_full="fail"))
    buf.put_audio(b"z" * 50)
    assert buf.audio_bytes == 50


def test_closing_the_buffer_wakes_a_blocked_producer_with_the_error() -> None:
    buf = SendBuffer(SendBufferPolicy(max_bytes=10, on_full="block", block_timeout=5.0))
    buf.put_audio(b"x" * 10)
    threading.Timer(0.1, buf.close, args=(lambda: ConnectionClosedError(1011, "gone"),)).start()
    with pytest.raises(ConnectionClosedError):
        buf.put_audio(b"y")
    with pytest.raises(ConnectionClosedError):
        buf.put_text("{}")


def test_bounds_in_seconds_use_the_audio_byte_rate() -> None:
    assert audio_bytes_per_second("linear16", 16000, 2) == 64000.0
    assert audio_bytes_per_second("mulaw", 8000, None) == 8000.0
    assert audio_bytes_per_second("opus", 48000, 1) is None
    policy = SendBufferPolicy(max_bytes=10_000_000, max_seconds=2.0)
    assert policy.limit_bytes(32000.0) == 64000
    with pytest.raises(ValueError, match="byte rate"):
        policy.limit_bytes(None)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"on_full": "explode"}, "on_full"),
        ({"max_bytes": 0}, "max_bytes"),
        ({"block_timeout": -1}, "block_timeout"),
    ],
)
def test_bad_policies_name_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        SendBufferPolicy(**kwargs)


@pytest.mark.parametrize("interval", [0.0, 0.05], ids=["immediate-writes", "flush-window"])
def test_a_stalled_server_fails_the_connection_instead_of_blocking_forever(
    make_server: Any, interval: float
) -> None:
    server = make_server(close_timeout=0.5)
    server.faults.add(FaultRule(kind="stall", match_tag="stall", duration=30.0))
    log = EventLog()
    cfg = listen_config(
        server.url,
        extra_query={"tag": "stall"},
        send_timeout=0.5,
        audio_flush_interval=interval,
        send_buffer=SendBufferPolicy(max_bytes=512 * 1024, on_full="drop_oldest"),
    )
    conn = Connection.open(cfg, subscribers=[log.queue])
    chunk = b"\x00\x01" * 32 * 1024
    started = time.monotonic()
    with pytest.raises(ConnectionClosedError):
        while time.monotonic() - started < 20.0:
            conn.send_audio(chunk)  # never blocks under drop_oldest; raises once the connection failed
            time.sleep(0.0005)
    events = log.until_closed()
    failed = [e for e in events if isinstance(e, ConnectionFailed)]
    assert failed and "stopped reading" in str(failed[0].error)
    assert any(isinstance(e, Backpressure) and e.dropped_bytes > 0 for e in events)
    assert conn.result is not None and conn.result.metrics.bytes_dropped > 0
    assert conn.wait_closed(5.0) and not any(t.is_alive() for t in conn.threads)


def test_fail_policy_surfaces_to_the_sender_while_the_server_stalls(make_server: Any) -> None:
    server = make_server(close_timeout=0.5)
    server.faults.add(FaultRule(kind="stall", match_tag="stall2", duration=30.0))
    cfg = listen_config(
        server.url,
        extra_query={"tag": "stall2"},
        send_timeout=5.0,
        send_buffer=SendBufferPolicy(max_bytes=256 * 1024, on_full="fail"),
    )
    conn = Connection.open(cfg)
    chunk = b"\x00\x01" * 16 * 1024
    with pytest.raises(BackpressureError):
        for _ in range(10_000):
            conn.send_audio(chunk)
    conn.close()
    assert conn.wait_closed(10.0)


def test_close_is_prompt_even_while_a_send_is_blocked_on_a_stalled_server(make_server: Any) -> None:
    server = make_server(close_timeout=0.5)
    server.faults.add(FaultRule(kind="stall", match_tag="stall3", duration=30.0))
    cfg = listen_config(
        server.url,
        extra_query={"tag": "stall3"},
        send_timeout=30.0,  # the actor's send would block this long without the handle's abort
        close_timeout=0.3,
        send_buffer=SendBufferPolicy(max_bytes=64 * 1024 * 1024, on_full="drop_oldest"),
    )
    conn = Connection.open(cfg)
    chunk = b"\x00\x01" * 64 * 1024
    for _ in range(200):  # 25 MB: far more than the socket buffers hold
        conn.send_audio(chunk)
    time.sleep(0.3)
    started = time.monotonic()
    result = conn.close()
    assert time.monotonic() - started < 3.0
    assert result is not None
    assert not any(t.is_alive() for t in conn.threads)


def test_a_full_subscriber_queue_cannot_stall_the_reader(local_server: Any) -> None:
    import queue

    from actors.server.engines.deterministic import synthesize_words
    from tests.runtime.runtime_support import RATE, transcript

    stuck: queue.Queue[Any] = queue.Queue(maxsize=1)  # nobody ever reads it
    log = EventLog()
    conn = Connection.open(
        listen_config(local_server.url, queue_put_timeout=0.05), subscribers=[stuck, log.queue]
    )
    conn.send_audio(synthesize_words(["still", "flowing"], sample_rate=RATE))
    result = conn.finish(timeout=10.0)
    assert result.ok
    assert transcript(log.until_closed()) == ["still", "flowing"]
    assert result.metrics.events_dropped >= 3
