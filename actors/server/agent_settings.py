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

Every other client message is checked the same way (:func:`client_message_error`): a value of the
wrong type is named by its path from the message root (``content``, ``speak.provider.model``).
Unknown fields are refused only in ``Settings`` (the refusals on record are all of ``Settings``).
"""

from __future__ import annotations

import logging
import re
import types
import typing
from collections.abc import Iterator
from typing import Any

import attrs

from actors.errors import ProtocolError
from actors.protocol.agent_v1 import AgentV1Settings
from actors.protocol.agent_v1.codec import ShapedCodec
from actors.protocol.agent_v1.strict import unknown_field_paths
from actors.protocol.apis import AGENT_V1
from actors.protocol.base import WIRE_NAME, DecodeError, WireObject
from actors.protocol.codec import structure

log = logging.getLogger("actors.server")

PARSE_ERROR = "Error parsing client message. Check the {field} field against the API spec."
_PATH = re.compile(r"[A-Za-z_][\w.]*")


def settings_error(data: dict[str, Any]) -> str | None:
    """The ``Error`` description the live service sends for this ``Settings``; None when it is valid."""
    return client_message_error({**data, "type": AgentV1Settings.wire_type()})


def client_message_error(data: dict[str, Any]) -> str | None:
    """The ``Error`` description for a client message the service could not parse; None when it parses.

    ``data`` is a JSON object with a string ``type``. A type the codec does not know is not
    judged here (None): the endpoint decides what to answer for it.
    """
    codec = AGENT_V1.client_codec
    decoded = codec.decode_obj(data)
    if isinstance(decoded, AgentV1Settings):
        paths = unknown_field_paths(decoded)
        return PARSE_ERROR.format(field=min(paths, key=_path_key)) if paths else None
    if not isinstance(decoded, DecodeError):
        return None
    tag = str(data.get("type"))
    shapes = codec.shapes(tag) if isinstance(codec, ShapedCodec) else ()
    try:
        cls = _choose(list(shapes), data) if shapes else codec.class_for(tag)
        field = _locate(cls, data, "") if cls is not None else None
    except Exception:  # naming the field is best effort; the refusal is sent regardless
        log.exception("agent: could not locate the bad field of a %s message", tag)
        field = None
    if field is None:
        return f"Error parsing client message. {decoded.reason}"
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
        if _tags_match(cls, value):
            return cls
    return None


def _tags_match(cls: type[WireObject], value: dict[str, Any]) -> bool:
    """Whether ``value``'s ``type`` (and ``version``, when ``cls`` pins it) are the ones ``cls`` models.

    A provider is chosen by both (Deepgram listen/speak: no ``version`` or ``v1`` -> V1, ``v2`` ->
    V2), so a V2 provider with a bad field is reported against the V2 class, not the V1 one.
    """
    fields = attrs.fields_dict(typing.cast(Any, cls))
    tag = fields.get("type")
    if tag is None or tag.default != value.get("type"):
        return False
    version = fields.get("version")
    if version is None:
        return True
    allowed = _literal_values(typing.get_type_hints(cls)["version"])
    if allowed is None:
        return True
    if version.default is not attrs.NOTHING:
        allowed.add(version.default)
    version_value = value.get("version")
    return any(version_value == allowed_value for allowed_value in allowed)  # may be unhashable


def _literal_values(hint: Any) -> set[Any] | None:
    """The values a ``Literal`` (or optional ``Literal``) hint allows; None when it is not one."""
    allowed: set[Any] = set()
    for member in _members(hint) + ([None] if type(None) in typing.get_args(hint) else []):
        if member is None:
            allowed.add(None)
        elif typing.get_origin(member) is typing.Literal:
            allowed.update(typing.get_args(member))
        else:
            return None
    return allowed
