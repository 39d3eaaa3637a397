"""Transcription Connector transcript entities (AudioHook) and the conformance suite's checks on them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from actors.ingest.audiohook.messages import Entity, format_duration, parse_server_message
from actors.ingest.audiohook.session import AudioHookSession, SessionConfig
from actors.ingest.audiohook.signatures import verify_request
from actors.ingest.audiohook.transcripts import Segment, Word, transcript_entity
from tests.support.audiohook_client import STEREO, AudioHookClient

SEGMENT = Segment(
    channel=1,
    start=0.5,
    end=1.54,
    transcript="How can I help?",
    words=(
        Word("how", "How", 0.5, 0.7, 0.95),
        Word("can", "", 0.7, 0.9, 0.9),
        Word("help", "help?", 0.98, 1.54, 1.2),
    ),
    confidence=0.93,
)


def _data(entity: Entity) -> Any:
    assert entity.type == "transcript" and isinstance(entity.data, dict)
    return entity.data


def test_entity_fields_and_shifted_times() -> None:
    data = _data(transcript_entity(SEGMENT, base=4.4, language="en-US", utterance_id="u1"))
    assert data["id"] == "u1" and data["channelId"] == 1 and data["isFinal"] is True
    assert data["offset"] == "PT4.9S" and data["duration"] == "PT1.04S"
    (alternative,) = data["alternatives"]
    assert alternative["confidence"] == 0.93 and alternative["languages"] == ["en-US"]
    (interpretation,) = alternative["interpretations"]
    assert interpretation["type"] == "display" and interpretation["transcript"] == "How can I help?"
    tokens = interpretation["tokens"]
    assert [t["value"] for t in tokens] == ["How", "can", "help?"]  # punctuated, else the raw word
    assert [t["offset"] for t in tokens] == ["PT4.9S", "PT5.1S", "PT5.38S"]
    assert tokens[2]["duration"] == "PT0.56S" and tokens[2]["confidence"] == 1.0  # clamped to [0, 1]
    assert all("language" not in t for t in tokens)  # only when the segment carries its own language


def test_segment_language_wins_and_tags_tokens() -> None:
    segment = Segment(
        channel=0,
        start=0,
        end=1,
        transcript="bonjour",
        words=(Word("bonjour", "", 0, 1, 0.8),),
        confidence=0.8,
        language="fr-FR",
    )
    data = _data(transcript_entity(segment, base=0.0, language="en-US"))
    alternative = data["alternatives"][0]
    assert alternative["languages"] == ["fr-FR"]
    assert alternative["interpretations"][0]["tokens"][0]["language"] == "fr-FR"


def test_no_language_no_languages_and_fresh_ids() -> None:
    first = _data(transcript_entity(SEGMENT, base=0.0))
    second = _data(transcript_entity(SEGMENT, base=0.0))
    assert "languages" not in first["alternatives"][0]
    assert first["id"] != second["id"]


def _suite_check(entity: Any) -> None:
    """What the conformance suite asserts on each final (§1.9)."""
    data = entity["data"]
    assert isinstance(data, dict)
    for key in ("id", "channelId", "offset", "duration", "alternatives"):
        assert key in data
    assert len(data["alternatives"]) >= 1
    offsets = []
    for alternative in data["alternatives"]:
        assert 0 <= alternative["confidence"] <= 1
        assert len(alternative["interpretations"]) >= 1
        for interpretation in alternative["interpretations"]:
            for key in ("type", "transcript", "tokens"):
                assert key in interpretation
            for token in interpretation["tokens"]:
                for key in ("type", "value", "confidence", "offset", "duration"):
                    assert key in token
                offsets.append(token["offset"])
    assert len(offsets) == len(set(offsets))


@pytest.mark.parametrize("discarded", [0.0, 0.5])
def test_events_on_the_wire_through_a_session(discarded: float) -> None:
    client = AudioHookClient()
    headers = client.handshake_headers(target="/ws", host="h", api_key="k", client_secret="", now=0)
    session = AudioHookSession(
        verify_request(target="/ws", headers=headers, client_secrets={"k": ""}, now=0),
        SessionConfig(transcription_connector=True),
    )
    session.receive_text(client.open((STEREO,)), 0)
    texts = session.take_outgoing()
    client.receive(texts[0])
    for frame in client.audio(1.0):
        session.receive_binary(frame, 0)
    session.receive_text(client.discarded(discarded), 0)
    # A new Deepgram connection starts here, at the session position (received + discarded).
    base = session.position
    assert base == pytest.approx(1.0 + discarded)
    session.send_event((transcript_entity(SEGMENT, base=base, language=session.language),))
    texts += session.take_outgoing()
    client.receive(texts[1])
    messages = client.received
    assert [m.type for m in messages] == ["opened", "event"]
    event = json.loads(texts[1])
    assert event["seq"] == 2 and event["clientseq"] == client.seq
    (entity,) = event["parameters"]["entities"]
    _suite_check(entity)
    assert entity["data"]["offset"] == format_duration(1.5 + discarded)
    assert parse_server_message(texts[1]).parameters == messages[1].parameters
