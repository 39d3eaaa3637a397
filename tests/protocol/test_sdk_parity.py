"""Ported SDK code calls pydantic methods on messages: same output as deepgram-sdk 7.16's models.

For a representative message of every kind each API sends or receives, the SDK's model and ours
are built from the same data and their dumps compared: ``dict()``, ``json()``,
``model_dump_json()``, ``model_dump(mode="json")``, ``model_dump(exclude_none=True)`` must be
equal; ``model_dump()`` (Python mode, every field) must agree on every field the SDK models (we
model a few more, which dump as None). Also ``model_validate`` / ``parse_obj`` /
``model_validate_json`` / ``model_copy``.

Known differences, by design (the wire form re-emits what was received):
* a field the SDK declares with a non-None default is always in its ``dict()``; ours only when set
  (``ConversationText.conversational_behavior`` "default", the agent listen provider's
  ``version`` "v1"), so the samples below spell those values out;
* a field explicitly set to None is in the SDK's ``dict()`` and not in ours.
"""

from __future__ import annotations

import copy
import importlib
import json
from typing import Any

import attrs
import pytest

from actors.protocol.apis import AGENT_V1, LISTEN_V1, LISTEN_V2, SPEAK_V1, SPEAK_V2
from actors.protocol.base import UnknownMessage
from tests.protocol.speak_v2_samples import SPEAK_V2_SAMPLES

WORDS = [{"word": "hello", "start": 0.1, "end": 0.5, "confidence": 0.99, "punctuated_word": "Hello"}]

#: (API, class name in both ``actors.<api>.types`` and ``deepgram.<api>.types``, wire data).
SAMPLES: list[tuple[str, str, dict[str, Any]]] = [
    (
        "listen.v1",
        "ListenV1Results",
        {
            "type": "Results",
            "channel_index": [0, 1],
            "duration": 1.02,
            "start": 0.0,
            "is_final": True,
            "speech_final": True,
            "channel": {"alternatives": [{"transcript": "hello", "confidence": 0.99, "words": WORDS}]},
            "metadata": {
                "request_id": "r1",
                "model_info": {"name": "general", "version": "2024", "arch": "nova-3"},
                "model_uuid": "u1",
            },
            "from_finalize": False,
            "brand_new": {"x": 1},
        },
    ),
    (
        "listen.v1",
        "ListenV1Metadata",
        {
            "type": "Metadata",
            "transaction_key": "deprecated",
            "request_id": "r1",
            "sha256": "abc",
            "created": "2025-01-01T00:00:00Z",
            "duration": 3.5,
            "channels": 1,
            "models": ["m1"],
            "model_info": {"m1": {"name": "general", "version": "v", "arch": "nova-3"}},
        },
    ),
    ("listen.v1", "ListenV1SpeechStarted", {"type": "SpeechStarted", "channel": [0, 1], "timestamp": 1.5}),
    ("listen.v1", "ListenV1UtteranceEnd", {"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": 2.5}),
    ("listen.v1", "ListenV1KeepAlive", {"type": "KeepAlive"}),
    ("listen.v1", "ListenV1Finalize", {"type": "Finalize"}),
    ("listen.v1", "ListenV1CloseStream", {"type": "CloseStream"}),
    ("listen.v2", "ListenV2Connected", {"type": "Connected", "request_id": "r2", "sequence_id": 0}),
    (
        "listen.v2",
        "ListenV2TurnInfo",
        {
            "type": "TurnInfo",
            "request_id": "r2",
            "sequence_id": 3,
            "event": "EndOfTurn",
            "turn_index": 0,
            "audio_window_start": 0.0,
            "audio_window_end": 1.5,
            "transcript": "hello",
            "words": [{"word": "hello", "confidence": 0.9}],
            "end_of_turn_confidence": 0.8,
        },
    ),
    (
        "listen.v2",
        "ListenV2FatalError",
        {"type": "Error", "sequence_id": 4, "code": "X", "description": "bad"},
    ),
    ("listen.v2", "ListenV2CloseStream", {"type": "CloseStream"}),
    ("speak.v1", "SpeakV1Text", {"type": "Speak", "text": "Hello there."}),
    ("speak.v1", "SpeakV1Flush", {"type": "Flush"}),
    ("speak.v1", "SpeakV1Clear", {"type": "Clear"}),
    ("speak.v1", "SpeakV1Close", {"type": "Close"}),
    (
        "speak.v1",
        "SpeakV1Metadata",
        {
            "type": "Metadata",
            "request_id": "r3",
            "model_name": "aura-2-thalia-en",
            "model_version": "v1",
            "model_uuid": "u3",
        },
    ),
    ("speak.v1", "SpeakV1Flushed", {"type": "Flushed", "sequence_id": 1}),
    ("speak.v1", "SpeakV1Cleared", {"type": "Cleared", "sequence_id": 2}),
    ("speak.v1", "SpeakV1Warning", {"type": "Warning", "description": "slow down", "code": "W1"}),
    ("agent.v1", "AgentV1Welcome", {"type": "Welcome", "request_id": "r4"}),
    ("agent.v1", "AgentV1SettingsApplied", {"type": "SettingsApplied"}),
    (
        "agent.v1",
        "AgentV1ConversationText",
        {"type": "ConversationText", "role": "user", "content": "Hi", "conversational_behavior": "default"},
    ),
    ("agent.v1", "AgentV1UserStartedSpeaking", {"type": "UserStartedSpeaking"}),
    ("agent.v1", "AgentV1AgentThinking", {"type": "AgentThinking", "content": "..."}),
    (
        "agent.v1",
        "AgentV1FunctionCallRequest",
        {
            "type": "FunctionCallRequest",
            "functions": [{"id": "f1", "name": "get_weather", "arguments": "{}", "client_side": True}],
        },
    ),
    (
        "agent.v1",
        "AgentV1SendFunctionCallResponse",
        {"type": "FunctionCallResponse", "id": "f1", "name": "get_weather", "content": "sunny"},
    ),
    (
        "agent.v1",
        "AgentV1AgentStartedSpeaking",
        {"type": "AgentStartedSpeaking", "total_latency": 1.2, "tts_latency": 0.3, "ttt_latency": 0.9},
    ),
    ("agent.v1", "AgentV1AgentAudioDone", {"type": "AgentAudioDone"}),
    ("agent.v1", "AgentV1Error", {"type": "Error", "description": "bad", "code": "E1"}),
    ("agent.v1", "AgentV1Warning", {"type": "Warning", "description": "w", "code": "W1"}),
    ("agent.v1", "AgentV1UpdatePrompt", {"type": "UpdatePrompt", "prompt": "Be kind."}),
    (
        "agent.v1",
        "AgentV1UpdateSpeak",
        {"type": "UpdateSpeak", "speak": {"provider": {"type": "deepgram", "model": "aura-2-thalia-en"}}},
    ),
    ("agent.v1", "AgentV1InjectUserMessage", {"type": "InjectUserMessage", "content": "hello"}),
    ("agent.v1", "AgentV1InjectAgentMessage", {"type": "InjectAgentMessage", "message": "hi"}),
    ("agent.v1", "AgentV1KeepAlive", {"type": "KeepAlive"}),
    (
        "agent.v1",
        "AgentV1Settings",
        {
            "type": "Settings",
            "tags": ["t"],
            "audio": {"input": {"encoding": "linear16", "sample_rate": 16000}},
            "agent": {
                "listen": {"provider": {"type": "deepgram", "version": "v1", "model": "nova-3"}},
                "think": {
                    "provider": {"type": "open_ai", "model": "gpt-4o-mini", "temperature": 0.7},
                    "prompt": "p",
                    "functions": [{"name": "f", "description": "d", "parameters": {"type": "object"}}],
                },
                "speak": {"provider": {"type": "deepgram", "model": "aura-2-thalia-en"}},
                "greeting": "Hello.",
            },
        },
    ),
]

SAMPLES += [("speak.v2", name, data) for name, _, data in SPEAK_V2_SAMPLES]

CODECS = {
    "listen.v1": (LISTEN_V1.server_codec, LISTEN_V1.client_codec),
    "listen.v2": (LISTEN_V2.server_codec, LISTEN_V2.client_codec),
    "speak.v1": (SPEAK_V1.server_codec, SPEAK_V1.client_codec),
    "agent.v1": (AGENT_V1.server_codec, AGENT_V1.client_codec),
    "speak.v2": (SPEAK_V2.server_codec, SPEAK_V2.client_codec),
}
IDS = [name for _, name, _ in SAMPLES]


def _classes(api: str, name: str) -> tuple[Any, Any]:
    """Our class and the SDK's of one name."""
    namespace, version = api.split(".")
    ours = importlib.import_module(f"actors.{namespace}.{version}.types")
    sdk = importlib.import_module(f"deepgram.{namespace}.{version}.types")
    return getattr(ours, name), getattr(sdk, name)


def _pair(api: str, name: str, data: dict[str, Any]) -> tuple[Any, Any]:
    ours, sdk = _classes(api, name)
    return ours.model_validate(copy.deepcopy(data)), sdk.model_validate(copy.deepcopy(data))


def _covers(ours: Any, sdk: Any, where: str = "") -> None:
    """``sdk`` (a Python-mode dump) is ``ours`` minus fields only we model (which must be None)."""
    if isinstance(sdk, dict):
        assert isinstance(ours, dict), where
        for key, value in sdk.items():
            assert key in ours, f"{where}{key} missing"
            _covers(ours[key], value, f"{where}{key}.")
        extra = {key: value for key, value in ours.items() if key not in sdk}
        assert all(value is None for value in extra.values()), (where, extra)
    elif isinstance(sdk, list):
        assert isinstance(ours, list) and len(ours) == len(sdk), where
        for i, (mine, theirs) in enumerate(zip(ours, sdk, strict=True)):
            _covers(mine, theirs, f"{where}[{i}].")
    else:
        assert ours == sdk, where


def test_every_api_is_sampled() -> None:
    assert {api for api, _, _ in SAMPLES} == set(CODECS)


@pytest.mark.parametrize(("api", "name", "data"), SAMPLES, ids=IDS)
def test_wire_dumps_equal_the_sdks(api: str, name: str, data: dict[str, Any]) -> None:
    ours, sdk = _pair(api, name, data)
    assert ours.dict() == sdk.dict()
    assert json.loads(ours.json()) == json.loads(sdk.json())
    assert json.loads(ours.model_dump_json()) == json.loads(sdk.model_dump_json())
    assert ours.model_dump(mode="json") == sdk.model_dump(mode="json")
    assert ours.model_dump(exclude_none=True) == sdk.model_dump(exclude_none=True)


@pytest.mark.parametrize(("api", "name", "data"), SAMPLES, ids=IDS)
def test_python_mode_model_dump_has_every_field_as_the_sdks(
    api: str, name: str, data: dict[str, Any]
) -> None:
    ours, sdk = _pair(api, name, data)
    _covers(ours.model_dump(), sdk.model_dump())


@pytest.mark.parametrize(("api", "name", "data"), SAMPLES, ids=IDS)
def test_validate_equals_decoding_and_constructing(api: str, name: str, data: dict[str, Any]) -> None:
    ours_cls, _ = _classes(api, name)
    validated = ours_cls.model_validate(copy.deepcopy(data))
    server, client = CODECS[api]
    decoded = (server if server.class_for(data["type"]) is ours_cls else client).decode_obj(
        copy.deepcopy(data)
    )
    assert validated == decoded
    # The constructor takes the known fields (nested as plain dicts); keys it does not model go in
    # unknown_fields= (an unknown keyword is a TypeError, so a typo is not sent silently).
    known = {f.alias for f in attrs.fields(ours_cls)}
    plain = copy.deepcopy(data)
    rest = {key: plain.pop(key) for key in list(plain) if key not in known}
    assert validated == ours_cls(**plain, unknown_fields=rest)
    if rest:
        with pytest.raises(TypeError, match=next(iter(rest))):
            ours_cls(**copy.deepcopy(data))
    assert (
        validated == ours_cls.parse_obj(copy.deepcopy(data)) == ours_cls.model_validate_json(json.dumps(data))
    )
    assert ours_cls.model_validate(validated) is validated


@pytest.mark.parametrize(("api", "name", "data"), SAMPLES, ids=IDS)
def test_the_wire_form_is_what_the_sdk_sends(api: str, name: str, data: dict[str, Any]) -> None:
    # The SDK sends json.dumps(model.dict()); ours sends codec.encode(msg).
    ours, sdk = _pair(api, name, data)
    server, client = CODECS[api]
    codec = server if server.class_for(data["type"]) is type(ours) else client
    assert json.loads(codec.encode(ours)) == json.loads(json.dumps(sdk.dict()))


def test_model_copy_updates_and_copies_as_the_sdks() -> None:
    api, name, data = SAMPLES[0]
    ours, sdk = _pair(api, name, data)
    update = {"start": 2.5, "speech_final": False}
    assert ours.model_copy(update=update).dict() == sdk.model_copy(update=update).dict()
    assert ours.start == 0.0  # the original is unchanged
    shallow, deep = ours.model_copy(), ours.model_copy(deep=True)
    assert shallow == deep == ours
    assert shallow.channel is ours.channel and deep.channel is not ours.channel
    shallow.unknown_fields["brand_new"] = "changed"
    assert ours.unknown_fields["brand_new"] == {"x": 1}
    assert ours.model_copy(update={"newer": 1}).model_extra == {"brand_new": {"x": 1}, "newer": 1}
    assert ours.model_extra == sdk.model_extra == {"brand_new": {"x": 1}}


def test_include_and_exclude_pick_top_level_keys_as_pydantic() -> None:
    api, name, data = SAMPLES[0]
    ours, sdk = _pair(api, name, data)
    assert ours.model_dump(include={"type", "start"}) == sdk.model_dump(include={"type", "start"})
    assert ours.dict(exclude={"channel", "metadata"}) == sdk.dict(exclude={"channel", "metadata"})
    assert json.loads(ours.model_dump_json(indent=2)) == ours.dict()
    with pytest.raises(ValueError, match="mode"):
        ours.model_dump(mode="yaml")


def test_unknown_messages_dump_their_raw_object() -> None:
    raw = {"type": "BrandNewEvent", "x": [1, 2], "nested": {"a": None}}
    unknown = AGENT_V1.server_codec.decode(json.dumps(raw))
    assert isinstance(unknown, UnknownMessage)
    assert unknown.dict() == unknown.model_dump() == raw
    assert json.loads(unknown.json()) == json.loads(unknown.model_dump_json()) == raw
