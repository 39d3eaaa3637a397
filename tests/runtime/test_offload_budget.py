"""Thread budget with offloaded subscribers: 200 live connections cost 2 threads each plus the
dispatcher pool's fixed few -- never a thread per subscriber.

The server runs in its own process so every thread counted here is the client's.
"""

from __future__ import annotations

import threading
from typing import Any

from actors.runtime import Connection, Offload
from actors.runtime.dispatch import DispatchPool
from actors.runtime.events import Closed, Opened
from actors.server.engines.deterministic import synthesize_words
from tests.runtime.runtime_support import RATE, listen_config

CONNECTIONS = 200
POOL_SIZE = 3


class Tally:
    """An offloaded callback shared by nothing: counts Opened and Closed per connection."""

    def __init__(self, all_opened: threading.Semaphore) -> None:
        self.all_opened = all_opened
        self.closed = threading.Event()
        self.thread_names: set[str] = set()

    def __call__(self, event: Any) -> None:
        self.thread_names.add(threading.current_thread().name)
        if isinstance(event, Opened):
            self.all_opened.release()
        elif isinstance(event, Closed):
            self.closed.set()


def test_two_hundred_connections_with_offloaded_subscribers_add_only_the_pool_threads(
    server_url: str,
) -> None:
    pool = DispatchPool(size=POOL_SIZE, name="actors-dispatch-budget")
    opened = threading.Semaphore(0)
    tallies = [Tally(opened) for _ in range(CONNECTIONS)]
    before = threading.active_count()
    connections: list[Connection] = []
    try:
        for i, tally in enumerate(tallies):
            conn = Connection.start(
                listen_config(server_url), subscribers=[Offload(tally, pool=pool)], stream_id=f"off-{i}"
            )
            connections.append(conn)
        for conn in connections:
            conn.wait_open(timeout=30)
        audio = synthesize_words(["budget"], RATE)
        for conn in connections:
            conn.send_audio(audio)
        for _ in range(CONNECTIONS):  # every offloaded subscriber has run on the pool
            assert opened.acquire(timeout=30)

        live = sum(not conn.closed.is_set() for conn in connections)
        assert live == CONNECTIONS
        added = threading.active_count() - before
        names = [t.name for t in threading.enumerate()]
        assert added <= 2 * live + POOL_SIZE, sorted(names)
        assert sum(n.startswith("actors-dispatch-budget-") for n in names) == POOL_SIZE
        ran_on = set().union(*(t.thread_names for t in tallies))
        assert ran_on <= {f"actors-dispatch-budget-{i}" for i in range(POOL_SIZE)}
    finally:
        for conn in connections:
            conn.abort(wait=False)
        for conn in connections:
            assert conn.wait_closed(timeout=30)
    assert all(t.closed.wait(10) for t in tallies)
    assert pool.shutdown(timeout=10)
    assert threading.active_count() <= before
