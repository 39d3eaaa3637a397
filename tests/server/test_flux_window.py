"""Flux ``audio_window_start`` never moves backwards: a turn's window starts where the previous turn
ended (0.0 for the first) and stays there for every TurnInfo of the turn, whatever the chunking,
the engine, or a ForceEndTurn in the middle.

The deterministic engine is checked as a property (random turns, pauses, chunk sizes and
ForceEndTurn positions); the real engine (pocketsphinx on espeak speech) with a few chunkings.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.server import LocalServer
from actors.server.engines.deterministic import silence, synthesize_words
from tests.server.streaming import collect, of_type, open_ws

RATE = 16000
FLUX = {"model": "flux-general-en", "encoding": "linear16", "sample_rate": RATE}
VOCABULARY = ["one", "two", "three", "hello", "window", "north"]


def flux_turns(
    server: LocalServer, audio: bytes, chunk: int, force_at: int | None = None
) -> list[dict[str, Any]]:
    """Stream ``audio`` in ``chunk``-byte frames (ForceEndTurn before frame ``force_at``); the TurnInfos."""
    with open_ws(server, "/v2/listen", FLUX) as ws:
        for index, start in enumerate(range(0, len(audio), chunk)):
            if index == force_at:
                ws.send(json.dumps({"type": "ForceEndTurn"}))
            ws.send(audio[start : start + chunk])
        ws.send(json.dumps({"type": "CloseStream"}))
        return of_type(collect(ws, timeout=30), "TurnInfo")


def assert_windows_hold(turns: list[dict[str, Any]]) -> None:
    """Every window starts at the previous turn's end, is constant within a turn, and holds its words."""
    assert turns, "no TurnInfo at all"
    expected_start = 0.0
    previous_start = 0.0
    for message in turns:
        start, end = message["audio_window_start"], message["audio_window_end"]
        assert start >= previous_start, f"audio_window_start moved backwards: {previous_start} -> {start}"
        assert start == pytest.approx(expected_start, abs=1e-9), message
        assert start <= end + 1e-9, message
        assert all(word["start"] >= start - 1e-9 for word in message["words"]), message
        previous_start = start
        if message["event"] == "EndOfTurn":
            expected_start = end


@st.composite
def conversations(draw: st.DrawFn) -> tuple[bytes, int, int | None]:
    """Audio of 1-4 turns (1-3 words, then a pause), a chunk size and maybe a ForceEndTurn frame."""
    audio = silence(draw(st.sampled_from([0.0, 0.1, 0.5])), RATE)
    for _ in range(draw(st.integers(1, 4))):
        words = draw(st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=3))
        audio += synthesize_words(words, RATE) + silence(draw(st.sampled_from([0.2, 0.45, 0.9])), RATE)
    chunk = 2 * draw(st.integers(80, 4800))
    frames = -(-len(audio) // chunk)
    force_at = draw(st.none() | st.integers(0, max(0, frames - 1)))
    return audio, chunk, force_at


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=conversations())
def test_window_never_moves_backwards_deterministic(
    local_server: LocalServer, case: tuple[bytes, int, int | None]
) -> None:
    audio, chunk, force_at = case
    assert_windows_hold(flux_turns(local_server, audio, chunk, force_at))


def test_first_turn_window_starts_at_zero_and_the_next_at_the_previous_end(local_server: LocalServer) -> None:
    audio = silence(0.5, RATE) + synthesize_words(["hello"], RATE) + silence(0.9, RATE)
    audio += synthesize_words(["north"], RATE) + silence(0.9, RATE)
    turns = flux_turns(local_server, audio, 2560)
    ends = [m for m in turns if m["event"] == "EndOfTurn"]
    starts = [m for m in turns if m["event"] == "StartOfTurn"]
    assert [m["transcript"] for m in ends] == ["hello", "north"]
    assert starts[0]["audio_window_start"] == 0.0 and starts[0]["words"][0]["start"] == pytest.approx(0.5)
    assert starts[1]["audio_window_start"] == ends[0]["audio_window_end"]


@pytest.mark.timeout(180)
def test_window_never_moves_backwards_real_engine(make_server: Callable[..., LocalServer]) -> None:
    pytest.importorskip("pocketsphinx")
    pytest.importorskip("espeakng_loader")
    server = make_server(engine="real")
    synthesizer = server.engine.synthesizer()
    audio = silence(0.2, RATE)
    for sentence, pause in [("Well, I think so.", 0.3), ("What about seven thirty?", 1.0), ("Yes.", 0.6)]:
        audio += synthesizer.synthesize(sentence, RATE) + silence(pause, RATE)
    for chunk, force_at in [(640, None), (7778, 9)]:
        assert_windows_hold(flux_turns(server, audio, chunk, force_at))
