#!/usr/bin/env python3
"""Real-time Listen V1 streams held at p99 audio lag < 100 ms: one process vs a 2-worker Ray pool.

Two configurations, measured side by side in one run, each step against its own fresh server
process (``python -m actors serve --engine deterministic --stamp-send-time``), with the same audio
(16 kHz linear16, a final Result every ~0.4 s), the same chunks, the same pacing and the same
measurements:

* **1 process**: ``benchlib.child --client actors`` (as ``bench_streams.py``): one `Supervisor`
  with N streams, one pacer thread, in one child process.
* **2 Ray workers**: a `ClusterPool(workers=2)` on a private single-node Ray cluster of 2 CPUs
  started by this script (one worker process per core, the shape of every node of a real
  deployment). Each worker is a `benchlib.cluster_worker.PacedWorker`: a normal `SupervisorWorker`
  that runs, in its own process, the very same load as the one-process child on N/2 streams. Both
  workers open their streams first, then start sending at one shared instant (the monotonic clock
  is the machine's).

Why the audio is paced inside the workers: the question is how many streams *a worker process*
holds. Paced from this driver (``RemoteStream.send_audio``), every chunk of both workers would go
through one more Python process on the same 2 cores, so the driver's own cost would be measured
too; the workers' batch calls (``run_call``) pace their audio in the worker the same way. What
this leaves out: the Ray transport of live audio into a worker and of results out of it (the
results stop at the probes in the worker, as they stop at the probes of the one-process child).

Audio lag is ``benchlib.procstat.LiveSampler``'s, the one ``bench_streams.py`` reports: every
100 ms, for each stream still sending, ``now - due time of its oldest chunk not yet written to the
socket`` (0 when on schedule), read from the connection's own byte counter. For 2 workers the two
workers' histograms are merged before the p99 is taken. A step passes when that p99 is < 100 ms
and no stream reported an error.

Ray starts its worker processes at nice 15, so on a shared machine they yield the CPU to every
normal process (here the server and the one-process client, at 0); ``--worker-niceness`` (default
0, set through ``RAY_worker_niceness``) puts them on equal terms.

Search, per configuration: N doubles from ``--start`` while steps pass (up to ``--max``), then
``--refine`` bisection steps between the largest N that passed and the smallest that failed.

The floor beside each figure: CPU per stream-second of the server, of the clients and of Ray's own
processes, measured in the run, and the number of streams the machine's 2 cores could carry at that
cost -- with the server (it shares the same 2 cores) and with the clients alone -- and how many
one core carries at the client processes' own cost (one process runs its Python code on one core at
a time, so this bounds the one-process figure, and each worker's).

    .venv/bin/python scripts/bench_cluster.py                          # 3.5-6 minutes
    .venv/bin/python scripts/bench_cluster.py --start 200 --max 4000 --refine 3 --seconds 30
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

SCRIPTS = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPTS))

import psutil  # noqa: E402
from bench_streams import RunFailed, run_child  # noqa: E402
from benchlib.procstat import cpu_seconds  # noqa: E402
from benchlib.raylocal import CpuMeter, LocalRay  # noqa: E402
from benchlib.report import table  # noqa: E402
from benchlib.serverproc import REPO, ServerProcess  # noqa: E402
from benchlib.stats import MillisHistogram  # noqa: E402

LAG_LIMIT_MS = 100
CORES = 2
WORKERS = 2
PROCESS, CLUSTER = "1 process", "2 Ray workers"
CONFIGS = (PROCESS, CLUSTER)
NAMESPACE = "actors-bench-cluster"


class Search:
    """The step search of one configuration: double while passing, then bisect ``refine`` times.

    ``granularity`` is the smallest gap worth a refinement step.
    """

    def __init__(self, start: int, maximum: int, refine: int, granularity: int = 25) -> None:
        self.maximum = maximum
        self.refine = refine
        self.granularity = granularity
        self.best: dict[str, Any] | None = None  # the largest N that passed
        self.failed_at: int | None = None  # the smallest N that failed
        self.next: int | None = min(start, maximum)

    def record(self, streams: int, ok: bool, run: dict[str, Any] | None) -> None:
        """Note the outcome of the step at ``streams`` and choose the next N (None: done)."""
        if ok:
            if self.best is None or streams > self.best["streams"]:
                self.best = run
        elif self.failed_at is None or streams < self.failed_at:
            self.failed_at = streams
        low = self.best["streams"] if self.best else 0
        if self.failed_at is None:
            self.next = min(streams * 2, self.maximum) if streams < self.maximum else None
            return
        if self.refine <= 0 or self.failed_at - low <= self.granularity:
            self.next = None
            return
        self.refine -= 1
        middle = (low + self.failed_at) // 2
        self.next = max(self.granularity, middle // self.granularity * self.granularity)
        if self.next <= low or self.next >= self.failed_at:
            self.next = None


def passed(run: dict[str, Any]) -> bool:
    """A step passes with p99 audio lag < 100 ms and no stream error."""
    lag = run.get("lag_p99_ms")
    return lag is not None and lag < LAG_LIMIT_MS and run["errors"] == 0


def run_process(streams: int, args: argparse.Namespace, ray_env: LocalRay) -> dict[str, Any]:
    """The one-process configuration at ``streams`` (``bench_streams.run_child``), plus Ray's idle cost."""
    meter = CpuMeter(ray_env.processes())
    result = run_child("actors", streams, args.seconds, args.chunk_ms)
    result.update(config=PROCESS, ray_cpu_seconds=meter.used(), driver_cpu_seconds=0.0)
    result["client_rss_peak_bytes"] = result["rss_peak_bytes"]
    return result


def run_cluster(streams: int, args: argparse.Namespace, ray_env: LocalRay) -> dict[str, Any]:
    """The 2-worker configuration at ``streams``: a fresh pool, each worker paces its share."""
    import ray
    from benchlib.cluster_worker import PacedWorker

    from actors.cluster import ClusterPool

    shares = [streams // WORKERS + (1 if i < streams % WORKERS else 0) for i in range(WORKERS)]
    with ServerProcess() as server:
        server_proc = psutil.Process(server.pid)
        server_cpu0 = sum(server_proc.cpu_times()[:2])
        load = os.getloadavg()[0]
        pool = ClusterPool(
            workers=WORKERS, worker_class=PacedWorker, worker_streams=max(shares), namespace=NAMESPACE
        )
        pool.start()
        try:
            statuses = pool.workers()
            handles = [ray.get_actor(s.name, namespace=pool.namespace) for s in statuses]
            pids = {s.pid for s in statuses if s.pid is not None}
            niceness = sorted({psutil.Process(pid).nice() for pid in pids})
            ray_meter = CpuMeter(ray_env.processes(exclude=pids))
            driver_cpu0 = cpu_seconds()
            work = [(h, n) for h, n in zip(handles, shares, strict=True) if n]
            try:
                ray.get(
                    [h.bench_open.remote(server.url, n, args.seconds, args.chunk_ms) for h, n in work],
                    timeout=180,
                )
                t0 = time.monotonic() + 0.5
                parts: list[dict[str, Any]] = ray.get(
                    [h.bench_run.remote(t0) for h, _ in work], timeout=args.seconds * 4 + 180
                )
            except Exception as exc:  # a worker's failure, or a timeout: this step failed
                raise RunFailed(f"{CLUSTER} with {streams} streams: {type(exc).__name__}: {exc}") from None
            ray_cpu = ray_meter.used()
            ray_rss = ray_meter.rss()
            driver_cpu = cpu_seconds() - driver_cpu0
        finally:
            pool.close()
        server_cpu = sum(server_proc.cpu_times()[:2]) - server_cpu0
    return dict(combine(parts, streams, server_cpu, ray_cpu, ray_rss, driver_cpu, load), niceness=niceness)


def combine(
    parts: list[dict[str, Any]],
    streams: int,
    server_cpu: float,
    ray_cpu: float,
    ray_rss: int,
    driver_cpu: float,
    load: float,
) -> dict[str, Any]:
    """The workers' measurements as one run (lag histograms merged, CPU and RSS summed)."""
    lag = MillisHistogram()
    for part in parts:
        lag.merge(part["lag_counts"])
    seconds = parts[0]["seconds"]
    cpu = sum(p["cpu_seconds"] for p in parts)
    errors = [e for p in parts for e in p["first_errors"]]
    return {
        "config": CLUSTER,
        "client": "actors",
        "streams": streams,
        "seconds": seconds,
        "chunk_ms": parts[0]["chunk_ms"],
        "open_seconds": max(p["open_seconds"] for p in parts),
        "cpu_seconds": cpu,
        "cpu_per_stream_second": cpu / (streams * seconds),
        "client_rss_peak_bytes": sum(p["rss_peak_bytes"] for p in parts),
        "rss_base_bytes": sum(p["rss_base_bytes"] for p in parts),
        "lag_p99_ms": lag.percentile_ms(99),
        "lag_max_ms": lag.max_ms(),
        "delay_p99_ms": max((p["delay_p99_ms"] or 0.0) for p in parts),  # the worse worker's p99
        "finals": sum(p["finals"] for p in parts),
        "finals_expected": sum(p["finals_expected"] for p in parts),
        "errors": sum(p["errors"] for p in parts),
        "first_errors": errors[:3],
        "server_cpu_seconds": server_cpu,
        "ray_cpu_seconds": ray_cpu,
        "ray_rss_bytes": ray_rss,
        "driver_cpu_seconds": driver_cpu,
        "loadavg": load,
        "workers": [
            {k: p[k] for k in ("pid", "streams", "cpu_seconds", "rss_peak_bytes", "lag_p99_ms")}
            for p in parts
        ],
    }


RUNNERS = {PROCESS: run_process, CLUSTER: run_cluster}


def _mb(value: float) -> str:
    return f"{value / 2**20:.0f}"


def steps_table(runs: list[dict[str, Any]]) -> str:
    """Every step, in the order run."""
    header = [
        "config", "N", "lag p99", "lag max", "errors", "finals", "client CPU s", "server CPU s",
        "Ray's own CPU s", "client RSS MB", "load", "result",
    ]  # fmt: skip
    rows = [
        [
            r["config"], str(r["streams"]), _opt(r["lag_p99_ms"]), _opt(r["lag_max_ms"]), str(r["errors"]),
            f"{r['finals']}/{r['finals_expected']}", f"{r['cpu_seconds']:.1f}",
            f"{r['server_cpu_seconds']:.1f}", f"{r['ray_cpu_seconds']:.1f}",
            _mb(r["client_rss_peak_bytes"]), f"{r['loadavg']:.1f}", "pass" if passed(r) else "FAIL",
        ]
        for r in runs
    ]  # fmt: skip
    return table(header, rows)


def _opt(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def ceiling(cpu_per_stream_second: float) -> str:
    """How many real-time streams 2 cores carry at this CPU cost per stream-second."""
    return "-" if cpu_per_stream_second <= 0 else f"{CORES / cpu_per_stream_second:.0f}"


def summary_table(searches: dict[str, Search]) -> str:
    """Per configuration: streams held, its figures, and the CPU floor beside it."""
    header = [
        "config", "streams held", "p99 lag ms", "client CPU ms/stream-s", "server CPU ms/stream-s",
        "Ray's own CPU s", "client RSS MB", "2-core ceiling: clients+server", "clients alone",
        "1 core per client process",
    ]  # fmt: skip
    rows = []
    for config, search in searches.items():
        best = search.best
        if best is None:
            rows.append([config, "none", *["-"] * (len(header) - 2)])
            continue
        stream_seconds = best["streams"] * best["seconds"]
        client = (best["cpu_seconds"] + best["driver_cpu_seconds"] + best["ray_cpu_seconds"]) / stream_seconds
        server = best["server_cpu_seconds"] / stream_seconds
        rows.append(
            [
                config, str(best["streams"]), _opt(best["lag_p99_ms"]),
                f"{best['cpu_per_stream_second'] * 1000:.2f}", f"{server * 1000:.2f}",
                f"{best['ray_cpu_seconds']:.1f}", _mb(best["client_rss_peak_bytes"]),
                ceiling(client + server), ceiling(client),
                f"{1 / best['cpu_per_stream_second']:.0f}" if best["cpu_per_stream_second"] > 0 else "-",
            ]
        )  # fmt: skip
    return table(header, rows)


def main(argv: list[str] | None = None) -> int:
    """Run both searches side by side, print every step, the summary and the ratio."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--start", type=int, default=400, help="first N of each search (400)")
    parser.add_argument("--max", type=int, default=3200, help="largest N tried (3200)")
    parser.add_argument("--refine", type=int, default=2, help="bisection steps after the first failure (2)")
    parser.add_argument(
        "--seconds", type=float, default=20.0, help="seconds of audio per stream and step (20)"
    )
    parser.add_argument("--chunk-ms", type=int, default=20, help="audio chunk size in ms (20)")
    parser.add_argument(
        "--worker-niceness",
        type=int,
        default=0,
        help="nice value of the Ray worker processes (0, like the server and the one-process client; "
        "Ray's own default is 15)",
    )
    parser.add_argument("--json", type=Path, help="also write every step's measurements to this file")
    args = parser.parse_args(argv)
    if args.start < 1 or args.max < args.start:
        parser.error("need 1 <= --start <= --max")
    if args.seconds <= 0 or args.chunk_ms < 1 or args.refine < 0:
        parser.error("--seconds must be > 0, --chunk-ms >= 1, --refine >= 0")
    began = time.monotonic()
    searches = {config: Search(args.start, args.max, args.refine) for config in CONFIGS}
    runs: list[dict[str, Any]] = []
    failed: list[str] = []
    with LocalRay(CORES, [str(SCRIPTS), str(REPO)], NAMESPACE, args.worker_niceness) as ray_env:
        print(
            f"... private Ray cluster: 1 node, {CORES} CPUs, worker niceness {args.worker_niceness}, "
            f"temp dir {ray_env.tmp}",
            file=sys.stderr,
        )
        round_no = 0
        while any(s.next is not None for s in searches.values()):
            order = (
                list(CONFIGS) if round_no % 2 == 0 else list(reversed(CONFIGS))
            )  # alternate who goes first
            round_no += 1
            for config in order:
                search = searches[config]
                streams = search.next
                if streams is None:
                    continue
                print(f"... {config}: N={streams}", file=sys.stderr, flush=True)
                started = time.monotonic()
                try:
                    run = RUNNERS[config](streams, args, ray_env)
                except RunFailed as exc:
                    print(f"    FAILED: {exc}", file=sys.stderr, flush=True)
                    failed.append(f"{config} N={streams}: {str(exc).splitlines()[0]}")
                    search.record(streams, False, None)
                    continue
                run["config"] = config
                runs.append(run)
                search.record(streams, passed(run), run)
                print(
                    f"    lag p99 {run['lag_p99_ms']} ms, {run['errors']} errors, "
                    f"{'pass' if passed(run) else 'FAIL'} ({time.monotonic() - started:.0f} s)",
                    file=sys.stderr,
                    flush=True,
                )
    print(
        f"\n== real-time Listen V1 streams, {args.seconds:g} s of audio, {args.chunk_ms} ms chunks, "
        f"p99 audio lag < {LAG_LIMIT_MS} ms ==\n"
    )
    print(steps_table(runs))
    print("\n== streams held (largest N that passed) ==\n")
    print(summary_table(searches))
    one, two = searches[PROCESS].best, searches[CLUSTER].best
    if one and two:
        print(
            f"\nratio {CLUSTER} / {PROCESS}: {two['streams'] / one['streams']:.2f}x "
            f"({two['streams']} vs {one['streams']} streams); per worker process: {two['streams'] // WORKERS}"
        )
    for config, search in searches.items():
        if search.failed_at is None:
            print(f"note: {config} passed every step up to --max {args.max}: it holds at least that many")
    print(
        f"\nThe machine: {os.cpu_count()} cores, shared by everything above: the server process (one "
        "Python process holding every connection), the client process(es), Ray's own processes (running "
        "in both configurations) and whatever else runs on the box ('load': the 1-min load average at "
        "the start of each step). 'client CPU' is the client processes' own (for Ray: the two worker "
        f"processes, Ray's threads in them included); the ceilings divide {CORES} cores by the measured "
        "CPU per stream-second (clients + Ray's own processes, with and without the server's); "
        "'1 core per client process' is how many streams one core carries at the client processes' "
        "own CPU per stream-second (a process's Python code runs on one core at a time). "
        f"Total wall time {time.monotonic() - began:.0f} s."
    )
    for line in failed:
        print(f"FAILED step: {line}")
    if args.json:
        args.json.write_text(json.dumps(runs, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
