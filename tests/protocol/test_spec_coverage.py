"""Every message schema of the listen/speak channels in asyncapi.yml has a class, and every
property the spec declares (nested too) is a field of that class."""

from __future__ import annotations

import importlib

import pytest

from actors.protocol.apis import LISTEN_V1, LISTEN_V2, SPEAK_V1, SPEAK_V2, ApiSpec
from actors.protocol.base import Message
from tests.protocol.spec_walk import SpecMessage, channel_messages, missing_properties

TYPES_MODULES = {
    "/v1/listen": "actors.listen.v1.types",
    "/v2/listen": "actors.listen.v2.types",
    "/v1/speak": "actors.speak.v1.types",
    "/v2/speak": "actors.speak.v2.types",
}
APIS: dict[str, ApiSpec] = {
    "/v1/listen": LISTEN_V1,
    "/v2/listen": LISTEN_V2,
    "/v1/speak": SPEAK_V1,
    "/v2/speak": SPEAK_V2,
}

MESSAGES = [m for channel in TYPES_MODULES for m in channel_messages(channel)]


def test_walker_finds_the_channels_messages() -> None:
    names = {m.name for m in MESSAGES}
    assert {"ListenV1Results", "ListenV2TurnInfo", "SpeakV1Flushed", "SpeakV1Text"} <= names
    assert len(MESSAGES) == 8 + 8 + 9 + 11


@pytest.mark.parametrize("message", [m for m in MESSAGES if not m.binary], ids=lambda m: m.name)
def test_every_json_message_has_a_class_with_every_property(message: SpecMessage) -> None:
    module = importlib.import_module(TYPES_MODULES[message.channel])
    cls = getattr(module, message.name, None)
    assert cls is not None, f"{message.channel}: no class {message.name} in {module.__name__}"
    assert issubclass(cls, Message)
    assert cls.wire_type() in message.type_tags, (cls.wire_type(), message.type_tags)
    assert missing_properties(cls, message.schema) == []
    api = APIS[message.channel]
    codec = api.server_codec if message.direction == "server" else api.client_codec
    assert codec.class_for(cls.wire_type()) is cls


@pytest.mark.parametrize("message", [m for m in MESSAGES if m.binary], ids=lambda m: m.name)
def test_binary_messages_flow_the_declared_way(message: SpecMessage) -> None:
    api = APIS[message.channel]
    if message.direction == "server":
        assert api.server_sends_binary
    else:
        assert api.client_sends_binary


def test_spec_required_fields_are_required_or_defaulted() -> None:
    """A field the spec marks required must not be silently optional on the class, except
    where the live service omits it (documented exceptions)."""
    tolerated = {
        ("ListenV2ConfigureSuccess", "thresholds"),
        ("ListenV2ConfigureSuccess", "keyterms"),
        ("ListenV2FatalError", "sequence_id"),
        ("SpeakV1Warning", "description"),  # old service spelling: warn_msg/warn_code
        ("SpeakV1Warning", "code"),
    }
    import attrs

    problems = []
    for m in MESSAGES:
        if m.binary:
            continue
        cls = getattr(importlib.import_module(TYPES_MODULES[m.channel]), m.name)
        fields = attrs.fields_dict(cls)
        for name in m.schema.get("required", []):
            if name == "type" or (m.name, name) in tolerated:
                continue
            if fields[name].default is not attrs.NOTHING and fields[name].default is None:
                problems.append(f"{m.name}.{name}")
    assert problems == []
