"""The performance targets of issue 7, checked against benchmark results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

CPU_RATIO_TARGET = 0.3  # actors CPU per stream-second vs deepgram-sdk, at 200 streams
LAG_TARGET_MS = 100  # p99 audio lag with 1,000 real-time streams in one process
RSS_TARGET_KB = 150  # per live stream
THREADS_TARGET = 2.0  # per live stream
STARTUP_RATIO_TARGET = 0.2  # cold start vs deepgram-sdk


def _verdict(ok: bool) -> str:
    return "MET   " if ok else "MISSED"


def _run(runs: Sequence[dict[str, Any]], client: str, streams: int, chunk_ms: int | None = None) -> Any:
    for run in runs:
        if run["client"] == client and run["streams"] == streams and chunk_ms in (None, run["chunk_ms"]):
            return run
    return None


def check(runs: Sequence[dict[str, Any]], startup: dict[str, dict[str, float | None]] | None) -> list[str]:
    """One line per target: MET / MISSED / not measured, with the measured figure."""
    lines = []
    ours, sdk = _run(runs, "actors", 200, 20), _run(runs, "sdk", 200, 20)
    if ours and sdk:
        r = ours["cpu_per_stream_second"] / sdk["cpu_per_stream_second"]
        lines.append(
            f"{_verdict(r <= CPU_RATIO_TARGET)} CPU per stream-second at 200 streams (20 ms chunks): "
            f"{r:.2f}x deepgram-sdk (target <= {CPU_RATIO_TARGET}x)"
        )
    else:
        lines.append("not measured: CPU at 200 streams (run --streams 200 with actors:20 and sdk:20)")
    thousand = [r for r in runs if r["client"] == "actors" and r["streams"] >= 1000]
    for run in thousand:
        lag = run["lag_p99_ms"]
        ok = lag is not None and lag < LAG_TARGET_MS and run["errors"] == 0
        lines.append(
            f"{_verdict(ok)} {run['streams']} real-time streams, {run['chunk_ms']} ms chunks: p99 audio "
            f"lag {lag} ms, {run['errors']} errors (target < {LAG_TARGET_MS} ms)"
        )
    if not thousand:
        lines.append(
            "not measured: 1,000 streams (run --streams 1000, e.g. --configs actors:20,actors:100,sdk:20)"
        )
    largest = max((r for r in runs if r["client"] == "actors"), key=lambda r: r["streams"], default=None)
    if largest:
        kb = largest["rss_per_stream_bytes"] / 1024
        fixed = largest.get("fixed_threads", 0)
        threads = largest["threads_per_stream"] - fixed / largest["streams"]
        lines.append(
            f"{_verdict(kb <= RSS_TARGET_KB)} RSS per live stream at {largest['streams']} streams: "
            f"{kb:.0f} KB (target <= {RSS_TARGET_KB} KB)"
        )
        lines.append(
            f"{_verdict(threads <= THREADS_TARGET)} threads per live stream at {largest['streams']} "
            f"streams: {threads:.2f} (target <= {THREADS_TARGET:g}; "
            f"plus {fixed} fixed threads for the whole process)"
        )
    if startup:
        for variant in ("actors", "actors-runtime"):
            ours_ms, sdk_ms = startup[variant]["total_ms"], startup["sdk"]["total_ms"]
            if ours_ms is not None and sdk_ms:
                r = ours_ms / sdk_ms
                lines.append(
                    f"{_verdict(r <= STARTUP_RATIO_TARGET)} cold start ({variant}): {ours_ms:.0f} ms vs "
                    f"{sdk_ms:.0f} ms = {r:.2f}x (target <= {STARTUP_RATIO_TARGET}x)"
                )
    return lines
