"""Formatting of benchmark results as fixed-width text tables (no dependencies)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Row = tuple[str, Callable[[dict[str, Any]], float | None], str]

#: Client names as the tables show them.
CLIENT_NAMES = {"actors": "actors", "sdk": "sdk sync", "sdk-async": "sdk async", "raw": "raw floor"}
#: Short client names for the ratio columns.
SHORT_NAMES = {"actors": "actors", "sdk": "sdk", "sdk-async": "async", "raw": "floor"}
#: The run every ratio is taken to first (the fairly driven sync SDK), and the floor.
BASELINE, FLOOR = "sdk", "raw"
#: Wire frames within this many ms of each other count as the same size.
SAME_FRAME_MS = 1.0


def _kb(value: float | None) -> float | None:
    return None if value is None else value / 1024


def _threads(r: dict[str, Any]) -> float:
    return float(r["threads"]) if "threads" in r else r["threads_per_stream"] * r["streams"]


#: (label, value of one run, format) of the stream benchmark's figures, lower is better for all.
STREAM_ROWS: tuple[Row, ...] = (
    ("client CPU ms per stream-second", lambda r: r["cpu_per_stream_second"] * 1000.0, "{:.3f}"),
    ("RSS KB per live stream (all / N)", lambda r: r["rss_per_stream_bytes"] / 1024, "{:.1f}"),
    ("RSS KB per added stream (after the 1st)", lambda r: _kb(r.get("rss_per_added_stream_bytes")), "{:.1f}"),
    ("RSS KB of the first stream (one-time)", lambda r: _kb(r.get("rss_first_stream_bytes")), "{:.0f}"),
    ("client threads (peak)", _threads, "{:.0f}"),
    ("threads per stream", lambda r: r["threads_per_stream"], "{:.2f}"),
    ("audio lag p50 (ms)", lambda r: r.get("lag_p50_ms"), "{:.0f}"),
    ("audio lag p99 (ms)", lambda r: r["lag_p99_ms"], "{:.0f}"),
    ("audio lag max (ms)", lambda r: r["lag_max_ms"], "{:.0f}"),
    ("result delay p50, server send->callback (ms)", lambda r: r["delay_p50_ms"], "{:.2f}"),
    ("result delay p99, server send->callback (ms)", lambda r: r["delay_p99_ms"], "{:.2f}"),
)


def run_label(run: dict[str, Any]) -> str:
    """Column title of one run: client, the chunk the application hands it, actors' flush window,
    and the process's ``MALLOC_ARENA_MAX`` when the run set one."""
    name = CLIENT_NAMES.get(run["client"], run["client"])
    label = f"{name} {run['chunk_ms']}ms"
    flush = run.get("flush_interval")
    if run["client"] == "actors" and flush is not None:
        label += " immediate" if flush == 0 else f" coalesce {flush * 1000:g}ms"
    if run.get("malloc_arena_max") is not None:
        label += f" arenas={run['malloc_arena_max']}"
    return label


def _short(run: dict[str, Any], runs: Sequence[dict[str, Any]]) -> str:
    """The short client name, with the chunk when the group has that client twice."""
    name = SHORT_NAMES.get(run["client"], run["client"])
    twice = sum(r["client"] == run["client"] for r in runs) > 1
    arenas = run.get("malloc_arena_max")
    return (f"{name} {run['chunk_ms']}ms" if twice else name) + ("" if arenas is None else f" a{arenas}")


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else spec.format(value)


def ratio(ours: float | None, theirs: float | None) -> str:
    """``ours/theirs`` as ``0.27x`` ("-" when undefined)."""
    if ours is None or theirs is None or theirs == 0:
        return "-"
    return f"{ours / theirs:.2f}x"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A left-aligned first column and right-aligned others."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [str(row[0]).ljust(widths[0])] + [
            str(c).rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells))
    return "\n".join(lines)


def wire_summary(runs: Sequence[dict[str, Any]]) -> str:
    """One line on the audio frames on the wire: the same size for every client, or which differ."""
    sizes = [(run_label(r), r.get("wire_frame_ms")) for r in runs]
    known = [ms for _, ms in sizes if ms is not None]
    if known and len(known) == len(sizes) and max(known) - min(known) <= SAME_FRAME_MS:
        return (
            f"every client writes {sum(known) / len(known):.0f} ms audio frames on the wire (mean, measured)"
        )
    each = ", ".join(f"{label} {_fmt(ms, '{:.0f}')} ms" for label, ms in sizes)
    return f"audio frames on the wire DIFFER (mean, measured): {each}; CPU ratios are not like for like"


#: Thread groups below this share of a run's streaming CPU are summed as "others".
_THREAD_SHARE_SHOWN = 0.03


def thread_cpu_line(run: dict[str, Any]) -> str:
    """Where a run's CPU went while sending, by thread group: seconds and the kernel's share
    (empty when the run has no breakdown)."""
    groups = run.get("cpu_by_thread") or {}
    total = sum(g["user"] + g["system"] for g in groups.values())
    if total <= 0:
        return ""
    shown, others = [], 0.0
    for name, g in groups.items():
        cpu = g["user"] + g["system"]
        if cpu / total < _THREAD_SHARE_SHOWN:
            others += cpu
            continue
        threads = int(g["threads"])
        count = f" x{threads}" if threads > 1 else ""
        shown.append(f"{name}{count} {cpu:.1f} s ({g['system'] / cpu:.0%} kernel)")
    if others:
        shown.append(f"others {others:.1f} s")
    return f"{run_label(run)} CPU while sending, by thread: " + ", ".join(shown)


def stream_table(runs: Sequence[dict[str, Any]]) -> str:
    """The tables of one group of runs: figures per run, then each run's ratio to the sync SDK run
    and to the raw floor run (when the group has them), then run facts."""
    sdk = next((r for r in runs if r["client"] == BASELINE), None)
    floor = next((r for r in runs if r["client"] == FLOOR), None)
    header = ["", *[run_label(r) for r in runs]]
    rows: list[list[str]] = [
        ["chunk handed to the client (ms)", *[str(r["chunk_ms"]) for r in runs]],
        ["audio frame on the wire, mean (ms)", *[_fmt(r.get("wire_frame_ms"), "{:.1f}") for r in runs]],
    ]
    rows += [[label, *[_fmt(value(r), spec) for r in runs]] for label, value, spec in STREAM_ROWS]
    rows.append(["finals received/expected", *[f"{r['finals']}/{r['finals_expected']}" for r in runs]])
    rows.append(["errors", *[str(r["errors"]) for r in runs]])
    rows.append(
        ["server CPU s (its own process)", *[_fmt(r.get("server_cpu_seconds"), "{:.1f}") for r in runs]]
    )
    rows.append(["machine load avg (1 min) at start", *[_fmt(r.get("loadavg"), "{:.1f}") for r in runs]])
    out = [wire_summary(runs), table(header, rows)]
    pairs = [(r, sdk, "sdk") for r in runs if sdk is not None and r is not sdk]
    pairs += [(r, floor, "floor") for r in runs if floor is not None and r is not floor]
    if pairs:
        ratio_header = ["ratio (lower is better)", *[f"{_short(r, runs)}/{name}" for r, _, name in pairs]]
        ratio_rows = [
            [label, *[ratio(value(r), value(base)) for r, base, _ in pairs]]
            for label, value, _ in STREAM_ROWS
        ]
        out.append(table(ratio_header, ratio_rows))
    notes = [f"{run_label(r)}: {r['implementation']}" for r in runs if r.get("implementation")]
    notes += [line for r in runs if (line := thread_cpu_line(r))]
    return "\n\n".join(out) + ("\n" + "\n".join(notes) if notes else "")
