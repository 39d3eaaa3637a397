"""Listen V1 over real sockets: Results, endpointing, interim, VAD events, Finalize, close paths."""

from __future__ import annotations

import array
import itertools
import json
import struct
import time
import warnings
from collections.abc import Callable
from typing import Any

import pytest

from actors.server import LocalServer
from actors.server.engines.deterministic import expected_words, interleave, silence, synthesize_words
from actors.server.session import NET_0001_REASON
from tests.server.streaming import collect, final_words, of_type, open_ws, send_chunked

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

RAW = {"model": "nova-3", "encoding": "linear16", "sample_rate": 16000}
WORDS = ["alpha", "bravo", "charlie", "delta"]
CLOSE = json.dumps({"type": "CloseStream"})


def run_stream(
    server: LocalServer, params: Any, audio: bytes, chunk: int = 3200
) -> tuple[list[dict[str, Any]], Any]:
    with open_ws(server, "/v1/listen", params) as ws:
        send_chunked(ws, audio, chunk)
        ws.send(CLOSE)
        messages = collect(ws)
        return messages, ws


def test_final_words_and_timings_come_from_the_audio(local_server: LocalServer) -> None:
    audio = synthesize_words(WORDS, 16000, leading_ms=300) + silence(0.5)
    messages, ws = run_stream(local_server, RAW, audio)
    expected = expected_words(WORDS, 16000, leading_ms=300)
    words = final_words(messages)
    assert [w["word"] for w in words] == WORDS
    assert [(w["start"], w["end"]) for w in words] == [(round(e.start, 3), round(e.end, 3)) for e in expected]
    assert ws.close_code == 1000
    metadata = messages[-1]
    assert metadata["type"] == "Metadata"
    assert metadata["duration"] == pytest.approx(len(audio) / 32000, abs=1e-6)
    assert metadata["transaction_key"] == "deprecated" and metadata["channels"] == 1
    request_id = ws.response.headers["dg-request-id"]
    assert metadata["request_id"] == request_id
    result = of_type(messages, "Results")[0]
    assert result["metadata"]["request_id"] == request_id
    assert result["channel_index"] == [0, 1]
    assert set(result["metadata"]["model_info"]) == {"name", "version", "arch"}


def test_default_endpointing_marks_each_pause_speech_final(local_server: LocalServer) -> None:
    audio = synthesize_words(["one", "two"], 16000, gap_ms=200) + silence(0.3)
    messages, _ = run_stream(local_server, RAW, audio)
    finals = [m for m in of_type(messages, "Results") if m["channel"]["alternatives"][0]["words"]]
    assert [m["channel"]["alternatives"][0]["transcript"] for m in finals] == ["one", "two"]
    assert all(m["is_final"] and m["speech_final"] for m in finals)
    # windows are contiguous: each final starts where the previous one ended
    results = [m for m in of_type(messages, "Results") if m["is_final"]]
    for before, after in itertools.pairwise(results):
        assert after["start"] == pytest.approx(before["start"] + before["duration"], abs=1e-3)


def test_longer_endpointing_groups_words_into_one_utterance(local_server: LocalServer) -> None:
    audio = synthesize_words(["one", "two", "three"], 16000, gap_ms=100) + silence(0.6)
    messages, _ = run_stream(local_server, {**RAW, "endpointing": 300}, audio)
    speech_finals = [m for m in of_type(messages, "Results") if m["speech_final"]]
    assert [m["channel"]["alternatives"][0]["transcript"] for m in speech_finals] == ["one two three"]


def test_endpointing_false_never_sets_speech_final_before_close(local_server: LocalServer) -> None:
    audio = synthesize_words(["one", "two"], 16000, gap_ms=300) + silence(1.0)
    with open_ws(local_server, "/v1/listen", {**RAW, "endpointing": "false"}) as ws:
        send_chunked(ws, audio)
        ws.send(json.dumps({"type": "Finalize"}))
        ws.send(CLOSE)
        messages = collect(ws)
    results = of_type(messages, "Results")
    assert not any(m["speech_final"] for m in results)
    finalized = [m for m in results if m["from_finalize"]]
    assert len(finalized) == 1 and finalized[0]["is_final"]
    assert finalized[0]["channel"]["alternatives"][0]["transcript"] == "one two"


def test_interim_results_about_every_second_of_audio(local_server: LocalServer) -> None:
    audio = synthesize_words(["one"], 16000, leading_ms=200) + silence(3.2)
    messages, _ = run_stream(local_server, {**RAW, "interim_results": True, "endpointing": "false"}, audio)
    interims = [m for m in of_type(messages, "Results") if not m["is_final"]]
    assert len(interims) == 3
    assert interims[0]["channel"]["alternatives"][0]["transcript"] == "one"
    messages, _ = run_stream(local_server, {**RAW, "endpointing": "false"}, audio)
    assert not [m for m in of_type(messages, "Results") if not m["is_final"]]


def test_speech_started_and_utterance_end(local_server: LocalServer) -> None:
    audio = synthesize_words(["hello", "there"], 16000, leading_ms=500, gap_ms=100) + silence(1.5)
    params = {
        **RAW,
        "interim_results": True,
        "vad_events": True,
        "utterance_end_ms": 1000,
        "endpointing": 300,
    }
    messages, _ = run_stream(local_server, params, audio)
    started = of_type(messages, "SpeechStarted")
    assert [m["timestamp"] for m in started] == [0.5]
    assert started[0]["channel"] == [0, 1]
    ends = of_type(messages, "UtteranceEnd")
    assert len(ends) == 1
    assert ends[0]["last_word_end"] == pytest.approx(
        expected_words(["hello", "there"], 16000, leading_ms=500)[-1].end, abs=1e-3
    )
    kinds = [m["type"] for m in messages]
    assert kinds.index("SpeechStarted") < kinds.index("UtteranceEnd")


def test_results_do_not_depend_on_chunk_size(local_server: LocalServer) -> None:
    audio = synthesize_words(WORDS, 16000, gap_ms=150) + silence(1.2)
    params = {**RAW, "interim_results": True, "vad_events": True, "utterance_end_ms": 1000}

    def normalised(chunk: int) -> list[str]:
        messages, _ = run_stream(local_server, params, audio, chunk)
        for m in messages:
            m.pop("request_id", None)
            m.pop("created", None)
            m.pop("metadata", None)
        return [json.dumps(m, sort_keys=True) for m in messages]

    assert normalised(640) == normalised(7777) == normalised(len(audio))


def test_keepalive_prevents_the_idle_timeout(make_server: Callable[..., LocalServer]) -> None:
    server = make_server(idle_timeout=0.6)
    with open_ws(server, "/v1/listen", RAW) as ws:
        ws.send(synthesize_words(["x"], 16000))
        for _ in range(4):
            time.sleep(0.25)
            ws.send(json.dumps({"type": "KeepAlive"}))
        ws.send(CLOSE)
        messages = collect(ws)
        assert ws.close_code == 1000
    assert messages[-1]["type"] == "Metadata"


def test_idle_connection_gets_metadata_then_1011_net0001(make_server: Callable[..., LocalServer]) -> None:
    server = make_server(idle_timeout=0.4)
    with open_ws(server, "/v1/listen", RAW) as ws:
        ws.send(synthesize_words(["x"], 16000))
        started = time.monotonic()
        messages = collect(ws)
        assert ws.close_code == 1011
        assert ws.close_reason == NET_0001_REASON
        assert time.monotonic() - started < 3
    assert messages[-1]["type"] == "Metadata"


def test_empty_binary_frame_ends_the_stream_like_closestream(local_server: LocalServer) -> None:
    with open_ws(local_server, "/v1/listen", RAW) as ws:
        ws.send(synthesize_words(["bye"], 16000))
        ws.send(b"")
        messages = collect(ws)
        assert ws.close_code == 1000
    assert [w["word"] for w in final_words(messages)] == ["bye"]


@pytest.mark.parametrize(
    ("params", "audio"),
    [
        ({"model": "nova-3"}, b"this is definitely not a wav file"),
        ({"model": "nova-3", "encoding": "opus", "sample_rate": 48000}, b"\x01\x02\x03\x04"),
    ],
)
def test_undecodable_audio_closes_1008_data0000(
    local_server: LocalServer, params: dict[str, Any], audio: bytes
) -> None:
    with open_ws(local_server, "/v1/listen", params) as ws:
        ws.send(audio)
        collect(ws)
        assert (ws.close_code, ws.close_reason) == (1008, "DATA-0000")


def wav(pcm: bytes, rate: int, channels: int = 1, tag: int = 1, bits: int = 16) -> bytes:
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * channels * bits // 8, channels * bits // 8, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(pcm)) + pcm
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize("encoding", ["wav", "mulaw", "alaw", "linear32", "linear16-8k"])
def test_audio_encodings_decode_to_the_same_words(local_server: LocalServer, encoding: str) -> None:
    rate = 8000 if encoding in ("mulaw", "alaw", "linear16-8k") else 16000
    pcm = synthesize_words(["echo", "foxtrot"], rate) + silence(0.3, rate)
    params: dict[str, Any] = {"model": "nova-3", "encoding": encoding, "sample_rate": rate}
    if encoding == "wav":
        params, audio = {"model": "nova-3"}, wav(pcm, rate)
    elif encoding == "mulaw":
        audio = audioop.lin2ulaw(pcm, 2)
    elif encoding == "alaw":
        audio = audioop.lin2alaw(pcm, 2)
    elif encoding == "linear32":
        audio = array.array("f", (s / 32768 for s in array.array("h", pcm))).tobytes()
    else:
        params["encoding"] = "linear16"
        audio = pcm
    messages, _ = run_stream(local_server, params, audio, chunk=999)
    assert [w["word"] for w in final_words(messages)] == ["echo", "foxtrot"]
    assert messages[-1]["duration"] == pytest.approx(len(pcm) / 2 / rate, abs=1e-3)


def test_multichannel_results_per_channel(local_server: LocalServer) -> None:
    left = synthesize_words(["left", "side"], 16000) + silence(0.3)
    right = synthesize_words(["right"], 16000, leading_ms=100) + silence(0.3)
    audio = interleave([left, right])
    params = {**RAW, "channels": 2, "multichannel": True}
    messages, _ = run_stream(local_server, params, audio, chunk=4000)
    assert [w["word"] for w in final_words(messages, 0)] == ["left", "side"]
    assert [w["word"] for w in final_words(messages, 1)] == ["right"]
    assert {tuple(m["channel_index"]) for m in of_type(messages, "Results")} == {(0, 2), (1, 2)}
    assert messages[-1]["channels"] == 2


def test_two_channels_without_multichannel_are_mixed(local_server: LocalServer) -> None:
    audio = synthesize_words(["mixed"], 16000, channels=2) + silence(0.3, channels=2)
    messages, _ = run_stream(local_server, {**RAW, "channels": 2}, audio)
    assert [w["word"] for w in final_words(messages)] == ["mixed"]
    assert {tuple(m["channel_index"]) for m in of_type(messages, "Results")} == {(0, 1)}


def test_bad_control_message_gets_schema_error_and_stream_continues(local_server: LocalServer) -> None:
    with open_ws(local_server, "/v1/listen", RAW) as ws:
        ws.send("{not json")
        ws.send(json.dumps({"type": "Sync", "id": 7}))
        ws.send(synthesize_words(["still"], 16000) + silence(0.2))
        ws.send(CLOSE)
        messages = collect(ws)
    assert messages[0]["type"] == "Error" and messages[0]["variant"] == "SchemaError"
    assert messages[0]["message"] == "{not json"
    assert messages[1] == {"type": "Sync", "id": 7}
    assert [w["word"] for w in final_words(messages)] == ["still"]


def test_configure_is_acknowledged(local_server: LocalServer) -> None:
    with open_ws(local_server, "/v1/listen", RAW) as ws:
        ws.send(json.dumps({"type": "Configure", "keyterms": ["acme"], "features": {"numerals": True}}))
        reply = json.loads(ws.recv(timeout=5))
    assert reply["type"] == "ConfigureSuccess" and reply["keyterms"] == ["acme"]


def test_extra_is_echoed_in_metadata(local_server: LocalServer) -> None:
    params = [*RAW.items(), ("extra", "call:7"), ("extra", "site:x")]
    messages, _ = run_stream(local_server, params, synthesize_words(["a"], 16000))
    assert messages[-1]["extra"] == {"call": "7", "site": "x"}
    assert of_type(messages, "Results")[0]["metadata"]["extra"] == {"call": "7", "site": "x"}


def test_word_is_plain_and_punctuated_word_keeps_the_form(local_server: LocalServer) -> None:
    audio = synthesize_words(["Hello,", "World!"], 16000) + silence(0.3)
    plain, _ = run_stream(local_server, {**RAW, "endpointing": 300}, audio)
    assert [w["word"] for w in final_words(plain)] == ["hello", "world"]
    assert "punctuated_word" not in final_words(plain)[0]
    punctuated, _ = run_stream(local_server, {**RAW, "endpointing": 300, "punctuate": True}, audio)
    assert [w["punctuated_word"] for w in final_words(punctuated)] == ["Hello,", "World!"]
    speech_final = next(m for m in of_type(punctuated, "Results") if m["speech_final"])
    assert speech_final["channel"]["alternatives"][0]["transcript"] == "Hello, World!"
