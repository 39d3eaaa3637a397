"""The command itself: `--version`, the top-level help, help on every option, the installed
`actors` console script, the default concurrency, and `agent --user-audio` answered mid-clip."""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import actors
from actors.cli.main import DISTRIBUTION, SUBCOMMANDS, build_parser, main
from actors.cli.target import Target
from actors.cli.transcribe import REMOTE_CONCURRENCY, default_concurrency
from actors.server import LocalServer
from actors.server.engines.deterministic import synthesize_words
from tests.support.wav import write_wav

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_deepgram_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEEPGRAM_API_KEY", raising=False)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip().endswith(f" {actors.__version__}")


def test_top_level_help_describes_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "add_parser" not in out and "sub-command module" not in out  # not the internal docstring
    for name in SUBCOMMANDS:
        assert f"\n  {name} " in out, name
    assert "DEEPGRAM_API_KEY" in out


def test_every_option_of_every_command_has_help() -> None:
    parser = build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    missing = [
        f"{name} {action.option_strings or action.dest}"
        for name, sub in commands.choices.items()
        for action in sub._actions
        if not action.help
    ]
    assert not missing
    assert set(commands.choices) == set(SUBCOMMANDS)


def test_default_concurrency_follows_the_engine() -> None:
    embedded = Target("embedded", "ws://x", "ws://x", "k", engine_workers=3)
    assert default_concurrency(embedded) == 6
    assert default_concurrency(Target("deepgram", "wss://x", "wss://x", "k")) == REMOTE_CONCURRENCY


@pytest.mark.timeout(120)
def test_console_script_after_install(tmp_path: Path) -> None:
    """``pip install`` of the project (no deps, into a folder) declares and installs ``actors``."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "actors", source / "actors", ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=100,
    )
    (dist,) = importlib.metadata.distributions(path=[str(target)])
    assert dist.metadata["Name"] == DISTRIBUTION
    (script,) = [ep for ep in dist.entry_points if ep.group == "console_scripts"]
    assert (script.name, script.value) == ("actors", "actors.cli.main:main")
    env = {**os.environ, "PYTHONPATH": str(target)}
    done = subprocess.run(
        [str(target / "bin" / "actors"), "--version"], capture_output=True, text=True, env=env, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"actors {dist.version}"


def test_agent_answer_during_the_clip_counts(
    tmp_path: Path, local_server: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The clip's own trailing pause ends the user's turn, so the agent answers (AgentAudioDone)
    while the clip is still streaming; that answer must end the turn, not a --timeout wait."""
    speech = tmp_path / "user.wav"
    pcm = synthesize_words(["where", "is", "my", "order"], 16000, leading_ms=100)
    write_wav(speech, pcm + bytes(2 * 16000 * 2))  # 2 s of silence inside the clip
    clip_seconds = len(pcm) / 32000 + 2.0
    started = time.monotonic()
    status = main(["agent", "--user-audio", str(speech), "--timeout", "4", "--url", local_server.url])
    elapsed = time.monotonic() - started
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "user:  where is my order  (heard)" in captured.out.splitlines()
    assert any(line.startswith("agent: ") for line in captured.out.splitlines())
    assert elapsed < clip_seconds + 2.0  # not clip + --timeout
