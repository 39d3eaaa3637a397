#!/usr/bin/env python3
"""N concurrent real-time AudioHook calls into one ingestion service, beside a bare-sink floor.

Processes, so that CPU is attributable: the deterministic Deepgram-compatible server
(``python -m actors serve --engine deterministic``), the ingestion service (``benchlib.ingest_child``:
``IngestService`` on a SQLite store in a temporary directory), and the load generator
(``benchlib.audiohook_load``: N signed AudioHook sessions on ``/api/v1/voicetranscription/ws``, each a
distinct stereo PCMU call of deterministic words, 200 ms frames at real time on an absolute
schedule, starts spread over ``--stagger`` s). Then the same N calls go into a bare sink
(``benchlib.audiohook_sink``: answers open/ping/close, discards audio) -- the CPU the service cannot
go below in Python + websockets.

After the service drained, its SQLite file is read: every word of every call must be there (same
call, channel, text and start time). Segments lost (missing words) must be 0, else exit status 1.

    .venv/bin/python scripts/bench_ingest.py                         # 200 calls, 30 s each
    .venv/bin/python scripts/bench_ingest.py --calls 50 --seconds 10 --json runs.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import attrs

SCRIPTS = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPTS))

from benchlib.childproc import (  # noqa: E402
    ChildFailed,
    JsonChild,
    Peaks,
    ProcessSampler,
    child_env,
    cpu_of,
    stderr_tail,
)
from benchlib.report import table  # noqa: E402
from benchlib.serverproc import ServerProcess  # noqa: E402
from benchlib.stats import histogram_quantile  # noqa: E402

TRANSCRIPTION_PATH = "/api/v1/voicetranscription/ws"
MACHINE_NOTE = "2 cores shared with other sessions"


def run_load(port: int, args: argparse.Namespace, work: Path, name: str) -> tuple[dict[str, Any], list[Any]]:
    """The load generator against ``port``: its summary and every call's record."""
    out = work / f"{name}-calls.json"
    err = work / f"{name}-load.stderr"
    cmd = [
        sys.executable, "-m", "benchlib.audiohook_load", "--port", str(port), "--calls", str(args.calls),
        "--seconds", str(args.seconds), "--stagger", str(args.stagger), "--path", TRANSCRIPTION_PATH,
        "--out", str(out), *(["--no-deflate"] if args.no_deflate else []),
    ]  # fmt: skip
    timeout = args.seconds + args.stagger + 240
    with err.open("w") as stderr:
        try:
            done = subprocess.run(
                cmd, cwd=SCRIPTS, env=child_env(), stdout=subprocess.PIPE, stderr=stderr, text=True,
                timeout=timeout,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise ChildFailed(
                f"the load generator did not finish in {timeout:g} s\n{stderr_tail(err)}"
            ) from None
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise ChildFailed(f"the load generator exited {done.returncode}\n{stderr_tail(err)}")
    summary: dict[str, Any] = json.loads(lines[-1])
    return summary, json.loads(out.read_text())


def stored_words(db: Path) -> tuple[Counter[tuple[str, int, str, float]], int, Counter[str]]:
    """Every word in the store as (call, channel, text, start), the segment rows, and calls by status."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        words: Counter[tuple[str, int, str, float]] = Counter()
        rows = 0
        for call_id, channel, text in conn.execute("SELECT call_id, channel, words FROM segments"):
            rows += 1
            for w in json.loads(text):
                words[(call_id, int(channel), str(w["word"]), round(float(w["start"]), 3))] += 1
        statuses = Counter(status for (status,) in conn.execute("SELECT status FROM calls"))
    finally:
        conn.close()
    return words, rows, statuses


def check_store(db: Path, records: list[Any]) -> dict[str, Any]:
    """Expected words vs words in the store, and transcript tokens the clients got vs expected."""
    expected: Counter[tuple[str, int, str, float]] = Counter()
    expected_tokens: Counter[tuple[str, int, str]] = Counter()
    got_tokens: Counter[tuple[str, int, str]] = Counter()
    for r in records:
        for channel, word, start in r["words"]:
            expected[(r["session_id"], channel, word, round(start, 3))] += 1
            expected_tokens[(r["session_id"], channel, word)] += 1
        for channel, word in r["tokens"]:
            got_tokens[(r["session_id"], channel, word)] += 1
    stored, rows, statuses = stored_words(db)
    return {
        "words_expected": sum(expected.values()),
        "words_found": sum((expected & stored).values()),
        "words_lost": sum((expected - stored).values()),
        "words_unexpected": sum((stored - expected).values()),
        "first_lost": [list(k) for k in list(expected - stored)[:5]],
        "segments_stored": rows,
        "calls_by_status": dict(statuses),
        "tokens_expected": sum(expected_tokens.values()),
        "tokens_received": sum(got_tokens.values()),
        "tokens_missing": sum((expected_tokens - got_tokens).values()),
    }


@attrs.frozen
class MeasuredLoad:
    """One load generator run and what the measured processes used while it ran."""

    load: dict[str, Any]
    records: list[Any]
    wall_seconds: float
    #: CPU seconds each measured process used during the run, by its name.
    cpu_seconds: dict[str, float]
    peaks: dict[str, Peaks]
    #: The 1-minute load average as the run began.
    loadavg: float


def measured_load(
    pids: dict[str, int], port: int, args: argparse.Namespace, work: Path, name: str
) -> MeasuredLoad:
    """:func:`run_load` against ``port`` while sampling the processes ``pids`` (name -> pid)."""
    sampler = ProcessSampler(pids).start()
    cpu0 = {label: cpu_of(pid) for label, pid in pids.items()}
    wall0 = time.monotonic()
    load_avg = os.getloadavg()[0]
    try:
        load, records = run_load(port, args, work, name)
    finally:
        peaks = sampler.stop()
    wall = time.monotonic() - wall0
    cpu = {label: cpu_of(pid) - cpu0[label] for label, pid in pids.items()}
    return MeasuredLoad(load, records, wall, cpu, peaks, load_avg)


def run_service(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Server + service + load; the service drained; its store checked."""
    store_dir = work / "store"
    store_dir.mkdir()
    with ServerProcess(idle_timeout=60.0) as server:
        child_args = ["--url", server.url, "--store-dir", str(store_dir), "--calls", str(args.calls)]
        with JsonChild("benchlib.ingest_child", child_args, work / "service.stderr") as service:
            pids = {"service": service.pid, "server": server.pid}
            run = measured_load(pids, service.first["port"], args, work, "service")
            figures = service.finish(timeout=120)
    result = {
        "target": "service",
        "load": run.load,
        "service": figures,
        "wall_seconds": round(run.wall_seconds, 3),
        "cpu_seconds": round(run.cpu_seconds["service"], 3),
        "server_cpu_seconds": round(run.cpu_seconds["server"], 3),
        "rss_peak_bytes": run.peaks["service"].rss,
        "threads_peak": run.peaks["service"].threads,
        "loadavg": run.loadavg,
        "store": check_store(store_dir / "ingest.sqlite3", run.records),
    }
    p99 = histogram_quantile(0.99, figures["final_to_commit_buckets"])
    p50 = histogram_quantile(0.5, figures["final_to_commit_buckets"])
    result["final_to_commit_hist_p50_ms"] = None if p50 is None else round(p50 * 1000, 2)
    result["final_to_commit_hist_p99_ms"] = None if p99 is None else round(p99 * 1000, 2)
    return result


def run_floor(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """The same load into the bare sink."""
    with JsonChild("benchlib.audiohook_sink", [], work / "sink.stderr") as sink:
        run = measured_load({"sink": sink.pid}, sink.first["port"], args, work, "floor")
        counters = sink.finish(timeout=30)
    return {
        "target": "floor",
        "load": run.load,
        "sink": counters,
        "wall_seconds": round(run.wall_seconds, 3),
        "cpu_seconds": round(run.cpu_seconds["sink"], 3),
        "rss_peak_bytes": run.peaks["sink"].rss,
        "threads_peak": run.peaks["sink"].threads,
        "loadavg": run.loadavg,
    }


def _f(value: float | None, spec: str = "{:.1f}") -> str:
    return "-" if value is None else spec.format(value)


def _pcts(figures: dict[str, Any], name: str, which: tuple[str, ...]) -> str:
    """``"p50 / p99 / max"`` of ``{name}_{p}_ms`` figures."""
    return " / ".join(_f(figures.get(f"{name}_{p}_ms")) for p in which)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b else "-"


def report(run: dict[str, Any]) -> str:
    """The table of one run (service and floor columns, ratio where it means something)."""
    calls, seconds = run["calls"], run["seconds"]
    s, f = run["service"], run["floor"]
    st, sv = s["store"], s["service"]
    completed = int(sv["calls"]["completed"])
    call_seconds = calls * seconds

    def per(r: dict[str, Any]) -> tuple[float, float]:
        return r["cpu_seconds"] / calls, r["cpu_seconds"] / call_seconds * 1000

    s_call, s_sec = per(s)
    f_call, f_sec = per(f)
    mb = 1024 * 1024
    rows = [
        ["calls completed / started", f"{completed}/{calls}", f"{f['sink']['sessions']}/{calls}", ""],
        ["audio seconds per call", f"{seconds:g}", f"{seconds:g}", ""],
        ["wall time of the load (s)", _f(s["wall_seconds"]), _f(f["wall_seconds"]), ""],
        ["call errors seen by clients", str(s["load"]["errors"]), str(f["load"]["errors"]), ""],
        ["words expected / found in the store", f"{st['words_found']}/{st['words_expected']}", "", ""],
        ["SEGMENTS LOST (words missing from the store)", str(st["words_lost"]), "", ""],
        ["unexpected or duplicate words in the store", str(st["words_unexpected"]), "", ""],
        ["segment rows / finals_stored metric", f"{st['segments_stored']}/{sv['finals_stored']:.0f}", "", ""],
        [
            "transcript events received (words in them / expected)",
            f"{s['load']['events']} ({st['tokens_received']}/{st['tokens_expected']})",
            "",
            "",
        ],
        [
            "final -> committed row p50 / p99 / max (ms, exact)",
            _pcts(sv, "final_to_commit", ("p50", "p99", "max")),
            "",
            "",
        ],
        [
            "  same from the histogram, p50 / p99 (ms, interpolated in buckets)",
            f"{_f(s['final_to_commit_hist_p50_ms'])} / {_f(s['final_to_commit_hist_p99_ms'])}",
            "",
            "",
        ],
        [
            "store transaction p50 / p99 / max (ms, exact)",
            _pcts(sv, "store_commit", ("p50", "p99", "max")),
            "",
            "",
        ],
        [
            "client open -> opened p50 / p99 (ms)",
            f"{_f(s['load']['open_p50_ms'])} / {_f(s['load']['open_p99_ms'])}",
            f"{_f(f['load']['open_p50_ms'])} / {_f(f['load']['open_p99_ms'])}",
            "",
        ],
        [
            "client close -> closed p50 / p99 (ms)",
            f"{_f(s['load']['close_p50_ms'])} / {_f(s['load']['close_p99_ms'])}",
            f"{_f(f['load']['close_p50_ms'])} / {_f(f['load']['close_p99_ms'])}",
            "",
        ],
        ["CPU s of its process during the calls", _f(s["cpu_seconds"], "{:.2f}"),
         _f(f["cpu_seconds"], "{:.2f}"), _ratio(s["cpu_seconds"], f["cpu_seconds"])],
        ["CPU s per call", _f(s_call, "{:.3f}"), _f(f_call, "{:.3f}"), _ratio(s_call, f_call)],
        ["CPU ms per call-second", _f(s_sec, "{:.2f}"), _f(f_sec, "{:.2f}"), _ratio(s_sec, f_sec)],
        ["peak RSS (MB)", _f(s["rss_peak_bytes"] / mb, "{:.0f}"), _f(f["rss_peak_bytes"] / mb, "{:.0f}"), ""],
        ["peak threads", str(s["threads_peak"]), str(f["threads_peak"]), ""],
        ["Deepgram-compatible server CPU s (own process)", _f(s["server_cpu_seconds"], "{:.2f}"), "", ""],
        ["load generator CPU s (own process)", _f(s["load"]["cpu_seconds"], "{:.2f}"),
         _f(f["load"]["cpu_seconds"], "{:.2f}"), ""],
        [
            "client frame lag p99 / max (ms)",
            f"{_f(s['load']['lag_p99_ms'])} / {_f(s['load']['lag_max_ms'])}",
            f"{_f(f['load']['lag_p99_ms'])} / {_f(f['load']['lag_max_ms'])}",
            "",
        ],
        ["machine load avg (1 min) at start", _f(s["loadavg"]), _f(f["loadavg"]), ""],
    ]  # fmt: skip
    return table(["", "service", "floor (bare sink)", "service/floor"], rows)


def thread_line(groups: dict[str, float], top: int = 6) -> str:
    """Where the service's CPU went while it ran, by thread group (sampled once a second in the child)."""
    total = sum(groups.values())
    if total <= 0:
        return "service CPU by thread: -"
    parts = [f"{name} {cpu / total:.0%}" for name, cpu in list(groups.items())[:top]]
    return (
        f"service CPU by thread group ({total:.1f} s, sampled each second from listening to drain; a thread "
        f"that ended misses its last second; bench-thread-cpu is that sampler): " + ", ".join(parts)
    )


def failures(run: dict[str, Any]) -> list[str]:
    """Why the run does not count (empty when it does)."""
    s = run["service"]
    out = []
    if s["store"]["words_lost"]:
        out.append(f"{s['store']['words_lost']} word(s) lost, e.g. {s['store']['first_lost']}")
    if s["store"]["words_unexpected"]:
        out.append(f"{s['store']['words_unexpected']} unexpected word(s) in the store")
    for name in ("service", "floor"):
        load = run[name]["load"]
        if load["errors"]:
            out.append(f"{name}: {load['errors']} call error(s), e.g. {load['first_errors']}")
    if not s["service"]["drained"]:
        out.append("the service did not drain cleanly (a call unfinished or a segment lost)")
    completed = s["store"]["calls_by_status"].get("completed", 0)
    if completed != run["calls"]:
        out.append(f"{completed}/{run['calls']} calls stored as completed: {s['store']['calls_by_status']}")
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the service and the floor once, print the table; exit 1 if anything was lost or failed."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=200, help="concurrent calls (200)")
    parser.add_argument("--seconds", type=float, default=30.0, help="audio seconds per call (30)")
    parser.add_argument(
        "--stagger", type=float, default=1.5, help="call starts spread over this many s (1.5)"
    )
    parser.add_argument(
        "--json", nargs="?", const="-", metavar="FILE",
        help="also write the measurements as JSON to FILE (to stdout when no FILE is given)",
    )  # fmt: skip
    parser.add_argument(
        "--no-deflate", action="store_true",
        help="clients do not offer permessage-deflate (by default they do, as websockets clients and "
        "browsers do; the service and the sink accept it)",
    )  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the work directory (store, logs)")
    args = parser.parse_args(argv)
    if args.calls < 1:
        parser.error("--calls must be >= 1")
    if args.seconds < 0.2:
        parser.error("--seconds must be >= 0.2 (one 200 ms frame)")
    if args.stagger < 0:
        parser.error("--stagger must be >= 0")
    work = Path(tempfile.mkdtemp(prefix="actors-bench-ingest-"))
    started = time.monotonic()
    try:
        print(
            f"... {args.calls} calls x {args.seconds:g} s into the ingestion service",
            file=sys.stderr,
            flush=True,
        )
        service = run_service(args, work)
        print("... the same calls into the bare sink (floor)", file=sys.stderr, flush=True)
        floor = run_floor(args, work)
    except ChildFailed as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        print(f"(logs kept in {work})", file=sys.stderr)
        return 1
    run = {
        "calls": args.calls,
        "seconds": args.seconds,
        "stagger": args.stagger,
        "machine": f"{os.cpu_count()} CPUs, {MACHINE_NOTE}",
        "service": service,
        "floor": floor,
        "total_seconds": round(time.monotonic() - started, 1),
    }
    print(
        f"\n== {args.calls} concurrent AudioHook calls at real time, {args.seconds:g} s of stereo PCMU each, "
        f"one service instance (deterministic engine; SQLite; {run['machine']}) =="
    )
    print(report(run))
    print(thread_line(service["service"]["cpu_by_thread"]))
    problems = failures(run)
    for line in problems:
        print(f"FAILED: {line}")
    keep = args.keep or bool(problems)
    where = f"; store and logs kept in {work}" if keep else ""
    print(f"(whole benchmark {run['total_seconds']:.0f} s{where})")
    if args.json == "-":
        print(json.dumps(run, indent=2))
    elif args.json:
        Path(args.json).write_text(json.dumps(run, indent=2))
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
