"""Offload overflow policies, driven through a SubscriberSet exactly as a connection's reader does.

No socket is needed to decide what happens to the (max_pending + 1)-th event, so these tests
broadcast plain values and control the offloaded callback with a gate: deterministic and fast.
The end-to-end behaviour over real sockets is in ``test_offload.py``.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from actors.errors import OptionsError, SubscriberOverflow
from actors.runtime.dispatch import DispatchPool
from actors.runtime.events import Closed, SubscriberError
from actors.runtime.subscribers import Offload, SubscriberSet


class Gated:
    """Records events; blocks in each call until the gate opens. ``running`` is set on entry."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.running = threading.Event()
        self.events: list[Any] = []

    def __call__(self, event: Any) -> None:
        self.running.set()
        if not self.gate.wait(10.0):
            raise AssertionError("the test never opened the gate")
        self.events.append(event)


class Counters:
    """What a connection counts in its metrics."""

    def __init__(self) -> None:
        self.dropped = 0
        self.errors = 0

    def on_dropped(self) -> None:
        self.dropped += 1

    def on_error(self) -> None:
        self.errors += 1


@pytest.fixture
def pool() -> Iterator[DispatchPool]:
    """A private one-thread pool, joined at teardown."""
    private = DispatchPool(size=1, name="actors-dispatch-policy")
    try:
        yield private
    finally:
        assert private.shutdown(timeout=10.0)


def _setup(offload: Offload, gated: Gated) -> tuple[SubscriberSet, queue.Queue[Any], Counters]:
    """A set with the offload and a plain queue; the first event is running (so the queue is empty)."""
    counters = Counters()
    watcher: queue.Queue[Any] = queue.Queue()
    subscribers = SubscriberSet(
        [offload, watcher], on_dropped=counters.on_dropped, on_error=counters.on_error
    )
    subscribers.broadcast("e1")
    assert gated.running.wait(5.0)
    return subscribers, watcher, counters


def _notices(watcher: queue.Queue[Any]) -> list[SubscriberError]:
    items = []
    while not watcher.empty():
        item = watcher.get_nowait()
        if isinstance(item, SubscriberError):
            items.append(item)
    return items


def _timed(subscribers: SubscriberSet, event: Any) -> float:
    started = time.monotonic()
    subscribers.broadcast(event)
    return time.monotonic() - started


def test_block_waits_once_per_episode_then_drops_without_waiting(pool: DispatchPool) -> None:
    gated = Gated()
    offload = Offload(gated, pool=pool, max_pending=2, block_timeout=0.3)
    subscribers, watcher, counters = _setup(offload, gated)
    subscribers.broadcast("e2")
    subscribers.broadcast("e3")  # full now
    assert _timed(subscribers, "e4") >= 0.25  # waited for room, then lost it
    assert _timed(subscribers, "e5") < 0.1  # same episode: lost at once
    assert _timed(subscribers, Closed(1000)) < 0.1  # lifecycle events never wait, never drop
    assert counters.dropped == 2 and offload.dropped == 2 and counters.errors == 0
    notices = _notices(watcher)
    assert len(notices) == 1
    assert isinstance(notices[0].error, SubscriberOverflow) and notices[0].error.policy == "block"
    assert "max_pending" in str(notices[0].error)
    gated.gate.set()
    assert offload.wait_idle(5.0)
    assert gated.events == ["e1", "e2", "e3", Closed(1000)]
    # Drained: the episode is over and the next event is queued normally.
    subscribers.broadcast("e6")
    assert offload.wait_idle(5.0) and gated.events[-1] == "e6"


def test_block_keeps_the_event_when_room_appears_within_the_timeout(pool: DispatchPool) -> None:
    gated = Gated()
    offload = Offload(gated, pool=pool, max_pending=1, block_timeout=5.0)
    subscribers, _watcher, counters = _setup(offload, gated)
    subscribers.broadcast("e2")  # full

    def open_later() -> None:
        time.sleep(0.2)  # simulated time passing before the callback frees a slot
        gated.gate.set()

    opener = threading.Thread(target=open_later, name="test-opener")
    opener.start()
    waited = _timed(subscribers, "e3")
    opener.join()
    assert 0.1 < waited < 4.0
    assert offload.wait_idle(5.0)
    assert gated.events == ["e1", "e2", "e3"] and counters.dropped == 0


def test_drop_oldest_never_waits_and_keeps_the_newest(pool: DispatchPool) -> None:
    gated = Gated()
    offload = Offload(gated, pool=pool, max_pending=2, on_full="drop_oldest", block_timeout=5.0)
    subscribers, watcher, counters = _setup(offload, gated)
    for event in ("e2", "e3", "e4", "e5"):
        assert _timed(subscribers, event) < 0.1
    assert counters.dropped == 2 and offload.dropped == 2
    assert len(_notices(watcher)) == 1  # one per episode
    gated.gate.set()
    assert offload.wait_idle(5.0)
    assert [e for e in gated.events if not isinstance(e, SubscriberError)] == ["e1", "e4", "e5"]


def test_fail_unsubscribes_and_reports_once(pool: DispatchPool) -> None:
    gated = Gated()
    offload = Offload(gated, pool=pool, max_pending=1, on_full="fail")
    subscribers, watcher, counters = _setup(offload, gated)
    subscribers.broadcast("e2")  # full
    assert _timed(subscribers, "e3") < 0.1
    assert len(subscribers) == 1  # only the watcher is left
    assert offload.failed is not None and offload.failed.policy == "fail"
    assert counters.dropped == 1 and counters.errors == 1
    notices = _notices(watcher)
    assert [n.error for n in notices] == [offload.failed]
    assert "unsubscribed" in str(offload.failed)
    subscribers.broadcast("e4")
    gated.gate.set()
    assert offload.wait_idle(5.0)
    assert gated.events == ["e1", "e2"]  # what was accepted still runs; nothing after the failure


def test_errors_of_the_callback_are_reported_at_the_next_delivery(pool: DispatchPool) -> None:
    ran = threading.Event()

    def broken(event: Any) -> None:
        ran.set()
        if event == "bad":
            raise ValueError("bad event")

    offload = Offload(broken, pool=pool)
    counters = Counters()
    watcher: queue.Queue[Any] = queue.Queue()
    subscribers = SubscriberSet([offload, watcher], on_error=counters.on_error)
    subscribers.broadcast("bad")
    assert offload.wait_idle(5.0) and ran.is_set()
    assert offload.errors == 1 and counters.errors == 0  # not reported yet: no delivery since
    subscribers.broadcast("next")
    notices = _notices(watcher)
    assert len(notices) == 1 and isinstance(notices[0].error, ValueError)
    assert counters.errors == 1
    subscribers.broadcast("again")
    assert _notices(watcher) == []  # reported once


def test_one_offload_on_two_sets_reports_each_error_to_the_set_that_delivered_it(
    pool: DispatchPool,
) -> None:
    def broken(event: Any) -> None:
        if event == "bad":
            raise ValueError(event)

    offload = Offload(broken, pool=pool)
    first_watch: queue.Queue[Any] = queue.Queue()
    second_watch: queue.Queue[Any] = queue.Queue()
    first = SubscriberSet([offload, first_watch])
    second = SubscriberSet([offload, second_watch])
    second.broadcast("bad")
    assert offload.wait_idle(5.0)
    first.broadcast("x")
    second.broadcast("y")
    assert _notices(first_watch) == []
    assert len(_notices(second_watch)) == 1


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"max_pending": 0}, "max_pending"),
        ({"max_pending": True}, "max_pending"),
        ({"on_full": "drop_newest"}, "on_full"),
        ({"block_timeout": 0}, "block_timeout"),
        ({"block_timeout": "5"}, "block_timeout"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(OptionsError) as caught:
        Offload(print, **kwargs)
    assert caught.value.name == name and name in str(caught.value)


def test_fn_must_be_a_plain_callable() -> None:
    with pytest.raises(TypeError, match=r"fn must be a plain callable.*int"):
        Offload(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="offloaded already"):
        Offload(Offload(print))  # type: ignore[arg-type]
