"""Honest outputs of `transcribe`: final names only for completed calls, --out checked first, summary files.

Real local server (deterministic engine), real sockets; faults are injected by the server.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from actors.cli.atomicfile import AtomicFile, part_path, write_atomic
from actors.cli.main import main
from actors.cli.outputs import CallFiles, CallWriter
from actors.cli.summary import CallOutcome, summary_table
from actors.cli.summaryfiles import COLUMNS, previous_outcomes, skipped_outcome, write_summary
from actors.server import FaultRule, LocalServer
from tests.support.wav import spoken_wav

WORDS = ["please", "hold", "while", "i", "check", "your", "account"]


@pytest.fixture(autouse=True)
def _no_deepgram_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEEPGRAM_API_KEY", raising=False)


def run_cli(*argv: str) -> int:
    return main(["transcribe", *argv, "--progress", "plain"])


def results(word: str, start: float) -> dict[str, object]:
    return {
        "type": "Results",
        "channel_index": [0, 1],
        "start": start,
        "duration": 0.5,
        "is_final": True,
        "channel": {
            "alternatives": [
                {"transcript": word, "words": [{"word": word, "start": start, "end": start + 0.4}]}
            ]
        },
    }


# -- atomic files ---------------------------------------------------------------------------


def test_atomic_file_appears_only_on_commit(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("old")
    f = AtomicFile(target)
    f.write(b"new ")
    f.write(b"content")
    assert f.part == part_path(target) == tmp_path / ".a.txt.part"
    assert f.part.read_bytes() == b"new content"  # flushed as written
    assert target.read_text() == "old"  # readers still see the previous file, whole
    f.commit()
    f.commit()  # idempotent
    assert target.read_text() == "new content" and not f.part.exists()
    with pytest.raises(ValueError, match="already closed"):
        f.write(b"x")

    dropped = AtomicFile(tmp_path / "b.txt")
    dropped.write(b"half")
    dropped.discard()
    kept = AtomicFile(tmp_path / "c.txt")
    kept.write(b"partial")
    kept.keep_as(tmp_path / "c.partial.txt")
    write_atomic(tmp_path / "d.txt", b"whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "c.partial.txt", "d.txt"]


def test_aborted_writer_leaves_only_a_partial_and_clears_stale_finals(tmp_path: Path) -> None:
    files = CallFiles(tmp_path, "call")
    for path in files.finals:  # a complete run of an earlier batch
        path.write_text("stale")
    writer = CallWriter(files, multichannel=False)
    writer.add(results("hello", 0.2))
    writer.abort()
    writer.commit()  # a no-op after abort
    assert sorted(p.name for p in tmp_path.iterdir()) == ["call.partial.jsonl"]
    assert json.loads(files.partial_jsonl.read_text())["type"] == "Results"
    assert not files.complete()

    redo = CallWriter(files, multichannel=False)
    redo.add(results("hello", 0.2))
    redo.commit()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["call.jsonl", "call.srt", "call.txt", "call.vtt"]
    assert files.transcript.read_text() == "[00:00.20] hello\n"


# -- a failing call through the CLI ----------------------------------------------------------


def test_failed_call_leaves_no_complete_looking_file_and_is_redone(
    tmp_path: Path, make_server: Callable[..., LocalServer], capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_server()
    server.faults.add(
        FaultRule(match_tag="endme", kind="close", code=1008, reason="DATA-0000", after_audio_seconds=0.5)
    )
    good = spoken_wav(tmp_path / "good.wav", WORDS)
    bad = spoken_wav(tmp_path / "bad.wav", WORDS * 2)
    out = tmp_path / "out"
    out.mkdir()
    for suffix in (".jsonl", ".txt", ".srt", ".vtt"):  # outputs of an earlier, complete run
        (out / f"bad{suffix}").write_text("stale")

    status = run_cli(str(good), str(bad), "--out", str(out), "--url", server.url, "--param", "tag=endme")
    capsys.readouterr()
    assert status == 1
    names = sorted(p.name for p in out.iterdir())
    # both failed (same tag): a partial each, the stale finals of "bad" are gone
    assert names == ["bad.partial.jsonl", "good.partial.jsonl", "summary.csv", "summary.json"], names
    rows = {r["stem"]: r for r in json.loads((out / "summary.json").read_text())["calls"]}
    assert rows["bad"]["status"] == "failed" and "DATA-0000" in rows["bad"]["error"]

    # without the fault, --skip-existing redoes both (nothing complete), the partial goes away
    status = run_cli(str(good), str(bad), "--out", str(out), "--url", server.url, "--skip-existing")
    capsys.readouterr()
    assert status == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{stem}{suffix}" for stem in ("bad", "good") for suffix in (".jsonl", ".srt", ".txt", ".vtt")]
        + ["summary.csv", "summary.json"]
    )
    assert (out / "bad.txt").read_text().strip().endswith(" ".join(WORDS * 2))


# -- --out is checked before any audio is sent ----------------------------------------------


def _unwritable_dir(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        return locked
    # root writes through permission bits; sysfs refuses new files even to root
    sysfs = Path("/sys/kernel")
    if sys.platform != "linux" or not sysfs.is_dir():
        pytest.skip("no directory unwritable to root here")
    try:
        fd, probe = tempfile.mkstemp(dir=sysfs)
    except OSError:
        return sysfs
    os.close(fd)
    os.unlink(probe)
    pytest.skip("no directory unwritable to root here")


@pytest.mark.parametrize("case", ["file", "under_a_file", "unwritable"])
def test_bad_out_is_a_usage_error_before_connecting(
    case: str,
    tmp_path: Path,
    make_server: Callable[..., LocalServer],
    capsys: pytest.CaptureFixture[str],
) -> None:
    handshakes: list[str] = []
    server = make_server(on_handshake=lambda seen: handshakes.append(seen.path))
    call = spoken_wav(tmp_path / "call.wav", WORDS)
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    out, expected = {
        "file": (a_file, "not a directory"),
        "under_a_file": (a_file / "sub", "cannot create it"),
        "unwritable": (_unwritable_dir(tmp_path) if case == "unwritable" else a_file, "not writable"),
    }[case]
    status = run_cli(str(call), "--out", str(out), "--url", server.url)
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(err) == 1 and err[0].startswith(f"error: --out {out}: {expected}"), err
    assert handshakes == []  # no connection was made


# -- the summary files -----------------------------------------------------------------------


def test_summary_files_list_every_call_with_its_numbers(
    tmp_path: Path, make_server: Callable[..., LocalServer], capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_server()
    one = spoken_wav(tmp_path / "one.wav", WORDS)
    missing = tmp_path / "missing.wav"
    out = tmp_path / "out"
    assert run_cli(str(one), str(missing), "--out", str(out), "--url", server.url) == 1
    capsys.readouterr()
    document = json.loads((out / "summary.json").read_text())
    assert document["format"] == "actors-transcribe-summary/1" and document["interrupted"] is False
    assert document["totals"]["calls"] == 2 and document["totals"]["ok"] == 1
    assert document["totals"]["failed"] == 1
    ok, failed = document["calls"]
    assert list(ok) == list(COLUMNS)
    assert (ok["name"], ok["stem"], ok["input"], ok["status"]) == ("one.wav", "one", str(one), "ok")
    assert ok["words"] == len(WORDS) and ok["error"] is None and ok["reconnects"] == 0
    assert ok["audio_seconds"] > 1.0 and ok["wall_seconds"] > 0
    assert len(ok["request_ids"]) == 1 and len(ok["request_ids"][0]) == 36  # a dg-request-id (uuid)
    assert 0 < ok["time_to_first_result"] < ok["wall_seconds"]
    assert (failed["name"], failed["input"], failed["status"]) == ("missing.wav", str(missing), "failed")
    assert "no such file" in failed["error"]
    with (out / "summary.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == COLUMNS
    assert rows[0]["request_ids"] == ok["request_ids"][0] and rows[0]["words"] == str(len(WORDS))
    assert rows[1]["status"] == "failed" and rows[1]["time_to_first_result"] == ""
    assert not [p for p in out.iterdir() if p.name.endswith(".part")]


def test_skip_needs_complete_files_and_an_ok_previous_row(tmp_path: Path) -> None:
    files = CallFiles(tmp_path, "call")
    assert skipped_outcome("call.wav", "call.wav", files, {}) is None  # nothing there
    for path in files.finals[:3]:
        path.write_text("x")
    assert skipped_outcome("call.wav", "call.wav", files, {}) is None  # one file missing
    files.vtt.write_text("x")
    skipped = skipped_outcome("call.wav", "call.wav", files, {}, audio_seconds=3.0)
    assert skipped is not None and skipped.status == "skipped" and skipped.audio_seconds == 3.0

    done = CallOutcome("call.wav", audio_seconds=9.5, words=7, stem="call", request_ids=("r1", "r2"))
    write_summary(tmp_path, [done], wall_seconds=1.0, interrupted=False)
    previous = previous_outcomes(tmp_path)
    skipped = skipped_outcome("call.wav", "call.wav", files, previous)
    assert skipped is not None and skipped.ok
    assert (skipped.audio_seconds, skipped.words, skipped.request_ids) == (9.5, 7, ("r1", "r2"))

    failed = CallOutcome("call.wav", error="boom", stem="call")
    write_summary(tmp_path, [failed], wall_seconds=1.0, interrupted=False)
    assert skipped_outcome("call.wav", "call.wav", files, previous_outcomes(tmp_path)) is None
    (tmp_path / "summary.json").write_text("{not json")
    assert previous_outcomes(tmp_path) == {}


def test_writer_is_thread_safe_while_messages_arrive(tmp_path: Path) -> None:
    files = CallFiles(tmp_path, "call")
    writer = CallWriter(files, multichannel=False)
    threads = [
        threading.Thread(
            target=lambda k=k: [writer.add(results(f"w{k}", k + i / 100)) for i in range(50)],
            name=f"test-writer-{k}",
        )
        for k in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    writer.commit()
    assert len(files.jsonl.read_text().splitlines()) == 200


def test_summary_table_counts_statuses_and_leaves_skipped_audio_out_of_the_speed() -> None:
    outcomes = [
        CallOutcome("a.wav", audio_seconds=10.0, wall_seconds=2.0, words=5),
        CallOutcome("b.wav", audio_seconds=100.0, words=50, status="skipped"),
        CallOutcome("c.wav", audio_seconds=4.0, error="stopped", status="interrupted"),
        CallOutcome("d.wav", error="no such file"),
    ]
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(summary_table(outcomes, wall_seconds=2.0))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "interrupted: stopped" in text and "failed: no such file" in text and "skipped" in text
    assert "1 failed, 1 interrupted, 1 skipped" in text
    assert "7.0x" in text  # (10 + 4) s of audio in 2 s; the skipped call's 100 s are not this run's
    assert [o.ok for o in outcomes] == [True, True, False, False]
    with pytest.raises(ValueError, match="status must be one of"):
        CallOutcome("e.wav", status="done")
