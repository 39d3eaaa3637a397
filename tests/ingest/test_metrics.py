"""IngestMetrics: names, labels, values through render() and value(), its own registry, bad labels."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from actors.ingest.metrics import CALL_OUTCOMES, PLATFORMS, REFUSAL_REASONS, IngestMetrics
from actors.ingest.store import open_store
from tests.ingest.store_contract import call_start

EXPECTED = {
    "actors_ingest_active_calls": "gauge",
    "actors_ingest_calls": "counter",
    "actors_ingest_refused_calls": "counter",
    "actors_ingest_waiting_calls": "gauge",
    "actors_ingest_audio_seconds": "counter",
    "actors_ingest_finals_stored": "counter",
    "actors_ingest_reconnects": "counter",
    "actors_ingest_time_to_first_result_seconds": "histogram",
    "actors_ingest_finalize_latency_seconds": "histogram",
    "actors_ingest_final_to_commit_seconds": "histogram",
    "actors_ingest_store_commit_seconds": "histogram",
    "actors_ingest_store_up": "gauge",
    "actors_ingest_draining": "gauge",
    "actors_ingest_reaped_instances": "counter",
    "actors_ingest_reaped_calls": "counter",
    "actors_ingest_live_instances": "gauge",
}


def families(metrics: IngestMetrics) -> dict[str, Metric]:
    body, content_type = metrics.render()
    assert content_type == CONTENT_TYPE_LATEST
    # prometheus_client also exposes a ``*_created`` gauge per counter and histogram (its default).
    return {
        f.name: f for f in text_string_to_metric_families(body.decode()) if not f.name.endswith("_created")
    }


def test_every_metric_is_exposed_with_help_type_and_every_labelled_series_at_zero() -> None:
    metrics = IngestMetrics()
    found = families(metrics)
    assert {name: f.type for name, f in found.items()} == EXPECTED
    for name, family in found.items():
        assert family.documentation, f"{name} has no help text"
    body = metrics.render()[0].decode()
    for platform in PLATFORMS:
        assert metrics.value("actors_ingest_active_calls", platform=platform) == 0
        assert metrics.value("actors_ingest_audio_seconds_total", platform=platform) == 0
        for outcome in CALL_OUTCOMES:
            assert metrics.value("actors_ingest_calls_total", platform=platform, outcome=outcome) == 0
        for reason in REFUSAL_REASONS:
            assert metrics.value("actors_ingest_refused_calls_total", platform=platform, reason=reason) == 0
    assert 'actors_ingest_refused_calls_total{platform="twilio",reason="capacity"} 0.0' in body
    assert set(PLATFORMS) == {"audiohook", "twilio", "stream"}


def test_calls_started_ended_and_refused() -> None:
    metrics = IngestMetrics()
    metrics.call_started("audiohook")
    metrics.call_started("audiohook")
    metrics.call_started("twilio")
    metrics.call_ended("audiohook", "completed")
    metrics.call_ended("twilio", "drained")
    metrics.call_refused("stream", "capacity")
    metrics.call_refused("audiohook", "unauthorized")
    metrics.call_refused("audiohook", "unauthorized")
    assert metrics.value("actors_ingest_active_calls", platform="audiohook") == 1
    assert metrics.value("actors_ingest_active_calls", platform="twilio") == 0
    assert metrics.value("actors_ingest_calls_total", platform="audiohook", outcome="completed") == 1
    assert metrics.value("actors_ingest_calls_total", platform="twilio", outcome="drained") == 1
    assert metrics.value("actors_ingest_calls_total", platform="twilio", outcome="completed") == 0
    assert metrics.value("actors_ingest_refused_calls_total", platform="stream", reason="capacity") == 1
    assert (
        metrics.value("actors_ingest_refused_calls_total", platform="audiohook", reason="unauthorized") == 2
    )
    body = metrics.render()[0].decode()
    assert 'actors_ingest_active_calls{platform="audiohook"} 1.0' in body
    assert 'actors_ingest_calls_total{outcome="completed",platform="audiohook"} 1.0' in body


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: m.call_started("zoom"), "platform: 'zoom' is not one of audiohook, twilio, stream"),
        (lambda m: m.call_ended("twilio", "vanished"), "outcome: 'vanished' is not one of completed"),
        (lambda m: m.call_ended("zoom", "completed"), "platform: 'zoom'"),
        (lambda m: m.call_refused("twilio", "busy"), "reason: 'busy' is not one of capacity, draining"),
        (lambda m: m.audio_received("twilio", -1.0), "audio seconds: -1.0 is not a finite number"),
        (lambda m: m.audio_received("twilio", float("nan")), "audio seconds: nan"),
        (lambda m: m.first_result(-0.5), "time to first result: -0.5"),
        (lambda m: m.store_commit(float("inf")), "store commit: inf"),
        (lambda m: m.set_waiting(-1), "waiting calls: -1 is negative"),
        (lambda m: m.finals_stored(-2), "finals stored: -2 is negative"),
    ],
)
def test_bad_label_values_and_amounts_are_refused_and_change_nothing(
    call: Callable[[IngestMetrics], None], message: str
) -> None:
    metrics = IngestMetrics()
    metrics.call_started("twilio")
    before = metrics.render()[0]
    with pytest.raises(ValueError, match=message):
        call(metrics)
    assert metrics.render()[0] == before
    assert metrics.value("actors_ingest_active_calls", platform="twilio") == 1


def test_throughput_counters_and_state_gauges() -> None:
    metrics = IngestMetrics()
    metrics.audio_received("twilio", 0.02)
    metrics.audio_received("twilio", 0.5)
    metrics.audio_received("stream", 1)
    metrics.finals_stored()
    metrics.finals_stored(4)
    metrics.reconnected()
    metrics.set_waiting(7)
    metrics.set_waiting(3)
    assert metrics.value("actors_ingest_audio_seconds_total", platform="twilio") == pytest.approx(0.52)
    assert metrics.value("actors_ingest_audio_seconds_total", platform="stream") == 1
    assert metrics.value("actors_ingest_finals_stored_total") == 5
    assert metrics.value("actors_ingest_reconnects_total") == 1
    assert metrics.value("actors_ingest_waiting_calls") == 3
    assert metrics.value("actors_ingest_store_up") == 0
    assert metrics.value("actors_ingest_draining") == 0
    metrics.set_store_up(True)
    metrics.set_draining(True)
    assert (metrics.value("actors_ingest_store_up"), metrics.value("actors_ingest_draining")) == (1, 1)
    metrics.set_store_up(False)
    assert metrics.value("actors_ingest_store_up") == 0


def test_histograms_observe_into_buckets_from_a_millisecond_to_thirty_seconds() -> None:
    metrics = IngestMetrics()
    metrics.first_result(0.42)
    metrics.finalized(1.7)
    metrics.final_committed(0.003)
    metrics.final_committed(0.004)
    metrics.store_commit(0.0007)
    cases = [
        ("actors_ingest_time_to_first_result_seconds", 1, 0.42, "0.3", "0.5"),
        ("actors_ingest_finalize_latency_seconds", 1, 1.7, "1.0", "2.0"),
        ("actors_ingest_final_to_commit_seconds", 2, 0.007, "0.0025", "0.005"),
        ("actors_ingest_store_commit_seconds", 1, 0.0007, "0.0005", "0.001"),
    ]
    for name, count, total, below, above in cases:
        assert metrics.value(f"{name}_count") == count, name
        assert metrics.value(f"{name}_sum") == pytest.approx(total), name
        assert metrics.value(f"{name}_bucket", le=below) == 0, name
        assert metrics.value(f"{name}_bucket", le=above) == count, name
        assert metrics.value(f"{name}_bucket", le="30.0") == count, name
        assert metrics.value(f"{name}_bucket", le="+Inf") == count, name
    # The fast paths resolve a millisecond (a KeyError here if there were no 1 ms bucket).
    assert metrics.value("actors_ingest_final_to_commit_seconds_bucket", le="0.001") == 0
    assert metrics.value("actors_ingest_store_commit_seconds_bucket", le="0.001") == 1


def test_store_commit_is_the_stores_commit_observer(tmp_path: Path) -> None:
    metrics = IngestMetrics()
    store = open_store(f"sqlite:///{tmp_path}/t.db", observe_commit=metrics.store_commit)
    try:
        store.start_call(call_start("c1"))
        store.end_call("c1", "completed")
    finally:
        store.close()
    assert metrics.value("actors_ingest_store_commit_seconds_count") == 2
    assert 0 < metrics.value("actors_ingest_store_commit_seconds_sum") < 5


def test_each_instance_has_its_own_registry_and_never_the_global_one() -> None:
    first, second = IngestMetrics(), IngestMetrics()  # a second one must not clash with the first
    first.call_started("stream")
    assert first.value("actors_ingest_active_calls", platform="stream") == 1
    assert second.value("actors_ingest_active_calls", platform="stream") == 0
    assert REGISTRY.get_sample_value("actors_ingest_active_calls", {"platform": "stream"}) is None


def test_value_names_a_missing_sample() -> None:
    metrics = IngestMetrics()
    with pytest.raises(KeyError, match=r"no metric sample actors_ingest_active_calls\{platform='zoom'\}"):
        metrics.value("actors_ingest_active_calls", platform="zoom")
    with pytest.raises(KeyError, match="actors_ingest_nope"):
        metrics.value("actors_ingest_nope")


def test_many_threads_report_at_once_without_losing_counts() -> None:
    metrics = IngestMetrics()
    start = threading.Barrier(4)

    def report() -> None:
        start.wait(5)
        for _ in range(500):
            metrics.call_started("audiohook")
            metrics.audio_received("audiohook", 0.02)
            metrics.final_committed(0.01)
            metrics.call_ended("audiohook", "completed")

    threads = [threading.Thread(target=report, name=f"metrics-reporter-{i}") for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive()
    assert metrics.value("actors_ingest_active_calls", platform="audiohook") == 0
    assert metrics.value("actors_ingest_calls_total", platform="audiohook", outcome="completed") == 2000
    assert metrics.value("actors_ingest_final_to_commit_seconds_count") == 2000
    assert metrics.value("actors_ingest_audio_seconds_total", platform="audiohook") == pytest.approx(40.0)


def test_reaps_and_live_instances_are_counted() -> None:
    metrics = IngestMetrics()
    metrics.reaped(1, 3)
    metrics.reaped(0, 0)
    metrics.set_live_instances(2)
    assert metrics.value("actors_ingest_reaped_instances_total") == 1
    assert metrics.value("actors_ingest_reaped_calls_total") == 3
    assert metrics.value("actors_ingest_live_instances") == 2
    with pytest.raises(ValueError, match="negative"):
        metrics.reaped(-1, 0)
