"""The performance targets of issue 7 (and issue 17's CPU floor), checked against benchmark results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

CPU_RATIO_TARGET = 0.3  # actors CPU per stream-second vs deepgram-sdk, at 200 streams
FLOOR_RATIO_TARGET = 1.5  # actors CPU per stream-second vs the raw one-thread floor (issue 17)
SAME_FRAME_MS = 1.0  # wire frames this close count as the same size
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


def _flush(run: dict[str, Any]) -> str:
    flush = run.get("flush_interval")
    return "" if flush is None else f" (flush window {flush * 1000:g} ms)"


def _same_wire(a: dict[str, Any], b: dict[str, Any]) -> bool:
    fa, fb = a.get("wire_frame_ms"), b.get("wire_frame_ms")
    return fa is not None and fb is not None and abs(fa - fb) <= SAME_FRAME_MS


def _cpu_pair(runs: Sequence[dict[str, Any]], streams: int) -> tuple[Any, Any, Any, bool]:
    """(actors, sdk, raw or None, like for like) at ``streams``: runs of one group whose audio frames on
    the wire have the same size when there are such, else any actors and sdk runs (not like for like)."""
    at = [r for r in runs if r["streams"] == streams]
    for ours in (r for r in at if r["client"] == "actors"):
        group = [r for r in at if r.get("group") == ours.get("group")]
        sdk = next((r for r in group if r["client"] == "sdk" and _same_wire(ours, r)), None)
        if sdk is not None:
            floor = next((r for r in group if r["client"] == "raw" and _same_wire(ours, r)), None)
            return ours, sdk, floor, True
    return _run(at, "actors", streams), _run(at, "sdk", streams), None, False


def check(runs: Sequence[dict[str, Any]], startup: dict[str, dict[str, float | None]] | None) -> list[str]:
    """One line per target: MET / MISSED / not measured, with the measured figure."""
    lines = []
    ours, sdk, floor, fair = _cpu_pair(runs, 200)
    if ours and sdk:
        r = ours["cpu_per_stream_second"] / sdk["cpu_per_stream_second"]
        frames = (
            f"{ours['wire_frame_ms']:.0f} ms frames on the wire for both"
            if fair
            else "wire frames NOT the same size, not like for like"
        )
        lines.append(
            f"{_verdict(r <= CPU_RATIO_TARGET)} CPU per stream-second at 200 streams ({frames}): "
            f"{r:.2f}x deepgram-sdk sync, one pacer thread (target <= {CPU_RATIO_TARGET}x)"
        )
    else:
        lines.append("not measured: CPU at 200 streams (run --streams 200 --configs fair)")
    if ours and floor:
        r = ours["cpu_per_stream_second"] / floor["cpu_per_stream_second"]
        lines.append(
            f"{_verdict(r <= FLOOR_RATIO_TARGET)} CPU per stream-second at 200 streams: {r:.2f}x the raw "
            f"one-thread floor (target <= {FLOOR_RATIO_TARGET}x)"
        )
    thousand = [r for r in runs if r["client"] == "actors" and r["streams"] >= 1000]
    for run in thousand:
        lag = run["lag_p99_ms"]
        ok = lag is not None and lag < LAG_TARGET_MS and run["errors"] == 0
        lines.append(
            f"{_verdict(ok)} {run['streams']} real-time streams, {run['chunk_ms']} ms chunks{_flush(run)}: "
            f"p99 audio lag {lag} ms, {run['errors']} errors (target < {LAG_TARGET_MS} ms)"
        )
    if not thousand:
        lines.append("not measured: 1,000 streams (run --streams 1000, e.g. --configs actors:20,raw:50)")
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
