"""Ctrl-C in the middle of a batch, then `--skip-existing`: done calls are skipped, the rest redone.

The batch runs in a child process (SIGINT goes to it, as a terminal's Ctrl-C would); the local
server runs here and tells the test, through its handshake observer, when the second call
connects, so the signal lands while that paced call is streaming. A few seconds per test.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from actors.cli.main import main
from actors.server import LocalServer
from actors.server.observed import HandshakeSeen
from tests.support.cli_child import start_interruptible_cli
from tests.support.wav import spoken_wav

SHORT = ["thank", "you", "for", "calling"]
LONG = ["one", "two", "three", "four", "five", "six", "seven", "eight"] * 3
SUFFIXES = (".jsonl", ".srt", ".txt", ".vtt")


@pytest.fixture(autouse=True)
def _no_deepgram_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEEPGRAM_API_KEY", raising=False)


class HandshakeCounter:
    """A `LocalServer` handshake observer that sets an event when the n-th connection arrives."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.count = 0
        self.reached = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, seen: HandshakeSeen) -> None:
        with self._lock:
            self.count += 1
            if self.count >= self.n:
                self.reached.set()


def interrupt_batch_during_second_call(
    calls: list[Path], out: Path, server: LocalServer, counter: HandshakeCounter
) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DEEPGRAM_API_KEY"}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")])
    argv = ["transcribe", *map(str, calls), "--out", str(out)]
    argv += ["--url", server.url, "--concurrency", "1", "--realtime", "--progress", "plain"]
    proc = start_interruptible_cli(argv, env)
    try:
        assert counter.reached.wait(timeout=30), "the second call never connected"
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, stdout, stderr


@pytest.mark.timeout(90)
def test_interrupted_batch_resumes_with_skip_existing(
    tmp_path: Path, make_server: Callable[..., LocalServer], capsys: pytest.CaptureFixture[str]
) -> None:
    counter = HandshakeCounter(2)
    server = make_server(on_handshake=counter)
    calls = [
        spoken_wav(tmp_path / "c1.wav", SHORT),  # ~1.6 s at real time
        spoken_wav(tmp_path / "c2.wav", LONG),  # ~9 s: interrupted
        spoken_wav(tmp_path / "c3.wav", SHORT),  # never started
    ]
    out = tmp_path / "out"

    status, stdout, stderr = interrupt_batch_during_second_call(calls, out, server, counter)

    assert status == 130, stdout + stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == ["c1" + s for s in SUFFIXES] + ["c2.partial.jsonl", "summary.csv", "summary.json"], (
        names,
        stdout,
        stderr,
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] is True
    rows = {r["stem"]: r for r in summary["calls"]}
    assert [rows[s]["status"] for s in ("c1", "c2", "c3")] == ["ok", "interrupted", "interrupted"]
    assert rows["c3"]["error"] == "not started"
    assert rows["c2"]["error"].startswith("stopped; results cover")
    assert "\nc2.wav,c2," in (out / "summary.csv").read_text()  # the CSV has the same rows
    first_run = {s: (out / f"c1{s}").stat().st_mtime_ns for s in SUFFIXES}

    status = main(["transcribe", *map(str, calls), "--out", str(out), "--url", server.url, "--skip-existing"])
    captured = capsys.readouterr()

    assert status == 0, captured.out + captured.err
    assert "skipping 1 calls already done" in captured.err
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(  # complete outputs for all three, no partial, no temporary file left
        [f"{stem}{s}" for stem in ("c1", "c2", "c3") for s in SUFFIXES] + ["summary.csv", "summary.json"]
    ), names
    assert {s: (out / f"c1{s}").stat().st_mtime_ns for s in SUFFIXES} == first_run  # c1 untouched
    assert (out / "c2.txt").read_text() == f"[00:00.20] {' '.join(LONG)}\n"
    assert (out / "c3.txt").read_text() == f"[00:00.20] {' '.join(SHORT)}\n"
    rows = {r["stem"]: r for r in json.loads((out / "summary.json").read_text())["calls"]}
    assert [rows[s]["status"] for s in ("c1", "c2", "c3")] == ["skipped", "ok", "ok"]
    assert rows["c1"]["words"] == len(SHORT) and len(rows["c1"]["request_ids"]) == 1  # carried over
    assert "skipped" in captured.out


def test_skip_existing_without_anything_left_to_do_connects_nowhere(
    tmp_path: Path, make_server: Callable[..., LocalServer], capsys: pytest.CaptureFixture[str]
) -> None:
    counter = HandshakeCounter(1)
    server = make_server(on_handshake=counter)
    call = spoken_wav(tmp_path / "c1.wav", SHORT)
    out = tmp_path / "out"
    assert main(["transcribe", str(call), "--out", str(out), "--url", server.url]) == 0
    assert counter.count == 1
    assert main(["transcribe", str(call), "--out", str(out), "--url", server.url, "--skip-existing"]) == 0
    assert counter.count == 1  # nothing to transcribe: no connection
    rows = json.loads((out / "summary.json").read_text())["calls"]
    assert [r["status"] for r in rows] == ["skipped"]
    # without --skip-existing the call is transcribed again
    assert main(["transcribe", str(call), "--out", str(out), "--url", server.url]) == 0
    assert counter.count == 2
    capsys.readouterr()
