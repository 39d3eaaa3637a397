"""Call-center batch: transcribe the bundled sample calls with ``python -m actors transcribe``.

The command line is the product here; this script runs it on ``actors/samples/*.wav`` into a
temporary directory (``--out DIR`` to keep the files) and prints what it wrote. Each call is one
supervised, lossless Listen V1 stream (stereo calls with ``multichannel``); per call the command
writes ``CALL.jsonl``, ``CALL.txt`` (one line per speaker turn), ``CALL.srt`` and ``CALL.vtt``,
plus ``summary.json`` / ``summary.csv`` for the run. Without ``DEEPGRAM_API_KEY`` it uses the
embedded local server. The same from a shell::

    python -m actors transcribe actors/samples/*.wav --out out/ --fast

Run it from the repository root::

    python examples/batch_transcription.py [--out DIR]

It prints each call's status and first transcript line, then ``3 of 3 calls ok``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

SAMPLES = sorted((Path(__file__).resolve().parents[1] / "actors" / "samples").glob("*.wav"))


def transcribe(out: Path) -> int:
    """Run the transcribe command on the samples into ``out``; print the summary it wrote."""
    command = [sys.executable, "-m", "actors", "transcribe", *map(str, SAMPLES), "--out", str(out), "--fast"]
    done = subprocess.run(command, stdout=subprocess.DEVNULL, check=False)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    calls = summary["calls"]
    for call in calls:
        first = ""
        txt = out / f"{call['stem']}.txt"
        if txt.exists():
            first = txt.read_text(encoding="utf-8").splitlines()[0]
        print(f"{call['stem']}: {call['status']}  {first}")
    ok = sum(call["status"] == "ok" for call in calls)
    print(f"{ok} of {len(calls)} calls ok")
    return done.returncode


def main() -> int:
    """Transcribe into ``--out`` or a temporary directory; the command's exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="keep the outputs here (default: a temporary directory)")
    args = parser.parse_args()
    if args.out:
        return transcribe(args.out)
    with tempfile.TemporaryDirectory(prefix="actors-batch-") as tmp:
        return transcribe(Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
