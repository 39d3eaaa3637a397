"""Messages recorded from the live service decode and round-trip field for field."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from actors.protocol.apis import LISTEN_V1
from actors.protocol.base import Message
from actors.protocol.listen_v1.messages import ListenV1Results

RECORDED = Path("/work/shared/reference/recorded")
LISTEN_RESPONSES = sorted((RECORDED / "listen" / "websocket").glob("*-response.json"))


def test_recordings_are_there() -> None:
    assert len(LISTEN_RESPONSES) == 4


@pytest.mark.parametrize("path", LISTEN_RESPONSES, ids=lambda p: p.name[:12])
def test_recorded_listen_results_round_trip(path: Path) -> None:
    raw = path.read_text()
    msg = LISTEN_V1.server_codec.decode(raw)
    assert isinstance(msg, ListenV1Results), msg
    recorded = json.loads(raw)
    alternative = msg.channel.alternatives[0]
    assert alternative.transcript == recorded["channel"]["alternatives"][0]["transcript"]
    assert [w.word for w in alternative.words] == [
        w["word"] for w in recorded["channel"]["alternatives"][0]["words"]
    ]
    assert msg.metadata.model_info.arch == recorded["metadata"]["model_info"]["arch"]
    # Field for field: the re-encoded JSON equals the recorded JSON.
    assert orjson.loads(LISTEN_V1.server_codec.encode(msg)) == recorded
    assert LISTEN_V1.server_codec.decode(LISTEN_V1.server_codec.encode(msg)) == msg


# Verbatim wire messages quoted from live captures and Deepgram docs.
LIVE_FRAMES = {
    "listen.v1 server": [
        '{"type":"Metadata","transaction_key":"deprecated","request_id":"5b0c3f27-5e1c-4a8f-9bd3-2f0c0f1d6a11",'
        '"sha256":"incomplete","created":"2026-08-25T21:11:31.685Z","duration":44.259937,"channels":1,'
        '"models":["1dbdfb4d-85b2-4659-9831-16b3c76229aa"],"model_info":{"1dbdfb4d-85b2-4659-9831-16b3c76229aa":'
        '{"name":"2-phonecall-nova","version":"2024-02-07.20824","arch":"nova-2"}}}',
        '{"type":"UtteranceEnd","channel":[0,1],"last_word_end":2.395}',
        '{"type":"SpeechStarted","channel":[0,1],"timestamp":9.54}',
        '{"type":"Error","variant":"SchemaError","description":"bad","message":"{not json"}',
        '{"type":"Error","variant":"Closing","code":"NET-0001","description":"timeout"}',
    ],
    "listen.v2 server": [
        '{"type":"Connected","request_id":"ca47dc5f","sequence_id":0}',
        '{"type":"TurnInfo","request_id":"ca47dc5f","event":"StartOfTurn","turn_index":0,'
        '"audio_window_start":0.0,"audio_window_end":0.48,"transcript":"Fine",'
        '"words":[{"word":"Fine","confidence":0.4573}],"end_of_turn_confidence":0.0189,"sequence_id":2}',
        '{"type":"TurnInfo","request_id":"r","event":"EndOfTurn","turn_index":0,"audio_window_start":0.0,'
        '"audio_window_end":1.2,"transcript":"Hi","words":[],"end_of_turn_confidence":0.9,'
        '"sequence_id":3,"trigger":"manual"}',
        '{"type":"Error","sequence_id":4,"code":"INTERNAL_SERVER_ERROR","description":"boom"}',
        '{"type":"Warning","request_id":"r","sequence_id":5,"code":"FORCE_END_TURN_NO_ACTIVE_TURN",'
        '"description":"no active turn"}',
    ],
    "speak.v1 server": [
        '{"type":"Metadata","request_id":"r","model_name":"aura-asteria-en","model_version":"2024-11-19.0",'
        '"model_uuid":"u"}',
        '{"type":"Flushed","sequence_id":0}',
        '{"type":"Cleared","sequence_id":0}',
        '{"type":"Warning","description":"d","code":"c"}',
        '{"type":"Warning","warn_code":"EXCESSIVE_FLUSH","warn_msg":"Rate limit exceeded for flushes."}',
    ],
}


@pytest.mark.parametrize(
    ("codec_name", "frame"),
    [(name, frame) for name, frames in LIVE_FRAMES.items() for frame in frames],
    ids=lambda v: v[:40],
)
def test_documented_live_frames_decode_and_round_trip(codec_name: str, frame: str) -> None:
    from actors.protocol.apis import all_apis

    codec = next(api.server_codec for api in all_apis() if api.server_codec.name == codec_name)
    msg = codec.decode(frame)
    assert isinstance(msg, Message), msg
    assert msg.unknown_fields == {}
    assert orjson.loads(codec.encode(msg)) == json.loads(frame)
