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
    """Each turn's window starts at the previous turn's end (or its first word, if earlier), is the
    same for all its messages, holds its words, and never moves backwards."""
    assert turns, "no TurnInfo at all"
    previous_end = 0.0
    previous_start = 0.0
    turn_start: float | None = None
    for message in turns:
        start, end = message["audio_window_start"], message["audio_window_end"]
        assert start >= previous_start, f"audio_window_start moved backwards: {previous_start} -> {start}"
        if turn_start is None:  # the first message of a turn fixes its window
            first_word = message["words"][0]["start"] if message["words"] else previous_end
            assert start == pytest.approx(min(previous_end, first_word), abs=1e-9), message
            turn_start = start
        assert start == turn_start, message
        assert start <= end + 1e-9, message
        assert all(word["start"] >= start - 1e-9 for word in message["words"]), message
        previous_start = start
        if message["event"] == "EndOfTurn":
            previous_end, turn_start = end, None


@st.composite
def conversations(draw: st.DrawFn) -> tuple[list[tuple[list[str], float]], float, int, int | None]:
    """1-4 turns (1-3 words, then a pause), leading silence, a chunk size, maybe a ForceEndTurn frame."""
    turns = draw(
        st.lists(
            st.tuples(
                st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=3),
                st.sampled_from([0.2, 0.45, 0.9]),
            ),
            min_size=1,
            max_size=4,
        )
    )
    return (
        turns,
        draw(st.sampled_from([0.0, 0.1, 0.5])),
        2 * draw(st.integers(80, 4800)),
        draw(st.none() | st.integers(0, 200)),
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=conversations())
def test_window_never_moves_backwards_deterministic(
    local_server: LocalServer, case: tuple[list[tuple[list[str], float]], float, int, int | None]
) -> None:
    turns, leading, chunk, force_at = case
    audio = silence(leading, RATE) if leading else b""
    for words, pause in turns:
        audio += synthesize_words(words, RATE) + silence(pause, RATE)
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


def test_a_word_cut_by_force_end_turn_opens_the_next_window_at_its_start(local_server: LocalServer) -> None:
    audio = synthesize_words(["one", "window"], RATE) + silence(0.9, RATE)
    # 5 ms frames; ForceEndTurn 5 ms into "window" (0.275 s), before the word can be decoded: the
    # turn ends at 0.28 s with "one", and "window" (from 0.275 s) opens the next turn.
    turns = flux_turns(local_server, audio, 160, force_at=56)
    assert_windows_hold(turns)
    first_end = next(m for m in turns if m["event"] == "EndOfTurn")
    second = [m for m in turns if m["turn_index"] == 1]
    assert [w["word"] for w in first_end["words"]] == ["one"] and first_end["audio_window_end"] > 0.275
    assert second and {m["audio_window_start"] for m in second} == {0.275}


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
