"""The cluster benchmark (``scripts/bench_cluster.py``): its step search, and one tiny real run of both
configurations (a private Ray cluster, a 2-worker pool of ``PacedWorker``s, a server per step)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
sys.path.insert(0, str(SCRIPTS))

from bench_cluster import Search  # noqa: E402


def _walk(search: Search, holds: int) -> list[int]:
    """The Ns a search tries against a configuration that holds exactly ``holds`` streams."""
    tried = []
    while search.next is not None:
        n = search.next
        tried.append(n)
        search.record(n, n <= holds, {"streams": n})
    return tried


def test_search_doubles_then_bisects() -> None:
    search = Search(400, 3200, refine=2)
    assert _walk(search, 1000) == [400, 800, 1600, 1200, 1000]
    assert search.best == {"streams": 1000} and search.failed_at == 1200
    search = Search(400, 3200, refine=1)
    assert _walk(search, 100) == [400, 200]
    assert search.best is None and search.failed_at == 200
    search = Search(400, 1000, refine=1)
    assert _walk(search, 5000) == [400, 800, 1000]  # capped at --max; nothing failed
    assert search.best == {"streams": 1000} and search.failed_at is None


@pytest.mark.timeout(90)
def test_tiny_run_measures_both_configurations(tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="the ray extra is not installed")
    out = tmp_path / "runs.json"
    args = ["--start", "4", "--max", "4", "--refine", "0", "--seconds", "1.5", "--json", str(out)]
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / "bench_cluster.py"), *args],
        cwd=SCRIPTS.parent,
        env=dict(os.environ, PYTHONPATH=str(SCRIPTS.parent)),
        capture_output=True,
        text=True,
        timeout=80,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "streams held" in done.stdout and "2-core ceiling" in done.stdout
    runs = {r["config"]: r for r in json.loads(out.read_text())}
    assert set(runs) == {"1 process", "2 Ray workers"}
    for run in runs.values():
        assert run["streams"] == 4 and run["errors"] == 0, run["first_errors"]
        assert run["finals"] == run["finals_expected"] == 4 * 4
        assert run["lag_p99_ms"] is not None and run["cpu_seconds"] > 0
    cluster = runs["2 Ray workers"]
    assert [w["streams"] for w in cluster["workers"]] == [2, 2]
    assert len({w["pid"] for w in cluster["workers"]}) == 2  # two worker processes
    assert cluster["niceness"] == [0]
