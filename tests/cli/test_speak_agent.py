"""`python -m actors speak` and `python -m actors agent` against the local server (deterministic engine)."""

from __future__ import annotations

import wave
from collections.abc import Callable
from pathlib import Path

import pytest

from actors.cli.main import main
from actors.cli.speak import split_text
from actors.server import LocalServer
from actors.server.engines.deterministic import transcribe
from tests.support.wav import spoken_wav, write_wav


@pytest.fixture(autouse=True)
def _no_deepgram_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEEPGRAM_API_KEY", raising=False)


def test_speak_writes_a_wav_of_the_text(
    tmp_path: Path, make_server: Callable[..., LocalServer], capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_server()
    out = tmp_path / "hello.wav"
    status = main(
        ["speak", "hello there", "caller", "-o", str(out), "--sample-rate", "16000", "--url", server.url]
    )
    assert status == 0, capsys.readouterr().err
    with wave.open(str(out)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000)
        pcm = w.readframes(w.getnframes())
    assert [word.text for word in transcribe(pcm, 16000)] == ["hello", "there", "caller"]
    assert f"wrote {out}" in capsys.readouterr().err


def test_speak_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["speak", "  ", "-o", str(tmp_path / "x.wav"), "--url", "ws://127.0.0.1:9"]) == 2
    assert "nothing to speak" in capsys.readouterr().err
    argv = ["speak", "hi", "-o", str(tmp_path / "x.wav"), "--encoding", "mulaw", "--url", "ws://127.0.0.1:9"]
    assert main(argv) == 2
    assert "--encoding" in capsys.readouterr().err


def test_speak_unreachable_server_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with LocalServer() as server:
        url = server.url  # a port that was just free again
    assert main(["speak", "hi", "-o", str(tmp_path / "x.wav"), "--url", url]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ")


def test_split_text_respects_the_limit() -> None:
    text = "One two three. " * 300
    pieces = split_text(text, 100)
    assert all(len(p) <= 100 for p in pieces)
    assert " ".join(pieces).split() == text.split()
    assert split_text("x" * 250, 100) == ["x" * 100, "x" * 100, "x" * 50]


def test_agent_scripted_conversation(
    tmp_path: Path, make_server: Callable[..., LocalServer], capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_server()
    script = tmp_path / "script.txt"
    script.write_text("What are your opening hours?\n\nThank you, goodbye.\n")
    audio = tmp_path / "agent.wav"
    status = main(
        [
            "agent",
            "--say",
            "Hello there.",
            "--script",
            str(script),
            "--audio-out",
            str(audio),
            "--url",
            server.url,
        ]
    )
    captured = capsys.readouterr()
    assert status == 0, captured.err
    lines = captured.out.splitlines()
    users = [x for x in lines if x.startswith("user:")]
    assert users == [
        "user:  Hello there.",
        "user:  What are your opening hours?",
        "user:  Thank you, goodbye.",
    ]
    assert sum(1 for x in lines if x.startswith("agent: ")) >= 3
    with wave.open(str(audio)) as w:
        assert w.getnframes() > 0


def test_agent_missing_script_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["agent", "--script", str(tmp_path / "nope.txt"), "--url", "ws://127.0.0.1:9"]) == 2
    assert "--script" in capsys.readouterr().err


def test_agent_hears_user_audio(
    tmp_path: Path, make_server: Callable[..., LocalServer], capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_server()
    speech = tmp_path / "user.wav"
    spoken_wav(speech, ["where", "is", "my", "order"], leading_ms=100)
    status = main(["agent", "--user-audio", str(speech), "--timeout", "10", "--url", server.url])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    lines = captured.out.splitlines()
    assert "user:  where is my order  (heard)" in lines
    assert any(x.startswith("agent: ") for x in lines)
    assert not any(x.startswith("user:  Hello") for x in lines)  # no default script with audio


def test_agent_rejects_stereo_user_audio(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    speech = tmp_path / "stereo.wav"
    write_wav(speech, bytes(400), channels=2)
    assert main(["agent", "--user-audio", str(speech), "--url", "ws://127.0.0.1:9"]) == 2
    assert "needs a mono WAV" in capsys.readouterr().err
