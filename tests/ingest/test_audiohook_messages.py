"""The AudioHook message envelope and catalogue (the AudioHook protocol)."""

from __future__ import annotations

import json

import pytest

from actors.ingest.audiohook.messages import (
    ClientMessage,
    CloseParameters,
    DisconnectParameters,
    Entity,
    EventParameters,
    MediaFormat,
    MessageError,
    OpenedParameters,
    OpenParameters,
    PingParameters,
    ResumedParameters,
    ServerMessage,
    dump,
    format_duration,
    parse_client_message,
    parse_duration,
    parse_server_message,
)

SESSION = "6f0d2a6e-5c1b-4e0e-9a51-1b2c3d4e5f60"
OPEN = {
    "version": "2",
    "id": SESSION,
    "type": "open",
    "seq": 1,
    "serverseq": 0,
    "position": "PT0S",
    "parameters": {
        "organizationId": "0c9b0a0e-1111-4222-8333-444455556666",
        "conversationId": "8d2f1c3b-7777-4888-9999-aaaabbbbcccc",
        "participant": {
            "id": "1a2b3c4d-0000-4000-8000-123456789abc",
            "ani": "+15551230000",
            "aniName": "Jane Roe",
            "dnis": "+18005550100",
        },
        "media": [
            {"type": "audio", "format": "PCMU", "channels": ["external", "internal"], "rate": 8000},
            {"type": "audio", "format": "PCMU", "channels": ["external"], "rate": 8000},
        ],
        "language": "en-US",
        "supportedLanguages": False,
        "customConfig": {},
    },
}


def _with(path: str, value: object) -> str:
    doc = json.loads(json.dumps(OPEN))
    *parents, last = path.split(".")
    target = doc
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is KeyError:
        del target[last]
    elif last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return json.dumps(doc)


def test_parse_the_composed_open() -> None:
    message = parse_client_message(json.dumps(OPEN))
    assert isinstance(message.parameters, OpenParameters)
    assert message.type == "open" and message.seq == 1 and message.position == 0.0
    assert message.parameters.media[0] == MediaFormat(format="PCMU", channels=("external", "internal"))
    assert message.parameters.participant.ani_name == "Jane Roe"
    assert json.loads(dump(message)) == OPEN


@pytest.mark.parametrize(
    "path, value, field",
    [
        ("version", 2, "version"),
        ("version", "1", "version"),
        ("id", "nope", "id"),
        ("type", "dance", "type"),
        ("seq", -1, "seq"),
        ("seq", "1", "seq"),
        ("serverseq", KeyError, "serverseq"),
        ("position", "PT1M", "position"),
        ("position", "PT-1S", "position"),
        ("position", "PT1e3S", "position"),
        ("parameters", KeyError, "parameters"),
        ("parameters.organizationId", "x", "parameters.organizationId"),
        ("parameters.conversationId", KeyError, "parameters.conversationId"),
        ("parameters.participant.id", 5, "parameters.participant.id"),
        ("parameters.media.0.rate", 16000, "parameters.media[0].rate"),
        ("parameters.media.1.format", "OPUS", "parameters.media[1].format"),
        ("parameters.media.1.channels", ["left"], "parameters.media[1].channels"),
        ("parameters.media.1.channels", [], "parameters.media[1].channels"),
        ("parameters.language", "english", "parameters.language"),
        ("parameters.supportedLanguages", "yes", "parameters.supportedLanguages"),
        ("parameters.customConfig", [], "parameters.customConfig"),
    ],
)
def test_bad_fields_are_named(path: str, value: object, field: str) -> None:
    with pytest.raises(MessageError) as info:
        parse_client_message(_with(path, value))
    assert info.value.field == field


def test_not_json_and_too_long() -> None:
    with pytest.raises(MessageError, match="not JSON"):
        parse_client_message("{nope")
    with pytest.raises(MessageError, match="longer"):
        parse_client_message(" " * 65536)
    with pytest.raises(MessageError):
        parse_client_message("[]")


def test_close_ping_resumed_error_update() -> None:
    base = {"version": "2", "id": SESSION, "seq": 2, "serverseq": 1, "position": "PT1.5S"}
    close = parse_client_message(json.dumps(base | {"type": "close", "parameters": {"reason": "end"}}))
    assert close.parameters == CloseParameters("end") and close.position == 1.5
    with pytest.raises(MessageError) as info:
        parse_client_message(json.dumps(base | {"type": "close", "parameters": {"reason": "bye"}}))
    assert info.value.field == "parameters.reason"
    ping = parse_client_message(json.dumps(base | {"type": "ping", "parameters": {"rtt": "PT0.02S"}}))
    assert ping.parameters == PingParameters(rtt=0.02)
    resumed = parse_client_message(
        json.dumps(base | {"type": "resumed", "parameters": {"start": "PT6.3S", "discarded": "PT0.3S"}})
    )
    assert resumed.parameters == ResumedParameters(start=6.3, discarded=0.3)
    with pytest.raises(MessageError) as info:
        parse_client_message(json.dumps(base | {"type": "discarded", "parameters": {"start": "PT1S"}}))
    assert info.value.field == "parameters.discarded"
    with pytest.raises(MessageError) as info:
        parse_client_message(json.dumps(base | {"type": "error", "parameters": {"code": 42, "message": "x"}}))
    assert info.value.field == "parameters.code"
    with pytest.raises(MessageError) as info:
        parse_client_message(json.dumps(base | {"type": "update", "parameters": {}}))
    assert info.value.field == "parameters.language"
    # A server message type is not a client message.
    with pytest.raises(MessageError) as info:
        parse_client_message(json.dumps(base | {"type": "opened", "parameters": {"media": []}}))
    assert info.value.field == "type"


def test_durations() -> None:
    assert parse_duration("PT0S", "f") == 0.0
    assert parse_duration("PT.5S", "f") == 0.5
    assert format_duration(0) == "PT0S"
    assert format_duration(1.5) == "PT1.5S"
    assert format_duration(0.1 + 0.2) == "PT0.3S"
    assert format_duration(4.9) == "PT4.9S"
    with pytest.raises(ValueError):
        format_duration(-1)


def test_server_messages_round_trip() -> None:
    messages = [
        ServerMessage(
            id=SESSION,
            seq=1,
            clientseq=1,
            parameters=OpenedParameters(
                media=(MediaFormat(format="PCMU", channels=("external", "internal")),),
                start_paused=False,
                supported_languages=("en-US",),
            ),
        ),
        ServerMessage(
            id=SESSION, seq=2, clientseq=3, parameters=DisconnectParameters("error", "Client Error: x")
        ),
        ServerMessage(
            id=SESSION,
            seq=3,
            clientseq=3,
            parameters=EventParameters(entities=(Entity(type="transcript", data={"id": "x"}),)),
        ),
    ]
    for message in messages:
        assert parse_server_message(dump(message)) == message
    opened = json.loads(dump(messages[0]))
    assert opened == {
        "version": "2",
        "id": SESSION,
        "type": "opened",
        "seq": 1,
        "clientseq": 1,
        "parameters": {
            "media": [
                {"type": "audio", "format": "PCMU", "channels": ["external", "internal"], "rate": 8000}
            ],
            "startPaused": False,
            "supportedLanguages": ["en-US"],
        },
    }
    assert "position" not in opened and "serverseq" not in opened


def test_client_messages_round_trip() -> None:
    message = ClientMessage(
        id=SESSION, seq=4, serverseq=2, position=12.2, parameters=PingParameters(rtt=0.25)
    )
    assert parse_client_message(dump(message)) == message
