"""The ingestion benchmark (``scripts/bench_ingest.py``): its pieces, and a short real run end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
sys.path.insert(0, str(SCRIPTS))

from bench_ingest import failures  # noqa: E402
from benchlib.ingest_calls import FRAME_BYTES, build_call  # noqa: E402
from benchlib.stats import histogram_quantile  # noqa: E402


def test_calls_are_distinct_whole_frames_and_decode_to_their_words() -> None:
    import audioop

    from actors.server.engines.deterministic import transcribe

    call = build_call(3, 5.1)
    assert call.seconds == pytest.approx(5.0)  # whole 200 ms frames
    assert {len(f) for f in call.frames()} == {FRAME_BYTES}
    assert {w.channel for w in call.words} == {0, 1}
    assert all(w.word.startswith("c3w") for w in call.words)
    assert not {w.word for w in call.words} & {w.word for w in build_call(4, 5.0).words}
    pcm = audioop.ulaw2lin(call.audio, 2)
    for channel in (0, 1):
        mono = audioop.tomono(pcm, 2, 1.0 - channel, float(channel))
        heard = [(w.text, round(w.start, 3)) for w in transcribe(mono, 8000)]
        assert heard == [(w.word, w.start) for w in call.words if w.channel == channel]
    with pytest.raises(ValueError, match=r"at least 0\.2 s"):
        build_call(0, 0.1)


def test_histogram_quantile_interpolates_like_promql() -> None:
    inf = float("inf")
    assert histogram_quantile(0.99, [(0.1, 0.0), (inf, 0.0)]) is None
    buckets = [(0.05, 50.0), (0.1, 100.0), (inf, 100.0)]
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.05)
    assert histogram_quantile(0.75, buckets) == pytest.approx(0.075)
    assert histogram_quantile(0.25, buckets) == pytest.approx(0.025)
    assert histogram_quantile(0.99, [(0.05, 0.0), (inf, 10.0)]) == 0.05  # the +Inf bucket: largest bound


def test_a_lost_word_fails_the_run() -> None:
    store = {"words_lost": 0, "words_unexpected": 0, "first_lost": [], "calls_by_status": {"completed": 2}}
    load = {"errors": 0, "first_errors": []}
    run = {
        "calls": 2,
        "service": {"store": store, "load": load, "service": {"drained": True}},
        "floor": {"load": load},
    }
    assert failures(run) == []
    store.update(words_lost=1, first_lost=[["id", 0, "c0w1", 0.7]])
    assert failures(run) == ["1 word(s) lost, e.g. [['id', 0, 'c0w1', 0.7]]"]


@pytest.mark.timeout(60)
def test_short_benchmark_run_loses_nothing(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    env = dict(os.environ, PYTHONPATH=str(SCRIPTS.parent))
    args = ["--calls", "3", "--seconds", "3", "--json", str(out)]
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / "bench_ingest.py"), *args],
        cwd=SCRIPTS.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "SEGMENTS LOST" in done.stdout and "service/floor" in done.stdout
    run = json.loads(out.read_text())
    store, service = run["service"]["store"], run["service"]["service"]
    assert store["words_lost"] == 0 and store["words_unexpected"] == 0
    assert store["words_found"] == store["words_expected"] > 0
    assert store["tokens_received"] == store["tokens_expected"] == store["words_expected"]
    assert store["calls_by_status"] == {"completed": 3}
    assert service["drained"] and service["calls"]["completed"] == 3
    assert service["final_to_commit_count"] == store["segments_stored"] == service["finals_stored"]
    assert service["final_to_commit_p99_ms"] > 0 and run["service"]["final_to_commit_hist_p99_ms"] > 0
    assert run["floor"]["sink"]["sessions"] == 3 and run["floor"]["sink"]["frames"] == 3 * 15
    assert run["service"]["cpu_seconds"] > 0 and run["floor"]["cpu_seconds"] > 0
