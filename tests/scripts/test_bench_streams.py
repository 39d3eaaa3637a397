"""``scripts/bench_streams.py`` end to end at a tiny size, and the pieces of its floor client and tables."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
sys.path.insert(0, str(SCRIPTS))

from benchlib import rawws  # noqa: E402
from benchlib.procstat import (  # noqa: E402
    counting_cpu,
    cpu_by_thread_group,
    own_thread_cpu,
    thread_group,
    thread_times,
)
from benchlib.report import stream_table, thread_cpu_line, wire_summary  # noqa: E402
from benchlib.targets import check, default_flush_interval  # noqa: E402


def _run(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "client": "actors", "streams": 200, "chunk_ms": 50, "wire_frame_ms": 50.0, "flush_interval": 0.0,
        "cpu_per_stream_second": 0.001, "rss_per_stream_bytes": 100 * 1024, "threads": 400,
        "threads_per_stream": 2.0, "lag_p50_ms": 0, "lag_p99_ms": 4, "lag_max_ms": 9, "delay_p50_ms": 0.5,
        "delay_p99_ms": 5.0, "finals": 1, "finals_expected": 1, "errors": 0, "group": 0,
    }  # fmt: skip
    return base | fields


def test_frame_reader_joins_fragments_and_passes_control_frames() -> None:
    # Server frames are unmasked: FIN|opcode, length, payload.
    text = b"\x81\x05hello"
    fragments = b"\x01\x03abc" + b"\x89\x00" + b"\x80\x02de"  # text "abc" + ping + continuation "de"
    long_text = b"\x81\x7e\x01\x2c" + b"x" * 300
    reader = rawws.FrameReader(text[:3])
    assert reader.feed(b"") == []
    assert reader.feed(text[3:] + fragments[:4]) == [(rawws.OP_TEXT, b"hello")]
    assert reader.feed(fragments[4:] + long_text) == [
        (rawws.OP_PING, b""),
        (rawws.OP_TEXT, b"abcde"),
        (rawws.OP_TEXT, b"x" * 300),
    ]


def test_client_frame_is_masked_and_reads_back() -> None:
    payload = bytes(range(256)) * 4
    frame = rawws.client_frame(rawws.OP_BINARY, payload)
    assert frame[0] == 0x82 and frame[1] == 0x80 | 126 and int.from_bytes(frame[2:4], "big") == len(payload)
    assert frame[8:] != payload
    assert rawws.FrameReader(frame).feed(b"") == [(rawws.OP_BINARY, payload)]  # the reader unmasks


def test_tables_say_which_frames_are_on_the_wire_and_ratio_to_sdk_and_floor() -> None:
    runs = [
        _run(),
        _run(client="sdk", cpu_per_stream_second=0.002, flush_interval=None),
        _run(client="raw", cpu_per_stream_second=0.0005, flush_interval=None, implementation="mask x"),
    ]
    text = stream_table(runs)
    assert text.startswith("every client writes 50 ms audio frames on the wire")
    assert "actors 50ms immediate" in text and "sdk sync 50ms" in text and "raw floor 50ms" in text
    for column in ("actors/sdk", "floor/sdk", "actors/floor", "sdk/floor"):
        assert column in text
    cpu = next(line for line in text.splitlines()[20:] if line.startswith("client CPU ms"))
    assert cpu.split()[-4:] == ["0.50x", "0.25x", "2.00x", "4.00x"]
    assert "raw floor 50ms: mask x" in text
    differ = wire_summary(
        [_run(wire_frame_ms=60.0, flush_interval=0.05), _run(client="sdk", chunk_ms=20, wire_frame_ms=20.0)]
    )
    assert "DIFFER" in differ and "not like for like" in differ
    lines = check(runs, None)
    assert (
        lines[0].startswith("MISSED")
        and "50 ms frames on the wire for both" in lines[0]
        and "0.50x" in lines[0]
    )
    assert lines[1].startswith("MISSED") and "2.00x the raw one-thread floor" in lines[1]
    default = default_flush_interval()
    lag = check(
        [
            _run(streams=1000, flush_interval=default, lag_p99_ms=40),
            _run(streams=1000, flush_interval=0.0, lag_p99_ms=10),
            _run(streams=2000, flush_interval=default, lag_p99_ms=120),
        ],
        None,
    )
    assert any(line.startswith("MET") and "1000 real-time" in line and "< 50 ms" in line for line in lag)
    assert any(line.startswith("info") and "not the default configuration" in line for line in lag)
    assert any(line.startswith("MISSED") and "2000 real-time" in line and "< 100 ms" in line for line in lag)


def test_thread_groups_drop_the_numbers_of_pools_and_streams() -> None:
    assert thread_group("actors-read-1") == "actors-read"
    assert thread_group("actors-conn-bench-12") == "actors-conn-bench"
    assert thread_group("ThreadPoolExecutor-0_1") == "ThreadPoolExecutor"
    assert thread_group("MainThread") == "MainThread"
    assert thread_group("42") == "42"


def test_cpu_by_thread_group_counts_this_threads_work_and_the_joined_ones() -> None:
    started = threading.Event()
    stop = threading.Event()
    idle = threading.Thread(target=lambda: (started.set(), stop.wait()), name="test-idle-7")
    idle.start()
    started.wait()
    try:
        before = thread_times()
        deadline = own_thread_cpu()[0] + 0.05
        while own_thread_cpu()[0] < deadline:  # burn 50 ms of CPU on this thread
            sum(range(1000))
        groups = cpu_by_thread_group(before, thread_times(), {"pacer": (1.0, 0.5)})
    finally:
        stop.set()
        idle.join()
    me = thread_group(threading.current_thread().name)
    assert groups[me]["user"] >= 0.04
    assert groups["test-idle"]["threads"] == 1 and groups["test-idle"]["user"] < 0.02
    assert groups["pacer"] == {"user": 1.0, "system": 0.5, "threads": 1}
    assert next(iter(groups)) == "pacer"  # largest first


def test_counting_cpu_stores_the_threads_cpu_under_its_group_even_when_the_target_raises() -> None:
    joined: dict[str, tuple[float, float]] = {}

    def fail(message: str) -> None:
        raise RuntimeError(message)

    wrapped = counting_cpu(fail, joined)
    raised: list[BaseException] = []

    def run() -> None:
        try:
            wrapped("boom")
        except RuntimeError as error:  # the wrapper lets it through
            raised.append(error)

    worker = threading.Thread(target=run, name="test-pacer-3")
    worker.start()
    worker.join()
    assert [str(e) for e in raised] == ["boom"]
    assert list(joined) == ["test-pacer"]
    user, system = joined["test-pacer"]
    assert user >= 0 and system >= 0


def test_thread_cpu_line_names_the_big_groups_with_their_kernel_share() -> None:
    run = {
        "client": "actors", "chunk_ms": 50, "streams": 3,
        "cpu_by_thread": {
            "bench-actors-pacer": {"user": 6.0, "system": 4.0, "threads": 1},
            "actors-read": {"user": 4.0, "system": 1.0, "threads": 2},
            "actors-supervisor": {"user": 0.1, "system": 0.0, "threads": 1},
        },
    }  # fmt: skip
    line = thread_cpu_line(run)
    assert line.endswith(
        "CPU while sending, by thread: bench-actors-pacer 10.0 s (40% kernel), "
        "actors-read x2 5.0 s (20% kernel), others 0.1 s"
    )
    assert thread_cpu_line({"client": "raw", "chunk_ms": 50, "streams": 3}) == ""


def test_bench_streams_runs_all_four_clients_at_a_tiny_size(tmp_path: Path) -> None:
    out = tmp_path / "runs.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SCRIPTS), str(SCRIPTS.parent)]))
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / "bench_streams.py"), "--streams", "3", "--seconds", "2",
         "--configs", "fair", "--json", str(out)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    text = done.stdout
    assert "every client writes 50 ms audio frames on the wire" in text
    header = next(line for line in text.splitlines() if "actors 50ms immediate" in line)
    assert re.findall(r"(actors|sdk sync|sdk async|raw floor) 50ms", header) == [
        "actors", "sdk sync", "sdk async", "raw floor",
    ]  # fmt: skip
    ratios = next(line for line in text.splitlines() if line.startswith("ratio (lower is better)"))
    assert ratios.split()[4:] == [
        "actors/sdk",
        "async/sdk",
        "floor/sdk",
        "actors/floor",
        "sdk/floor",
        "async/floor",
    ]
    cpu_rows = [line for line in text.splitlines() if line.startswith("client CPU ms per stream-second")]
    assert len(cpu_rows) == 2 and len(re.findall(r"\d+\.\d\dx", cpu_rows[1])) == 6
    runs = json.loads(out.read_text())
    assert [r["client"] for r in runs] == ["actors", "sdk", "sdk-async", "raw"]
    for run in runs:
        assert run["errors"] == 0, run["first_errors"]
        assert run["finals"] == run["finals_expected"] == 3 * 5
        assert run["wire_frame_ms"] == pytest.approx(50.0)
    assert runs[-1]["threads"] == 1  # the floor: one loop thread
    # Where each client's CPU went while sending: the pacer (joined before the reading) is there.
    pacers = {"actors": "bench-actors-pacer", "sdk": "bench-sdk-pacer", "raw": "bench-raw-loop"}
    for run in runs:
        groups = run["cpu_by_thread"]
        assert groups and all(g["user"] >= 0 and g["system"] >= 0 for g in groups.values())
        if run["client"] in pacers:
            assert groups[pacers[run["client"]]]["threads"] == 1
    assert "actors-read" in runs[0]["cpu_by_thread"]
    assert re.search(r"^actors 50ms immediate CPU while sending, by thread: .*bench-actors-pacer", text, re.M)
