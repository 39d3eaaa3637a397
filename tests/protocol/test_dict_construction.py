"""Message constructors take nested plain dicts, as Deepgram's SDK (pydantic) models do.

``AgentV1Settings(**settings_dict)`` must build the same typed tree as decoding that dict, send
unchanged, and report bad data as a ``FieldError`` naming the field path.
"""

from __future__ import annotations

import copy
import typing
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import actors.protocol.agent_v1
import actors.protocol.listen_v1.messages
import actors.protocol.listen_v2.messages
import actors.protocol.speak_v1.messages
import actors.protocol.speak_v2.messages
from actors import DeepgramClient
from actors.agent.v1.types import (
    AgentV1Settings,
    AgentV1SettingsAgentListenProvider_V2,
    SpeakSettingsV1,
    SpeakSettingsV1Provider_Deepgram,
    ThinkSettingsV1,
    ThinkSettingsV1FunctionsItem,
    ThinkSettingsV1Provider_OpenAi,
    UnknownThinkProvider,
)
from actors.environment import DeepgramClientEnvironment
from actors.errors import FieldError
from actors.listen.v1.types import ListenV1Results, ListenV1ResultsChannelAlternativesItemWordsItem
from actors.protocol.apis import AGENT_V1
from actors.protocol.base import UNKNOWN_FIELDS_SLOT, WIRE_NAME, WireObject
from actors.protocol.codec import structure, unstructure
from actors.protocol.sdk_compat import init_plan
from actors.server import LocalServer
from tests.protocol.strategies import message_strategy

API_PACKAGES = (
    actors.protocol.agent_v1,
    actors.protocol.listen_v1.messages,
    actors.protocol.listen_v2.messages,
    actors.protocol.speak_v1.messages,
)

SETTINGS: dict[str, Any] = {
    "type": "Settings",
    "tags": ["parity"],
    "audio": {"input": {"encoding": "linear16", "sample_rate": 16000}, "output": {"encoding": "linear16"}},
    "agent": {
        "language": "en",
        "listen": {"provider": {"type": "deepgram", "version": "v1", "model": "nova-3"}},
        "think": {
            "provider": {"type": "open_ai", "model": "gpt-4o-mini", "temperature": 0.5},
            "prompt": "You are terse.",
            "functions": [
                {
                    "name": "get_weather",
                    "description": "Weather for a city",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                }
            ],
        },
        "speak": [
            {"provider": {"type": "deepgram", "model": "aura-2-thalia-en"}},
            {"provider": {"type": "open_ai", "model": "tts-1", "voice": "alloy"}},
        ],
        "greeting": "Hello.",
    },
}


def _wire_classes() -> list[type[WireObject]]:
    """Every WireObject class of the five APIs (their modules are imported above)."""
    found: dict[str, type[WireObject]] = {}
    pending = list(WireObject.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("actors.protocol."):
            found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return [found[name] for name in sorted(found)]


NESTED = [cls for cls in _wire_classes() if init_plan(cls)]


def _kwargs_from_plain(cls: type[WireObject], plain: dict[str, Any]) -> dict[str, Any]:
    """Constructor keywords for ``cls`` carrying ``plain`` (its wire dict) as nested plain data."""
    fields = [f for f in attrs.fields(typing.cast(Any, cls)) if f.name != UNKNOWN_FIELDS_SLOT]
    wire = {f.metadata.get(WIRE_NAME) or f.name: f.alias or f.name for f in fields}
    kwargs = {wire[key]: value for key, value in plain.items() if key in wire}
    unknown = {key: value for key, value in plain.items() if key not in wire}
    if unknown:
        kwargs["unknown_fields"] = unknown
    return kwargs


def test_the_classes_with_nested_fields_are_found() -> None:
    # Speak V1 messages are flat; every other API has nested objects.
    apis = {"agent_v1", "listen_v1", "listen_v2", "speak_v2"}
    assert {cls.__module__.split(".")[2] for cls in NESTED} == apis
    names = {cls.__name__ for cls in NESTED}
    assert {"AgentV1Settings", "ThinkSettingsV1", "ListenV1Results", "ListenV2TurnInfo"} <= names
    assert {"SpeakV2Interrupt", "SpeakV2SpeechInterrupted"} <= names


@pytest.mark.parametrize("cls", NESTED, ids=lambda c: c.__name__)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_plain_data_constructs_what_decoding_builds(cls: type[WireObject], data: st.DataObject) -> None:
    obj = data.draw(message_strategy(cls))
    plain = unstructure(obj)
    built = cls(**_kwargs_from_plain(cls, copy.deepcopy(plain)))
    assert built == structure(cls, plain)
    assert unstructure(built) == unstructure(structure(cls, plain))


def test_settings_from_a_dict_equal_the_decoded_settings() -> None:
    settings_obj = AgentV1Settings(**copy.deepcopy(SETTINGS))
    assert settings_obj == AGENT_V1.client_codec.from_dict(copy.deepcopy(SETTINGS))
    assert AGENT_V1.client_codec.to_dict(settings_obj) == SETTINGS
    think = settings_obj.agent.think
    assert isinstance(think, ThinkSettingsV1) and isinstance(think.provider, ThinkSettingsV1Provider_OpenAi)
    assert isinstance(think.functions[0], ThinkSettingsV1FunctionsItem)
    assert [type(s.provider).__name__ for s in settings_obj.agent.speak] == [
        "SpeakSettingsV1Provider_Deepgram",
        "SpeakSettingsV1Provider_OpenAi",
    ]


def test_settings_from_a_dict_dump_as_the_sdks_model_of_the_same_dict() -> None:
    from deepgram.agent.v1.types import AgentV1Settings as SdkSettings

    ours = AgentV1Settings(**copy.deepcopy(SETTINGS))
    sdk = SdkSettings(**copy.deepcopy(SETTINGS))
    assert ours.dict() == sdk.dict()


def test_typed_objects_pass_through_untouched_and_mix_with_dicts() -> None:
    provider = ThinkSettingsV1Provider_OpenAi(model="gpt-4o-mini")
    think = ThinkSettingsV1(provider=provider, functions=[{"name": "f", "description": "d"}])
    assert think.provider is provider
    assert isinstance(think.functions[0], ThinkSettingsV1FunctionsItem)
    speak = [SpeakSettingsV1(provider=SpeakSettingsV1Provider_Deepgram(model="aura-2-thalia-en"))]
    mixed = AgentV1Settings(audio={"input": {"encoding": "linear16", "sample_rate": 16000}},
                            agent={"think": think, "speak": speak})  # fmt: skip
    assert mixed.agent.think == think and mixed.agent.speak == speak
    typed_list = [
        ListenV1ResultsChannelAlternativesItemWordsItem(word="a", start=0.0, end=0.1, confidence=1.0)
    ]
    results = ListenV1Results(
        channel_index=[0, 1], duration=1.0, start=0.0,
        channel={"alternatives": [{"transcript": "a", "confidence": 1.0, "words": typed_list}]},
        metadata={"request_id": "r", "model_info": MODEL_INFO, "model_uuid": "u"},
    )  # fmt: skip
    assert results.channel.alternatives[0].words == typed_list
    assert results.metadata.model_info.arch == "a"


def test_unions_choose_the_member_by_type_and_version() -> None:
    agent = AgentV1Settings(
        audio={"input": {"encoding": "linear16", "sample_rate": 16000}},
        agent={
            "listen": {"provider": {"type": "deepgram", "version": "v2", "model": "flux-general-en"}},
            "think": {"provider": {"type": "brand_new_llm", "model": "x", "knob": 3}},
        },
    ).agent
    assert isinstance(agent.listen.provider, AgentV1SettingsAgentListenProvider_V2)
    think = agent.think
    assert isinstance(think, ThinkSettingsV1) and isinstance(think.provider, UnknownThinkProvider)
    assert think.provider.raw == {"type": "brand_new_llm", "model": "x", "knob": 3}


def test_unknown_fields_in_nested_dicts_are_kept() -> None:
    settings_obj = AgentV1Settings(
        audio={"input": {"encoding": "linear16", "sample_rate": 16000, "new_knob": True}}, agent="agent-id"
    )
    assert settings_obj.audio.input.unknown_fields == {"new_knob": True}
    assert settings_obj.agent == "agent-id"


MODEL_INFO = {"name": "n", "version": "v", "arch": "a"}
OPENAI = {"type": "open_ai", "model": "m"}
BAD_AGENTS = [
    ({"think": {"provider": {**OPENAI, "model": 5}}}, "agent.think.provider.model", "a string"),
    ({"think": {"provider": OPENAI, "prompt": 5}}, "agent.think.prompt", "a string"),
    ({"listen": {"provider": {"type": "deepgram", "model": 5}}}, "agent.listen.provider.model", "a string"),
    ({"speak": {"provider": OPENAI}}, "agent.speak.provider.voice", "missing"),
]


@pytest.mark.parametrize(("agent", "path", "problem"), BAD_AGENTS)
def test_bad_nested_data_names_the_field_path(agent: dict[str, Any], path: str, problem: str) -> None:
    with pytest.raises(FieldError) as bad:
        AgentV1Settings(audio={"input": {"encoding": "linear16", "sample_rate": 16000}}, agent=agent)
    assert ".".join(bad.value.path) == path
    assert problem in str(bad.value) and "AgentV1Settings" in str(bad.value)


def test_a_missing_required_nested_field_is_named() -> None:
    with pytest.raises(FieldError, match=r"^audio\.input\.sample_rate: required field is missing"):
        AgentV1Settings(audio={"input": {"encoding": "linear16"}}, agent="agent-id")


def test_decoding_does_not_run_the_constructor() -> None:
    frame = AGENT_V1.client_codec.encode(AgentV1Settings(**copy.deepcopy(SETTINGS)))
    calls: list[type] = []
    original = AgentV1Settings.__init__

    def spy(self: Any, **kwargs: Any) -> None:
        calls.append(type(self))
        original(self, **kwargs)

    AgentV1Settings.__init__ = spy  # type: ignore[method-assign]
    try:
        decoded = AGENT_V1.client_codec.decode(frame)
    finally:
        AgentV1Settings.__init__ = original  # type: ignore[method-assign]
    assert isinstance(decoded, AgentV1Settings) and calls == []


def test_settings_built_from_a_dict_are_applied_by_the_server(local_server: LocalServer) -> None:
    client = DeepgramClient(api_key="test-key", environment=DeepgramClientEnvironment.local(local_server.url))
    with client.agent.v1.connect() as socket:
        socket.send_settings(AgentV1Settings(**copy.deepcopy(SETTINGS)))
        seen = []
        for _ in range(10):
            message = socket.recv(timeout=10.0)
            seen.append(getattr(message, "type", None))
            if seen[-1] in ("SettingsApplied", "Error"):
                break
    assert "SettingsApplied" in seen, seen
