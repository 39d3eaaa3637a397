"""Offloaded subscribers against the local server: a slow callback no longer stalls the reader.

The "slow" callbacks wait on a gate for 2 s per event (the gate is opened at the end of the test
so the leftovers drain at once instead of keeping the test alive).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from actors.errors import SubscriberOverflow
from actors.runtime import Connection, Offload, RestartPolicy, StreamHandle, Supervisor
from actors.runtime.dispatch import DispatchPool
from actors.runtime.events import Closed, Opened, SubscriberError
from actors.server import LocalServer
from actors.server.engines.deterministic import synthesize_words
from tests.runtime.runtime_support import RATE, EventLog, listen_config, transcript

WORDS = ["one", "two", "three", "four", "five", "six"]
SLOW_SECONDS = 2.0


class SlowRecorder:
    """A callback that takes ``SLOW_SECONDS`` per event (until ``release``) and records what it saw."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.events: list[Any] = []
        self.started = threading.Event()
        self._inside = 0
        self.max_inside = 0
        self._count_lock = threading.Lock()

    def __call__(self, event: Any) -> None:
        with self._count_lock:
            self._inside += 1
            self.max_inside = max(self.max_inside, self._inside)
        self.started.set()
        try:
            self.gate.wait(SLOW_SECONDS)
            self.events.append(event)
        finally:
            with self._count_lock:
                self._inside -= 1

    def release(self) -> None:
        """From now on every event runs at once."""
        self.gate.set()


class TimedLog:
    """A fast inline callback recording when each event arrived."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, Any]] = []
        self.closed = threading.Event()

    def __call__(self, event: Any) -> None:
        self.arrivals.append((time.monotonic(), event))
        if isinstance(event, Closed):
            self.closed.set()

    @property
    def events(self) -> list[Any]:
        return [event for _at, event in self.arrivals]


@pytest.fixture
def pool() -> Iterator[DispatchPool]:
    """A private dispatcher pool (2 threads), shut down and joined at teardown."""
    private = DispatchPool(size=2, name="actors-dispatch-test")
    try:
        yield private
    finally:
        assert private.shutdown(timeout=10.0)


def _send_words(conn: Connection | StreamHandle, words: list[str]) -> None:
    pcm = synthesize_words(words, sample_rate=RATE)
    for i in range(0, len(pcm), 3200):
        conn.send_audio(pcm[i : i + 3200])


def test_a_slow_offloaded_callback_delays_neither_other_subscribers_nor_the_finish(
    local_server: LocalServer, pool: DispatchPool
) -> None:
    slow = SlowRecorder()
    offloaded = Offload(slow, pool=pool)
    fast = TimedLog()
    conn = Connection.open(listen_config(local_server.url), subscribers=[offloaded, fast])
    started = time.monotonic()
    _send_words(conn, WORDS)
    result = conn.finish(timeout=10.0)
    finished = time.monotonic()
    try:
        assert result.ok, result.error
        assert fast.closed.wait(5.0)
        # Inline, the slow callback would hold every event for 2 s: > 20 s for this session.
        assert len(fast.events) >= 5
        assert finished - started < SLOW_SECONDS, f"finish took {finished - started:.1f}s"
        assert fast.arrivals[-1][0] - started < SLOW_SECONDS
        assert transcript(fast.events) == WORDS
        # ...while the offloaded one is still at its first events: it really is slow.
        assert len(slow.events) <= 1
        assert offloaded.pending >= len(fast.events) - 2
    finally:
        slow.release()
    assert offloaded.wait_idle(timeout=10.0)
    # It got everything, in the same order, one at a time.
    assert slow.events == fast.events
    assert slow.max_inside == 1
    assert offloaded.dropped == 0 and conn.metrics.events_dropped == 0


def test_offloaded_events_keep_their_order_and_never_overlap(
    local_server: LocalServer, pool: DispatchPool
) -> None:
    rng = random.Random(7)
    seen: list[Any] = []
    inside = threading.Semaphore(1)
    overlaps: list[Any] = []

    def jittery(event: Any) -> None:
        if not inside.acquire(blocking=False):
            overlaps.append(event)
            return
        try:
            time.sleep(rng.random() * 0.01)  # simulated work of varying length
            seen.append(event)
        finally:
            inside.release()

    collected: list[Any] = []
    offloaded = [Offload(jittery, pool=pool), Offload(collected.append, pool=pool)]
    log = EventLog()
    conn = Connection.open(listen_config(local_server.url), subscribers=[*offloaded, log.queue])
    _send_words(conn, WORDS)
    conn.finish(timeout=10.0)
    expected = log.until_closed()
    assert all(o.wait_idle(timeout=10.0) for o in offloaded)
    assert overlaps == []
    assert seen == expected and collected == expected
    assert isinstance(seen[0], Opened) and isinstance(seen[-1], Closed)


def test_an_overflowing_offload_is_reported_counted_and_never_blocks_with_drop_oldest(
    local_server: LocalServer, pool: DispatchPool
) -> None:
    slow = SlowRecorder()
    offloaded = Offload(slow, pool=pool, max_pending=2, on_full="drop_oldest")
    log = EventLog()
    conn = Connection.open(listen_config(local_server.url), subscribers=[offloaded, log.queue])
    started = time.monotonic()
    _send_words(conn, WORDS)
    result = conn.finish(timeout=10.0)
    elapsed = time.monotonic() - started
    events = log.until_closed()
    slow.release()
    assert offloaded.wait_idle(timeout=10.0)

    assert elapsed < SLOW_SECONDS
    notices = [e for e in events if isinstance(e, SubscriberError)]
    assert len(notices) == 1, notices  # once per overflow episode, not once per lost event
    overflow = notices[0].error
    assert isinstance(overflow, SubscriberOverflow) and overflow.policy == "drop_oldest"
    assert notices[0].subscriber == repr(offloaded)
    assert result.metrics.events_dropped == offloaded.dropped > 0
    # The newest events survived, Closed (a lifecycle event) included.
    assert isinstance(slow.events[-1], Closed)
    positions = [next(i for i, e in enumerate(events) if e is kept) for kept in slow.events]
    assert positions == sorted(positions)  # what it got is in wire order


def test_a_failing_callback_on_the_pool_is_reported_as_subscriber_error(
    local_server: LocalServer, pool: DispatchPool
) -> None:
    def broken(event: Any) -> None:
        if isinstance(event, Opened):
            raise RuntimeError("cannot handle Opened")

    offloaded = Offload(broken, pool=pool)
    log = EventLog()
    conn = Connection.open(listen_config(local_server.url), subscribers=[offloaded, log.queue])
    assert offloaded.wait_idle(timeout=5.0)  # Opened has run (and raised) before any audio
    _send_words(conn, ["hello"])
    result = conn.finish(timeout=10.0)
    events = log.until_closed()
    notices = [e for e in events if isinstance(e, SubscriberError)]
    assert len(notices) == 1
    assert isinstance(notices[0].error, RuntimeError) and notices[0].subscriber == repr(offloaded)
    assert result.metrics.subscriber_errors == 1
    assert offloaded.errors == 1
    assert transcript(events) == ["hello"]  # the connection went on


def test_a_slow_inline_callback_is_named_once_in_a_warning_suggesting_offload(
    local_server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    def sluggish_inline_callback(event: Any) -> None:
        if isinstance(event, Opened):
            time.sleep(0.15)  # slower than the 100 ms threshold, once

    caplog.set_level(logging.WARNING, logger="actors.runtime.subscribers")
    for _ in range(2):  # the second connection does not warn again about the same callback
        conn = Connection.open(
            listen_config(local_server.url), subscribers=[sluggish_inline_callback, lambda e: None]
        )
        conn.finish(timeout=10.0)
    warnings = [r.getMessage() for r in caplog.records if "connection's thread" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert "sluggish_inline_callback" in warnings[0] and "Offload" in warnings[0]
    assert "took" in warnings[0] and "ms" in warnings[0]


def test_a_supervised_stream_with_a_slow_offloaded_subscriber_finishes_on_time(
    local_server: LocalServer, pool: DispatchPool
) -> None:
    slow = SlowRecorder()
    offloaded = Offload(slow, pool=pool)
    fast = TimedLog()
    with Supervisor(max_connections=2) as sup:
        handle = sup.open_stream(
            listen_config(local_server.url), subscribers=[offloaded, fast], restart=RestartPolicy.never()
        )
        assert handle.wait_open(timeout=10)
        started = time.monotonic()
        _send_words(handle, WORDS)
        result = handle.finish(timeout=10.0)
        elapsed = time.monotonic() - started
    try:
        assert result.error is None, result.error
        assert elapsed < SLOW_SECONDS, f"finish took {elapsed:.1f}s"
        assert fast.closed.wait(5.0) and transcript(fast.events) == WORDS
        assert len(slow.events) <= 1
    finally:
        slow.release()
    assert offloaded.wait_idle(timeout=10.0)
    assert slow.events == fast.events


def test_an_offloaded_callback_may_finish_its_own_connection(
    local_server: LocalServer, pool: DispatchPool
) -> None:
    holder: dict[str, Connection] = {}
    results: list[Any] = []

    def finish_on_first_final(event: Any) -> None:
        if getattr(event, "type", None) == "Results" and event.is_final and not results:
            results.append(holder["conn"].finish(timeout=10.0))  # blocks a pool thread, not the reader

    offloaded = Offload(finish_on_first_final, pool=pool)
    log = EventLog()
    conn = Connection.open(listen_config(local_server.url), subscribers=[offloaded, log.queue])
    holder["conn"] = conn
    # One call: no final (and so no finish) can come before all the audio is queued.
    conn.send_audio(synthesize_words(["first", "second"], sample_rate=RATE))
    events = log.until_closed(timeout=10.0)
    assert offloaded.wait_idle(timeout=10.0)
    assert len(results) == 1 and results[0].ok
    assert events[-1] == Closed(1000, "")


def test_a_slow_callback_on_a_supervised_stream_is_named_not_the_streams_forwarder(
    local_server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    def sluggish_stream_callback(event: Any) -> None:
        if getattr(event, "type", None) == "Results":
            time.sleep(0.15)  # slower than the 100 ms threshold

    caplog.set_level(logging.WARNING, logger="actors.runtime.subscribers")
    with Supervisor(max_connections=2) as sup:
        handle = sup.open_stream(
            listen_config(local_server.url),
            subscribers=[sluggish_stream_callback],
            restart=RestartPolicy.never(),
        )
        _send_words(handle, ["slow"])
        assert handle.finish(timeout=10.0).error is None
    warnings = [r.getMessage() for r in caplog.records if "connection's thread" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert "sluggish_stream_callback" in warnings[0]
