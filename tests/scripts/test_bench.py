"""The benchmark harness (``scripts/benchlib``): statistics, options, and short real runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from actors.server import LocalServer

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
sys.path.insert(0, str(SCRIPTS))

from bench_streams import Config, parse_configs, with_arena_cap  # noqa: E402
from benchlib.audio import build_audio  # noqa: E402
from benchlib.report import ratio, stream_table  # noqa: E402
from benchlib.stats import MillisHistogram, percentile  # noqa: E402
from benchlib.targets import check, default_flush_interval  # noqa: E402


def _child(module: str, *args: str) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SCRIPTS), str(SCRIPTS.parent)]))
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=SCRIPTS,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 99) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([float(i) for i in range(1, 101)], 99) == 99.0


def test_millis_histogram_percentiles() -> None:
    hist = MillisHistogram()
    assert hist.percentile_ms(99) is None
    hist.add_many([0.0] * 98 + [0.0504, 0.250])
    assert hist.count == 100
    assert hist.percentile_ms(50) == 0
    assert hist.percentile_ms(99) == 51
    assert hist.max_ms() == 250


def test_arena_cap_adds_a_capped_twin_after_each_actors_config() -> None:
    group = [Config("actors", 50, 0.0), Config("sdk", 50)]
    capped = with_arena_cap(group, 2)
    assert capped == [Config("actors", 50, 0.0), Config("actors", 50, 0.0, 2), Config("sdk", 50)]
    assert "MALLOC_ARENA_MAX=2" in Config("actors", 50, 0.0, 2).label


def test_parse_configs_names_the_bad_item() -> None:
    assert parse_configs("actors:20, sdk:100") == [[Config("actors", 20), Config("sdk", 100)]]
    assert parse_configs("actors:50:0,raw:50;sdk-async:20") == [
        [Config("actors", 50, 0.0), Config("raw", 50)],
        [Config("sdk-async", 20)],
    ]
    fair = parse_configs("fair")[0]
    assert [c.client for c in fair] == ["actors", "sdk", "sdk-async", "raw"]
    assert {c.chunk_ms for c in fair} == {50} and fair[0].flush_ms == 0
    with pytest.raises(ValueError, match="'grpc:20'"):
        parse_configs("actors:20,grpc:20")
    with pytest.raises(ValueError, match="'actors:0'"):
        parse_configs("actors:0")
    with pytest.raises(ValueError, match="'sdk:20:0'"):
        parse_configs("sdk:20:0")  # a flush window is actors' only


def test_bench_audio_is_cut_in_whole_chunks_with_known_finals() -> None:
    audio = build_audio(2.0, 20)
    assert len(audio.chunks) == 100 and {len(c) for c in audio.chunks} == {640}
    assert audio.seconds == pytest.approx(2.0)
    assert audio.expected_finals == 5  # a five-letter word starts every 0.425 s
    with pytest.raises(ValueError, match="chunk_ms"):
        build_audio(1.0, 0)


def test_ratio_and_targets() -> None:
    assert ratio(1.0, 4.0) == "0.25x" and ratio(None, 1.0) == "-" and ratio(1.0, 0.0) == "-"
    run = {
        "streams": 200,
        "chunk_ms": 20,
        "cpu_per_stream_second": 0.001,
        "rss_per_stream_bytes": 100 * 1024,
        "threads_per_stream": 2.0,
        "lag_p99_ms": 3,
        "errors": 0,
    }
    runs = [
        dict(run, client="actors", rss_per_added_stream_bytes=50 * 1024, rss_first_stream_bytes=2048 * 1024),
        dict(run, client="sdk", cpu_per_stream_second=0.004),
    ]
    lines = check(runs, None)
    assert lines[0].startswith("MET") and "0.25x" in lines[0] and "200 streams" in lines[0]
    assert any(line.startswith("not measured: CPU at 1000 streams") for line in lines)
    assert any(line.startswith("not measured: 1,000 streams") for line in lines)
    assert any(line.startswith("not measured: 2,000 streams") for line in lines)
    rss = next(line for line in lines if "RSS per live stream" in line)
    assert rss.startswith("MET") and "50 KB per added stream" in rss and "one-time 2048 KB" in rss
    lag_run = dict(run, streams=1000, flush_interval=default_flush_interval(), lag_p99_ms=70, seconds=15.0)
    with_floor = [
        dict(lag_run, client="actors", server_cpu_seconds=12.0),
        dict(lag_run, client="raw", lag_p99_ms=130),
    ]
    lag = next(line for line in check(with_floor, None) if "1000 real-time streams" in line)
    assert lag.startswith("MISSED") and "p99 audio lag 70 ms" in lag
    assert "the raw floor, same streams and chunks: p99 130 ms (it misses the target too" in lag
    assert "server's CPU: 12.0 s for 15 s of audio" in lag
    startup = {v: {"total_ms": ms} for v, ms in (("actors", 120.0), ("actors-runtime", 110.0),
                                                 ("deps-floor", 80.0), ("sdk", 400.0))}  # fmt: skip
    cold = [line for line in check([], startup) if "cold start" in line]
    assert cold[0].startswith("MET") and "0.30x" in cold[0] and cold[1].startswith("MET")
    assert cold[-1].startswith("info") and "80 ms = 0.20x the SDK" in cold[-1]
    runs[0].pop("rss_per_added_stream_bytes")  # an older run: all / N is what there is
    rss = next(line for line in check(runs, None) if "RSS per live stream" in line)
    assert rss.startswith("MISSED") and "100 KB" in rss and "(all / N)" in rss


@pytest.mark.parametrize("client", ["actors", "sdk"])
def test_child_run_measures_a_short_real_run(client: str, make_server: Callable[..., LocalServer]) -> None:
    server = make_server(stamp_send_time=True)
    result = _child(
        "benchlib.child", "--client", client, "--url", server.url, "--streams", "2", "--seconds", "1.5"
    )
    assert result["errors"] == 0, result["first_errors"]
    assert result["finals"] == result["finals_expected"] == 2 * 4
    assert result["delay_samples"] >= 8 and result["delay_p99_ms"] is not None
    assert result["delay_p99_ms"] >= result["delay_p50_ms"] > 0
    assert result["cpu_per_stream_second"] > 0 and result["threads_per_stream"] > 0
    assert result["lag_p99_ms"] is not None
    assert result["rss_first_stream_bytes"] is not None and result["rss_per_added_stream_bytes"] is not None
    if client == "sdk":  # one frame per chunk
        assert result["wire_frame_ms"] == pytest.approx(20.0)
    else:  # the Supervisor's default coalescing window joins chunks
        assert result["wire_frame_ms"] >= 20.0
    table = stream_table([dict(result, client="actors"), dict(result, client="sdk")])
    assert "actors/sdk" in table and "1.00x" in table


@pytest.mark.parametrize("variant", ["actors", "actors-runtime", "deps-floor", "sdk"])
def test_startup_child_times_import_and_first_connection(variant: str, local_server: LocalServer) -> None:
    result = _child("benchlib.startup_child", "--client", variant, "--url", local_server.url)
    assert result["client"] == variant
    assert result["import_ms"] > 0 and result["connect_ms"] > 0
    assert result["total_ms"] == pytest.approx(result["import_ms"] + result["connect_ms"], abs=0.2)
