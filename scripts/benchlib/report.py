"""Formatting of benchmark results as fixed-width text tables (no dependencies)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Row = tuple[str, Callable[[dict[str, Any]], float | None], str]

#: (label, value of one run, format) of the stream benchmark's table, lower is better for all.
STREAM_ROWS: tuple[Row, ...] = (
    ("client CPU s per stream-second", lambda r: r["cpu_per_stream_second"], "{:.4f}"),
    ("RSS per stream (KB)", lambda r: r["rss_per_stream_bytes"] / 1024, "{:.0f}"),
    ("threads per stream", lambda r: r["threads_per_stream"], "{:.2f}"),
    ("delay server send->callback p50 (ms)", lambda r: r["delay_p50_ms"], "{:.2f}"),
    ("delay server send->callback p99 (ms)", lambda r: r["delay_p99_ms"], "{:.2f}"),
    ("audio lag p99 (ms)", lambda r: r["lag_p99_ms"], "{:.0f}"),
    ("audio lag max (ms)", lambda r: r["lag_max_ms"], "{:.0f}"),
)


def run_label(run: dict[str, Any]) -> str:
    """Column title of one run: client and chunk size."""
    name = "deepgram-sdk" if run["client"] == "sdk" else "actors"
    return f"{name} {run['chunk_ms']}ms"


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


def stream_table(runs: Sequence[dict[str, Any]]) -> str:
    """The table of one N: every run as a column, then each actors run's ratio to the SDK run."""
    sdk = next((r for r in runs if r["client"] == "sdk"), None)
    ours = [r for r in runs if r["client"] == "actors"]
    header = ["", *[run_label(r) for r in runs], *[f"ratio {run_label(r)}/sdk" for r in ours if sdk]]
    rows = []
    for label, value, spec in STREAM_ROWS:
        row = [label, *[_fmt(value(r), spec) for r in runs]]
        if sdk is not None:
            row += [ratio(value(r), value(sdk)) for r in ours]
        rows.append(row)
    rows.append(
        ["finals received/expected", *[f"{r['finals']}/{r['finals_expected']}" for r in runs]]
        + ["" for _ in ours if sdk]
    )
    rows.append(["errors", *[str(r["errors"]) for r in runs]] + ["" for _ in ours if sdk])
    rows.append(
        ["server CPU s (its own process)", *[_fmt(r.get("server_cpu_seconds"), "{:.1f}") for r in runs]]
        + ["" for _ in ours if sdk]
    )
    rows.append(
        ["machine load avg (1 min) at start", *[_fmt(r.get("loadavg"), "{:.1f}") for r in runs]]
        + ["" for _ in ours if sdk]
    )
    return table(header, rows)
