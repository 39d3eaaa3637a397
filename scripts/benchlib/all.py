"""``scripts/bench_all``: codec, cold start and streams benchmarks, then one summary with targets.

Each benchmark runs as its own script (its tables are shown as they come); their JSON output
feeds the summary. ``scripts/bench_codec.py`` is run when present (its output is shown as is).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib.targets import check

SCRIPTS = Path(__file__).resolve().parents[1]


def run_script(name: str, args: list[str], allow_failure: bool = False) -> str:
    """Run ``scripts/<name>`` with this interpreter, echoing and returning its stdout.

    A non-zero exit ends ``bench_all`` unless ``allow_failure`` (bench_streams exits 1 when some
    run failed but still writes the runs that worked).
    """
    print(f"\n##### {name} {' '.join(args)}", flush=True)
    done = subprocess.run([sys.executable, str(SCRIPTS / name), *args], stdout=subprocess.PIPE, text=True)
    print(done.stdout, end="", flush=True)
    if done.returncode != 0 and not allow_failure:
        raise SystemExit(f"{name} failed with exit status {done.returncode}")
    return done.stdout


def main(argv: list[str] | None = None) -> int:
    """Run the three benchmarks and print the summary."""
    parser = argparse.ArgumentParser(prog="scripts/bench_all", description=__doc__)
    parser.add_argument("--streams", default="50,200", help="N for bench_streams (50,200)")
    parser.add_argument("--seconds", type=float, default=20.0, help="audio seconds per stream (20)")
    parser.add_argument("--configs", default="fair", help="bench_streams configs (fair)")
    parser.add_argument("--rounds", type=int, default=7, help="cold starts per variant (7)")
    parser.add_argument("--skip-codec", action="store_true", help="do not run bench_codec.py")
    args = parser.parse_args(argv)
    started = time.monotonic()
    codec_out = ""
    with tempfile.TemporaryDirectory(prefix="actors-bench-") as tmp:
        codec = SCRIPTS / "bench_codec.py"
        if not args.skip_codec and codec.exists():
            codec_out = run_script("bench_codec.py", [])
        startup_json = Path(tmp, "startup.json")
        streams_json = Path(tmp, "streams.json")
        run_script("bench_startup.py", ["--rounds", str(args.rounds), "--json", str(startup_json)])
        run_script(
            "bench_streams.py",
            ["--streams", args.streams, "--seconds", str(args.seconds), "--configs", args.configs,
             "--json", str(streams_json)],
            allow_failure=True,
        )  # fmt: skip
        from bench_startup import medians

        startup = medians(json.loads(startup_json.read_text()))
        runs: list[dict[str, Any]] = json.loads(streams_json.read_text())
    print("\n##### summary: actors vs deepgram-sdk 7.16 (same machine, same local server)")
    if not codec_out and not args.skip_codec:
        print("codec: scripts/bench_codec.py is not there yet; no codec figures")
    for line in check(runs, startup):
        print(line)
    print(
        f"(all benchmarks took {time.monotonic() - started:.0f} s; the machine is shared, so compare ratios "
        "and rerun for noise)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
