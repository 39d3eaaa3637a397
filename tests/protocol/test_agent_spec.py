"""Spec coverage: every message of asyncapi.yml's agent channel is modelled, field for field.

A small walker builds example payloads from the spec schemas (every property present, each
``oneOf`` option and enum value in turn) and checks that each decodes to a typed message with no
unknown fields anywhere (so every spec property is modelled) and re-encodes to the same data.
"""

from __future__ import annotations

import typing
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from actors.agent.v1 import types as sdk_types
from actors.protocol.agent_v1.codec import ShapedCodec
from actors.protocol.agent_v1.strict import unknown_field_paths
from actors.protocol.apis import AGENT_V1
from actors.protocol.base import Message
from tests.protocol.spec_walk import channel_messages

SPEC_PATH = Path("/work/shared/reference/spec/asyncapi.yml")
CHANNEL = "/v1/agent/converse"
UUID = "6b1e0c2a-8d4f-4c1e-9a55-0e4c5b7d9f10"


@cache
def _spec() -> dict[str, Any]:
    """The parsed spec, for $refs left unresolved by the walker's depth limit."""
    spec: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text())
    return spec


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = _spec()
        for part in node["$ref"].removeprefix("#/").split("/", 2):
            target = target[part]
        node = target
    return node


def _payloads(direction: str) -> list[tuple[str, dict[str, Any]]]:
    """(SDK class name, payload schema) for "server" or "client" messages (P1's spec walker)."""
    return [(m.name, m.schema) for m in channel_messages(CHANNEL) if m.direction == direction]


def _variants(schema: dict[str, Any], seen: frozenset[str] = frozenset()) -> int:
    """How many examples it takes to visit every oneOf option and enum value under ``schema``."""
    schema = _resolve(schema)
    key = schema.get("title", "")
    if key in seen:
        return 1
    seen = seen | {key}
    counts = [1, len(schema.get("enum", ()))]
    if "oneOf" in schema:
        counts.append(len(schema["oneOf"]))
        counts += [_variants(option, seen) for option in schema["oneOf"]]
    for prop in schema.get("properties", {}).values():
        counts.append(_variants(prop, seen))
    if "items" in schema:
        counts.append(_variants(schema["items"], seen))
    return max(counts)


def _example(schema: dict[str, Any], k: int) -> Any:
    """An example value for ``schema``: all properties set, the k-th option/enum value picked."""
    schema = _resolve(schema)
    if "oneOf" in schema:
        options = schema["oneOf"]
        return _example(options[k % len(options)], k)
    if "enum" in schema:
        return schema["enum"][k % len(schema["enum"])]
    kind = schema.get("type")
    if kind == "string":
        return UUID if schema.get("format") == "uuid" else f"text-{k}"
    if kind == "integer":
        return 24000 + k
    if kind == "number":
        return 0.5 + k
    if kind == "boolean":
        return k % 2 == 0
    if kind == "array":
        return [_example(schema["items"], k)]
    if kind == "object" or "properties" in schema:
        value = {name: _example(prop, k) for name, prop in schema.get("properties", {}).items()}
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            value["x-header"] = _example(extra, k)
        return value
    raise AssertionError(f"the walker does not know schema {schema!r}")


def _cases(direction: str) -> list[tuple[str, int, dict[str, Any]]]:
    cases = []
    for name, payload in _payloads(direction):
        if payload.get("format") == "binary":
            continue
        for k in range(_variants(payload)):
            cases.append((name, k, payload))
    return cases


SERVER_CASES = _cases("server")
CLIENT_CASES = _cases("client")


def test_spec_lists_the_agent_messages() -> None:
    server = {name for name, _ in _payloads("server")}
    client = {name for name, _ in _payloads("client")}
    assert {"AgentV1Welcome", "AgentV1History", "AgentV1FunctionCallRequest"} <= server
    assert {"AgentV1Settings", "AgentV1SendFunctionCallResponse", "AgentV1UpdateListen"} <= client
    assert len(CLIENT_CASES) > len(client)  # the Settings tree has many variants


def _check(codec: ShapedCodec, name: str, k: int, payload: dict[str, Any]) -> None:
    example = _example(payload, k)
    decoded = codec.decode(orjson.dumps(example))
    assert isinstance(decoded, Message), f"{name} variant {k}: {decoded!r}"
    assert name.removeprefix("AgentV1") in type(decoded).__name__ or name == "AgentV1History"
    assert unknown_field_paths(decoded) == [], f"{name} variant {k} has unmodelled fields"
    assert codec.to_dict(decoded) == example


@pytest.mark.parametrize(("name", "k", "payload"), SERVER_CASES, ids=[f"{n}-{k}" for n, k, _ in SERVER_CASES])
def test_server_message_from_spec_is_fully_modelled(name: str, k: int, payload: dict[str, Any]) -> None:
    codec = AGENT_V1.server_codec
    assert isinstance(codec, ShapedCodec)
    _check(codec, name, k, payload)


@pytest.mark.parametrize(("name", "k", "payload"), CLIENT_CASES, ids=[f"{n}-{k}" for n, k, _ in CLIENT_CASES])
def test_client_message_from_spec_is_fully_modelled(name: str, k: int, payload: dict[str, Any]) -> None:
    codec = AGENT_V1.client_codec
    assert isinstance(codec, ShapedCodec)
    _check(codec, name, k, payload)


def test_every_spec_wire_type_has_a_class() -> None:
    for direction, codec in (("server", AGENT_V1.server_codec), ("client", AGENT_V1.client_codec)):
        for name, payload in _payloads(direction):
            if payload.get("format") == "binary":
                continue
            options = [_resolve(o) for o in payload.get("oneOf", [payload])]
            for option in options:
                tag_schema = _resolve(option["properties"]["type"])
                for tag in tag_schema["enum"]:
                    assert codec.class_for(tag) is not None, f"{direction} {name}: no class for {tag}"


def test_every_spec_message_name_is_importable_from_the_sdk_path() -> None:
    for message in channel_messages(CHANNEL):
        if message.binary:
            continue
        assert hasattr(sdk_types, message.name), message.name
        if message.name != "AgentV1History":  # a union of the two History classes
            cls = getattr(sdk_types, message.name)
            assert issubclass(cls, Message) and cls.wire_type() in message.type_tags
    history = typing.get_args(sdk_types.AgentV1History)
    assert set(history) == {sdk_types.ConversationHistoryMessage, sdk_types.FunctionCallHistoryMessage}
