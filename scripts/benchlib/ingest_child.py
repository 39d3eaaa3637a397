"""The ingestion service under benchmark, in its own process: ``python -m benchlib.ingest_child``.

Builds :class:`actors.ingest.service.IngestService` as ``python -m actors ingest`` does (loopback,
SQLite store in ``--store-dir``, the benchmark's AudioHook key, ``max_calls`` = ``--calls``), against
the Deepgram-compatible server at ``--url``; logs at INFO on stderr. Prints ``{"port": P}`` once
listening, serves until stdin closes or SIGTERM, drains, and prints one JSON line of final figures:
the service's own metrics (finals stored, calls by outcome, refusals, reconnects, the
``actors_ingest_final_to_commit_seconds`` histogram buckets) plus the exact final -> commit,
finalize and store-transaction durations, recorded by a metrics subclass at the same points the
histograms observe.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import re
import resource
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import psutil

from actors.ingest.config import IngestConfig
from actors.ingest.metrics import CALL_OUTCOMES, REFUSAL_REASONS, IngestMetrics
from actors.ingest.service import IngestService
from benchlib.ingest_calls import API_KEY, SECRET
from benchlib.stats import percentile

FINAL_TO_COMMIT = "actors_ingest_final_to_commit_seconds"
CALLS = "actors_ingest_calls_total"
REFUSED = "actors_ingest_refused_calls_total"


class RecordingMetrics(IngestMetrics):
    """The service's metrics, also keeping every final -> commit and finalize duration (exact percentiles)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.final_to_commit: list[float] = []
        self.finalize: list[float] = []
        self.store_commits: list[float] = []

    def final_committed(self, seconds: float) -> None:
        """Observe as the service does, and keep the value."""
        super().final_committed(seconds)
        with self._lock:
            self.final_to_commit.append(seconds)

    def store_commit(self, seconds: float) -> None:
        """Observe as the service does, and keep the value."""
        super().store_commit(seconds)
        with self._lock:
            self.store_commits.append(seconds)

    def finalized(self, seconds: float) -> None:
        """Observe as the service does, and keep the value."""
        super().finalized(seconds)
        with self._lock:
            self.finalize.append(seconds)


class ThreadCpu:
    """A named thread noting every thread's CPU seconds once a second, so threads that ended still count.

    :meth:`totals` groups them by name, a call's own suffix replaced by ``*`` (``actors-read-*``).
    """

    def __init__(self, interval: float = 1.0) -> None:
        self._seen: dict[int, tuple[str, float]] = {}
        self._base: dict[int, float] = {}
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-thread-cpu", daemon=True)

    def start(self) -> ThreadCpu:
        """Take the baseline and start sampling."""
        self._base = self._cpu()
        self._thread.start()
        return self

    def stop(self) -> dict[str, float]:
        """Take the last sample, join, return CPU seconds by thread group (largest first); idempotent."""
        if not self._stop.is_set():
            self._stop.set()
            self._thread.join()
            self._sample()
        totals: dict[str, float] = {}
        for tid, (name, cpu) in self._seen.items():
            group = _GROUP_SUFFIX.sub("*", name)
            totals[group] = totals.get(group, 0.0) + cpu - self._base.get(tid, 0.0)
        return dict(sorted(((g, round(c, 3)) for g, c in totals.items()), key=lambda gc: -gc[1]))

    @staticmethod
    def _cpu() -> dict[int, float]:
        return {t.id: t.user_time + t.system_time for t in psutil.Process().threads()}

    def _sample(self) -> None:
        names = {t.native_id: t.name for t in threading.enumerate() if t.native_id is not None}
        for tid, cpu in self._cpu().items():
            name = names.get(tid) or self._seen.get(tid, ("(unnamed)", 0.0))[0]
            self._seen[tid] = (name, cpu)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._sample()


_GROUP_SUFFIX = re.compile(r"(?<=[-_])([0-9a-f]{8}-[0-9a-f-]{27}\S*|\d+)$")


class Stop(Exception):
    """SIGTERM arrived."""


def _raise_stop(_signum: int, _frame: Any) -> None:
    raise Stop


def buckets(metrics: IngestMetrics, name: str) -> list[tuple[float, float]]:
    """``(le, cumulative count)`` of histogram ``name``, in order, ``+Inf`` last."""
    out: list[tuple[float, float]] = []
    for family in metrics.registry.collect():
        if family.name == name:
            for sample in family.samples:
                if sample.name == f"{name}_bucket":
                    out.append((float(sample.labels["le"]), sample.value))
    return sorted(out)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def final_figures(metrics: RecordingMetrics, drained: bool, threads: dict[str, float]) -> dict[str, Any]:
    """Everything the benchmark reports from inside the service."""
    value = metrics.value
    usage = resource.getrusage(resource.RUSAGE_SELF)
    ftc, fin = sorted(metrics.final_to_commit), sorted(metrics.finalize)
    commits = sorted(metrics.store_commits)
    return {
        "drained": drained,
        "finals_stored": value("actors_ingest_finals_stored_total"),
        "calls": {o: value(CALLS, platform="audiohook", outcome=o) for o in CALL_OUTCOMES},
        "refused": {r: value(REFUSED, platform="audiohook", reason=r) for r in REFUSAL_REASONS},
        "reconnects": value("actors_ingest_reconnects_total"),
        "audio_seconds": value("actors_ingest_audio_seconds_total", platform="audiohook"),
        "store_commits": value("actors_ingest_store_commit_seconds_count"),
        "store_commit_p50_ms": _ms(percentile(commits, 50)),
        "store_commit_p99_ms": _ms(percentile(commits, 99)),
        "store_commit_max_ms": _ms(commits[-1] if commits else None),
        "final_to_commit_buckets": buckets(metrics, FINAL_TO_COMMIT),
        "final_to_commit_count": len(ftc),
        "final_to_commit_p50_ms": _ms(percentile(ftc, 50)),
        "final_to_commit_p99_ms": _ms(percentile(ftc, 99)),
        "final_to_commit_max_ms": _ms(ftc[-1] if ftc else None),
        "finalize_p50_ms": _ms(percentile(fin, 50)),
        "finalize_p99_ms": _ms(percentile(fin, 99)),
        "cpu_user_s": usage.ru_utime,
        "cpu_system_s": usage.ru_stime,
        "cpu_by_thread": threads,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Run the service until stdin closes or SIGTERM; drain; print the final figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True, help="the Deepgram-compatible server (ws://...)")
    parser.add_argument("--store-dir", type=Path, required=True)
    parser.add_argument("--calls", type=int, required=True, help="max_calls (and max_waiting)")
    parser.add_argument("--drain-timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    config = IngestConfig(
        host="127.0.0.1",
        port=0,
        store=f"sqlite:///{args.store_dir.resolve()}/ingest.sqlite3",
        audiohook_keys={API_KEY: SECRET},
        max_calls=args.calls,
        max_waiting=args.calls,
        drain_timeout=args.drain_timeout,
    )
    service = IngestService(config, deepgram_url=args.url, api_key="bench")
    metrics = RecordingMetrics()
    service.metrics = metrics  # before start(): every part the service builds takes this one
    signal.signal(signal.SIGTERM, _raise_stop)
    service.start()
    drained = False
    sampler = ThreadCpu().start()
    threads: dict[str, float] = {}
    try:
        sys.stdout.write(json.dumps({"port": service.port}) + "\n")
        sys.stdout.flush()
        with contextlib.suppress(Stop):
            sys.stdin.read()  # until the benchmark closes our stdin
        threads = sampler.stop()
        drained = service.drain(args.drain_timeout)
    finally:
        sampler.stop()
        service.stop()
    sys.stdout.write(json.dumps(final_figures(metrics, drained, threads)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
