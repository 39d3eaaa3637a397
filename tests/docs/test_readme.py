"""The README's Python examples run as written, offline, and print what they promise."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support.ray_process import kill_processes_with_tmpdir

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def python_blocks() -> list[str]:
    """Every fenced ```python block of the README, in order."""
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def run_block(code: str) -> str:
    """Run one block as a script from the checkout root, without a Deepgram key; return its stdout."""
    env = {k: v for k, v in os.environ.items() if k != "DEEPGRAM_API_KEY"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"README example failed:\n{code}\n--- stderr ---\n{done.stderr}"
    return done.stdout


def test_the_readme_has_the_three_quickstart_examples_and_the_cluster_one() -> None:
    assert len(python_blocks()) == 4


def test_sdk_style_example_transcribes_both_speakers_of_the_sample_call() -> None:
    out = run_block(python_blocks()[0])
    lines = out.strip().splitlines()
    assert any(line.startswith("[0, 2]") for line in lines), out
    assert any(line.startswith("[1, 2]") for line in lines), out
    assert "order" in out.lower(), out


def test_async_example_synthesises_speech() -> None:
    out = run_block(python_blocks()[1])
    count = int(out.split()[0])
    assert count > 16000, out  # more than half a second of 16 kHz 16-bit audio


def test_supervisor_example_finishes_every_call() -> None:
    out = run_block(python_blocks()[2])
    assert out.strip() == "100 of 100 calls finished cleanly", out


def test_cluster_example_spreads_the_streams_over_two_workers(tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="the ray extra is not installed")
    ray_tmp = Path(tempfile.mkdtemp(prefix="actors-rd-", dir="/tmp"))  # short: Ray's socket paths
    env = {k: v for k, v in os.environ.items() if k != "DEEPGRAM_API_KEY"}
    env.update(RAY_TMPDIR=str(ray_tmp), RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0")
    try:
        done = subprocess.run(
            [sys.executable, "-c", python_blocks()[3]],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        kill_processes_with_tmpdir(ray_tmp)
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "20 of 20 streams finished cleanly on 2 workers", done.stdout


@pytest.mark.parametrize("command", ["scripts/demo", "scripts/test"])
def test_the_two_commands_exist_and_are_executable(command: str) -> None:
    path = ROOT / command
    assert path.exists() and os.access(path, os.X_OK)
    assert command in README.read_text(encoding="utf-8")


def test_ci_runs_the_readme_test_command() -> None:
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
