#!/usr/bin/env python3
"""N concurrent real-time Listen V1 streams: actors vs deepgram-sdk 7.16 (sync), same local server.

Each client run is a child process (``benchlib.child``) against a fresh server process
(``python -m actors serve --engine deterministic --stamp-send-time``), so CPU, RSS and threads
are the client's alone. Clients alternate (their order flips for every N). Audio: 16 kHz
linear16, real time, a final Result every ~0.4 s.

    .venv/bin/python scripts/bench_streams.py                      # N = 50, 200; 20 s of audio
    .venv/bin/python scripts/bench_streams.py --streams 500,1000 --configs actors:20,actors:100,sdk:20
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

import psutil  # noqa: E402
from benchlib.report import stream_table  # noqa: E402
from benchlib.serverproc import REPO, ServerProcess  # noqa: E402

DEFAULT_STREAMS = "50,200"
DEFAULT_CONFIGS = "actors:20,sdk:20"


class RunFailed(Exception):
    """A client run crashed or timed out; the message says which and carries its stderr tail."""


def parse_configs(text: str) -> list[tuple[str, int]]:
    """``"actors:20,sdk:20"`` -> ``[("actors", 20), ("sdk", 20)]``; raises ValueError naming the bad item."""
    configs = []
    for item in text.split(","):
        client, _, chunk = item.strip().partition(":")
        if client not in ("actors", "sdk") or not chunk.isdigit() or int(chunk) < 1:
            raise ValueError(f"--configs item {item!r}: expected actors:<chunk ms> or sdk:<chunk ms>")
        configs.append((client, int(chunk)))
    return configs


def run_child(client: str, streams: int, seconds: float, chunk_ms: int) -> dict[str, Any]:
    """One client run against its own fresh server; returns the child's JSON plus server CPU."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SCRIPTS), str(REPO)]))
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
        "--configs", default=DEFAULT_CONFIGS, help=f"client:chunk_ms list (default {DEFAULT_CONFIGS})"
    )
    parser.add_argument("--json", type=Path, help="also write every run's measurements to this file")
    args = parser.parse_args(argv)
    try:
        counts = [int(n) for n in args.streams.split(",")]
        configs = parse_configs(args.configs)
    except ValueError as exc:
        parser.error(str(exc))
    if any(n < 1 for n in counts):
        parser.error("--streams values must be >= 1")
    all_runs: list[dict[str, Any]] = []
    failed: list[str] = []
    for index, streams in enumerate(counts):
        order = configs if index % 2 == 0 else list(reversed(configs))  # alternate who goes first
        runs: dict[tuple[str, int], dict[str, Any]] = {}
        for client, chunk_ms in order:
            started = time.monotonic()
            print(f"... N={streams} {client} {chunk_ms} ms chunks", file=sys.stderr, flush=True)
            try:
                runs[(client, chunk_ms)] = run_child(client, streams, args.seconds, chunk_ms)
            except RunFailed as exc:  # reported, and the other runs go on
                print(f"    FAILED: {exc}", file=sys.stderr, flush=True)
                failed.append(f"N={streams} {client} {chunk_ms} ms: {str(exc).splitlines()[0]}")
                continue
            print(f"    done in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
        ordered = [runs[c] for c in configs if c in runs]
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
