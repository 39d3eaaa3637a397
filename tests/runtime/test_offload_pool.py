"""The dispatcher pool: fixed named threads, started lazily, joined on shutdown, restartable."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from actors.errors import OptionsError
from actors.runtime import dispatch
from actors.runtime.dispatch import DispatchPool
from actors.runtime.subscribers import Offload, SubscriberSet


def test_threads_start_lazily_with_their_names_and_are_joined_on_shutdown() -> None:
    pool = DispatchPool(size=3, name="actors-dispatch-names")
    assert pool.threads() == ()  # nothing started before work arrives
    done = threading.Event()
    offload = Offload(lambda _e: done.set(), pool=pool)
    SubscriberSet([offload]).broadcast("go")
    assert done.wait(5.0)
    threads = pool.threads()
    assert [t.name for t in threads] == [f"actors-dispatch-names-{i}" for i in range(3)]
    assert all(t.is_alive() for t in threads)
    assert pool.shutdown(timeout=5.0)
    assert not any(t.is_alive() for t in threads)
    assert pool.threads() == ()
    # Later work starts a new generation of the same fixed size.
    again = threading.Event()
    SubscriberSet([Offload(lambda _e: again.set(), pool=pool)]).broadcast("go")
    assert again.wait(5.0) and len(pool.threads()) == 3
    assert pool.shutdown(timeout=5.0)


def test_shutdown_lets_queued_work_run_first() -> None:
    pool = DispatchPool(size=1, name="actors-dispatch-drain")
    seen: list[Any] = []
    offload = Offload(seen.append, pool=pool)
    subscribers = SubscriberSet([offload])
    for i in range(100):
        subscribers.broadcast(i)
    assert pool.shutdown(timeout=5.0)
    assert seen == list(range(100)) and offload.dropped == 0


def test_shutdown_is_bounded_by_a_stuck_callback_and_discards_what_is_left() -> None:
    pool = DispatchPool(size=1, name="actors-dispatch-stuck")
    gate = threading.Event()
    running = threading.Event()

    def stuck(event: Any) -> None:
        running.set()
        gate.wait(10.0)

    blocker = Offload(stuck, pool=pool)
    waiting: list[Any] = []
    behind = Offload(waiting.append, pool=pool)
    SubscriberSet([blocker]).broadcast("hold")
    assert running.wait(5.0)
    SubscriberSet([behind]).broadcast("never runs")
    thread = pool.threads()[0]
    assert pool.shutdown(timeout=0.2) is False  # the thread is still inside stuck()
    assert behind.dropped == 1 and waiting == []
    assert behind.wait_idle(0)  # discarded work is not pending any more
    gate.set()
    thread.join(5.0)
    assert not thread.is_alive()  # it ends once the callback returns


def test_the_shared_pool_cannot_be_resized_while_running() -> None:
    assert dispatch.shutdown_shared_pool(timeout=5.0)
    pool = dispatch.configure_shared_pool(2)
    try:
        assert dispatch.shared_pool() is pool and pool.size == 2
        done = threading.Event()
        SubscriberSet([Offload(lambda _e: done.set())]).broadcast("go")  # default: the shared pool
        assert done.wait(5.0)
        assert [t.name for t in pool.threads()] == ["actors-dispatch-0", "actors-dispatch-1"]
        with pytest.raises(OptionsError, match="shutdown_shared_pool"):
            dispatch.configure_shared_pool(3)
    finally:
        assert dispatch.shutdown_shared_pool(timeout=5.0)
        dispatch.configure_shared_pool(dispatch.DEFAULT_POOL_SIZE)
    assert dispatch.shared_pool().size == dispatch.DEFAULT_POOL_SIZE


def test_pool_size_must_be_a_positive_whole_number() -> None:
    with pytest.raises(OptionsError, match="size"):
        DispatchPool(size=0)
