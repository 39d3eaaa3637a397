"""Walks asyncapi.yml: the message schemas of each channel, resolved, with SDK-style class names.

Reusable by every API's coverage test::

    for m in channel_messages("/v1/listen"):
        m.name        # "ListenV1Results" (the SDK class name)
        m.direction   # "server" (publish) or "client" (subscribe)
        m.binary      # True for audio (Media/Audio) messages, which have no class
        m.schema      # the payload schema with every $ref resolved
        m.type_tags   # the allowed values of its "type" property
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import attrs
import yaml

from actors.protocol.base import WIRE_NAME, WireObject

SPEC_PATH = Path("/work/shared/reference/spec/asyncapi.yml")

__all__ = ["SPEC_PATH", "SpecMessage", "channel_messages", "missing_properties", "spec"]


@attrs.frozen
class SpecMessage:
    """One message of a channel as the spec declares it."""

    channel: str
    direction: str
    name: str
    schema: dict[str, Any]

    @property
    def binary(self) -> bool:
        """True when the payload is a binary frame (audio), not a JSON object."""
        return self.schema.get("format") == "binary"

    @property
    def type_tags(self) -> list[str]:
        """The values the spec allows for the ``type`` property."""
        prop = self.schema.get("properties", {}).get("type", {})
        return list(prop.get("enum", []))


@functools.cache
def spec() -> dict[str, Any]:
    """The parsed asyncapi.yml."""
    with SPEC_PATH.open() as f:
        loaded: dict[str, Any] = yaml.safe_load(f)
    return loaded


def _resolve(node: Any, depth: int = 0) -> Any:
    if depth > 30:
        return node
    if isinstance(node, dict):
        if "$ref" in node:
            # "#/components/<kind>/<name>", where <name> may itself contain "/"
            _root, kind, name = node["$ref"].removeprefix("#/").split("/", 2)
            return _resolve(spec()[_root][kind][name], depth + 1)
        return {k: _resolve(v, depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, depth + 1) for v in node]
    return node


def channel_messages(channel: str) -> Iterator[SpecMessage]:
    """Every message of ``channel`` (server ones first), with its SDK class name."""
    ch = spec()["channels"][channel]
    for op, direction in (("publish", "server"), ("subscribe", "client")):
        for ref in ch[op]["message"]["oneOf"]:
            name = ref["$ref"].rsplit("-", 1)[-1]
            message = _resolve(ref)
            yield SpecMessage(channel, direction, name, message.get("payload", {}))


def _field_types(cls: type[WireObject]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {(f.metadata.get(WIRE_NAME) or f.name): hints[f.name] for f in attrs.fields(cast(Any, cls))}


def _wire_classes(tp: Any) -> list[type[WireObject]]:
    if isinstance(tp, type) and issubclass(tp, WireObject):
        return [tp]
    found: list[type[WireObject]] = []
    for arg in typing.get_args(tp):
        found.extend(_wire_classes(arg))
    return found


def missing_properties(cls: type[WireObject], schema: dict[str, Any], path: str = "") -> list[str]:
    """Schema properties (recursively, into objects and arrays) that ``cls`` has no field for."""
    missing: list[str] = []
    fields = _field_types(cls)
    for prop, sub in schema.get("properties", {}).items():
        where = f"{path}{prop}"
        if prop not in fields:
            missing.append(f"{cls.__name__}: {where}")
            continue
        nested = _wire_classes(fields[prop])
        if not nested:
            continue
        sub_schema = sub.get("items", sub) if sub.get("type") == "array" else sub
        if "properties" in sub_schema:
            missing.extend(missing_properties(nested[0], sub_schema, where + "."))
    return missing
