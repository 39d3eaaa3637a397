"""The service's instance lease: registered at start (taking over what its own id's dead run left),
renewed and reaping on the ``ingest-lease`` thread (other instances only after a whole lease),
released at stop; a second live instance with the same id is refused without disturbing the first."""

from __future__ import annotations

import threading
import time

import pytest

from actors.ingest.instances import LeaseKeeper
from actors.ingest.store import InstanceConflict, InstanceLeases, Reaped, open_store
from actors.server import LocalServer
from tests.ingest.store_contract import call_start
from tests.support.ingest import ingest_service
from tests.support.leases import expire_lease
from tests.support.polling import poll
from tests.support.postgres import PostgresServer


def dead_instance_with_a_call(url: str, instance_id: str, call_id: str) -> None:
    """Register ``instance_id`` with a lease already over, owning one ``active`` call."""
    store = open_store(url, instance_id=instance_id)
    leases = InstanceLeases(store, instance_id, 30.0)
    try:
        leases.register()
        store.start_call(call_start(call_id))
        expire_lease(store, instance_id)
    finally:
        leases.close()
        store.close()


def status(url: str, call_id: str) -> str:
    store = open_store(url)
    try:
        detail = store.get_call(call_id)
        assert detail is not None
        return detail.call.status
    finally:
        store.close()


def registered(url: str) -> list[str]:
    store = open_store(url)
    try:
        return [i.id for i in InstanceLeases(store, "reader", 30.0).instances()]
    finally:
        store.close()


def test_start_takes_its_own_ids_dead_run_and_stop_releases_the_lease(postgres_url: str) -> None:
    dead_instance_with_a_call(postgres_url, "svc-1", "left-behind")
    with ingest_service(postgres_url, instance_id="svc-1") as service:
        assert service.interrupted_at_start == 1
        assert status(postgres_url, "left-behind") == "interrupted"
        assert registered(postgres_url) == ["svc-1"]
        assert service.store.instance_id == "svc-1"
        exposed = service.metrics.render()[0].decode()
        # Taking over its own id is registration, not a reap of another instance.
        assert "actors_ingest_reaped_instances_total 0.0" in exposed, exposed
        assert "actors_ingest_reaped_calls_total 0.0" in exposed, exposed
        assert "actors_ingest_live_instances 1.0" in exposed, exposed
    assert registered(postgres_url) == [], "a clean stop deletes the instance's row"


def test_an_instance_starting_after_an_outage_leaves_the_others_to_its_keeper(postgres_url: str) -> None:
    """Right after a database outage every lease has expired, live instances' too: B's start reaps
    none of them. A, back, renews and stays; C, really dead, is reaped by B's keeper only once B's own
    renewals held for a whole lease."""
    lease = 0.6
    store = open_store(postgres_url, instance_id="a")
    a = InstanceLeases(store, "a", 30.0)
    try:
        a.register()
        store.start_call(call_start("a-call"))
        expire_lease(store, "a")  # A could not renew during the outage
        dead_instance_with_a_call(postgres_url, "c", "c-call")
        started = time.monotonic()
        with ingest_service(postgres_url, instance_id="b", lease_seconds=lease) as b:
            assert b.interrupted_at_start == 0
            assert status(postgres_url, "a-call") == status(postgres_url, "c-call") == "active"
            assert sorted(registered(postgres_url)) == ["a", "b", "c"]
            assert a.renew() is True, "A comes back: its row was not taken"
            poll(lambda: status(postgres_url, "c-call") == "interrupted", 10, "B's keeper to reap C")
            assert time.monotonic() - started >= lease, "reaped before B's own lease held once"
            assert status(postgres_url, "a-call") == "active", "A renewed: it is alive"
            assert sorted(registered(postgres_url)) == ["a", "b"]
            expire_lease(store, "a")  # now A really is dead
            poll(lambda: status(postgres_url, "a-call") == "interrupted", 10, "B's keeper to reap A")
            assert registered(postgres_url) == ["b"]
            exposed = b.metrics.render()[0].decode()
            assert "actors_ingest_reaped_instances_total 2.0" in exposed, exposed
            assert "actors_ingest_reaped_calls_total 2.0" in exposed, exposed
    finally:
        a.close()
        store.close()


def test_the_lease_thread_reaps_an_instance_that_dies_while_the_service_runs(postgres_url: str) -> None:
    with ingest_service(postgres_url, lease_seconds=0.6) as service:
        assert service.instance_id and registered(postgres_url) == [service.instance_id]
        assert any(t.name == "ingest-lease" for t in threading.enumerate())
        dead_instance_with_a_call(postgres_url, "died-later", "running-call")
        poll(lambda: status(postgres_url, "running-call") == "interrupted", 10, "the reaper")
        assert registered(postgres_url) == [service.instance_id], (
            "its own lease is renewed, the dead one gone"
        )
    assert not any(t.name == "ingest-lease" for t in threading.enumerate())


def test_a_second_live_instance_with_the_same_id_is_refused(postgres_url: str) -> None:
    with (
        LocalServer(engine="deterministic") as deepgram,
        ingest_service(postgres_url, deepgram=deepgram, instance_id="twin") as first,
    ):
        first.store.start_call(call_start("first-call"))
        with (
            pytest.raises(InstanceConflict, match="held by a live lease"),
            ingest_service(postgres_url, deepgram=deepgram, instance_id="twin"),
        ):
            pass
        assert registered(postgres_url) == ["twin"], "the refused twin left the first's row alone"
        assert status(postgres_url, "first-call") == "active"
        assert first.store.ping()


def test_the_keeper_reaps_only_after_a_whole_healthy_lease(
    postgres_url: str, postgres_server: PostgresServer
) -> None:
    """After its start, and after a database outage (when every lease, live ones too, may have run
    out), the keeper renews but does not reap until its renewals held for one whole lease."""
    store = open_store(postgres_url, instance_id="keeper")
    leases = InstanceLeases(store, "keeper", 0.5)
    leases.register()
    keeper = LeaseKeeper(leases)  # its thread is not started: the test drives tick()
    try:
        dead_instance_with_a_call(postgres_url, "dead", "dead-call")
        assert keeper.tick() is None and not keeper.may_reap, "too soon after the start"
        assert status(postgres_url, "dead-call") == "active"
        poll(lambda: keeper.may_reap, 10, "a whole lease of healthy renewals")
        reaped = keeper.tick()
        assert reaped is not None and reaped.calls == ("dead-call",)
        postgres_server.stop()
        try:
            assert keeper.tick() is None and not keeper.may_reap
        finally:
            postgres_server.start()
        dead_instance_with_a_call(postgres_url, "dead-2", "dead-call-2")
        assert keeper.tick() is None, "no reaping right after an outage"
        assert status(postgres_url, "dead-call-2") == "active"
        poll(lambda: keeper.may_reap, 10, "a whole lease of healthy renewals after the outage")
        assert keeper.tick() == Reaped(("dead-2",), ("dead-call-2",))
    finally:
        keeper.stop()
        leases.close()
        store.close()
