"""The stream timeline, pure: audio positions, replay plans, rebasing, duplicates, acknowledgements.

No sockets: a timeline is fed audio and protocol messages as two connections would deliver them.
"""

from __future__ import annotations

import attrs
import pytest

from actors.errors import OptionsError
from actors.protocol.base import UnknownMessage
from actors.protocol.listen_v1.messages import ListenV1Metadata, ListenV1Results
from actors.protocol.listen_v1.replay import LISTEN_V1_REPLAY
from actors.protocol.listen_v2.messages import ListenV2Connected, ListenV2TurnInfo
from actors.protocol.listen_v2.replay import FLUX_ONSET_GUARD_SECONDS, LISTEN_V2_REPLAY
from actors.runtime.replay import AudioFormat
from actors.runtime.timeline import NO_POSITION, StreamTimeline
from tests.runtime.test_replay import TurnInfo, results

PCM16K = AudioFormat(sample_rate=16000, frame_bytes=2)
SECOND = 32000  # bytes of one second of PCM16K


def listen_timeline(**kw: object) -> StreamTimeline:
    return StreamTimeline(LISTEN_V1_REPLAY, PCM16K, timeline=True, lossless=True, **kw)  # type: ignore[arg-type]


def delivered(
    timeline: StreamTimeline, msg: object, *, first: bool = True, finishing: bool = False
) -> object:
    kept = timeline.process(msg, first_connection=first, finishing=finishing)
    return None if kept is None else kept[0]


def test_finals_trim_the_buffer_and_the_next_connection_is_rebased_onto_the_stream() -> None:
    timeline = listen_timeline()
    assert timeline.start_connection().start == 0
    assert timeline.append(b"\x00" * SECOND) == SECOND
    delivered(timeline, results([("a", 0.1, 0.4)], 0.0, 0.5))
    assert timeline.buffer is not None and timeline.buffer.start == SECOND // 2
    assert timeline.has_uncovered_audio() and timeline.buffered_seconds == 0.5
    plan = timeline.start_connection()  # a reconnect: the second half is replayed
    assert (plan.start, plan.start_seconds, plan.replay_seconds) == (SECOND // 2, 0.5, 0.5)
    second: object = delivered(timeline, results([("b", 0.1, 0.3)], 0.0, 0.5), first=False)
    assert isinstance(second, ListenV1Results)
    assert second.start == 0.5 and second.channel.alternatives[0].words[0].start == 0.6
    assert not timeline.has_uncovered_audio()
    assert timeline.final_count == 2 and timeline.audio_seconds == 1.0


def test_a_replayed_final_already_delivered_is_dropped() -> None:
    timeline = listen_timeline()
    timeline.start_connection()
    timeline.append(b"\x00" * 2 * SECOND)
    left = attrs.evolve(results([("l", 0.1, 0.5)], 0.0, 1.0), channel_index=[0, 2])
    assert delivered(timeline, left) is left
    assert timeline.buffer is not None and timeline.buffer.start == 0  # channel 1 covers nothing yet
    plan = timeline.start_connection()
    assert plan.start == 0
    assert delivered(timeline, left, first=False) is None  # the replay re-recognised it
    assert timeline.duplicates_dropped == 1 and timeline.final_count == 1


def test_greetings_come_from_the_first_connection_and_summaries_only_when_finishing() -> None:
    flux = StreamTimeline(LISTEN_V2_REPLAY, PCM16K, timeline=True, lossless=True)
    hello = ListenV2Connected(request_id="r", sequence_id=0)
    assert delivered(flux, hello) is hello
    flux.start_connection()
    assert delivered(flux, hello, first=False) is None
    listen = listen_timeline()
    summary = ListenV1Metadata(
        transaction_key="t", request_id="r", sha256="s", created="c", duration=1.0, channels=1
    )
    assert delivered(listen, summary) is None
    assert delivered(listen, summary, finishing=True) is summary


def test_unknown_messages_pass_untouched_and_are_not_finals() -> None:
    timeline = listen_timeline()
    timeline.append(b"\x00" * SECOND)
    timeline.start_connection()
    unknown = UnknownMessage(type="Results", raw={"type": "Results", "is_final": True})
    assert timeline.process(unknown, first_connection=True, finishing=False) == (unknown, False)
    assert timeline.final_count == 0 and timeline.buffer is not None and timeline.buffer.start == 0


def test_flux_silence_acknowledges_audio_up_to_the_onset_guard() -> None:
    timeline = StreamTimeline(LISTEN_V2_REPLAY, PCM16K, timeline=True, lossless=True)
    timeline.append(b"\x00" * 12 * SECOND)
    timeline.start_connection()
    delivered(timeline, TurnInfo("Update", 0, 0.0, 10.0, "", []))
    assert timeline.buffer is not None
    assert timeline.buffer.start == int((10.0 - FLUX_ONSET_GUARD_SECONDS) * SECOND)


def test_controls_are_acknowledged_with_the_audio_before_them() -> None:
    timeline = listen_timeline()
    timeline.append(b"\x00" * SECOND)
    finalize = timeline.record_control('{"type":"Finalize"}', "Finalize")
    timeline.record_control('{"type":"Configure"}', "Configure")
    assert finalize.position == SECOND and len(timeline.controls) == 2
    delivered(timeline, results([], 0.0, 1.0))  # covers the Finalize's audio: it is forgotten
    assert [e.tag for e in timeline.controls] == ["Configure"]  # sticky: kept for every connection


def test_audio_that_is_not_wav_turns_a_default_lossless_off() -> None:
    timeline = StreamTimeline(LISTEN_V1_REPLAY, None, timeline=True, lossless=True, lossless_required=False)
    assert timeline.append(b"OggS" + b"\x00" * 20) == NO_POSITION
    assert not timeline.lossless and timeline.buffer is None and timeline.audio_bytes == 24
    assert timeline.append(b"\x01\x02") == NO_POSITION
    plan = timeline.start_connection()
    assert plan.backlog == b"OggS" + b"\x00" * 20 + b"\x01\x02" and plan.start == 0
    required = StreamTimeline(LISTEN_V1_REPLAY, None, timeline=True, lossless=True)
    with pytest.raises(OptionsError, match="WAV"):
        required.append(b"OggS" + b"\x00" * 20)


def test_an_api_without_replay_rules_passes_messages_through() -> None:
    timeline = StreamTimeline(None, PCM16K, timeline=True, lossless=False)
    assert timeline.buffer is None and not timeline.rebases
    eot: ListenV2TurnInfo = TurnInfo("EndOfTurn", 0, 0.0, 1.0, "hi", [])
    assert timeline.process(eot, first_connection=False, finishing=False) == (eot, False)
    timeline.append(b"\x00" * 10)
    assert timeline.has_uncovered_audio() and timeline.position() == 10
