"""The batch summary files ``summary.json`` and ``summary.csv``, and what ``--skip-existing`` reads back.

Both files sit in the output directory, one row per call of the run, in input order, with
`COLUMNS`: the call's name, output stem, input path, status (``ok``/``failed``/
``interrupted``/``skipped``), audio seconds, words, Deepgram request ids (space-separated in
the CSV), reconnects, time to first result, wall seconds, error, metadata, and on a Ray cluster the
worker that ran the call and why earlier attempts were re-run (``reruns``; `` | ``-separated in
the CSV). ``summary.json`` adds the
run's totals and whether it was interrupted. They are written atomically
(`actors.cli.atomicfile`) when the run ends, an interrupted run included, so a reader never
sees a half-written summary.

`previous_outcomes` reads the last ``summary.json`` back, keyed by output stem, for
``--skip-existing``; `skipped_outcome` decides whether a call is done: all its final files are
present (they appear only when the call succeeded) and the previous summary, if it lists the
stem, says ``ok`` or ``skipped``. A run that was killed outright leaves no new summary; the
files alone then decide.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from actors.cli.atomicfile import write_atomic
from actors.cli.outputs import CallFiles
from actors.cli.summary import STATUSES, CallOutcome

SUMMARY_JSON = "summary.json"
SUMMARY_CSV = "summary.csv"
SUMMARY_FORMAT = "actors-transcribe-summary/1"

#: The per-call columns of both files, in order.
COLUMNS = (
    "name",
    "stem",
    "input",
    "status",
    "audio_seconds",
    "words",
    "request_ids",
    "reconnects",
    "time_to_first_result",
    "wall_seconds",
    "error",
    "metadata",
    "worker",
    "reruns",
)


def outcome_row(outcome: CallOutcome) -> dict[str, Any]:
    """One call as a JSON-ready dict with `COLUMNS` (seconds rounded to milliseconds)."""
    ttfr = outcome.time_to_first_result
    return {
        "name": outcome.name,
        "stem": outcome.stem,
        "input": outcome.input,
        "status": outcome.status,
        "audio_seconds": round(outcome.audio_seconds, 3),
        "words": outcome.words,
        "request_ids": list(outcome.request_ids),
        "reconnects": outcome.reconnects,
        "time_to_first_result": round(ttfr, 3) if ttfr is not None else None,
        "wall_seconds": round(outcome.wall_seconds, 3),
        "error": outcome.error,
        "metadata": dict(outcome.metadata),
        "worker": outcome.worker or None,
        "reruns": list(outcome.reruns),
    }


def summary_document(
    outcomes: Sequence[CallOutcome], wall_seconds: float, interrupted: bool
) -> dict[str, Any]:
    """The content of ``summary.json``: format tag, run totals and one row per call."""
    totals: dict[str, Any] = {"calls": len(outcomes)}
    totals.update({status: sum(1 for o in outcomes if o.status == status) for status in STATUSES})
    totals["audio_seconds"] = round(sum(o.audio_seconds for o in outcomes), 3)
    totals["words"] = sum(o.words for o in outcomes)
    return {
        "format": SUMMARY_FORMAT,
        "interrupted": interrupted,
        "wall_seconds": round(wall_seconds, 3),
        "totals": totals,
        "calls": [outcome_row(o) for o in outcomes],
    }


def summary_csv(outcomes: Sequence[CallOutcome]) -> str:
    """The content of ``summary.csv``: a header of `COLUMNS`, then one row per call."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for outcome in outcomes:
        row = outcome_row(outcome)
        row["request_ids"] = " ".join(row["request_ids"])
        row["reruns"] = " | ".join(row["reruns"])
        row["metadata"] = orjson.dumps(row["metadata"]).decode() if row["metadata"] else None
        writer.writerow(["" if row[c] is None else row[c] for c in COLUMNS])
    return buffer.getvalue()


def write_summary(
    directory: Path, outcomes: Sequence[CallOutcome], wall_seconds: float, interrupted: bool
) -> tuple[Path, Path]:
    """Write ``summary.json`` and ``summary.csv`` into ``directory`` atomically; return their paths."""
    json_path, csv_path = directory / SUMMARY_JSON, directory / SUMMARY_CSV
    document = summary_document(outcomes, wall_seconds, interrupted)
    write_atomic(json_path, orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    write_atomic(csv_path, summary_csv(outcomes).encode("utf-8"))
    return json_path, csv_path


def previous_outcomes(directory: Path) -> dict[str, Mapping[str, Any]]:
    """The rows of the ``summary.json`` an earlier run left in ``directory``, by output stem.

    Empty when there is none, or it cannot be read (then the files alone decide what is done).
    """
    try:
        document = orjson.loads((directory / SUMMARY_JSON).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    if not isinstance(document, dict) or document.get("format") != SUMMARY_FORMAT:
        return {}
    rows = document.get("calls")
    if not isinstance(rows, list):
        return {}
    return {str(r["stem"]): r for r in rows if isinstance(r, dict) and r.get("stem")}


def skipped_outcome(
    name: str,
    input_path: str,
    files: CallFiles,
    previous: Mapping[str, Mapping[str, Any]],
    audio_seconds: float = 0.0,
) -> CallOutcome | None:
    """The ``skipped`` outcome of a call whose outputs are complete, or None if it must be (re)done.

    Complete: all final files present and, if the previous summary lists the stem, its status
    there was ``ok`` or ``skipped``. The previous row's audio seconds, words, request ids,
    reconnects and time to first result are carried over (wall seconds are this run's: 0);
    ``audio_seconds`` stands in when there is no previous row.
    """
    if not files.complete():
        return None
    row = previous.get(files.stem)
    if row is not None and row.get("status") not in ("ok", "skipped"):
        return None
    row = row or {}
    ttfr = row.get("time_to_first_result")
    return CallOutcome(
        name=name,
        audio_seconds=float(row.get("audio_seconds") or audio_seconds),
        reconnects=int(row.get("reconnects") or 0),
        words=int(row.get("words") or 0),
        status="skipped",
        input=input_path,
        stem=files.stem,
        request_ids=tuple(str(r) for r in row.get("request_ids") or ()),
        time_to_first_result=float(ttfr) if isinstance(ttfr, int | float) else None,
    )
