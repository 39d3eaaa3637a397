"""Check an Agent V1 ``Settings`` message the way the live service does, with the protocol's codec.

The live service refuses a ``Settings`` that has a field it does not know or a value of the wrong
type, answering ``Error`` ``"Error parsing client message. Check the <path> field against the API
spec."`` (code ``UNPARSABLE_CLIENT_MESSAGE``) and no ``SettingsApplied``. :func:`settings_error`
reproduces that: the message is decoded with ``AGENT_V1.client_codec``; unknown fields come from
``actors.protocol.agent_v1.strict.unknown_field_paths``.

When several fields are wrong, the one named is the first in alphabetical order of the path,
depth first (``agent.listen.model`` before ``agent.listen.provider``; list items by index). That is
what the recorded refusals show (``agent.think.functions[0].method`` is named, not ``url``, in
whatever order the client wrote them). When the codec refuses a value, unknown fields met on the
way to it are named first, as in the recorded ``agent.listen.model`` refusal of a ``listen`` whose
``provider`` was a string.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator
from typing import Any

import attrs

from actors.errors import ProtocolError
from actors.protocol.agent_v1 import AgentV1Settings
from actors.protocol.agent_v1.strict import unknown_field_paths
from actors.protocol.apis import AGENT_V1
from actors.protocol.base import WIRE_NAME, WireObject
from actors.protocol.codec import structure

PARSE_ERROR = "Error parsing client message. Check the {field} field against the API spec."
_PATH = re.compile(r"[A-Za-z_][\w.]*")


def settings_error(data: dict[str, Any]) -> str | None:
    """The ``Error`` description the live service sends for this ``Settings``; None when it is valid."""
    decoded = AGENT_V1.client_codec.decode_obj(data)
    if isinstance(decoded, AgentV1Settings):
        paths = unknown_field_paths(decoded)
        return PARSE_ERROR.format(field=min(paths, key=_path_key)) if paths else None
    field = _locate(AgentV1Settings, data, "")
    if field is None:
        return f"Error parsing client message. {getattr(decoded, 'reason', 'Invalid Settings.')}"
    return PARSE_ERROR.format(field=field)


def _path_key(path: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key of a path: names alphabetically, list indices numerically."""
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    return tuple((0, int(p[1:-1])) if p.startswith("[") else (1, p) for p in parts)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _codec_path(cls: type[WireObject], data: dict[str, Any]) -> str | None:
    """Where the codec refuses ``data`` as ``cls`` (relative dotted path), or None if it accepts it."""
    try:
        structure(cls, data)
    except ProtocolError as exc:
        where, sep, _reason = str(exc).removeprefix(f"{cls.__name__}: ").partition(": ")
        return where if sep and _PATH.fullmatch(where) else ""
    return None


def _wire_fields(cls: type[WireObject]) -> dict[str, Any]:
    """Wire name -> type hint of every field of ``cls``."""
    hints = typing.get_type_hints(cls)
    return {
        f.metadata.get(WIRE_NAME) or f.name: hints[f.name]
        for f in attrs.fields(typing.cast(Any, cls))
        if f.name != "unknown_fields"
    }


def _locate(cls: type[WireObject], data: dict[str, Any], path: str) -> str | None:
    """The first wrong field under ``data`` read as ``cls``, in path order (see the module docstring)."""
    refused = _codec_path(cls, data)
    fields = _wire_fields(cls)
    for key in sorted(data):
        here = _join(path, key)
        if key not in fields:
            return here
        deeper = _in_value(fields[key], data[key], here)
        if deeper is not None:
            return deeper
        if refused is not None and (refused == key or refused.startswith(f"{key}.")):
            return _join(path, refused)
    if refused:
        return _join(path, refused)  # a required field is missing
    return None


def _in_value(hint: Any, value: Any, path: str) -> str | None:
    """The first wrong field inside ``value`` (an object or list of objects) typed ``hint``."""
    members = _members(hint)
    if isinstance(value, list):
        for inner in (typing.get_args(m)[0] for m in members if typing.get_origin(m) is list):
            for index, item in enumerate(value):
                found = _in_value(inner, item, f"{path}[{index}]")
                if found is not None:
                    return found
            return None
        return None
    if not isinstance(value, dict):
        return None
    cls = _choose(members, value)
    return _locate(cls, value, path) if cls is not None else None


def _members(hint: Any) -> list[Any]:
    """The alternatives of a (possibly optional) union hint, or the hint itself."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return [m for m in typing.get_args(hint) if m is not type(None)]
    return [hint]


def _wire_classes(members: list[Any]) -> Iterator[type[WireObject]]:
    for member in members:
        if isinstance(member, type) and issubclass(member, WireObject):
            yield member


def _choose(members: list[Any], value: dict[str, Any]) -> type[WireObject] | None:
    """The object class ``value`` is meant as: the only one, the first that accepts it, or its ``type``'s."""
    classes = list(_wire_classes(members))
    if len(classes) <= 1:
        return classes[0] if classes else None
    for cls in classes:
        if _codec_path(cls, value) is None:
            return cls
    for cls in classes:
        tag = attrs.fields_dict(typing.cast(Any, cls)).get("type")
        if tag is not None and tag.default == value.get("type"):
            return cls
    return None
