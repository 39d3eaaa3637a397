"""Speak V2 (Flux TTS) endpoint of the local server over raw sockets: turns, interrupt, errors."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection

from actors.server import LocalServer
from actors.server.engines.deterministic import DeterministicSynthesizer, transcribe
from actors.server.speak_v2 import SpeakV2Endpoint, split_spoken
from tests.server.streaming import drain, open_ws, read_until

PARAMS = {"model": "flux-alexis-en", "encoding": "linear16", "sample_rate": 16000}


def ms(pcm: bytes, rate: int = 16000) -> int:
    return round(len(pcm) * 1000 / (2 * rate))


def send(ws: ClientConnection, kind: str, **fields: Any) -> None:
    ws.send(json.dumps({"type": kind, **fields}))


@pytest.fixture
def speak(local_server: LocalServer) -> Iterator[ClientConnection]:
    with open_ws(local_server, "/v2/speak", PARAMS) as ws:
        connected = json.loads(ws.recv(timeout=5))
        assert connected["type"] == "Connected" and connected["model_name"] == "flux-alexis-en"
        assert {"request_id", "model_version", "model_uuids"} <= connected.keys()
        yield ws


def test_turns_stream_audio_between_speech_started_and_metadata(speak: ClientConnection) -> None:
    send(speak, "Speak", text="Hello, ")
    send(speak, "Speak", text="world.")
    send(speak, "Flush")
    audio, first = read_until(speak, "Flushed")
    speech_id = first[0]["speech_id"]
    assert re.fullmatch(r"dg_sp_[0-9a-f]{12}", speech_id)
    assert [m["type"] for m in first] == ["SpeechStarted", "SpeechMetadata", "Flushed"]
    assert audio == DeterministicSynthesizer().synthesize("Hello, world.", 16000)
    assert first[1] == {
        "type": "SpeechMetadata",
        "speech_id": speech_id,
        "audio_duration_ms": ms(audio),
        "input_character_count": 13,
        "billable_character_count": 13,
        "controls_applied": {"pronunciations_applied": 0, "breaks_applied": 0, "pronunciation_warnings": 0},
    }
    assert first[2] == {"type": "Flushed", "speech_id": speech_id}
    send(speak, "Speak", text="again")
    send(speak, "Flush")
    audio2, second = read_until(speak, "Flushed")
    assert second[0]["speech_id"] != speech_id
    assert [w.text for w in transcribe(audio2, 16000)] == ["again"]
    send(speak, "Close")
    rest, messages, code, _ = drain(speak)
    assert rest == b"" and code == 1000
    assert messages == [
        {
            "type": "SessionMetadata",
            "total_audio_duration_ms": ms(audio) + ms(audio2),
            "total_input_character_count": 18,
            "total_billable_character_count": 18,
        }
    ]


def test_warnings_for_flush_without_turn_and_turn_without_words(speak: ClientConnection) -> None:
    send(speak, "Flush")
    warning = json.loads(speak.recv(timeout=5))
    assert warning["type"] == "Warning" and warning["code"] == "NO_ACTIVE_SPEECH"
    send(speak, "Speak", text=" ... ")
    send(speak, "Flush")
    audio, messages = read_until(speak, "Flushed")
    assert audio == b""
    assert [m["type"] for m in messages] == ["Warning", "SpeechMetadata", "Flushed"]
    assert messages[0]["code"] == "NO_SYNTHESIZABLE_TEXT"
    assert messages[1]["audio_duration_ms"] == 0 and messages[1]["input_character_count"] == 5


def test_close_speaks_the_open_turn_without_flushed(speak: ClientConnection) -> None:
    send(speak, "Speak", text="last words")
    send(speak, "Close")
    audio, messages, code, _ = drain(speak)
    assert [m["type"] for m in messages] == ["SpeechStarted", "SpeechMetadata", "SessionMetadata"]
    assert [w.text for w in transcribe(audio, 16000)] == ["last", "words"]
    assert messages[2]["total_audio_duration_ms"] == ms(audio) and code == 1000


def test_interrupt_with_playback_offset_splits_the_playing_turn(speak: ClientConnection) -> None:
    send(speak, "Interrupt")
    assert json.loads(speak.recv(timeout=5))["code"] == "NO_AUDIO_GENERATED"
    send(speak, "Speak", text="one two")
    send(speak, "Flush")
    first, _ = read_until(speak, "Flushed")
    send(speak, "Speak", text="three four five six")
    send(speak, "Flush")
    second, messages = read_until(speak, "Flushed")
    second_id = messages[0]["speech_id"]
    send(speak, "Speak", text="never spoken")  # an open turn: the interrupt drops it
    played = ms(first) + ms(second) // 2
    send(speak, "Interrupt", playback_offset={"type": "time_ms", "value": played})
    interrupted = json.loads(speak.recv(timeout=5))
    assert interrupted["type"] == "SpeechInterrupted"
    assert interrupted["audio_played_ms"] == played
    assert interrupted["text_spoken"] + interrupted["text_remaining"] == "three four five six"
    assert interrupted["text_spoken"] == "three four "
    assert interrupted["metadata"]["speech_id"] == second_id
    assert interrupted["metadata"]["audio_duration_ms"] == ms(second) // 2
    # The offset must advance past the previous interrupt's.
    send(speak, "Interrupt", playback_offset={"type": "time_ms", "value": played})
    assert json.loads(speak.recv(timeout=5))["code"] == "INVALID_INTERRUPT_OFFSET"
    send(speak, "Flush")  # the open turn was dropped
    assert json.loads(speak.recv(timeout=5))["code"] == "NO_ACTIVE_SPEECH"
    send(speak, "Close")
    _, messages, code, _ = drain(speak)
    # The session's audio total is rebased onto what the client played.
    assert messages[-1]["type"] == "SessionMetadata" and messages[-1]["total_audio_duration_ms"] == played
    assert code == 1000


def test_interrupt_without_offset_reports_generated_audio(speak: ClientConnection) -> None:
    send(speak, "Speak", text="hello there")
    send(speak, "Flush")
    audio, messages = read_until(speak, "Flushed")
    send(speak, "Interrupt")
    interrupted = json.loads(speak.recv(timeout=5))
    assert interrupted["audio_played_ms"] == ms(audio)
    assert "text_spoken" not in interrupted and "text_remaining" not in interrupted
    assert interrupted["metadata"]["speech_id"] == messages[0]["speech_id"]


def test_configure_success_and_failures(speak: ClientConnection) -> None:
    send(speak, "Configure")
    assert json.loads(speak.recv(timeout=5)) == {"type": "ConfigureSuccess", "applied": {}}
    send(speak, "Configure", speed=1.25)
    assert json.loads(speak.recv(timeout=5)) == {"type": "ConfigureSuccess", "applied": {"speed": 1.25}}
    send(speak, "Configure", speed=2.0)
    failure = json.loads(speak.recv(timeout=5))
    assert failure["type"] == "ConfigureFailure" and failure["code"] == "SPEED_OUT_OF_RANGE"
    assert failure["field"] == "speed" and failure["value"] == 2.0 and failure["description"]
    send(speak, "Configure", speed=1.03)
    assert json.loads(speak.recv(timeout=5))["code"] == "SPEED_INCREMENT_INVALID"
    send(speak, "Configure")  # a failure leaves the applied speed alone
    assert json.loads(speak.recv(timeout=5))["applied"] == {"speed": 1.25}


@pytest.mark.parametrize(
    ("frame", "code", "error"),
    [
        (b"\x00\x01", 1003, "MESSAGE-0000"),
        ("not json", 1008, "DATA-0000"),
        (json.dumps({"type": "Clear"}), 1008, "DATA-0000"),
        (json.dumps({"type": "Speak", "text": 5}), 1008, "DATA-0000"),
        (json.dumps({"type": "Speak", "text": "x" * 2001}), 1009, "BIG-0000"),
        (json.dumps({"type": "Configure", "speed": "fast"}), 1008, "DATA-0000"),
        (json.dumps({"type": "Interrupt", "playback_offset": {"value": -1}}), 1008, "DATA-0000"),
    ],
)
def test_bad_client_frames_get_an_error_then_a_close(
    speak: ClientConnection, frame: str | bytes, code: int, error: str
) -> None:
    speak.send(frame)
    _, messages, close_code, reason = drain(speak)
    assert messages[-1]["type"] == "Error" and messages[-1]["code"] == error and messages[-1]["description"]
    assert (close_code, reason) == (code, error)


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"encoding": "linear16"}, "model"),
        ({"model": "aura-2-thalia-en"}, "/v1/speak"),
        ({"model": "alexis"}, "No such model"),
        ({"model": "flux-alexis-en", "encoding": "mp3"}, "encoding"),
        ({"model": "flux-alexis-en", "encoding": "mulaw", "sample_rate": 24000}, "sample_rate"),
        ({"model": "flux-alexis-en", "encoding": "alaw", "sample_rate": 44100}, "sample_rate"),
        ({"model": "flux-alexis-en", "sample_rate": 22050}, "sample_rate"),
        ({"model": "flux-alexis-en", "speed": 3}, "speed"),
        ({"model": "flux-alexis-en", "mip_opt_out": "maybe"}, "mip_opt_out"),
    ],
)
def test_bad_options_are_refused_with_400(
    local_server: LocalServer, params: dict[str, Any], needle: str
) -> None:
    with pytest.raises(InvalidStatus) as info:
        open_ws(local_server, "/v2/speak", params)
    response = info.value.response
    assert response.status_code == 400
    body = json.loads(response.body)
    assert needle in body["err_msg"] and body["request_id"] == response.headers["dg-request-id"]
    assert response.headers["dg-error"]


@pytest.mark.parametrize(
    ("encoding", "rate", "bytes_per_sample"), [("mulaw", 8000, 1), ("alaw", 16000, 1), ("linear16", 44100, 2)]
)
def test_encodings_and_rates(
    local_server: LocalServer, encoding: str, rate: int, bytes_per_sample: int
) -> None:
    params = {
        "model": "flux-alexis-en",
        "encoding": encoding,
        "sample_rate": rate,
        "tag": "a",
        "mip_opt_out": True,
    }
    with open_ws(local_server, "/v2/speak", params) as ws:
        ws.recv(timeout=5)
        send(ws, "Speak", text="hi")
        send(ws, "Flush")
        audio, messages = read_until(ws, "Flushed")
    expected = DeterministicSynthesizer().synthesize("hi", rate)
    assert len(audio) == len(expected) // 2 * bytes_per_sample
    assert messages[1]["audio_duration_ms"] == ms(expected, rate)


def test_idle_timeout_sends_error_and_closes_1011(make_server: Callable[..., LocalServer]) -> None:
    server = make_server(idle_timeout=0.3)
    with open_ws(server, "/v2/speak", PARAMS) as ws:
        _, messages, code, _ = drain(ws)
    assert [m["type"] for m in messages] == ["Connected", "Error"] and messages[1]["code"] == "NET-0001"
    assert code == 1011


def test_fault_injection_closes_after_audio(local_server: LocalServer) -> None:
    with open_ws(
        local_server,
        "/v2/speak",
        PARAMS,
        headers={"x-actors-fault": "kind=close;code=1011;reason=NET-0000;after_audio_seconds=0.2"},
    ) as ws:
        ws.recv(timeout=5)
        send(ws, "Speak", text="enough words to pass the fault threshold")
        send(ws, "Flush")
        audio, _, code, reason = drain(ws)
    assert len(audio) > 0 and (code, reason) == (1011, "NET-0000")


def test_split_spoken_keeps_the_text_whole() -> None:
    text = "one two  three"
    for fraction in (0.0, 0.2, 0.5, 0.8, 1.0):
        spoken, remaining = split_spoken(text, fraction)
        assert spoken + remaining == text
    assert split_spoken(text, 0.5) == ("one two  ", "three")


LONG_TEXT = "this turn has plenty of words so that its audio takes a few seconds to play out"


@pytest.fixture
def paced(local_server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[ClientConnection]:
    """A connection whose audio goes out at 10x real time (one 100 ms frame per 10 ms tick)."""
    monkeypatch.setattr(SpeakV2Endpoint, "audio_pace", 10.0)
    with open_ws(local_server, "/v2/speak", PARAMS) as ws:
        ws.recv(timeout=5)
        yield ws


def read_frames(ws: ClientConnection, count: int) -> tuple[bytes, list[dict[str, Any]]]:
    """Read until ``count`` audio frames arrived; return their audio and the messages seen."""
    audio = bytearray()
    messages: list[dict[str, Any]] = []
    frames = 0
    while frames < count:
        frame = ws.recv(timeout=5)
        if isinstance(frame, bytes):
            audio += frame
            frames += 1
        else:
            messages.append(json.loads(frame))
    return bytes(audio), messages


def test_paced_interrupt_stops_the_audio_mid_turn(paced: ClientConnection) -> None:
    full = DeterministicSynthesizer().synthesize(LONG_TEXT, 16000)
    send(paced, "Speak", text=LONG_TEXT)
    send(paced, "Flush")
    audio, messages = read_frames(paced, 2)
    assert [m["type"] for m in messages] == ["SpeechStarted"]
    send(paced, "Interrupt")
    more, after = read_until(paced, "SpeechInterrupted")
    audio += more
    assert 0 < len(audio) < len(full)  # stopped before the end (the turn is 50 frames, 0.5 s paced)
    interrupted = after[-1]
    assert [m["type"] for m in after] == ["SpeechInterrupted"]  # no SpeechMetadata, no Flushed
    assert interrupted["audio_played_ms"] == ms(audio) == interrupted["metadata"]["audio_duration_ms"]
    assert interrupted["metadata"]["speech_id"] == messages[0]["speech_id"]
    send(paced, "Close")
    rest, closing, code, _ = drain(paced)
    assert rest == b"" and closing[-1]["total_audio_duration_ms"] == ms(audio) and code == 1000


def test_paced_interrupt_with_offset_splits_the_text_at_the_played_point(paced: ClientConnection) -> None:
    full = DeterministicSynthesizer().synthesize(LONG_TEXT, 16000)
    send(paced, "Speak", text=LONG_TEXT)
    send(paced, "Flush")
    audio, _ = read_frames(paced, 4)
    played = ms(audio) // 2
    send(paced, "Interrupt", playback_offset={"type": "time_ms", "value": played})
    _, after = read_until(paced, "SpeechInterrupted")
    interrupted = after[-1]
    spoken, remaining = interrupted["text_spoken"], interrupted["text_remaining"]
    assert spoken + remaining == LONG_TEXT and spoken and remaining
    # The split is proportional to the turn's whole audio.
    assert abs(len(spoken) / len(LONG_TEXT) - played / ms(full)) < 0.1
    assert interrupted["metadata"]["audio_duration_ms"] == played


def test_paced_flushed_follows_the_last_audio_and_close_sends_the_rest(paced: ClientConnection) -> None:
    send(paced, "Speak", text="short turn")
    send(paced, "Flush")
    audio, messages = read_until(paced, "Flushed")
    assert audio == DeterministicSynthesizer().synthesize("short turn", 16000)
    assert [m["type"] for m in messages] == ["SpeechStarted", "SpeechMetadata", "Flushed"]
    send(paced, "Speak", text=LONG_TEXT)
    send(paced, "Flush")
    send(paced, "Close")  # graceful: the queued audio goes out before SessionMetadata
    rest, closing, code, _ = drain(paced)
    assert rest == DeterministicSynthesizer().synthesize(LONG_TEXT, 16000)
    assert [m["type"] for m in closing] == ["SpeechStarted", "SpeechMetadata", "Flushed", "SessionMetadata"]
    assert code == 1000


@pytest.mark.timeout(60)
def test_paced_interrupt_with_the_espeak_engine(
    make_server: Callable[..., LocalServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real engine runs the endpoint on its own thread: ticks pace the audio there too."""
    pytest.importorskip("espeakng_loader")
    monkeypatch.setattr(SpeakV2Endpoint, "audio_pace", 10.0)
    server = make_server(engine="real")
    params = {**PARAMS, "encoding": "mulaw", "sample_rate": 8000}
    with open_ws(server, "/v2/speak", params) as ws:
        ws.recv(timeout=5)
        send(ws, "Speak", text=LONG_TEXT)
        send(ws, "Flush")
        audio, _ = read_frames(ws, 2)
        send(ws, "Interrupt")
        more, after = read_until(ws, "SpeechInterrupted")
        assert [m["type"] for m in after] == ["SpeechInterrupted"]
        assert after[0]["audio_played_ms"] == round(len(audio + more) * 1000 / 8000)
        assert len(audio + more) < 8000 * 3  # espeak says LONG_TEXT in well over 3 s


def test_speed_from_the_query_is_the_applied_speed(local_server: LocalServer) -> None:
    with open_ws(local_server, "/v2/speak", {**PARAMS, "speed": 0.75}) as ws:
        ws.recv(timeout=5)
        send(ws, "Configure")
        assert json.loads(ws.recv(timeout=5)) == {"type": "ConfigureSuccess", "applied": {"speed": 0.75}}
