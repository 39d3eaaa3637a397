"""Speaker turns in TXT/SRT/VTT with ``--param diarize=true``.

The local server diarizes deterministically (actors/server/listen_features.py): each channel
starts with speaker 0 and switches speaker at every pause of 1 s or more between words.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import srt

from actors.cli.main import main
from actors.cli.outputs import Segment, Word, caption_cues, format_transcript, format_webvtt, speaker_turns
from actors.server import LocalServer
from actors.server.engines.deterministic import interleave, synthesize_words
from tests.support.wav import write_wav

AGENT = ["thank", "you", "for", "calling"]
CALLER = ["my", "order", "is", "late"]
AGENT_AGAIN = ["let", "me", "check"]


@pytest.fixture(autouse=True)
def _no_deepgram_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEEPGRAM_API_KEY", raising=False)


def turns_pcm(turns: list[list[str]], pause_ms: int = 1200) -> bytes:
    """Turns separated by ``pause_ms``: over the 1 s speaker switch, under the 1.5 s line break."""
    return b"".join(
        synthesize_words(words, 16000, leading_ms=200 if i == 0 else pause_ms)
        for i, words in enumerate(turns)
    )


def transcribe(call: Path, out: Path, server: LocalServer, *extra: str) -> None:
    assert main(["transcribe", str(call), "--out", str(out), "--url", server.url, *extra]) == 0


def test_diarized_mono_call_is_split_by_speaker_in_all_formats(
    tmp_path: Path, make_server: Callable[..., LocalServer], capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_server()
    call = write_wav(tmp_path / "call.wav", turns_pcm([AGENT, CALLER, AGENT_AGAIN]))
    out = tmp_path / "out"

    transcribe(call, out, server, "--param", "diarize=true")

    lines = (out / "call.txt").read_text().splitlines()
    assert [line.split("] ", 1)[1] for line in lines] == [
        "Speaker 0: thank you for calling",
        "Speaker 1: my order is late",
        "Speaker 0: let me check",
    ]
    assert lines[0].startswith("[00:00.20] ")
    subs = list(srt.parse((out / "call.srt").read_text()))
    assert [s.content for s in subs] == [
        "[Speaker 0] thank you for calling",
        "[Speaker 1] my order is late",
        "[Speaker 0] let me check",
    ]
    assert subs[0].end <= subs[1].start <= subs[1].end <= subs[2].start
    vtt = (out / "call.vtt").read_text()
    assert vtt.startswith("WEBVTT\n")
    voices = [line for line in vtt.splitlines() if line.startswith("<v ")]
    assert voices == [
        "<v Speaker 0>thank you for calling",
        "<v Speaker 1>my order is late",
        "<v Speaker 0>let me check",
    ]

    # the same call without diarization is one speaker: the short pauses do not break the line
    transcribe(call, tmp_path / "plain", server)
    plain = (tmp_path / "plain" / "call.txt").read_text()
    assert plain == f"[00:00.20] {' '.join(AGENT + CALLER + AGENT_AGAIN)}\n"
    capsys.readouterr()


def test_diarized_stereo_call_is_labelled_by_channel_and_speaker(
    tmp_path: Path, make_server: Callable[..., LocalServer], capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_server()
    left = turns_pcm([AGENT, AGENT_AGAIN], pause_ms=2000)  # channel 0: two turns, two "speakers"
    right = synthesize_words(CALLER, 16000, leading_ms=1900)  # channel 1 speaks in the pause
    left += bytes(max(0, len(right) - len(left)))
    right += bytes(max(0, len(left) - len(right)))
    call = write_wav(tmp_path / "call.wav", interleave([left, right]), channels=2)
    out = tmp_path / "out"

    transcribe(call, out, server, "--param", "diarize=true")

    lines = [line.split("] ", 1)[1] for line in (out / "call.txt").read_text().splitlines()]
    assert lines == [
        "Channel 0 / Speaker 0: thank you for calling",
        "Channel 1 / Speaker 0: my order is late",
        "Channel 0 / Speaker 1: let me check",
    ]
    vtt = (out / "call.vtt").read_text()
    assert "<v Channel 1 / Speaker 0>my order is late" in vtt
    assert "[Channel 0 / Speaker 1] let me check" in (out / "call.srt").read_text()
    capsys.readouterr()


def _segment(words: list[tuple[str, float, int | None]], channel: int = 0) -> Segment:
    ws = tuple(Word(w, start, start + 0.3, speaker) for w, start, speaker in words)
    return Segment(channel, ws[0].start, ws[-1].end, " ".join(w.text for w in ws), ws, ws[0].speaker)


def test_a_final_holding_two_speakers_is_split_into_turns() -> None:
    seg = _segment([("hello", 0.0, 0), ("there", 0.4, 0), ("hi", 0.8, 1), ("back", 1.2, 0)])
    turns = speaker_turns(seg)
    assert [(t.speaker, t.text) for t in turns] == [(0, "hello there"), (1, "hi"), (0, "back")]
    assert format_transcript([seg], multichannel=False).splitlines() == [
        "[00:00.00] Speaker 0: hello there",
        "[00:00.80] Speaker 1: hi",
        "[00:01.20] Speaker 0: back",
    ]
    cues = caption_cues([seg], multichannel=False)
    assert [(c.speaker, c.text) for c in cues] == [
        ("Speaker 0", "hello there"),
        ("Speaker 1", "hi"),
        ("Speaker 0", "back"),
    ]
    not_diarized = _segment([("hello", 0.0, None), ("there", 0.4, None)])
    assert speaker_turns(not_diarized) == [not_diarized]
    assert format_transcript([not_diarized], multichannel=False) == "[00:00.00] hello there\n"


def test_speaker_label_is_escaped_in_webvtt() -> None:
    cues: list[Any] = caption_cues([_segment([("a<b", 0.0, 0)])], multichannel=False)
    assert "<v Speaker 0>a&lt;b" in format_webvtt(cues)
