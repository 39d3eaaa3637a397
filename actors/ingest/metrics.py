"""The ingestion service's Prometheus metrics, in a registry of their own (``actors_ingest_*``).

:class:`IngestMetrics` owns a :class:`prometheus_client.CollectorRegistry` (never the global one,
so two services in one process do not clash) and one method per event the service reports. Every
labelled child is created up front for each known label value: the hot paths skip the
``.labels()`` lookup (three times slower, as measured) and every series is exposed
from the first scrape on, at 0. Label values come from fixed tuples (:data:`PLATFORMS`,
:data:`CALL_OUTCOMES`, :data:`REFUSAL_REASONS`); anything else raises :class:`ValueError`, which
keeps the label cardinality bounded. prometheus_client is thread-safe: any thread may call.
"""

from __future__ import annotations

import math
import typing

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from actors.ingest.calls import Platform

#: The platforms a call can come from (the ``platform`` label).
PLATFORMS: tuple[Platform, ...] = typing.get_args(Platform)

#: How a call that had started ended (the ``outcome`` label of ``actors_ingest_calls_total``):
#: ``completed`` (the platform closed it normally), ``disconnected`` (the platform vanished or sent
#: a disconnect), ``error`` (a protocol or service error ended it), ``refused`` (it had started
#: but was then turned away, e.g. its waiting buffer overflowed), ``drained`` (the service ended it
#: because it was shutting down).
CALL_OUTCOMES: tuple[str, ...] = ("completed", "disconnected", "error", "refused", "drained")

#: Why a call was turned away (the ``reason`` label of ``actors_ingest_refused_calls_total``):
#: ``capacity`` (too many calls waiting for a Deepgram slot, or its buffer bound reached),
#: ``draining`` (the service is shutting down), ``unauthorized`` (the platform's authentication
#: failed), ``bad_request`` (the platform's opening was malformed or unsupported).
REFUSAL_REASONS: tuple[str, ...] = (
    "capacity",
    "draining",
    "unauthorized",
    "bad_request",
    "store_unavailable",
)

# Bucket upper bounds in seconds. Each spans the range its latency lives in, from 1 ms to 30 s.
#: Call start to the first Deepgram result: connect + first audio + model latency (tens of ms..s).
FIRST_RESULT_BUCKETS = (0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)
#: Platform end to call recorded: Deepgram's last finals + a commit (ms..s, longer when degraded).
FINALIZE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0)
#: A final received to its row committed: the writer's batch delay + a commit (ms; s when degraded).
FINAL_TO_COMMIT_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.06, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip  # dense around the writer's 50 ms batch interval, where most rows commit
#: One store transaction (sub-ms on SQLite WAL, ms on PostgreSQL; s when the disk or network stalls).
STORE_COMMIT_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip


def _check(what: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{what}: {value!r} is not one of {', '.join(allowed)}")


def _seconds(what: str, seconds: float) -> float:
    value = float(seconds)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{what}: {seconds!r} is not a finite number of seconds >= 0")
    return value


class IngestMetrics:
    """The service's metrics: one method per event, :meth:`render` for ``/metrics``, :meth:`value` to read.

    ``registry`` is this instance's own :class:`~prometheus_client.CollectorRegistry`.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._active = Gauge(
            "actors_ingest_active_calls",
            "Calls in progress (started and not yet ended), by platform.",
            ["platform"],
            registry=r,
        )
        self._calls = Counter(
            "actors_ingest_calls_total",
            "Calls that started and then ended, by platform and outcome "
            "(completed, disconnected, error, refused, drained).",
            ["platform", "outcome"],
            registry=r,
        )
        self._refused = Counter(
            "actors_ingest_refused_calls_total",
            "Calls turned away, by platform and reason (capacity, draining, unauthorized, bad_request).",
            ["platform", "reason"],
            registry=r,
        )
        self._waiting = Gauge(
            "actors_ingest_waiting_calls",
            "Calls admitted but waiting for a Deepgram connection slot (their audio buffered).",
            registry=r,
        )
        self._audio = Counter(
            "actors_ingest_audio_seconds_total",
            "Seconds of call audio received from platforms (call time, all channels together), by platform.",
            ["platform"],
            registry=r,
        )
        self._finals = Counter(
            "actors_ingest_finals_stored_total",
            "Final transcript segments committed to the store.",
            registry=r,
        )
        self._reconnects = Counter(
            "actors_ingest_reconnects_total",
            "Deepgram streams re-opened by the supervisor after a failure (lossless reconnects).",
            registry=r,
        )
        self._first_result = Histogram(
            "actors_ingest_time_to_first_result_seconds",
            "From a call's start to the first Deepgram result for it.",
            buckets=FIRST_RESULT_BUCKETS,
            registry=r,
        )
        self._finalize = Histogram(
            "actors_ingest_finalize_latency_seconds",
            "From the platform saying a call ended to its last final committed and the call recorded.",
            buckets=FINALIZE_BUCKETS,
            registry=r,
        )
        self._final_to_commit = Histogram(
            "actors_ingest_final_to_commit_seconds",
            "From a final result received from Deepgram to its row committed in the store.",
            buckets=FINAL_TO_COMMIT_BUCKETS,
            registry=r,
        )
        self._store_commit = Histogram(
            "actors_ingest_store_commit_seconds",
            "Duration of one store transaction (a segment batch or a call lifecycle write).",
            buckets=STORE_COMMIT_BUCKETS,
            registry=r,
        )
        self._store_up = Gauge(
            "actors_ingest_store_up",
            "1 when the transcript store answered its last check or commit, else 0.",
            registry=r,
        )
        self._draining = Gauge(
            "actors_ingest_draining",
            "1 while the service drains (refuses new calls, finishes the current ones), else 0.",
            registry=r,
        )
        self._reaped_instances = Counter(
            "actors_ingest_reaped_instances_total",
            "Dead instances (lease expired) whose calls this instance's lease keeper took over.",
            registry=r,
        )
        self._reaped_calls = Counter(
            "actors_ingest_reaped_calls_total",
            "Active calls of dead instances that this instance's lease keeper marked interrupted.",
            registry=r,
        )
        self._live_instances = Gauge(
            "actors_ingest_live_instances",
            "Instances registered in the store (this one included) after this instance's last reap.",
            registry=r,
        )
        # The children the hot paths use, created once (and so exposed at 0 from the start).
        self._active_by: dict[str, Gauge] = {p: self._active.labels(p) for p in PLATFORMS}
        self._audio_by: dict[str, Counter] = {p: self._audio.labels(p) for p in PLATFORMS}
        self._calls_by: dict[tuple[str, str], Counter] = {
            (p, o): self._calls.labels(p, o) for p in PLATFORMS for o in CALL_OUTCOMES
        }
        self._refused_by: dict[tuple[str, str], Counter] = {
            (p, w): self._refused.labels(p, w) for p in PLATFORMS for w in REFUSAL_REASONS
        }

    # -- calls --------------------------------------------------------------------------------------

    def call_started(self, platform: str) -> None:
        """A call from ``platform`` began (was accepted): ``actors_ingest_active_calls`` goes up by one."""
        _check("platform", platform, PLATFORMS)
        self._active_by[platform].inc()

    def call_ended(self, platform: str, outcome: str) -> None:
        """A started call ended with ``outcome`` (one of :data:`CALL_OUTCOMES`): active down, total up.

        Call it once per :meth:`call_started`; both label values are checked before anything changes.
        """
        _check("platform", platform, PLATFORMS)
        _check("outcome", outcome, CALL_OUTCOMES)
        self._active_by[platform].dec()
        self._calls_by[(platform, outcome)].inc()

    def call_refused(self, platform: str, reason: str) -> None:
        """A call from ``platform`` was turned away for ``reason`` (one of :data:`REFUSAL_REASONS`).

        Independent of :meth:`call_ended`: a call refused after :meth:`call_started` (its waiting
        buffer overflowed) is also ended, with outcome ``refused``.
        """
        _check("platform", platform, PLATFORMS)
        _check("reason", reason, REFUSAL_REASONS)
        self._refused_by[(platform, reason)].inc()

    def set_waiting(self, n: int) -> None:
        """``n`` calls are now waiting for a Deepgram slot (``actors_ingest_waiting_calls``)."""
        if n < 0:
            raise ValueError(f"waiting calls: {n!r} is negative")
        self._waiting.set(n)

    # -- throughput ---------------------------------------------------------------------------------

    def audio_received(self, platform: str, seconds: float) -> None:
        """``seconds`` of call audio arrived from ``platform`` (``actors_ingest_audio_seconds_total``)."""
        _check("platform", platform, PLATFORMS)
        self._audio_by[platform].inc(_seconds("audio seconds", seconds))

    def finals_stored(self, n: int = 1) -> None:
        """``n`` final segments were committed to the store (``actors_ingest_finals_stored_total``)."""
        if n < 0:
            raise ValueError(f"finals stored: {n!r} is negative")
        self._finals.inc(n)

    def reconnected(self) -> None:
        """A call's Deepgram stream was re-opened after a failure (``actors_ingest_reconnects_total``)."""
        self._reconnects.inc()

    # -- latencies ----------------------------------------------------------------------------------

    def first_result(self, seconds: float) -> None:
        """A call got its first Deepgram result ``seconds`` after it started."""
        self._first_result.observe(_seconds("time to first result", seconds))

    def finalized(self, seconds: float) -> None:
        """A call was fully recorded ``seconds`` after the platform said it ended."""
        self._finalize.observe(_seconds("finalize latency", seconds))

    def final_committed(self, seconds: float) -> None:
        """A final's row was committed ``seconds`` after the final arrived from Deepgram."""
        self._final_to_commit.observe(_seconds("final to commit", seconds))

    def store_commit(self, seconds: float) -> None:
        """One store transaction took ``seconds`` (fits ``TranscriptStore(observe_commit=...)``)."""
        self._store_commit.observe(_seconds("store commit", seconds))

    # -- state --------------------------------------------------------------------------------------

    def set_store_up(self, up: bool) -> None:
        """Whether the store is reachable now (``actors_ingest_store_up`` 1 or 0)."""
        self._store_up.set(1 if up else 0)

    def set_draining(self, draining: bool) -> None:
        """Whether the service is draining now (``actors_ingest_draining`` 1 or 0)."""
        self._draining.set(1 if draining else 0)

    # -- instances ----------------------------------------------------------------------------------

    def reaped(self, instances: int, calls: int) -> None:
        """One reap took ``instances`` dead instances and marked ``calls`` of their calls interrupted
        (``actors_ingest_reaped_instances_total``, ``actors_ingest_reaped_calls_total``)."""
        if instances < 0 or calls < 0:
            raise ValueError(f"reaped: {instances!r} instance(s), {calls!r} call(s): a count is negative")
        self._reaped_instances.inc(instances)
        self._reaped_calls.inc(calls)

    def set_live_instances(self, n: int) -> None:
        """``n`` instances are registered in the store now (``actors_ingest_live_instances``)."""
        if n < 0:
            raise ValueError(f"live instances: {n!r} is negative")
        self._live_instances.set(n)

    # -- reading ------------------------------------------------------------------------------------

    def render(self) -> tuple[bytes, str]:
        """The registry in the Prometheus text format: ``(body, content type)`` for ``/metrics``."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def value(self, name: str, **labels: str) -> float:
        """The current value of sample ``name`` with exactly ``labels`` (for tests and benchmarks).

        ``name`` is a sample name as exposed (``actors_ingest_calls_total``,
        ``actors_ingest_store_commit_seconds_count``, ``..._bucket`` with ``le="0.01"``...).
        Raises :class:`KeyError` naming the sample when there is none.
        """
        found = self.registry.get_sample_value(name, labels)
        if found is None:
            shown = ",".join(f"{k}={v!r}" for k, v in sorted(labels.items()))
            raise KeyError(f"no metric sample {name}{{{shown}}}")
        return found


__all__ = [
    "CALL_OUTCOMES",
    "FINALIZE_BUCKETS",
    "FINAL_TO_COMMIT_BUCKETS",
    "FIRST_RESULT_BUCKETS",
    "PLATFORMS",
    "REFUSAL_REASONS",
    "STORE_COMMIT_BUCKETS",
    "IngestMetrics",
]
