#!/usr/bin/env python3
"""Cold start: import plus first Listen V1 connection, actors vs deepgram-sdk 7.16.

Every sample is a fresh interpreter (``benchlib.startup_child``) against one local server
process; variants alternate and the medians are printed. ``actors`` is the SDK-shaped facade
(``actors.DeepgramClient``), ``actors-runtime`` the runtime's ``Connection.open``, ``deps-floor``
the chosen dependencies alone (imported, and websocket-client's own ``create_connection``): the
lower bound of actors' cold start, printed beside the others and as a ratio to the SDK.

    .venv/bin/python scripts/bench_startup.py            # 7 rounds
    .venv/bin/python scripts/bench_startup.py --rounds 15 --json startup.json
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

from benchlib.report import ratio, table  # noqa: E402
from benchlib.serverproc import REPO, ServerProcess  # noqa: E402
from benchlib.stats import median  # noqa: E402

VARIANTS = ("actors", "actors-runtime", "deps-floor", "sdk")
METRICS = ("import_ms", "connect_ms", "total_ms", "process_ms")


def sample(variant: str, url: str) -> dict[str, Any]:
    """One cold start of ``variant``; adds ``process_ms``, the whole child process's wall time."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SCRIPTS), str(REPO)]))
    cmd = [sys.executable, "-m", "benchlib.startup_child", "--client", variant, "--url", url]
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=SCRIPTS, env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - started
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{variant} cold start failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    result["process_ms"] = round(elapsed * 1000, 1)
    return result


def medians(samples: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Per variant, the median of each metric."""
    out: dict[str, dict[str, float | None]] = {}
    for variant in VARIANTS:
        rows = [s for s in samples if s["client"] == variant]
        out[variant] = {m: median([r[m] for r in rows]) for m in METRICS}
    return out


def summary_table(med: dict[str, dict[str, float | None]]) -> str:
    """Medians per variant, and each actors variant's ratio to the SDK."""
    ratios = ["actors/sdk", "actors-runtime/sdk", "deps-floor/sdk", "actors/deps-floor"]
    header = ["median ms", *VARIANTS, *ratios]
    rows = []
    for metric in METRICS:
        values = [med[v][metric] for v in VARIANTS]
        rows.append(
            [
                metric.removesuffix("_ms"),
                *["-" if v is None else f"{v:.0f}" for v in values],
                ratio(med["actors"][metric], med["sdk"][metric]),
                ratio(med["actors-runtime"][metric], med["sdk"][metric]),
                ratio(med["deps-floor"][metric], med["sdk"][metric]),
                ratio(med["actors"][metric], med["deps-floor"][metric]),
            ]
        )
    return table(header, rows)


def main(argv: list[str] | None = None) -> int:
    """Run the rounds, print the medians table, optionally save every sample."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=7, help="cold starts per variant (7)")
    parser.add_argument("--json", type=Path, help="also write every sample to this file")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be >= 1")
    # pip compiles an installed package to bytecode (deepgram-sdk's is); compile ours too, or the
    # children would measure compiling actors from source (PYTHONDONTWRITEBYTECODE may be set here).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "actors")], check=True)
    samples: list[dict[str, Any]] = []
    with ServerProcess() as server:
        for round_index in range(args.rounds):
            order = VARIANTS if round_index % 2 == 0 else tuple(reversed(VARIANTS))
            samples.extend(sample(variant, server.url) for variant in order)
    print(f"\n== cold start: import + first Listen V1 connection ({args.rounds} rounds, medians) ==")
    print(summary_table(medians(samples)))
    print("process = whole child process wall time, interpreter start and exit included")
    if args.json:
        args.json.write_text(json.dumps(samples, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
