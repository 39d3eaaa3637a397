"""``python -m actors transcribe --ray`` on the package's two-node Ray cluster, end to end.

The deterministic engine makes a run's outputs a pure function of its calls, so a Ray run's files
are compared byte for byte with a local run's. A worker process killed mid-run is done the way an
operator's ``kill -9`` (or the OOM killer) would: by PID, from outside.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from actors.cli.main import main
from actors.server import LocalServer
from tests.cluster.conftest import RayCluster
from tests.cluster.test_pool import REPLY, WORDS, stereo_wav
from tests.support.ray_process import kill_processes_with_tmpdir
from tests.support.resolver import REPO_ROOT

OUTPUT_SUFFIXES = (".jsonl", ".txt", ".srt", ".vtt")


@pytest.fixture(autouse=True)
def _no_deepgram_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEEPGRAM_API_KEY", raising=False)


def write_calls(directory: Path, count: int, tail_ms: int = 0) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        left, right = (WORDS, REPLY) if i % 2 == 0 else (REPLY, WORDS)
        path = directory / f"call-{i}.wav"
        path.write_bytes(stereo_wav(left[: 4 + i % 4], right, tail_ms=tail_ms))
        paths.append(path)
    return paths


_PER_CONNECTION = re.compile(rb'"(request_id|created)":"[^"]*"')


def _same_run(path: Path) -> bytes:
    """The file's bytes with what the server makes up per connection blanked (its request id and the
    ``Metadata`` creation time): every other byte of a call's outputs is a function of its audio, so
    two local runs differ in those alone."""
    return _PER_CONNECTION.sub(rb'"\1":"-"', path.read_bytes())


def summary_rows(out: Path) -> dict[str, dict[str, object]]:
    document = json.loads((out / "summary.json").read_text())
    return {row["name"]: row for row in document["calls"]}


def test_a_ray_run_writes_the_same_files_as_a_local_run(
    ray_cluster: RayCluster,
    make_server: Callable[..., LocalServer],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = make_server()
    calls = [str(p) for p in write_calls(tmp_path / "calls", 6)]
    local, clustered = tmp_path / "local", tmp_path / "ray"
    common = ["--url", server.url, "--progress", "plain", "--concurrency", "3"]

    assert main(["transcribe", *calls, "--out", str(local), *common]) == 0
    assert main(["transcribe", *calls, "--out", str(clustered), "--ray", ray_cluster.address, *common]) == 0

    err = capsys.readouterr().err
    assert "Ray cluster: 2 nodes, 2 CPUs" in err
    for i in range(6):
        for suffix in OUTPUT_SUFFIXES:
            name = f"call-{i}{suffix}"
            assert _same_run(clustered / name) == _same_run(local / name), name
    assert sorted(p.name for p in clustered.iterdir()) == sorted(p.name for p in local.iterdir())
    rows, local_rows = summary_rows(clustered), summary_rows(local)
    assert len({row["worker"] for row in rows.values()}) == 2  # both workers took calls
    for name, row in rows.items():
        assert row["status"] == "ok" and row["reruns"] == []
        for column in ("words", "audio_seconds", "stem", "input"):
            assert row[column] == local_rows[name][column], (name, column)
    assert all(row["worker"] is None for row in local_rows.values())


def _processes_of(ray_tmp: Path, title: str = "") -> list[psutil.Process]:
    """The live processes whose environment has ``RAY_TMPDIR=ray_tmp`` and whose title (Ray sets
    each worker's to its actor class) contains ``title``."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            name = " ".join(process.info["cmdline"] or [])
            if (
                title in name
                and process.environ().get("RAY_TMPDIR") == str(ray_tmp)
                and process.status() != "zombie"
            ):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def _worker_processes(cluster: RayCluster) -> list[psutil.Process]:
    """The live SupervisorWorker processes of the test cluster."""
    return _processes_of(cluster.tmp, "SupervisorWorker")


def test_a_worker_killed_mid_run_has_its_calls_rerun_and_reported(
    ray_cluster: RayCluster, make_server: Callable[..., LocalServer], tmp_path: Path
) -> None:
    server = make_server(max_connections=100)  # counts the connections it holds
    calls = [str(p) for p in write_calls(tmp_path / "calls", 4, tail_ms=2500)]
    out = tmp_path / "out"
    stdout_file = tmp_path / "stdout.txt"
    # stdout to a file: stderr has one reader only (communicate() would race the thread for it)
    with stdout_file.open("w") as stdout_sink:
        child = subprocess.Popen(
            [sys.executable, "-m", "actors", "transcribe", *calls, "--out", str(out), "--url", server.url,
             "--ray", ray_cluster.address, "--realtime", "--concurrency", "4", "--progress", "plain"],
            cwd=REPO_ROOT, env=ray_cluster.env(), stdout=stdout_sink, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(
        target=lambda: [lines.put(line) for line in child.stderr or ()], name="test-child-stderr"
    )
    reader.start()
    try:
        seen: list[str] = []
        while sum("streaming" in line for line in seen) < 4:  # every call handed to a worker
            seen.append(lines.get(timeout=60))
        _wait_until(lambda: server.connection_count == 4, 30)  # and every call streaming
        victims = _worker_processes(ray_cluster)
        assert len(victims) == 2, seen
        victims[0].send_signal(signal.SIGKILL)
        child.wait(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
        reader.join(10)
    rest = []
    while not lines.empty():
        rest.append(lines.get())
    assert child.returncode == 0, "".join(seen + rest)
    assert any("re-running" in line for line in rest), rest
    rows = summary_rows(out)
    rerun = [row for row in rows.values() if row["reruns"]]
    assert len(rerun) == 2, rows  # the two calls the killed worker ran
    assert all(row["status"] == "ok" for row in rows.values())
    for i in range(4):
        text = (out / f"call-{i}.txt").read_text().splitlines()
        assert len(text) == 2, text  # both channels, complete: the lost attempt left nothing behind
    assert not list(out.glob("*.partial.jsonl")) and not list(out.glob(".*"))
    assert "re-run 1x" in stdout_file.read_text()


def _wait_until(predicate: Callable[[], bool], timeout: float) -> None:
    done = threading.Event()
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        done.wait(0.05)
    raise AssertionError("timed out")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_child(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "actors", "transcribe", *argv],
        cwd=REPO_ROOT,
        env=env or dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_an_unreachable_cluster_is_a_clear_error(tmp_path: Path) -> None:
    call = write_calls(tmp_path / "calls", 1)[0]
    port = _closed_port()
    done = run_child(
        str(call), "--out", str(tmp_path / "out"), "--ray", f"127.0.0.1:{port}", "--progress", "off"
    )
    assert done.returncode == 1, done.stderr
    assert f"error: cannot reach the Ray cluster at 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_ray_usage_is_refused_before_any_work(tmp_path: Path) -> None:
    call = write_calls(tmp_path / "calls", 1)[0]
    done = run_child(str(call), "--out", str(tmp_path / "out"), "--ray", "head-without-port")
    assert done.returncode == 2, done.stderr
    assert "error: --ray: Ray address 'head-without-port': expected auto, local or HOST:PORT" in done.stderr
    stdin = subprocess.run(
        [sys.executable, "-m", "actors", "transcribe", "-", "--out", str(tmp_path / "out2"), "--ray", "auto"],
        cwd=REPO_ROOT,
        input=call.read_bytes(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert stdin.returncode == 2, stdin.stderr
    assert b"standard input (-) cannot be sent to a Ray cluster" in stdin.stderr


def test_ray_auto_finds_the_cluster_of_this_machine(
    ray_cluster: RayCluster, make_server: Callable[..., LocalServer], tmp_path: Path
) -> None:
    server = make_server()
    calls = [str(p) for p in write_calls(tmp_path / "calls", 2)]
    out = tmp_path / "out"
    done = run_child(
        *calls, "--out", str(out), "--url", server.url, "--ray", "--progress", "plain", env=ray_cluster.env()
    )
    assert done.returncode == 0, done.stderr
    assert "Ray cluster: 2 nodes, 2 CPUs" in done.stderr
    assert all(row["status"] == "ok" and row["worker"] for row in summary_rows(out).values())


def test_ray_local_starts_a_private_cluster_for_the_run(
    make_server: Callable[..., LocalServer], tmp_path: Path
) -> None:
    server = make_server()
    calls = [str(p) for p in write_calls(tmp_path / "calls", 2)]
    out = tmp_path / "out"
    ray_tmp = Path(tempfile.mkdtemp(prefix="actors-rl-", dir="/tmp"))
    env = dict(os.environ, RAY_TMPDIR=str(ray_tmp), RAY_AUTH_MODE="disabled")
    try:
        done = run_child(
            *calls, "--out", str(out), "--url", server.url, "--ray", "local", "--ray-workers", "2", env=env
        )
        left = _processes_of(ray_tmp)
    finally:
        kill_processes_with_tmpdir(ray_tmp)
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert done.returncode == 0, done.stderr
    assert "Ray cluster: 1 node" in done.stderr
    assert len({row["worker"] for row in summary_rows(out).values()}) == 2
    assert left == []  # the run stopped the cluster it started


def test_ctrl_c_during_a_ray_run_interrupts_the_calls_and_writes_the_summary(
    ray_cluster: RayCluster, make_server: Callable[..., LocalServer], tmp_path: Path
) -> None:
    server = make_server(max_connections=100)
    calls = [str(p) for p in write_calls(tmp_path / "calls", 3, tail_ms=8000)]
    out = tmp_path / "out"
    child = subprocess.Popen(
        [sys.executable, "-m", "actors", "transcribe", *calls, "--out", str(out), "--url", server.url,
         "--ray", ray_cluster.address, "--realtime", "--concurrency", "2", "--progress", "plain"],
        cwd=REPO_ROOT, env=ray_cluster.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _wait_until(lambda: server.connection_count == 2, 60)  # two calls streaming, the third waits
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130, err
    rows = summary_rows(out)
    assert [rows[f"call-{i}.wav"]["status"] for i in range(3)] == ["interrupted"] * 3, rows
    assert not list(out.glob("*.txt"))  # no call is reported done: only partial JSONL is left
    assert len(list(out.glob("*.partial.jsonl"))) == 2  # the third never connected: no file at all
    assert "interrupted" in err
