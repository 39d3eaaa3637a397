"""Instance leases and the reaper (actors.ingest.store.instances), on SQLite and on PostgreSQL.

Leases are made to expire by writing ``lease_expires_at`` in the past (the database's clock decides),
so no test waits for one to run out.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.ingest.store import (
    MIGRATIONS,
    InstanceConflict,
    InstanceLeases,
    Segment,
    StoreURL,
    TranscriptStore,
    open_store,
)
from actors.ingest.store._db import SqliteConnection, connect
from actors.ingest.store._schema import migrate
from tests.ingest.store_contract import call_start
from tests.support.leases import expire_lease


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty store of each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/ingest.sqlite3"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def two(store_url: str) -> Iterator[tuple[TranscriptStore, TranscriptStore]]:
    """Two stores on one database, as instances ``a`` and ``b`` would open it."""
    a = open_store(store_url, instance_id="a")
    b = open_store(store_url, instance_id="b")
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def test_calls_record_their_instance_and_ids_are_unique_across_instances(
    two: tuple[TranscriptStore, TranscriptStore],
) -> None:
    a, b = two
    assert a.start_call(call_start("c-1")) is True
    assert b.start_call(call_start("c-1")) is False, "a call id is taken for every instance"
    assert b.start_call(call_start("c-2")) is True
    owners = {c.id: c.instance_id for c in a.list_calls()}
    assert owners == {"c-1": "a", "c-2": "b"}, "each instance lists every instance's calls"


def test_reaper_interrupts_only_the_expired_instances_calls_and_keeps_their_segments(
    two: tuple[TranscriptStore, TranscriptStore],
) -> None:
    a, b = two
    leases_a = InstanceLeases(a, "a", 30.0)
    leases_b = InstanceLeases(b, "b", 30.0)
    try:
        assert leases_a.register() == () and leases_b.register() == ()
        a.start_call(call_start("a-1"))
        b.start_call(call_start("b-1"))
        a.add_segments([Segment("a-1", 0, 0.0, 1.0, "kept")])
        assert leases_a.reap().calls == () and leases_b.reap().calls == (), "live leases are not reaped"
        expire_lease(b, "a")
        assert leases_a.renew() is True  # a renews; b's reaper runs before a renews in real life
        expire_lease(b, "a")
        reaped = leases_b.reap()
        assert reaped.instances == ("a",) and reaped.calls == ("a-1",)
        assert leases_b.reap().calls == (), "a reaped instance is reaped once"
        detail = b.get_call("a-1")
        assert detail is not None and detail.call.status == "interrupted" and detail.call.ended_at
        assert [s.transcript for s in detail.segments] == ["kept"]
        other = b.get_call("b-1")
        assert other is not None and other.call.status == "active"
        assert [i.id for i in leases_b.instances()] == ["b"]
        assert leases_a.renew() is False, "a finds its lease was taken, and registers again"
        assert {i.id for i in leases_b.instances()} == {"a", "b"}
    finally:
        leases_a.close()
        leases_b.close()


def test_a_live_id_is_refused_and_an_expired_one_is_taken_over(
    two: tuple[TranscriptStore, TranscriptStore], store_url: str
) -> None:
    a, _ = two
    first = InstanceLeases(a, "a", 30.0)
    again = InstanceLeases(a, "a", 30.0)
    try:
        first.register()
        a.start_call(call_start("a-1"))
        with pytest.raises(InstanceConflict, match="held by a live lease"):
            again.register()
        expire_lease(a, "a")
        assert len(again.register()) == 1, "the dead run's active call is interrupted at take-over"
        detail = a.get_call("a-1")
        assert detail is not None and detail.call.status == "interrupted"
    finally:
        first.close()
        again.close()


def test_registration_takes_only_this_ids_previous_run(
    two: tuple[TranscriptStore, TranscriptStore],
) -> None:
    """An expired lease of another id may be a live instance's that could not renew (a database
    outage): register leaves it to the reaper. Calls of its own id still active are a previous run's,
    even when that run's row was already reaped."""
    a, b = two
    other = InstanceLeases(a, "a", 30.0)
    other.register()
    a.start_call(call_start("a-1"))
    expire_lease(a, "a")
    b.start_call(call_start("b-1"))  # a previous run of "b" whose row is gone
    leases = InstanceLeases(b, "b", 30.0)
    try:
        assert len(leases.register()) == 1
        calls = {c.id: c.status for c in b.list_calls()}
        assert calls == {"a-1": "active", "b-1": "interrupted"}
        assert sorted(i.id for i in leases.instances()) == ["a", "b"]
    finally:
        other.close()
        leases.close()


def test_release_interrupts_what_is_left_and_removes_the_row(
    two: tuple[TranscriptStore, TranscriptStore],
) -> None:
    a, b = two
    leases = InstanceLeases(a, "a", 30.0)
    leases.register()
    a.start_call(call_start("a-1"))
    a.start_call(call_start("a-2"))
    a.end_call("a-2", "completed")
    assert len(leases.release()) == 1
    calls = {c.id: c.status for c in b.list_calls()}
    assert calls == {"a-1": "interrupted", "a-2": "completed"}
    assert InstanceLeases(b, "b", 30.0).instances() == []


def test_calls_without_a_registered_owner_are_reaped(two: tuple[TranscriptStore, TranscriptStore]) -> None:
    a, b = two
    a.start_call(call_start("nobody"))  # instance "a" never registered: no live instance serves it
    leases = InstanceLeases(b, "b", 30.0)
    try:
        leases.register()
        assert leases.reap().calls == ("nobody",)
    finally:
        leases.close()


def test_exclusive_registration_takes_every_other_row_for_dead(store_url: str) -> None:
    store = open_store(store_url, instance_id="old")
    old = InstanceLeases(store, "old", 30.0)
    old.register()
    store.start_call(call_start("old-1"))
    new = InstanceLeases(store, "new", 30.0, exclusive=True)
    try:
        assert len(new.register()) == 1
        assert [i.id for i in new.instances()] == ["new"]
    finally:
        old.close()
        new.close()
        store.close()


def test_concurrent_reapers_take_each_dead_instance_once(store_url: str) -> None:
    stores = [open_store(store_url, instance_id=f"r{n}") for n in range(4)]
    dead = InstanceLeases(stores[0], "dead", 30.0)
    dead.register()
    dead.close()
    owner = open_store(store_url, instance_id="dead")
    for n in range(20):
        owner.start_call(call_start(f"d-{n}"))
    owner.close()
    expire_lease(stores[0], "dead")
    reapers = [InstanceLeases(s, f"r{n}", 30.0) for n, s in enumerate(stores)]
    for reaper in reapers:
        reaper.register()
    results: list[tuple[str, ...]] = []
    barrier = threading.Barrier(len(reapers))

    def run(reaper: InstanceLeases) -> None:
        barrier.wait(10)
        results.append(reaper.reap().calls)

    threads = [
        threading.Thread(target=run, args=(r,), name=f"test-reaper-{n}") for n, r in enumerate(reapers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    try:
        taken = [call for calls in results for call in calls]
        assert sorted(taken) == sorted(f"d-{n}" for n in range(20)), "every call reaped exactly once"
    finally:
        for reaper in reapers:
            reaper.close()
        for s in stores:
            s.close()


def test_a_version_2_database_migrates_to_instances(store_url: str) -> None:
    conn = connect(StoreURL.parse(store_url))
    try:
        assert migrate(conn, MIGRATIONS[:2]) == 2  # as the release before instances left it
        with conn.transaction():
            conn.execute(
                "INSERT INTO calls (id, platform, platform_ids, started_at, ended_at, status, request_ids,"
                " metadata, language, channels, stats)"
                " VALUES ('v2', 'twilio', '{}', 1.0, NULL, 'active', '[]', '{}', NULL, '[\"inbound\"]', '{}')"
            )
    finally:
        conn.close()
    store = open_store(store_url, instance_id="new")
    leases = InstanceLeases(store, "new", 30.0)
    try:
        detail = store.get_call("v2")
        assert detail is not None and detail.call.instance_id is None and detail.call.status == "active"
        leases.register()
        assert leases.reap().calls == ("v2",), "a call left active by the old release is reaped"
    finally:
        leases.close()
        store.close()


def test_instances_starting_together_on_an_empty_database_migrate_it_once(store_url: str) -> None:
    from tests.support.threads import run_together

    opened = run_together(
        6,
        lambda n: open_store(store_url, instance_id=f"i{n}"),
        name="test-open-store",
        start_timeout=10,
        join_timeout=60,
    )
    try:
        failures = [o for o in opened.values() if not isinstance(o, TranscriptStore)]
        assert not failures, failures
        conn = connect(StoreURL.parse(store_url))
        try:
            assert conn.execute("SELECT version FROM schema_version") == [(len(MIGRATIONS),)]
        finally:
            conn.close()
    finally:
        for store in opened.values():
            if isinstance(store, TranscriptStore):
                store.close()


def test_six_openers_of_a_new_sqlite_file_all_get_it_every_time(tmp_path: Path) -> None:
    """Switching a new file to WAL is reported "locked" at once, without the busy handler; each
    opener retries (it failed 1 opener in 100 before)."""
    from tests.support.threads import run_together

    for round_ in range(30):
        path = tmp_path / f"new-{round_}.sqlite3"
        opened = run_together(
            6,
            lambda _n, path=path: SqliteConnection(path),
            name="test-open-new",
            start_timeout=10,
            join_timeout=60,
        )
        try:
            assert all(isinstance(o, SqliteConnection) for o in opened.values()), opened
            assert (path.stat().st_mode & 0o777) == 0o600
            assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".new")) == []
        finally:
            for o in opened.values():
                if isinstance(o, SqliteConnection):
                    o.close()


def test_twins_registering_at_the_same_moment_get_one_lease(store_url: str) -> None:
    from tests.support.threads import run_together

    stores = [open_store(store_url, instance_id="twin") for _ in range(4)]
    leases = [InstanceLeases(s, "twin", 30.0) for s in stores]
    try:
        outcomes = run_together(
            4, lambda n: leases[n].register(), name="test-register", start_timeout=10, join_timeout=60
        )
        refused = [o for o in outcomes.values() if isinstance(o, InstanceConflict)]
        assert len(refused) == 3, outcomes
        assert [i.id for i in leases[0].instances()] == ["twin"]
    finally:
        for lease in leases:
            lease.close()
        for store in stores:
            store.close()
