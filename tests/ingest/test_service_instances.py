"""The service's instance lease: registered at start (reaping what dead instances left), renewed and
reaping on the ``ingest-lease`` thread, released at stop; a second live instance with the same id is
refused without disturbing the first."""

from __future__ import annotations

import threading

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


def test_start_reaps_dead_instances_and_stop_releases_the_lease(postgres_url: str) -> None:
    dead_instance_with_a_call(postgres_url, "gone", "left-behind")
    with ingest_service(postgres_url, instance_id="svc-1") as service:
        assert service.interrupted_at_start == 1
        assert status(postgres_url, "left-behind") == "interrupted"
        assert registered(postgres_url) == ["svc-1"]
        assert service.store.instance_id == "svc-1"
        exposed = service.metrics.render()[0].decode()
        # The reap at start is counted like the lease thread's.
        assert "actors_ingest_reaped_instances_total 1.0" in exposed, exposed
        assert "actors_ingest_reaped_calls_total 1.0" in exposed, exposed
        assert "actors_ingest_live_instances 1.0" in exposed, exposed
    assert registered(postgres_url) == [], "a clean stop deletes the instance's row"


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
