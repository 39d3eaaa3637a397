"""Speak V1 endpoint of the local server, over real sockets."""

from __future__ import annotations

import audioop
import json
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection

from actors.server import LocalServer
from actors.server.engines.deterministic import DeterministicSynthesizer, transcribe
from actors.server.speak_v1 import SpeakV1Endpoint
from tests.server.streaming import drain, open_ws, read_until


@pytest.fixture
def speak(local_server: LocalServer) -> Iterator[ClientConnection]:
    params = {"model": "aura-2-thalia-en", "encoding": "linear16", "sample_rate": 16000}
    with open_ws(local_server, "/v1/speak", params) as ws:
        yield ws


def test_metadata_first_then_audio_then_flushed_with_increasing_ids(speak: ClientConnection) -> None:
    metadata = json.loads(speak.recv(timeout=5))
    assert metadata["type"] == "Metadata" and metadata["model_name"] == "aura-2-thalia-en"
    assert {"request_id", "model_version", "model_uuid"} <= metadata.keys()
    speak.send(json.dumps({"type": "Speak", "text": "Hello, "}))
    speak.send(json.dumps({"type": "Speak", "text": "world."}))
    speak.send(json.dumps({"type": "Flush"}))
    audio, messages = read_until(speak, "Flushed")
    assert messages == [{"type": "Flushed", "sequence_id": 0}]
    assert audio == DeterministicSynthesizer().synthesize("Hello, world.", 16000)
    assert [w.text for w in transcribe(audio, 16000)] == ["Hello,", "world."]
    speak.send(json.dumps({"type": "Speak", "text": "again"}))
    speak.send(json.dumps({"type": "Flush"}))
    audio, messages = read_until(speak, "Flushed")
    assert messages[-1]["sequence_id"] == 1
    assert [w.text for w in transcribe(audio, 16000)] == ["again"]


def test_clear_drops_buffered_text(speak: ClientConnection) -> None:
    speak.recv(timeout=5)
    speak.send(json.dumps({"type": "Speak", "text": "dropped words"}))
    speak.send(json.dumps({"type": "Clear"}))
    speak.send(json.dumps({"type": "Flush"}))
    audio, messages = read_until(speak, "Flushed")
    assert [m["type"] for m in messages] == ["Cleared", "Flushed"]
    assert audio == b""


def test_close_sends_remaining_audio_then_closes_1000(speak: ClientConnection) -> None:
    speak.recv(timeout=5)
    speak.send(json.dumps({"type": "Speak", "text": "last words"}))
    speak.send(json.dumps({"type": "Close"}))
    audio, messages, code, _ = drain(speak)
    assert [w.text for w in transcribe(audio, 16000)] == ["last", "words"]
    assert messages == [] and code == 1000


@pytest.mark.parametrize(
    ("frame", "code", "reason"),
    [
        (b"\x00\x01", 1003, "MESSAGE-0000"),
        (json.dumps({"type": "Shout"}), 1008, "DATA-0000"),
        ("not json", 1008, "DATA-0000"),
        (json.dumps({"type": "Speak", "text": 5}), 1008, "DATA-0000"),
        (json.dumps({"type": "Speak", "text": "x" * 2001}), 1009, "BIG-0001"),
    ],
)
def test_bad_frames_close_with_deepgram_codes(
    speak: ClientConnection, frame: str | bytes, code: int, reason: str
) -> None:
    speak.recv(timeout=5)
    speak.send(frame)
    _, _, got_code, got_reason = drain(speak)
    assert (got_code, got_reason) == (code, reason)


def test_2000_characters_are_accepted(speak: ClientConnection) -> None:
    speak.recv(timeout=5)
    speak.send(json.dumps({"type": "Speak", "text": "ab " * 666 + "ab"}))
    speak.send(json.dumps({"type": "Flush"}))
    audio, _ = read_until(speak, "Flushed", timeout=10)
    assert len(transcribe(audio, 16000)) == 667


def test_character_rate_limit_closes_data_0001(speak: ClientConnection) -> None:
    speak.recv(timeout=5)
    for _ in range(2):
        speak.send(json.dumps({"type": "Speak", "text": "x" * 1200}))
    speak.send(json.dumps({"type": "Speak", "text": "y"}))
    _, _, code, reason = drain(speak)
    assert (code, reason) == (1008, "DATA-0001")


def test_flush_rate_limit_warns_and_skips_flushed(speak: ClientConnection) -> None:
    speak.recv(timeout=5)
    for _ in range(SpeakV1Endpoint.max_flushes_per_window + 1):
        speak.send(json.dumps({"type": "Flush"}))
    _, messages = read_until(speak, "Warning")
    flushed = [m["sequence_id"] for m in messages if m["type"] == "Flushed"]
    assert flushed == list(range(SpeakV1Endpoint.max_flushes_per_window))
    assert messages[-1]["code"] == "EXCESSIVE_FLUSH" and messages[-1]["description"]


@pytest.mark.parametrize(
    ("encoding", "rate", "decode"), [("mulaw", 8000, audioop.ulaw2lin), ("alaw", 16000, audioop.alaw2lin)]
)
def test_mulaw_and_alaw_output(local_server: LocalServer, encoding: str, rate: int, decode: Any) -> None:
    with open_ws(local_server, "/v1/speak", {"encoding": encoding, "sample_rate": rate}) as ws:
        ws.recv(timeout=5)
        ws.send(json.dumps({"type": "Speak", "text": "coded speech"}))
        ws.send(json.dumps({"type": "Flush"}))
        audio, _ = read_until(ws, "Flushed")
    linear = DeterministicSynthesizer().synthesize("coded speech", rate)
    assert len(audio) == len(linear) // 2  # one byte per sample
    assert [w.text for w in transcribe(decode(audio, 2), rate)] == ["coded", "speech"]


def test_defaults_are_linear16_24000(local_server: LocalServer) -> None:
    with open_ws(local_server, "/v1/speak") as ws:
        assert json.loads(ws.recv(timeout=5))["model_name"] == "aura-asteria-en"
        ws.send(json.dumps({"type": "Speak", "text": "default"}))
        ws.send(json.dumps({"type": "Flush"}))
        audio, _ = read_until(ws, "Flushed")
    assert audio == DeterministicSynthesizer().synthesize("default", 24000)


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"encoding": "mulaw", "sample_rate": 24000}, "sample_rate"),
        ({"encoding": "linear16", "sample_rate": 44100}, "sample_rate"),
        ({"encoding": "mp3"}, "encoding"),
        ({"model": "nova-3"}, "model"),
    ],
)
def test_invalid_options_are_refused_with_400(
    local_server: LocalServer, params: dict[str, Any], named: str
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        open_ws(local_server, "/v1/speak", params)
    assert refused.value.response.status_code == 400
    assert named in refused.value.response.body.decode()
