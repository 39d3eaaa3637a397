"""The transcript store on PostgreSQL (a throwaway Debian server): the shared contract plus outages."""

from __future__ import annotations

import threading

import pytest

from actors.ingest.store import Segment, SegmentWriter, StoreUnavailable, open_store
from tests.ingest.store_contract import *  # noqa: F403 -- the shared contract tests
from tests.ingest.store_contract import call_start
from tests.support.postgres import PostgresServer


@pytest.fixture
def store_url(postgres_url: str) -> str:
    """A new, empty database on the session's PostgreSQL server."""
    return postgres_url


@pytest.mark.timeout(60)
def test_outage_holds_rows_and_recovers(postgres_server: PostgresServer, postgres_url: str) -> None:
    store = open_store(postgres_url)
    store.start_call(call_start())
    writer = SegmentWriter(store, interval=0.01, backoff_initial=0.05, backoff_max=0.2)
    committed: list[str] = []
    all_committed = threading.Event()

    def on_committed(segment: Segment) -> None:
        committed.append(segment.key)
        if len(committed) == 6:
            all_committed.set()

    try:
        for n in range(3):
            writer.add(Segment("call-1", 0, float(n), n + 1.0, f"before {n}"), on_committed)
        assert writer.flush(10)
        postgres_server.stop()
        try:
            for n in range(3, 6):
                writer.add(Segment("call-1", 0, float(n), n + 1.0, f"during {n}"), on_committed)
            assert writer.wait_for_health(False, 10)
            assert writer.last_error is not None
            assert len(committed) == 3 and writer.pending == 3
            assert store.ping() is False
            with pytest.raises(StoreUnavailable, match="postgresql store"):
                store.end_call("call-1", "completed")
        finally:
            postgres_server.start()
        assert all_committed.wait(20)
        assert writer.healthy and store.ping()
        store.end_call("call-1", "completed")
    finally:
        assert writer.stop() == 0
    detail = store.get_call("call-1")
    assert detail is not None and detail.call.status == "completed"
    assert [s.transcript for s in detail.segments] == [f"before {n}" for n in range(3)] + [
        f"during {n}" for n in range(3, 6)
    ]
    store.close()


def test_unreachable_server_is_a_clear_error() -> None:
    with pytest.raises(
        StoreUnavailable, match=r"postgresql store 'postgresql://u:\*\*\*@127.0.0.1:1/x'"
    ) as e:
        open_store("postgresql://u:hunter2@127.0.0.1:1/x")
    assert "hunter2" not in str(e.value)
