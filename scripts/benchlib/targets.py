"""The performance targets of issue 17 (runtime core v2), checked against benchmark results.

Each line says MET or MISSED with the measured figure, or what to run when a figure is missing.
The targets: CPU per stream-second at 200 and 1,000 streams <= 0.3x the fairly driven SDK and
<= 1.5x the raw one-thread floor (like for like: the same frames on the wire); RSS <= 60 KB per
live stream (each stream after the first; the first stream's one-time cost is printed beside it);
<= 1 thread per live stream plus a fixed few per process; cold start <= 0.3x the SDK; p99 audio
lag < 50 ms at 1,000 streams and < 100 ms at 2,000, with the default configuration.

Beside a lag verdict it prints the raw floor's p99 at the same streams and chunks when the run has
one, and the local server's CPU time: client and server share the machine, so a floor that misses the
target too says the machine, not the client, is the limit there. Beside the cold-start verdict
it prints the floor of the chosen dependencies (``deps-floor``: their imports and websocket-client's
own connection, no code of ours).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

CPU_RATIO_TARGET = 0.3  # actors CPU per stream-second vs deepgram-sdk (sync, one pacer thread)
FLOOR_RATIO_TARGET = 1.5  # actors CPU per stream-second vs the raw one-thread floor
CPU_STREAMS = (200, 1000)  # where the CPU targets are judged
SAME_FRAME_MS = 1.0  # wire frames this close count as the same size
#: p99 audio lag targets (ms) by number of real-time streams in one process, default configuration.
LAG_TARGETS_MS = {1000: 50, 2000: 100}
RSS_TARGET_KB = 60  # per live stream (each one after the first)
THREADS_TARGET = 1.0  # per live stream, besides the process's fixed threads
STARTUP_RATIO_TARGET = 0.3  # cold start vs deepgram-sdk


def default_flush_interval() -> float:
    """The Supervisor's default coalescing window (the "default configuration" of the lag target)."""
    from actors.runtime.supervisor import DEFAULT_AUDIO_FLUSH_INTERVAL

    return DEFAULT_AUDIO_FLUSH_INTERVAL


def _verdict(ok: bool) -> str:
    return "MET   " if ok else "MISSED"


def _flush(run: dict[str, Any]) -> str:
    flush = run.get("flush_interval")
    return "" if flush is None else f" (flush window {flush * 1000:g} ms)"


def _same_wire(a: dict[str, Any], b: dict[str, Any]) -> bool:
    fa, fb = a.get("wire_frame_ms"), b.get("wire_frame_ms")
    return fa is not None and fb is not None and abs(fa - fb) <= SAME_FRAME_MS


def _cpu_pair(runs: Sequence[dict[str, Any]], streams: int) -> tuple[Any, Any, Any, bool]:
    """(actors, sdk or None, raw or None, like for like) at ``streams``: runs of one group whose audio
    frames on the wire have the same size when there are such, else any runs (not like for like)."""
    at = [r for r in runs if r["streams"] == streams]
    for ours in (r for r in at if r["client"] == "actors"):
        group = [r for r in at if r.get("group") == ours.get("group")]
        sdk = next((r for r in group if r["client"] == "sdk" and _same_wire(ours, r)), None)
        floor = next((r for r in group if r["client"] == "raw" and _same_wire(ours, r)), None)
        if sdk is not None or floor is not None:
            return ours, sdk, floor, True
    first = {c: next((r for r in at if r["client"] == c), None) for c in ("actors", "sdk", "raw")}
    return first["actors"], first["sdk"], first["raw"], False


def _cpu_lines(runs: Sequence[dict[str, Any]], streams: int) -> list[str]:
    ours, sdk, floor, fair = _cpu_pair(runs, streams)
    if ours is None or (sdk is None and floor is None):
        return [f"not measured: CPU at {streams} streams (run --streams {streams} --configs fair)"]
    frames = (
        f"{ours['wire_frame_ms']:.0f} ms frames on the wire for both"
        if fair
        else "wire frames NOT the same size, not like for like"
    )
    lines = []
    for other, name, target in ((sdk, "deepgram-sdk sync, one pacer thread", CPU_RATIO_TARGET),
                                (floor, "the raw one-thread floor", FLOOR_RATIO_TARGET)):  # fmt: skip
        if other is None:
            continue
        r = ours["cpu_per_stream_second"] / other["cpu_per_stream_second"]
        lines.append(
            f"{_verdict(r <= target)} CPU per stream-second at {streams} streams ({frames}): "
            f"{r:.2f}x {name} (target <= {target}x)"
        )
    return lines


def _floor_beside(runs: Sequence[dict[str, Any]], run: dict[str, Any], target: int) -> str:
    """``; raw floor p99 N ms ...`` for the raw run at the same streams and chunks, and the server's CPU."""
    floor = next(
        (r for r in runs if r["client"] == "raw" and r["streams"] == run["streams"]
         and r["chunk_ms"] == run["chunk_ms"]),
        None,
    )  # fmt: skip
    text = ""
    if floor is not None and floor.get("lag_p99_ms") is not None:
        text = f"; the raw floor, same streams and chunks: p99 {floor['lag_p99_ms']} ms"
        if floor["lag_p99_ms"] >= target:
            text += " (it misses the target too: this machine is the limit here)"
    server, seconds = run.get("server_cpu_seconds"), run.get("seconds")
    if server is not None and seconds:
        text += f"; the local server's CPU: {server:.1f} s for {seconds:g} s of audio"
    return text


def _lag_lines(runs: Sequence[dict[str, Any]]) -> list[str]:
    default = default_flush_interval()
    lines = []
    for streams, target in sorted(LAG_TARGETS_MS.items()):
        measured = [r for r in runs if r["client"] == "actors" and r["streams"] == streams]
        for run in measured:
            lag = run["lag_p99_ms"]
            where = f"{streams} real-time streams, {run['chunk_ms']} ms chunks{_flush(run)}"
            beside = _floor_beside(runs, run, target)
            if run.get("flush_interval") != default:
                note = "not the default configuration"
                lines.append(f"info   {where}: p99 audio lag {lag} ms ({note}){beside}")
                continue
            ok = lag is not None and lag < target and run["errors"] == 0
            lines.append(
                f"{_verdict(ok)} {where}: p99 audio lag {lag} ms, {run['errors']} errors "
                f"(target < {target} ms, default configuration){beside}"
            )
        if not measured:
            lines.append(f"not measured: {streams:,} streams (run --streams {streams} --configs actors:20)")
    return lines


def _memory_lines(runs: Sequence[dict[str, Any]]) -> list[str]:
    largest = max((r for r in runs if r["client"] == "actors"), key=lambda r: r["streams"], default=None)
    if largest is None:
        return []
    n = largest["streams"]
    all_kb = largest["rss_per_stream_bytes"] / 1024
    added, first = largest.get("rss_per_added_stream_bytes"), largest.get("rss_first_stream_bytes")
    if added is not None and first is not None:
        kb = added / 1024
        figure = (
            f"{kb:.0f} KB per added stream; all / N {all_kb:.0f} KB, "
            f"the first stream's one-time {first / 1024:.0f} KB"
        )
    else:  # a run from before the second baseline: all / N is what there is
        kb = all_kb
        figure = f"{kb:.0f} KB (all / N)"
    fixed = largest.get("fixed_threads", 0)
    threads = largest["threads_per_stream"] - fixed / n
    return [
        f"{_verdict(kb <= RSS_TARGET_KB)} RSS per live stream at {n} streams: {figure} "
        f"(target <= {RSS_TARGET_KB} KB)",
        f"{_verdict(threads <= THREADS_TARGET)} threads per live stream at {n} streams: {threads:.2f} "
        f"(target <= {THREADS_TARGET:g}; plus {fixed} fixed threads for the whole process)",
    ]


def check(runs: Sequence[dict[str, Any]], startup: dict[str, dict[str, float | None]] | None) -> list[str]:
    """One line per target: MET / MISSED / info / not measured, with the measured figure."""
    lines = []
    for streams in CPU_STREAMS:
        lines += _cpu_lines(runs, streams)
    lines += _lag_lines(runs)
    lines += _memory_lines(runs)
    if startup:
        for variant in ("actors", "actors-runtime"):
            ours_ms, sdk_ms = startup[variant]["total_ms"], startup["sdk"]["total_ms"]
            if ours_ms is not None and sdk_ms:
                r = ours_ms / sdk_ms
                lines.append(
                    f"{_verdict(r <= STARTUP_RATIO_TARGET)} cold start ({variant}): {ours_ms:.0f} ms vs "
                    f"{sdk_ms:.0f} ms = {r:.2f}x (target <= {STARTUP_RATIO_TARGET}x)"
                )
        floor_ms = startup.get("deps-floor", {}).get("total_ms")
        sdk_ms = startup["sdk"]["total_ms"]
        if floor_ms is not None and sdk_ms:
            lines.append(
                f"info   cold start floor (the chosen dependencies' imports and websocket-client's own "
                f"connection, no code of ours): {floor_ms:.0f} ms = {floor_ms / sdk_ms:.2f}x the SDK"
            )
    return lines
