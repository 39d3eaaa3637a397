"""`python -m actors speak --api v2` (Flux TTS) against a real /v2/speak socket.

Most tests use :class:`tests.support.speak_v2_fake.FakeSpeakV2Server` (exact audio lengths, a record
of every frame); one runs against the local server's real /v2/speak, on both engines.
Each turn is ``Speak`` + ``Flush``, its audio kept up to ``Flushed``, then ``Close``.
"""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.cli.main import main
from actors.cli.speak import split_turns
from tests.support.speak_v2_fake import MS_PER_CHAR, FakeSpeakV2Server


@pytest.fixture(autouse=True)
def _no_deepgram_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEEPGRAM_API_KEY", raising=False)


@pytest.fixture
def server() -> Iterator[FakeSpeakV2Server]:
    with FakeSpeakV2Server() as fake:
        yield fake


def test_flux_speaks_one_turn_per_sentence_into_a_wav(
    server: FakeSpeakV2Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "turns.wav"
    text = "Hello there. How are you? Fine!"
    assert main(["speak", "--flux", text, "-o", str(out), "--sample-rate", "16000", "--url", server.url]) == 0
    assert server.received == [
        {"type": "Speak", "text": "Hello there."},
        {"type": "Flush"},
        {"type": "Speak", "text": "How are you?"},
        {"type": "Flush"},
        {"type": "Speak", "text": "Fine!"},
        {"type": "Flush"},
        {"type": "Close"},
    ]
    with wave.open(str(out)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000)
        frames = w.getnframes()
    chars = len("Hello there.") + len("How are you?") + len("Fine!")
    assert frames == chars * MS_PER_CHAR * 16  # every turn's audio, none cut off
    err = capsys.readouterr().err
    assert "turn 3: " in err and f"wrote {out}" in err


def test_explicit_turns_and_a_raw_mulaw_output(server: FakeSpeakV2Server, tmp_path: Path) -> None:
    out = tmp_path / "turns.raw"
    argv = ["speak", "--api", "v2", "--turn", "First, part one.", "--turn", "Second"]
    argv += ["-o", str(out), "--encoding", "mulaw", "--sample-rate", "8000", "--url", server.url]
    assert main(argv) == 0
    assert [m for m in server.received if m["type"] == "Speak"] == [
        {"type": "Speak", "text": "First, part one."},
        {"type": "Speak", "text": "Second"},
    ]
    assert out.stat().st_size > 0


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--flux", "--model", "aura-2-thalia-en", "hi"], "/v1/speak"),
        (["--flux", "--encoding", "alaw", "hi", "-o", "x.raw"], "8000 or 16000"),
        (["--turn", "hi"], "--api v2"),
        (["--flux", "--turn", "hi", "also text"], "not both"),
        (["--flux", "  "], "nothing to speak"),
    ],
)
def test_bad_usage_is_refused_before_connecting(
    argv: list[str], words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["speak", *argv, "--url", "ws://127.0.0.1:9"]
    if "-o" not in argv:
        argv += ["-o", str(tmp_path / "x.wav")]
    assert main(argv) == 2
    assert words in capsys.readouterr().err


def test_split_turns() -> None:
    assert split_turns(" One. Two?  Three! four ") == ["One.", "Two?", "Three!", "four"]
    assert split_turns("   ") == []


@pytest.mark.parametrize("engine", ["deterministic", "real"])
def test_flux_speech_from_the_local_servers_v2_speak(engine: str, tmp_path: Path) -> None:
    from actors.server import LocalServer

    out = tmp_path / "local.wav"
    with LocalServer(engine=engine) as local:
        assert main(["speak", "--flux", "One turn. And another.", "-o", str(out), "--url", local.url]) == 0
    with wave.open(str(out)) as w:
        assert w.getnframes() > 0 and w.getnchannels() == 1
