"""Silence and non-speech get Results too, as on the live service.

Deepgram sends empty interim Results about once a second during silence (with interim_results)
and empty finals when endpointing fires on silence; Flux sends empty ``Update``s about every
0.25 s between turns. A client must see its audio being heard even when nobody speaks.
"""

from __future__ import annotations

import itertools
import json
import math
from array import array
from typing import Any

import pytest

from actors.server import LocalServer
from actors.server.engines.deterministic import expected_words, interleave, silence, synthesize_words
from actors.server.listen_v1 import EMPTY_SEGMENT_SECONDS, NOISE_SECONDS
from tests.server.streaming import collect, final_words, of_type, open_ws, send_chunked

RATE = 16000
RAW = {"model": "nova-3", "encoding": "linear16", "sample_rate": RATE}
CLOSE = json.dumps({"type": "CloseStream"})


def square_tone(seconds: float, level: int = 12000) -> bytes:
    """A loud tone without quiet samples: one unbroken run of voice activity that carries no word."""
    period = RATE // 400
    one = array("h", [level] * (period // 2) + [-level] * (period - period // 2))
    return (one * int(seconds * 400)).tobytes()


def sine_tone(seconds: float, hz: float = 440.0, level: int = 8000) -> bytes:
    """A plain sine tone (its zero crossings give the VAD short quiet gaps)."""
    return array(
        "h", (int(level * math.sin(2 * math.pi * hz * n / RATE)) for n in range(int(seconds * RATE)))
    ).tobytes()


def run(server: LocalServer, params: dict[str, Any], audio: bytes) -> list[dict[str, Any]]:
    with open_ws(server, "/v1/listen", params) as ws:
        send_chunked(ws, audio, 6400)
        ws.send(CLOSE)
        return collect(ws)


def finals(messages: list[dict[str, Any]], channel: int = 0) -> list[dict[str, Any]]:
    return [m for m in of_type(messages, "Results") if m["is_final"] and m["channel_index"][0] == channel]


def transcript(message: dict[str, Any]) -> str:
    return str(message["channel"]["alternatives"][0]["transcript"])


def assert_contiguous(results: list[dict[str, Any]], end: float) -> None:
    """Finals tile the audio: each starts where the previous ended, the last ends at ``end``."""
    assert results[0]["start"] == 0.0
    for before, after in itertools.pairwise(results):
        assert after["start"] == pytest.approx(before["start"] + before["duration"], abs=1e-3)
    assert results[-1]["start"] + results[-1]["duration"] == pytest.approx(end, abs=0.03)


def test_silence_gets_empty_speech_finals_every_few_seconds(local_server: LocalServer) -> None:
    audio = silence(10.0, RATE) + synthesize_words(["hello"], RATE) + silence(0.5, RATE)
    messages = run(local_server, RAW, audio)
    results = finals(messages)
    empty = [m for m in results if not transcript(m)]
    assert len(empty) >= 3
    for m in empty[:3]:  # the silence before the word, cut every EMPTY_SEGMENT_SECONDS
        assert m["duration"] == pytest.approx(EMPTY_SEGMENT_SECONDS, abs=0.021)
        assert m["speech_final"] is True and m["from_finalize"] is False
        assert m["channel"]["alternatives"][0] == {"transcript": "", "confidence": 0.0, "words": []}
    assert [w["word"] for w in final_words(messages)] == ["hello"]
    word = final_words(messages)[0]
    assert word["start"] == pytest.approx(
        expected_words(["hello"], RATE, offset_seconds=10.0)[0].start, abs=1e-3
    )
    assert_contiguous(results, len(audio) / (2 * RATE))


def test_silence_gets_empty_interims_about_once_a_second(local_server: LocalServer) -> None:
    messages = run(local_server, {**RAW, "interim_results": "true"}, silence(6.0, RATE))
    interims = [m for m in of_type(messages, "Results") if not m["is_final"]]
    assert len(interims) >= 4 and all(not transcript(m) for m in interims)
    ends = [round(m["start"] + m["duration"], 3) for m in of_type(messages, "Results")]
    assert all(0.9 <= b - a <= 1.1 for a, b in itertools.pairwise(ends[:4]))


def test_without_endpointing_empty_finals_are_not_speech_final(local_server: LocalServer) -> None:
    messages = run(local_server, {**RAW, "endpointing": "false"}, silence(7.0, RATE))
    empty = [m for m in finals(messages) if m["duration"] >= EMPTY_SEGMENT_SECONDS - 0.02]
    assert len(empty) == 2 and not any(m["speech_final"] for m in empty)


def test_a_continuous_tone_gets_empty_finals_and_the_words_after_it_are_exact(
    local_server: LocalServer,
) -> None:
    words = ["after", "the", "tone"]
    audio = square_tone(20.0) + silence(0.5, RATE) + synthesize_words(words, RATE) + silence(0.5, RATE)
    messages = run(local_server, {**RAW, "vad_events": "true"}, audio)
    results = finals(messages)
    during = [m for m in results if m["start"] + m["duration"] <= 20.0 + 1e-3]
    assert len(during) >= 3 and not any(transcript(m) for m in during)
    assert during[0]["start"] + during[0]["duration"] == pytest.approx(NOISE_SECONDS, abs=0.021)
    assert not any(m["speech_final"] for m in during)  # voice activity went on: no endpoint
    expected = expected_words(words, RATE, offset_seconds=20.5)
    got = final_words(messages)
    assert [w["word"] for w in got] == words
    assert [(w["start"], w["end"]) for w in got] == [(round(e.start, 3), round(e.end, 3)) for e in expected]
    assert_contiguous(results, len(audio) / (2 * RATE))


def test_a_sine_tone_gets_results_too(local_server: LocalServer) -> None:
    audio = sine_tone(12.0) + silence(0.3, RATE) + synthesize_words(["done"], RATE) + silence(0.5, RATE)
    messages = run(local_server, RAW, audio)
    results = finals(messages)
    assert len([m for m in results if m["start"] + m["duration"] <= 12.0 + 1e-3]) >= 2
    assert [w["word"] for w in final_words(messages)] == ["done"]
    assert_contiguous(results, len(audio) / (2 * RATE))


def test_each_channel_reports_its_own_silence(local_server: LocalServer) -> None:
    speech = synthesize_words(["left"], RATE) + silence(7.0, RATE)
    quiet = silence(len(speech) / (2 * RATE), RATE)
    audio = interleave([speech, quiet])
    messages = run(local_server, {**RAW, "channels": 2, "multichannel": "true"}, audio)
    left, right = finals(messages, 0), finals(messages, 1)
    assert [w["word"] for w in final_words(messages, 0)] == ["left"] and final_words(messages, 1) == []
    assert len([m for m in right if not transcript(m)]) >= 2
    assert all(m["channel_index"] == [1, 2] for m in right)
    seconds = len(speech) / (2 * RATE)
    assert_contiguous(left, seconds)
    assert_contiguous(right, seconds)


def test_flux_sends_empty_updates_between_turns(local_server: LocalServer) -> None:
    params = {"model": "flux-general-en", "encoding": "linear16", "sample_rate": RATE}
    audio = silence(1.0, RATE) + synthesize_words(["hi"], RATE) + silence(2.0, RATE)
    with open_ws(local_server, "/v2/listen", params) as ws:
        send_chunked(ws, audio, 2560)
        ws.send(CLOSE)
        turn_info = of_type(collect(ws), "TurnInfo")
    kinds = [m["event"] for m in turn_info]
    before = turn_info[: kinds.index("StartOfTurn")]
    assert len(before) == 4 and all(m["event"] == "Update" and m["transcript"] == "" for m in before)
    after = turn_info[kinds.index("EndOfTurn") + 1 :]
    assert len(after) >= 6 and all(m["event"] == "Update" and m["words"] == [] for m in after)
    assert all(m["turn_index"] == 1 for m in after)
    ends = [m["audio_window_end"] for m in after]
    assert all(b - a >= 0.25 - 1e-6 for a, b in itertools.pairwise(ends))
