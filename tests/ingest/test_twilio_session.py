"""The Twilio session: frames built by the test client in, call-model events out.

Covers mono and stereo streams, jitter and reordering, gaps, late and duplicate chunks, long jumps,
dtmf/mark pass-through, the three endings, bad input with its close codes, and our outgoing messages.
"""

from __future__ import annotations

import base64
import json
import random

import pytest

from actors.ingest.calls import CallAudio, CallEnd, CallPaused, CallResumed, CallStart
from actors.ingest.twilio.messages import (
    CLOSE_INVALID_DATA,
    CLOSE_POLICY,
    CLOSE_UNSUPPORTED,
    TwilioProtocolError,
    clear_message,
    mark_message,
    media_message,
)
from actors.ingest.twilio.session import (
    DtmfReceived,
    MarkReceived,
    TwilioEvent,
    TwilioSession,
    TwilioSessionConfig,
)
from actors.ingest.twilio.signature import SignatureError, check_upgrade
from tests.support.twilio_client import CHUNK_BYTES, TwilioStream, upgrade_headers

SILENCE = 0xFF


def tone(seconds: float, seed: int) -> bytes:
    """Recognisable μ-law bytes that never contain the silence byte."""
    rng = random.Random(seed)
    return bytes(rng.randrange(0, 0xFF) for _ in range(int(8000 * seconds)))


def run(session: TwilioSession, frames: list[str]) -> list[TwilioEvent]:
    events: list[TwilioEvent] = []
    for frame in frames:
        events.extend(session.receive(frame))
    return events


def audio_of(events: list[TwilioEvent], channels: int = 1) -> list[bytes]:
    """Each channel's bytes, checking positions are contiguous on the way."""
    joined = b""
    for event in events:
        if isinstance(event, CallAudio):
            assert event.position == pytest.approx(len(joined) / channels / 8000)
            joined += event.audio
    return [joined[i::channels] for i in range(channels)]


def test_a_mono_call_start_audio_end() -> None:
    stream = TwilioStream(("inbound",), custom_parameters={"language": "es", "agent": "a-7"})
    caller = tone(1.0, 1)
    session = TwilioSession()
    events = run(session, stream.call({"inbound": caller}))
    start = events[0]
    assert start == CallStart(
        platform="twilio",
        call_id=stream.call_sid,
        encoding="mulaw",
        sample_rate=8000,
        channels=("inbound",),
        platform_ids={
            "callSid": stream.call_sid,
            "streamSid": stream.stream_sid,
            "accountSid": stream.account_sid,
        },
        language="es",
        metadata={"language": "es", "agent": "a-7"},
    )
    assert audio_of(events) == [caller]
    assert events[-1] == CallEnd(reason="completed", position=1.0)
    # In-order mono audio is released as soon as it arrives: one CallAudio per media message.
    assert sum(isinstance(e, CallAudio) for e in events) == len(caller) // CHUNK_BYTES
    assert session.stats.silence_samples == 0 and session.stats.sequence_gaps == 0


def test_two_tracks_become_two_interleaved_channels() -> None:
    stream = TwilioStream(("inbound", "outbound"))
    caller, agent = tone(0.5, 2), tone(0.5, 3)
    events = run(TwilioSession(), stream.call({"inbound": caller, "outbound": agent}))
    assert isinstance(events[0], CallStart) and events[0].channels == ("inbound", "outbound")
    assert events[0].bytes_per_second == 16000
    assert audio_of(events, 2) == [caller, agent]


def test_outbound_listed_first_still_maps_inbound_to_channel_zero() -> None:
    stream = TwilioStream(("outbound", "inbound"))
    caller, agent = tone(0.2, 4), tone(0.2, 5)
    events = run(TwilioSession(), stream.call({"inbound": caller, "outbound": agent}))
    assert isinstance(events[0], CallStart) and events[0].channels == ("inbound", "outbound")
    assert audio_of(events, 2) == [caller, agent]


def test_jitter_and_reordering_within_the_buffer_lose_nothing() -> None:
    stream = TwilioStream(("inbound", "outbound"))
    caller, agent = tone(2.0, 6), tone(2.0, 7)
    head = [stream.connected(), stream.start()]  # built first: sequence numbers follow build order
    media = stream.media_frames({"inbound": caller, "outbound": agent})
    rng = random.Random(8)
    i = 0
    while i < len(media) - 1:  # swap disjoint random neighbours: each message at most one slot late
        if rng.random() < 0.4:
            media[i], media[i + 1] = media[i + 1], media[i]
            i += 1
        i += 1
    session = TwilioSession()
    events = run(session, [*head, *media, stream.stop()])
    assert audio_of(events, 2) == [caller, agent]
    assert session.stats.out_of_order > 0
    assert session.stats.silence_samples == 0 and session.stats.late_samples == 0


def test_a_lost_chunk_is_filled_with_mulaw_silence() -> None:
    stream = TwilioStream(("inbound", "outbound"))
    caller, agent = tone(0.4, 9), tone(0.4, 10)
    head = [stream.connected(), stream.start()]  # built first: sequence numbers follow build order
    media = stream.media_frames({"inbound": caller, "outbound": agent})
    del media[6]  # inbound chunk 4: 60-80 ms
    session = TwilioSession()
    events = run(session, [*head, *media, stream.stop()])
    inbound, outbound = audio_of(events, 2)
    assert inbound == caller[:480] + bytes([SILENCE]) * 160 + caller[640:]
    assert outbound == agent
    assert session.stats.silence_samples == 160
    assert session.stats.sequence_gaps == 1


def test_a_silent_track_is_filled_and_latency_stays_bounded() -> None:
    stream = TwilioStream(("inbound", "outbound"))
    caller = tone(1.0, 11)
    session = TwilioSession(TwilioSessionConfig(jitter_ms=40))
    session.receive(stream.connected())
    session.receive(stream.start())
    released = 0
    for n, frame in enumerate(stream.media_frames({"inbound": caller}), start=1):
        released += sum(len(e.audio) // 2 for e in session.receive(frame) if isinstance(e, CallAudio))
        assert n * CHUNK_BYTES - released <= 40 * 8  # never more than the jitter held back
    events = session.receive(stream.stop())
    assert isinstance(events[-1], CallEnd) and events[-1].position == 1.0


def test_silent_track_audio_is_silence() -> None:
    stream = TwilioStream(("inbound", "outbound"))
    caller = tone(0.3, 12)
    events = run(TwilioSession(), stream.call({"inbound": caller}))
    assert audio_of(events, 2) == [caller, bytes([SILENCE]) * len(caller)]


def test_a_chunk_later_than_the_jitter_buffer_is_dropped() -> None:
    stream = TwilioStream(("inbound",))
    caller = tone(0.4, 13)
    head = [stream.connected(), stream.start()]  # built first: sequence numbers follow build order
    media = stream.media_frames({"inbound": caller})
    late = media.pop(2)  # 40-60 ms arrives after 100 ms more audio
    media.insert(7, late)
    session = TwilioSession(TwilioSessionConfig(jitter_ms=40))
    events = run(session, [*head, *media, stream.stop()])
    assert audio_of(events) == [caller[:320] + bytes([SILENCE]) * 160 + caller[480:]]
    assert session.stats.late_samples == 160 and session.stats.silence_samples == 160


def test_a_duplicate_sequence_number_is_dropped() -> None:
    stream = TwilioStream(("inbound",))
    caller = tone(0.1, 14)
    head = [stream.connected(), stream.start()]  # built first: sequence numbers follow build order
    media = stream.media_frames({"inbound": caller})
    forged = json.loads(media[1])
    forged["media"]["payload"] = base64.b64encode(b"\x00" * 160).decode()
    session = TwilioSession()
    events = run(session, [*head, *media[:3], json.dumps(forged), *media[3:]])
    assert audio_of(events) == [caller]
    assert session.stats.duplicates_dropped == 1


def test_a_long_timestamp_jump_is_a_pause_not_silence() -> None:
    stream = TwilioStream(("inbound",))
    before, after = tone(0.1, 15), tone(0.1, 16)
    frames = [stream.connected(), stream.start()]
    frames += [stream.media("inbound", before[i : i + 160], i // 8) for i in range(0, 800, 160)]
    frames += [stream.media("inbound", after[i : i + 160], 3100 + i // 8) for i in range(0, 800, 160)]
    events = run(TwilioSession(TwilioSessionConfig(max_gap_ms=2000)), [*frames, stream.stop()])
    kinds = [type(e).__name__ for e in events]
    assert kinds.count("CallPaused") == 1 and kinds.count("CallResumed") == 1
    paused = next(e for e in events if isinstance(e, CallPaused))
    resumed = next(e for e in events if isinstance(e, CallResumed))
    assert paused.position == pytest.approx(0.1)
    assert resumed == CallResumed(position=pytest.approx(3.1), discarded=pytest.approx(3.0))
    audio = [e for e in events if isinstance(e, CallAudio)]
    assert b"".join(a.audio for a in audio) == before + after
    assert audio[-1].position == pytest.approx(3.18)
    assert events[-1] == CallEnd(reason="completed", position=pytest.approx(3.2))


def test_dtmf_and_mark_pass_through() -> None:
    stream = TwilioStream(("inbound",))
    caller = tone(0.1, 17)
    head = [stream.connected(), stream.start()]  # built first: sequence numbers follow build order
    media = stream.media_frames({"inbound": caller})
    events = run(
        TwilioSession(),
        [*head, *media[:2], stream.dtmf("7"), stream.mark("greeting")],
    )
    assert events[-2:] == [
        DtmfReceived(digit="7", position=0.04),
        MarkReceived(name="greeting", position=0.04),
    ]


def test_a_vanished_client_ends_as_disconnected_after_the_buffered_audio() -> None:
    stream = TwilioStream(("inbound", "outbound"))
    caller = tone(0.1, 18)
    session = TwilioSession()
    run(session, [stream.connected(), stream.start(), *stream.media_frames({"inbound": caller})])
    tail = session.connection_lost()
    assert isinstance(tail[0], CallAudio)  # the jitter held back is released, silent outbound filled
    assert tail[-1] == CallEnd(reason="disconnected", position=0.1)
    assert session.connection_lost() == []


def test_connection_lost_before_start_reports_no_call() -> None:
    session = TwilioSession()
    session.receive(TwilioStream().connected())
    assert session.connection_lost() == []


def bad(session: TwilioSession, frame: str | bytes, close_code: int, match: str) -> TwilioProtocolError:
    with pytest.raises(TwilioProtocolError, match=match) as info:
        session.receive(frame)
    assert info.value.close_code == close_code
    return info.value


@pytest.mark.parametrize(
    ("frame", "close_code", "match"),
    [
        ("not json{", CLOSE_INVALID_DATA, "not JSON"),
        (b"\x00\x01", CLOSE_UNSUPPORTED, "binary frame"),
        ("[1, 2]", CLOSE_INVALID_DATA, "message must be a JSON object"),
        ('{"event": "hangup"}', CLOSE_POLICY, "unknown event 'hangup'"),
        ('{"no": "event"}', CLOSE_INVALID_DATA, "message.event"),
    ],
)
def test_garbage_is_refused_with_a_close_code(frame: str | bytes, close_code: int, match: str) -> None:
    error = bad(TwilioSession(), frame, close_code, match)
    assert error.events == ()


def test_media_before_start() -> None:
    stream = TwilioStream()
    session = TwilioSession()
    session.receive(stream.connected())
    bad(session, stream.media("inbound", b"\x01" * 160, 0), CLOSE_POLICY, "media before start")


def started(tracks: tuple[str, ...] = ("inbound",)) -> tuple[TwilioStream, TwilioSession]:
    stream = TwilioStream(tracks)
    session = TwilioSession()
    run(session, [stream.connected(), stream.start()])
    return stream, session


def test_bad_base64_ends_the_call_with_an_error() -> None:
    stream, session = started(("inbound", "outbound"))
    session.receive(stream.media("inbound", b"\x01" * 160, 0))  # held back: outbound not yet seen
    frame = json.loads(stream.media("inbound", b"\x01" * 160, 20))
    frame["media"]["payload"] = "@@not base64@@"
    error = bad(session, json.dumps(frame), CLOSE_INVALID_DATA, "media.media.payload is not valid base64")
    assert isinstance(error.events[0], CallAudio) and len(error.events[0].audio) == 320
    assert error.events[-1] == CallEnd(reason="error", position=0.02, detail=str(error))
    bad(session, stream.stop(), CLOSE_POLICY, "after the stream ended")


@pytest.mark.parametrize("field", ["sequenceNumber", "chunk", "timestamp"])
def test_counters_must_be_strings(field: str) -> None:
    stream, session = started()
    frame = json.loads(stream.media("inbound", b"\x01" * 160, 0))
    holder = frame if field == "sequenceNumber" else frame["media"]
    holder[field] = int(holder[field])
    bad(session, json.dumps(frame), CLOSE_INVALID_DATA, f"{field} must be a string of decimal digits")


def test_another_streams_media_and_an_undeclared_track() -> None:
    stream, session = started()
    other = TwilioStream(stream_sid="MZ-other")
    other.sequence = 5
    bad(session, other.media("inbound", b"\x01", 0), CLOSE_POLICY, "streamSid 'MZ-other' is not this stream")
    stream, session = started()
    stream.chunks["outbound"] = 0
    bad(session, stream.media("outbound", b"\x01", 0), CLOSE_POLICY, "'outbound' is not in start.tracks")


def test_a_stop_for_another_call_is_refused() -> None:
    stream, session = started()
    stop = json.loads(stream.stop())
    stop["stop"]["callSid"] = "CA-other"
    bad(session, json.dumps(stop), CLOSE_POLICY, "stop.stop.callSid 'CA-other' is not this stream's")


def test_an_unsupported_media_format_and_bad_tracks() -> None:
    stream = TwilioStream()
    start = json.loads(stream.start())
    start["start"]["mediaFormat"]["sampleRate"] = 16000
    bad(TwilioSession(), json.dumps(start), CLOSE_UNSUPPORTED, "mediaFormat audio/x-mulaw/16000")
    start["start"]["tracks"] = ["inbound", "sideways"]
    bad(
        TwilioSession(), json.dumps(start), CLOSE_INVALID_DATA, r"tracks\[1\] must be 'inbound' or 'outbound'"
    )
    del start["start"]["callSid"]
    start["start"]["tracks"] = ["inbound"]
    bad(TwilioSession(), json.dumps(start), CLOSE_INVALID_DATA, "start.start.callSid must be a string")


def test_a_second_start_is_refused() -> None:
    stream, session = started()
    error = bad(session, stream.start(), CLOSE_POLICY, "second start")
    assert error.events == (CallEnd(reason="error", position=0.0, detail=str(error)),)


def test_a_wrong_signature_is_refused_before_any_session() -> None:
    url = "wss://ingest.example.com/twilio"
    check_upgrade("token-a", url, upgrade_headers("token-a", url))
    with pytest.raises(SignatureError):
        check_upgrade("token-a", url, upgrade_headers("token-b", url))


def test_messages_to_twilio() -> None:
    assert json.loads(media_message("MZ1", b"\xff\x7f")) == {
        "event": "media",
        "streamSid": "MZ1",
        "media": {"payload": base64.b64encode(b"\xff\x7f").decode()},
    }
    assert json.loads(mark_message("MZ1", "m1")) == {
        "event": "mark",
        "streamSid": "MZ1",
        "mark": {"name": "m1"},
    }
    assert json.loads(clear_message("MZ1")) == {"event": "clear", "streamSid": "MZ1"}
