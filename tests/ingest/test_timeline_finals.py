"""Stream times -> call times, Deepgram finals -> segments, segments -> AudioHook utterances."""

from __future__ import annotations

import pytest

from actors.ingest.finals import UtteranceAssembler, segment_from_results, segment_from_turn
from actors.ingest.store.models import Segment
from actors.ingest.timeline import Timeline
from actors.protocol.apis import LISTEN_V1, LISTEN_V2


def test_contiguous_audio_maps_one_to_one() -> None:
    timeline = Timeline()
    for i in range(5):
        timeline.sent(i * 0.2, 0.2)
    assert timeline.to_call(0.7) == pytest.approx(0.7)
    assert timeline.seconds_sent == pytest.approx(1.0)


def test_a_discarded_span_shifts_later_times() -> None:
    timeline = Timeline()
    timeline.sent(0.0, 1.0)
    timeline.sent(3.0, 1.0)  # 2 s discarded by the platform
    assert timeline.to_call(0.5) == pytest.approx(0.5)
    assert timeline.to_call(1.5) == pytest.approx(3.5)


def test_a_stream_opened_mid_call_starts_at_its_first_audio() -> None:
    timeline = Timeline()
    timeline.sent(12.0, 0.2)
    assert timeline.to_call(0.1) == pytest.approx(12.1)


def results(
    channel: int,
    start: float,
    words: list[tuple[str, float, float]],
    *,
    final: bool = True,
    speech_final: bool = False,
) -> object:
    return LISTEN_V1.server_codec.decode_obj(
        {
            "type": "Results",
            "channel_index": [channel, 2],
            "start": start,
            "duration": 1.0,
            "is_final": final,
            "speech_final": speech_final,
            "channel": {
                "alternatives": [
                    {
                        "transcript": " ".join(w for w, _, _ in words),
                        "confidence": 0.9,
                        "words": [{"word": w, "start": s, "end": e, "confidence": 0.9} for w, s, e in words],
                    }
                ]
            },
            "metadata": {
                "request_id": "r",
                "model_info": {"name": "n", "version": "v", "arch": "a"},
                "model_uuid": "u",
            },
        }
    )


def test_results_become_segments_on_the_call_timeline() -> None:
    timeline = Timeline()
    timeline.sent(10.0, 5.0)
    segment = segment_from_results("c", results(1, 1.0, [("hi", 1.1, 1.4)]), timeline)  # type: ignore[arg-type]
    assert segment is not None
    assert (segment.channel, segment.start, segment.end, segment.transcript) == (1, 11.0, 12.0, "hi")
    assert segment.words[0]["start"] == 11.1


def test_interims_and_empty_finals_are_not_segments() -> None:
    timeline = Timeline()
    assert segment_from_results("c", results(0, 0.0, [("x", 0, 1)], final=False), timeline) is None  # type: ignore[arg-type]
    assert segment_from_results("c", results(0, 0.0, []), timeline) is None  # type: ignore[arg-type]


def test_flux_end_of_turn_is_a_segment() -> None:
    turn = LISTEN_V2.server_codec.decode_obj(
        {
            "type": "TurnInfo",
            "request_id": "r",
            "sequence_id": 3,
            "event": "EndOfTurn",
            "turn_index": 0,
            "audio_window_start": 0.5,
            "audio_window_end": 1.5,
            "transcript": "ok then",
            "words": [{"word": "ok", "confidence": 0.8}, {"word": "then", "confidence": 1.0}],
            "end_of_turn_confidence": 0.9,
        }
    )
    segment = segment_from_turn("c", 1, turn, Timeline())  # type: ignore[arg-type]
    assert segment is not None and segment.channel == 1 and segment.confidence == pytest.approx(0.9)


def seg(channel: int, start: float, text: str) -> Segment:
    return Segment(
        call_id="c", channel=channel, start=start, end=start + 0.5, transcript=text, confidence=1.0
    )


def test_utterances_join_finals_up_to_speech_final_per_channel() -> None:
    assembler = UtteranceAssembler()
    assert assembler.add(seg(0, 0.0, "hello"), False) == []
    assert assembler.add(seg(1, 0.2, "other"), False) == []
    (done,) = assembler.add(seg(0, 0.6, "there"), True)
    assert (done.channel, done.start, done.end, done.transcript) == (0, 0.0, 1.1, "hello there")
    (rest,) = assembler.flush()
    assert rest.transcript == "other"
    assert assembler.flush() == []
