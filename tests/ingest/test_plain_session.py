"""The plain /v1/stream session: start, whole-frame audio, stop; every bad input named, with its code."""

from __future__ import annotations

import json

import pytest

from actors.ingest.calls import CallAudio, CallEnd, CallEvent, CallStart
from actors.ingest.plain.session import PlainProtocolError, PlainSession
from tests.support.plain_client import audio_frames, start_message, stop_message


def stream(session: PlainSession, frames: list[str | bytes]) -> list[CallEvent]:
    events: list[CallEvent] = []
    for frame in frames:
        events.extend(
            session.receive_bytes(frame) if isinstance(frame, bytes) else session.receive_text(frame)
        )
    return events


def test_a_stereo_linear16_call() -> None:
    audio = bytes(range(256)) * 250  # 64000 bytes = 1 s of 2-channel 16 kHz linear16
    session = PlainSession()
    frames = audio_frames(audio, frame_bytes=4, frame_ms=100, sample_rate=16000)
    events = stream(
        session,
        [
            start_message(
                "c-42", channels=["agent", "customer"], language="en-US", metadata={"queue": "billing"}
            ),
            *frames,
            stop_message(),
        ],
    )
    assert events[0] == CallStart(
        platform="stream",
        call_id="c-42",
        encoding="linear16",
        sample_rate=16000,
        channels=("agent", "customer"),
        language="en-US",
        metadata={"queue": "billing"},
    )
    chunks = [e for e in events if isinstance(e, CallAudio)]
    assert b"".join(c.audio for c in chunks) == audio
    assert [c.position for c in chunks] == pytest.approx([i / 10 for i in range(10)])
    assert events[-1] == CallEnd(reason="completed", position=1.0)
    assert [json.loads(m) for m in session.data_to_send()] == [
        {"type": "started", "version": 1, "call_id": "c-42"}
    ]
    assert session.data_to_send() == []


def test_a_count_of_channels_gets_numbered_labels_and_mulaw_works() -> None:
    session = PlainSession()
    [start] = session.receive_text(
        start_message(encoding="mulaw", sample_rate=8000, channels=3, version=None)
    )
    assert isinstance(start, CallStart) and start.channels == ("0", "1", "2") and start.encoding == "mulaw"
    [audio] = session.receive_bytes(b"\xff" * 3 * 80)
    assert audio == CallAudio(audio=b"\xff" * 240, position=0.0)
    assert session.connection_lost() == [CallEnd(reason="disconnected", position=0.01)]
    assert session.connection_lost() == []


def refused(
    session: PlainSession, frame: str | bytes, code: str, close: int, match: str
) -> PlainProtocolError:
    with pytest.raises(PlainProtocolError, match=match) as info:
        stream(session, [frame])
    error = info.value
    assert (error.code, error.close_code) == (code, close)
    sent = [json.loads(m) for m in session.data_to_send()]
    assert sent[-1] == {"type": "error", "code": code, "message": str(error)}
    return error


def start_with(**fields: object) -> str:
    message = json.loads(start_message())
    message.update(fields)
    return json.dumps({k: v for k, v in message.items() if v is not None})


@pytest.mark.parametrize(
    ("frame", "code", "close", "match"),
    [
        ("{oops", "bad_json", 1007, "not JSON"),
        ("[]", "bad_json", 1007, "JSON object"),
        ('{"kind": "start"}', "bad_json", 1007, "string 'type'"),
        ('{"type": "hello"}', "unknown_type", 1008, "unknown message type 'hello'"),
        (b"\x00\x00", "unexpected_message", 1008, "audio before the start"),
        (stop_message(), "unexpected_message", 1008, "stop before start"),
        (start_with(version=2), "unsupported_version", 1008, "version 2 is not supported"),
        (start_with(version="1"), "bad_field", 1007, "start.version must be an integer"),
        (start_with(call_id=""), "bad_field", 1007, "start.call_id"),
        (start_with(call_id="x" * 257), "bad_field", 1007, "start.call_id"),
        (
            start_with(encoding="opus"),
            "bad_field",
            1007,
            "start.encoding must be 'linear16' or 'mulaw', got \"opus\"",
        ),
        (start_with(sample_rate=4000), "bad_field", 1007, "start.sample_rate must be an integer from 8000"),
        (start_with(sample_rate=16000.0), "bad_field", 1007, "start.sample_rate"),
        (start_with(channels=0), "bad_field", 1007, "start.channels must be from 1 to 8, got 0"),
        (start_with(channels=True), "bad_field", 1007, "start.channels must be a count"),
        (start_with(channels=["a", "a"]), "bad_field", 1007, "labels must be distinct"),
        (start_with(channels=["a", ""]), "bad_field", 1007, "labels must be non-empty"),
        (start_with(language=""), "bad_field", 1007, "start.language"),
        (start_with(metadata={"n": 1}), "bad_field", 1007, "start.metadata.n must be a string"),
        (start_with(metadata=[]), "bad_field", 1007, "start.metadata must be an object"),
        (start_with(sampleRate=8000), "bad_field", 1007, r"unknown field\(s\) \['sampleRate'\]"),
    ],
)
def test_bad_input_before_start(frame: str | bytes, code: str, close: int, match: str) -> None:
    error = refused(PlainSession(), frame, code, close, match)
    assert error.events == ()


def test_a_partial_sample_frame_ends_the_call_with_an_error() -> None:
    session = PlainSession()
    stream(session, [start_message(channels=2), b"\x00" * 4 * 160])
    error = refused(
        session, b"\x00" * 6, "bad_audio", 1007, "6 bytes is not a non-empty whole number of 4-byte"
    )
    assert error.events == (CallEnd(reason="error", position=0.01, detail=str(error)),)
    refused(session, stop_message(), "unexpected_message", 1008, "after the call ended")


def test_empty_audio_a_second_start_and_stop_fields() -> None:
    session = PlainSession()
    stream(session, [start_message()])
    refused(session, b"", "bad_audio", 1007, "0 bytes")
    session = PlainSession()
    stream(session, [start_message()])
    refused(session, start_message(), "unexpected_message", 1008, "second start")
    session = PlainSession()
    stream(session, [start_message()])
    refused(session, json.dumps({"type": "stop", "now": True}), "bad_field", 1007, r"stop takes no fields")


def test_audio_helpers_interleave_16_bit_samples_and_know_silence() -> None:
    from actors.ingest.audio import frame_bytes, interleave, silence

    left, right = b"\x01\x02\x03\x04", b"\xa1\xa2\xa3\xa4"
    assert interleave([left, right], width=2) == b"\x01\x02\xa1\xa2\x03\x04\xa3\xa4"
    assert interleave([left, right]) == b"\x01\xa1\x02\xa2\x03\xa3\x04\xa4"
    with pytest.raises(ValueError, match="lengths"):
        interleave([left, b"\x00"], width=2)
    assert silence("mulaw", 3) == b"\xff\xff\xff" and silence("linear16", 2) == b"\x00" * 4
    assert frame_bytes("linear16", 2) == 4 and frame_bytes("mulaw", 2) == 2


def test_deinterleave_is_the_inverse_of_interleave() -> None:
    from actors.ingest.audio import deinterleave, interleave

    tracks = [b"\x01\x02\x03\x04", b"\xa1\xa2\xa3\xa4", b"\xb1\xb2\xb3\xb4"]
    for width in (1, 2):
        mixed = interleave(tracks, width=width)
        assert [deinterleave(mixed, 3, i, width) for i in range(3)] == tracks
    assert deinterleave(tracks[0], 1, 0, 2) == tracks[0]
