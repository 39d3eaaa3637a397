"""The README's main job, exactly as a new user runs it: `scripts/demo` in a fresh virtual environment.

`scripts/demo` creates the venv (here under a temp dir via ACTORS_VENV), installs actors with the
``server,cli`` extras from the checkout, and transcribes the shipped sample calls with the embedded
local server (real offline engines). The transcripts must contain each call's robust keywords.
One test, about 30-60 s here (pip install from the local mirror plus real-engine decoding).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.samples_expectations import EXPECTED_KEYWORDS, SAMPLES, contains_keywords

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(240)
@pytest.mark.skipif(shutil.which("python3") is None, reason="scripts/_venv.sh needs python3 on PATH")
def test_demo_in_a_fresh_venv_transcribes_the_samples(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DEEPGRAM_API_KEY", "VIRTUAL_ENV", "PYTHONPATH")}
    env["ACTORS_VENV"] = str(tmp_path / "venv")
    out = tmp_path / "out"
    proc = subprocess.run(
        [str(ROOT / "scripts" / "demo"), "--out", str(out), "--progress", "plain"],
        cwd=tmp_path,  # the script must find the checkout by itself
        env=env,
        capture_output=True,
        text=True,
        timeout=230,
        check=False,
    )
    report = f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.returncode == 0, report
    assert "embedded local server" in proc.stderr, report
    # the package came from the fresh venv, not from this interpreter's
    assert Path(sys.executable).parent != tmp_path / "venv" / "bin"
    assert (tmp_path / "venv" / "bin" / "python").exists()
    for name in SAMPLES:
        for suffix in (".jsonl", ".txt", ".srt", ".vtt"):
            assert (out / f"{name}{suffix}").stat().st_size > 0, f"{name}{suffix} missing\n{report}"
        transcript = (out / f"{name}.txt").read_text()
        missing = contains_keywords(transcript, EXPECTED_KEYWORDS[name])
        assert not missing, f"{name}: keywords {missing} not in transcript:\n{transcript}\n{report}"
    assert f"{len(SAMPLES)} calls" in proc.stdout and "all ok" in proc.stdout, report
