"""A long silence between two turns keeps the lossless replay buffer small, on Flux and Listen V1.

Flux sends no final during silence, only empty ``Update`` messages between turns; Listen V1 sends
empty finals. Either way the audio the server has shown to hold no word is trimmed from the
replay buffer, so a reconnect in the middle of a minute of silence replays a few seconds, not
the whole minute, and loses no word of either turn.

The audio is sent as fast as the server hears it: after each chunk the test waits (on the
event queue, with a timeout) until the server has reported hearing nearly all of it, so the
buffer's size measures what the stream keeps, not what is still in flight.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from actors.protocol.listen_v2.messages import ListenV2TurnInfo
from actors.protocol.listen_v2.replay import FLUX_ONSET_GUARD_SECONDS, LISTEN_V2_REPLAY
from actors.runtime import ConnectionConfig
from actors.runtime.policy import RestartPolicy
from actors.runtime.replay import SilenceTracker
from actors.runtime.stream import StreamHandle, StreamResult
from actors.runtime.supervisor import Supervisor
from actors.server import FaultRule, LocalServer
from actors.server.engines.deterministic import expected_words, silence, synthesize_words
from tests.runtime.runtime_support import transcript
from tests.runtime.test_supervisor import BYTES_PER_SECOND, FAST, RATE, drain, listen_config
from tests.runtime.test_unrequested_close import flux_config

FIRST = ["hello", "world"]
#: The second turn opens with a long word (2.6 s, still shorter than the onset guard): the server
#: hears it for a while before it can report it, so a drop inside it tests the guard.
LONG_WORD = "supercalifragilistic" * 5
SECOND = [LONG_WORD, "bye"]
SILENCE_SECONDS = 60.0
CHUNK_SECONDS = 0.5
#: How far behind what was sent the server's reports may be before the next chunk goes out
#: (Listen V1 interim results come every second of audio, Flux Updates every 0.25 s).
LAG_SECONDS = 1.5
#: "Small": the onset guard / an empty V1 segment (3 s), plus the reporting lag and one chunk.
SMALL_SECONDS = FLUX_ONSET_GUARD_SECONDS + LAG_SECONDS + CHUNK_SECONDS + 0.5


def _audio() -> bytes:
    second = synthesize_words(SECOND, RATE) + silence(1.0, RATE)  # Flux ends a turn on silence only
    return synthesize_words(FIRST, RATE) + silence(SILENCE_SECONDS, RATE) + second


def _expected_timings() -> list[tuple[str, float]]:
    """Every word with its start on the stream's timeline."""
    first = expected_words(FIRST, RATE)
    second = expected_words(SECOND, RATE, offset_seconds=ONSET)
    return [(w.text, round(w.start, 3)) for w in first + second]


def _timings(seen: list[Any]) -> list[tuple[str, float]]:
    """Every word of every delivered final (Flux EndOfTurn or V1 final Results) with its start."""
    out = []
    for event in seen:
        if isinstance(event, ListenV2TurnInfo) and event.event == "EndOfTurn":
            out.extend((w.word, round(w.start, 3)) for w in event.words)
        elif getattr(event, "type", None) == "Results" and event.is_final:
            out.extend((w.word, round(w.start, 3)) for w in event.channel.alternatives[0].words)
    return out


def _heard_until(event: object) -> float | None:
    """How much audio the server reports having heard in ``event`` (None: not a report)."""
    if isinstance(event, ListenV2TurnInfo):
        return float(event.audio_window_end)
    if getattr(event, "type", None) == "Results":
        return float(event.start) + float(event.duration)  # type: ignore[attr-defined]
    return None


def _send_in_step(handle: StreamHandle, audio: bytes, q: queue.Queue[Any], seen: list[Any]) -> float:
    """Send ``audio`` in chunks, each once the server has heard all but ``LAG_SECONDS`` of what was
    sent; return the largest replay buffer seen (seconds) while sending the silence."""
    step = int(CHUNK_SECONDS * BYTES_PER_SECOND)
    heard = 0.0
    largest = 0.0
    for start in range(0, len(audio), step):
        handle.send_audio(audio[start : start + step])
        sent = min(len(audio), start + step) / BYTES_PER_SECOND
        target = min(sent - LAG_SECONDS, len(audio) / BYTES_PER_SECOND - 1.0)
        while heard < target:
            event = q.get(timeout=10)
            seen.append(event)
            report = _heard_until(event)
            if report is not None:
                heard = max(heard, report)
        if 5.0 < sent < SILENCE_SECONDS - 1.0:  # inside the silence, once the first turn is done
            largest = max(largest, handle.metrics.replay_buffered_seconds)
    return largest


def _run(
    server: LocalServer, config: ConnectionConfig, words_of: Callable[[StreamResult, list[Any]], list[str]]
) -> tuple[StreamResult, list[str], float, list[Any]]:
    q: queue.Queue[Any] = queue.Queue()
    seen: list[Any] = []
    with Supervisor(keep_finals=True, max_connections=2, stall_timeout=5.0) as sup:
        handle = sup.open_stream(config, subscribers=[q], restart=RestartPolicy.on_failure(backoff=FAST))
        largest = _send_in_step(handle, _audio(), q, seen)
        result = handle.finish(timeout=20)
    seen.extend(drain(q))
    assert result.ok, result.error
    return result, words_of(result, seen), largest, seen


def _flux_words(result: StreamResult, _seen: list[Any]) -> list[str]:
    return [t.transcript for t in result.finals]


def _v1_words(_result: StreamResult, seen: list[Any]) -> list[str]:
    return transcript(seen)


def _flux(server: LocalServer, tag: str) -> ConnectionConfig:
    return flux_config(server, tag)


def _v1(server: LocalServer, tag: str) -> ConnectionConfig:
    return listen_config(server, tag, interim_results=True)


CASES = [
    pytest.param(_flux, _flux_words, ["hello world", f"{LONG_WORD} bye"], id="flux"),
    pytest.param(_v1, _v1_words, FIRST + SECOND, id="listen-v1"),
]


@pytest.mark.parametrize(("make_config", "words_of", "want"), CASES)
@pytest.mark.timeout(60)
def test_a_minute_of_silence_keeps_the_replay_buffer_small(
    make_server: Callable[..., LocalServer],
    make_config: Callable[[LocalServer, str], ConnectionConfig],
    words_of: Callable[[StreamResult, list[Any]], list[str]],
    want: list[str],
) -> None:
    server = make_server()
    result, words, largest, seen = _run(server, make_config(server, "quiet"), words_of)
    assert words == want
    assert _timings(seen) == _expected_timings()
    assert 0.0 < largest < SMALL_SECONDS, largest
    assert result.metrics.replay_dropped_seconds == 0.0
    assert result.metrics.reconnects == 0


#: Where the second turn starts on the stream's timeline.
ONSET = len(synthesize_words(FIRST, RATE)) / BYTES_PER_SECOND + SILENCE_SECONDS
#: Where the connection drops: deep in the silence, and half a second into the second turn's long
#: first word (not reported yet: the server's empty Updates go on while the word is heard).
DROPS = [
    pytest.param(40.0, id="mid-silence"),
    pytest.param(ONSET + 0.5, id="turn-onset"),
]


@pytest.mark.parametrize("drop_at", DROPS)
@pytest.mark.parametrize(("make_config", "words_of", "want"), CASES)
@pytest.mark.timeout(60)
def test_a_reconnect_in_the_silence_replays_seconds_and_loses_no_word(
    make_server: Callable[..., LocalServer],
    make_config: Callable[[LocalServer, str], ConnectionConfig],
    words_of: Callable[[StreamResult, list[Any]], list[str]],
    want: list[str],
    drop_at: float,
) -> None:
    server = make_server()
    server.faults.add(FaultRule(kind="drop", match_tag="cut", after_audio_seconds=drop_at, times=1))
    result, words, largest, seen = _run(server, make_config(server, "cut"), words_of)
    assert result.metrics.reconnects == 1
    assert words == want
    assert _timings(seen) == _expected_timings()  # rebased onto the stream's timeline
    sequence = [e.sequence_id for e in seen if isinstance(getattr(e, "sequence_id", None), int)]
    assert sequence == sorted(set(sequence))  # Flux: one increasing sequence across the reconnect
    assert 0.0 < result.metrics.replayed_seconds < SMALL_SECONDS, result.metrics.replayed_seconds
    assert largest < SMALL_SECONDS, largest
    assert result.metrics.replay_dropped_seconds == 0.0


def _turn(event: str, start: float, end: float, transcript: str = "") -> ListenV2TurnInfo:
    return ListenV2TurnInfo(
        request_id="r",
        sequence_id=1,
        event=event,
        turn_index=0,
        audio_window_start=start,
        audio_window_end=end,
        transcript=transcript,
        words=[],
        end_of_turn_confidence=0.0,
    )


def test_only_empty_updates_between_turns_count_as_silence() -> None:
    tracker = SilenceTracker(LISTEN_V2_REPLAY, guard=1.0)
    assert tracker.observe(_turn("Update", 0.0, 0.5)) == 0.0  # nothing before the guard yet
    assert tracker.observe(_turn("Update", 0.0, 4.0)) == 3.0
    tracker.observe(_turn("StartOfTurn", 0.0, 4.5, "hi"))
    # Inside a turn an Update proves nothing, even an empty one.
    assert tracker.observe(_turn("Update", 0.0, 9.0)) == 3.0
    tracker.observe(_turn("EndOfTurn", 0.0, 9.5, "hi"))
    assert tracker.observe(_turn("Update", 9.5, 12.0)) == 11.0
    # An Update with a transcript between turns is taken as a turn running (in doubt, keep).
    words = attrs.evolve(_turn("Update", 9.5, 13.0), transcript="oh")
    assert tracker.observe(words) == 11.0
    assert tracker.observe(_turn("Update", 9.5, 14.0)) == 11.0
    tracker.start_connection()  # a new connection's server has no turn open
    assert tracker.observe(_turn("Update", 0.0, 15.0)) == 14.0
    assert tracker.observe(_turn("Update", 0.0, 2.0)) == 14.0  # never goes back
