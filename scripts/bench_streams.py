#!/usr/bin/env python3
"""N concurrent real-time Listen V1 streams: actors, deepgram-sdk 7.16 (sync and asyncio) and a raw floor.

Columns (``--configs``; each run is a child process, ``benchlib.child``, against its own fresh server
process, ``python -m actors serve --engine deterministic --stamp-send-time``, so CPU, RSS and threads
are the client's alone):

* ``actors``: one Supervisor; one pacer thread calls ``send_audio`` for every stream.
* ``sdk``: ``DeepgramClient`` (sync); ONE pacer thread calls ``send_media`` for every stream, as for
  actors; the SDK's own receive threads (websockets' per connection, plus one to run each
  ``start_listening()``) are its cost and are counted.
* ``sdk-async``: ``AsyncDeepgramClient``; one event loop thread, one pacer task, a listen task per stream.
* ``raw``: the floor: one thread, one selector, hand-made handshakes, C masking, orjson parsing.

Every pacer follows the same schedule (``benchlib.schedule``: 4 phases per chunk period). The table
header says which audio frame size each client wrote on the wire (measured, mean); the default group
("fair") hands every client the same 50 ms chunks and each writes them as 50 ms frames (actors with its
coalescing window off), so the CPU ratios are like for like. Every figure is also printed as a ratio to
the sync SDK and to the floor. Clients alternate (the order flips for every table). Audio: 16 kHz
linear16, real time, a final Result every ~0.4 s.

    .venv/bin/python scripts/bench_streams.py                         # N = 50, 200; 20 s; fair group
    .venv/bin/python scripts/bench_streams.py --streams 200 --configs "fair;actors-default"
    .venv/bin/python scripts/bench_streams.py --streams 1000 --configs actors:20,raw:50
    .venv/bin/python scripts/bench_streams.py --streams 200 --configs actors:50:0 --malloc-arena-max 2

``--malloc-arena-max N`` runs every actors config twice: as is, and with ``MALLOC_ARENA_MAX=N`` in
the child's environment (glibc makes up to 8 malloc arenas per core for a process with many
threads, each keeping its own free memory; actors, a library, leaves that setting to the
application, so both figures are shown).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SCRIPTS = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPTS))

import attrs  # noqa: E402
import psutil  # noqa: E402
from benchlib.report import stream_table  # noqa: E402
from benchlib.serverproc import REPO, ServerProcess  # noqa: E402

DEFAULT_STREAMS = "50,200"
#: Named groups of runs (one table each). "fair": every client is handed the same 50 ms chunks and
#: writes each as one 50 ms frame (actors with its coalescing off), so CPU is compared like for like.
#: "actors-default": actors as configured by default (20 ms chunks in, the supervisor coalesces them
#: into ~50 ms frames) beside the sync SDK and the floor writing 20 ms frames: NOT like for like.
PRESETS = {
    "fair": "actors:50:0,sdk:50,sdk-async:50,raw:50",
    "actors-default": "actors:20,sdk:20,raw:20",
}
DEFAULT_CONFIGS = "fair"
CLIENTS = ("actors", "sdk", "sdk-async", "raw")


class RunFailed(Exception):
    """A client run crashed or timed out; the message says which and carries its stderr tail."""


@attrs.frozen
class Config:
    """One run: the client, the chunk (ms of audio) the application hands it, and for actors the
    supervisor's coalescing window in ms (None = the Supervisor's default)."""

    client: str
    chunk_ms: int
    flush_ms: float | None = None
    #: ``MALLOC_ARENA_MAX`` for the child process (None: glibc's default, 8 per core).
    arenas: int | None = None

    @property
    def label(self) -> str:
        """``client chunk ms``, the flush window and the arena cap when given (progress lines)."""
        flush = "" if self.flush_ms is None else f" flush {self.flush_ms:g} ms"
        arenas = "" if self.arenas is None else f" MALLOC_ARENA_MAX={self.arenas}"
        return f"{self.client} {self.chunk_ms} ms chunks{flush}{arenas}"


def parse_configs(text: str) -> list[list[Config]]:
    """``"actors:50:0,sdk:50;actors-default"`` -> groups of :class:`Config` (``;`` separates groups, each
    printed as one table; a group may be a preset name of :data:`PRESETS`). Raises ValueError naming the
    bad item. Items: ``client:chunk_ms`` or, for actors, ``actors:chunk_ms:flush_ms``."""
    groups = []
    for group_text in text.split(";"):
        group_text = PRESETS.get(group_text.strip(), group_text)
        group = []
        for item in group_text.split(","):
            client, chunk, *rest = item.strip().split(":")
            flush = rest[0] if rest else None
            ok = client in CLIENTS and chunk.isdigit() and int(chunk) >= 1 and len(rest) <= 1
            if ok and flush is not None:
                ok = client == "actors" and _is_ms(flush)
            if not ok:
                raise ValueError(
                    f"--configs item {item!r}: expected <client>:<chunk ms> (client one of "
                    f"{', '.join(CLIENTS)}) or actors:<chunk ms>:<flush ms>, or a preset: "
                    f"{', '.join(PRESETS)}"
                )
            group.append(Config(client, int(chunk), None if flush is None else float(flush)))
        groups.append(group)
    return groups


def with_arena_cap(group: list[Config], arenas: int) -> list[Config]:
    """``group`` with, after each actors config, the same config run under ``MALLOC_ARENA_MAX=arenas``."""
    out = []
    for config in group:
        out.append(config)
        if config.client == "actors":
            out.append(attrs.evolve(config, arenas=arenas))
    return out


def _is_ms(text: str) -> bool:
    try:
        return 0 <= float(text) <= 1000
    except ValueError:
        return False


def run_child(
    client: str,
    streams: int,
    seconds: float,
    chunk_ms: int,
    flush_ms: float | None = None,
    arenas: int | None = None,
) -> dict[str, Any]:
    """One client run against its own fresh server; returns the child's JSON plus server CPU.
    ``flush_ms``: actors' coalescing window (None: the Supervisor's default). ``arenas``: the
    child's ``MALLOC_ARENA_MAX`` (None: glibc's default; recorded as ``malloc_arena_max``)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SCRIPTS), str(REPO)]))
    if flush_ms is not None:
        env["ACTORS_BENCH_FLUSH"] = str(flush_ms / 1000.0)
    if arenas is not None:
        env["MALLOC_ARENA_MAX"] = str(arenas)
    with ServerProcess() as server:
        server_proc = psutil.Process(server.pid)
        server_cpu0 = sum(server_proc.cpu_times()[:2])
        load = os.getloadavg()[0]
        cmd = [
            sys.executable, "-m", "benchlib.child", "--client", client, "--url", server.url,
            "--streams", str(streams), "--seconds", str(seconds), "--chunk-ms", str(chunk_ms),
        ]  # fmt: skip
        try:
            done = subprocess.run(
                cmd, cwd=SCRIPTS, env=env, capture_output=True, text=True, timeout=seconds * 4 + 180
            )
        except subprocess.TimeoutExpired as exc:
            stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr
            raise RunFailed(
                f"{client} with {streams} streams timed out after {exc.timeout:.0f} s:\n{stderr}"
            ) from None
        server_cpu = sum(server_proc.cpu_times()[:2]) - server_cpu0
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RunFailed(
            f"{client} with {streams} streams failed (exit {done.returncode}):\n{done.stderr[-2000:]}"
        )
    result: dict[str, Any] = json.loads(lines[-1])
    result["server_cpu_seconds"] = server_cpu
    result["loadavg"] = load
    result["malloc_arena_max"] = arenas
    return result


def main(argv: list[str] | None = None) -> int:
    """Run every N and config, print one table per N, optionally save all runs as JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--streams", default=DEFAULT_STREAMS, help=f"comma-separated N (default {DEFAULT_STREAMS})"
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of audio per stream (20)")
    parser.add_argument(
        "--configs",
        default=DEFAULT_CONFIGS,
        help=f"groups (;-separated, one table each) of client:chunk_ms[:flush_ms] items, or presets "
        f"{', '.join(f'{k} = {v}' for k, v in PRESETS.items())} (default {DEFAULT_CONFIGS})",
    )
    parser.add_argument(
        "--malloc-arena-max",
        type=int,
        metavar="N",
        help="also run every actors config with MALLOC_ARENA_MAX=N in its process (glibc: one "
        "malloc arena per thread up to 8 per core by default, and RSS grows with them when many "
        "threads allocate; the library leaves the process's malloc settings alone, so this is the "
        "application's choice)",
    )
    parser.add_argument("--json", type=Path, help="also write every run's measurements to this file")
    args = parser.parse_args(argv)
    try:
        counts = [int(n) for n in args.streams.split(",")]
        groups = parse_configs(args.configs)
    except ValueError as exc:
        parser.error(str(exc))
    if any(n < 1 for n in counts):
        parser.error("--streams values must be >= 1")
    if args.malloc_arena_max is not None:
        if args.malloc_arena_max < 1:
            parser.error("--malloc-arena-max must be >= 1")
        groups = [with_arena_cap(group, args.malloc_arena_max) for group in groups]
    all_runs: list[dict[str, Any]] = []
    failed: list[str] = []
    turn = 0
    for streams in counts:
        for group_index, group in enumerate(groups):
            order = group if turn % 2 == 0 else list(reversed(group))  # alternate who goes first
            turn += 1
            runs: dict[Config, dict[str, Any]] = {}
            for config in order:
                started = time.monotonic()
                print(f"... N={streams} {config.label}", file=sys.stderr, flush=True)
                try:
                    run = run_child(
                        config.client, streams, args.seconds, config.chunk_ms, config.flush_ms, config.arenas
                    )
                except RunFailed as exc:  # reported, and the other runs go on
                    print(f"    FAILED: {exc}", file=sys.stderr, flush=True)
                    failed.append(f"N={streams} {config.label}: {str(exc).splitlines()[0]}")
                    continue
                run["group"] = group_index
                runs[config] = run
                print(f"    done in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
            ordered = [runs[c] for c in group if c in runs]
            all_runs.extend(ordered)
            print(f"\n== {streams} concurrent real-time streams, {args.seconds:g} s of audio each ==")
            print(stream_table(ordered), flush=True)
    for line in failed:
        print(f"FAILED run: {line}")
    if args.json:
        args.json.write_text(json.dumps(all_runs, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
