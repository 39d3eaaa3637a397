"""Bad data inside a union member is always a FieldError naming its full path, on every decode path.

The unions are found generically: every field, at any depth under every message class of every
API's codecs, whose type is a union of two or more wire classes (provider families, and any
union added later). For each member of each union, a member-shaped object with one wrong-typed
field is placed at the union's place in a minimal message and fed to

* ``codec.decode`` of the whole frame -> a ``DecodeError`` value naming the path;
* ``codec.from_dict`` and ``codec.structure`` -> ``ProtocolError``; ``converter.structure`` -> a
  ``FieldError`` whose ``.path`` leads to the union's place;
* the message constructor given nested dicts -> a ``FieldError`` with that path;

and never any other exception type (a provider family's unknown class refuses a ``type`` it
models with an attrs validator raising ``OptionsError``; the codec must report that as a
FieldError too, also when that class is decoded on its own).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from typing import Any, Literal, cast

import attrs
import orjson
import pytest

from actors.errors import FieldError, OptionsError, ProtocolError
from actors.protocol import codec as codec_module
from actors.protocol.agent_v1 import providers
from actors.protocol.agent_v1.codec import ShapedCodec
from actors.protocol.apis import all_apis
from actors.protocol.base import UNKNOWN_FIELDS_SLOT, WIRE_NAME, DecodeError, WireObject
from actors.protocol.codec import Codec

#: One step of a path: an object key, or ``0`` for the first item of a list.
Step = str | int


def _is_wire(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, WireObject)


def _members(tp: Any) -> list[Any]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(tp) if a is not type(None)]
    return [tp]


def _fields(cls: type[WireObject]) -> list[tuple[str, Any, attrs.Attribute[Any]]]:
    """(wire key, type hint, attrs field) of every field of ``cls``."""
    hints = typing.get_type_hints(cls)
    return [
        (f.metadata.get(WIRE_NAME) or f.name, hints[f.name], f)
        for f in attrs.fields(cast(Any, cls))
        if f.name != UNKNOWN_FIELDS_SLOT
    ]


def _roots() -> Iterator[tuple[Codec, type[WireObject]]]:
    """(codec, message class) for every message class of every API, each shape of a shaped tag."""
    for api in all_apis():
        for codec in (api.server_codec, api.client_codec):
            for tag, cls in codec.classes.items():
                shapes = codec.shapes(tag) if isinstance(codec, ShapedCodec) else ()
                for shape in shapes or (cls,):
                    yield codec, shape


def _unions_under(
    cls: type[WireObject], path: tuple[Step, ...], seen: tuple[type, ...]
) -> Iterator[tuple[tuple[Step, ...], list[type[WireObject]]]]:
    """(path, wire-class members) of every union of wire classes under ``cls``."""
    for key, hint, _field in _fields(cls):
        tp, here = hint, (*path, key)
        members = _members(tp)
        if len(members) == 1 and typing.get_origin(members[0]) is list:
            tp, here = typing.get_args(members[0])[0], (*here, 0)
            members = _members(tp)
        wire = [m for m in members if _is_wire(m)]
        if len(wire) >= 2:
            yield here, wire
        for member in wire:
            if member not in seen:
                yield from _unions_under(member, here, (*seen, member))


def _value(tp: Any, seen: tuple[type, ...] = ()) -> Any:
    """A valid JSON value of type ``tp`` (objects: their required fields only)."""
    members = _members(tp)
    tp = members[0]
    if typing.get_origin(tp) is Literal:
        return typing.get_args(tp)[0]
    if _is_wire(tp):
        return _minimal(tp, seen)
    origin = typing.get_origin(tp)
    if origin is list:
        return []
    if origin is dict:
        return {}
    return {str: "x", int: 1, float: 1.5, bool: True}.get(tp, "x")


def _minimal(cls: type[WireObject], seen: tuple[type, ...] = ()) -> dict[str, Any]:
    """A valid object for ``cls``: its required fields and its tags (``type``, ``Literal`` fields)."""
    data: dict[str, Any] = {}
    for key, hint, field in _fields(cls):
        tagged = any(typing.get_origin(m) is Literal for m in _members(hint))
        if field.default is attrs.NOTHING:
            data[key] = _value(hint, (*seen, cls))
        elif (tagged or key == "type") and field.default is not None:
            data[key] = field.default
    return data


def _wrong(hint: Any) -> Any:
    """A JSON value of the wrong type for a field typed ``hint``."""
    kinds = {typing.get_origin(m) or m for m in _members(hint)}
    return [1, 2] if kinds & {str, Literal} else "wrong"


def _place(root: Any, path: tuple[Step, ...], value: Any) -> Any:
    """``root`` (plain data) with ``value`` at ``path`` (created along the way)."""
    if not path:
        return value
    step, rest = path[0], path[1:]
    if step == 0:
        return [_place(root[0] if root else {}, rest, value)]
    out = dict(root)
    out[step] = _place(root.get(step, {}) if isinstance(root.get(step), dict | list) else {}, rest, value)
    return out


def _cases() -> Iterator[Any]:
    done: set[tuple[type, tuple[Step, ...], type, str]] = set()
    for codec, root in _roots():
        for path, members in _unions_under(root, (), (root,)):
            for member in members:
                for key, hint, _field in _fields(member):
                    ident = (root, path, member, key)
                    if ident in done or (
                        key == "type" and not any(typing.get_origin(m) is Literal for m in _members(hint))
                    ):
                        continue  # an unknown class's free ``type`` comes once, below
                    done.add(ident)
                    bad = {**_minimal(member), key: _wrong(hint)}
                    label = f"{root.__name__}.{'.'.join(map(str, path))}[{member.__name__}].{key}"
                    yield pytest.param(codec, root, path, bad, id=label)
                if not any(k == "type" for k, *_ in _fields(member)):
                    continue
                yield pytest.param(
                    codec,
                    root,
                    path,
                    {**_minimal(member), "type": 42},
                    id=f"{root.__name__}.{'.'.join(map(str, path))}[{member.__name__}].type=42",
                )


CASES = list(_cases())


def test_the_walk_finds_the_provider_unions() -> None:
    """The generic walk sees the three provider families (so the cases below are not vacuous)."""
    found = {
        frozenset(members) for _codec, root in _roots() for _path, members in _unions_under(root, (), (root,))
    }
    for family in (
        providers.AgentV1SettingsAgentListenProvider,
        providers.ThinkSettingsV1Provider,
        providers.SpeakSettingsV1Provider,
    ):
        assert frozenset(typing.get_args(family)) in found
    assert len(CASES) > 100


def _dotted(path: list[str] | tuple[Step, ...]) -> list[str]:
    """Path steps as the codec names them (list items carry no index)."""
    return [str(p) for p in path if p != 0]


@pytest.mark.parametrize(("codec", "root", "path", "bad"), CASES)
def test_bad_union_member_is_a_field_error_on_every_path(
    codec: Codec, root: type[WireObject], path: tuple[Step, ...], bad: dict[str, Any]
) -> None:
    """decode, from_dict, structure, converter.structure and the constructor: FieldError at the union."""
    data = _place(_minimal(root), path, bad)
    prefix = _dotted(path)

    decoded = codec.decode(orjson.dumps(data))
    assert isinstance(decoded, DecodeError), decoded
    assert f"{'.'.join(prefix)}." in decoded.reason, decoded.reason
    assert "OptionsError" not in decoded.reason

    with pytest.raises(ProtocolError) as from_dict:
        codec.from_dict(data)
    assert ".".join(prefix) in str(from_dict.value)

    with pytest.raises(ProtocolError) as structured:
        codec_module.structure(root, data)
    assert ".".join(prefix) in str(structured.value)

    with pytest.raises(FieldError) as converted:
        codec.converter.structure(data, root)
    assert converted.value.path[: len(prefix)] == prefix
    assert len(converted.value.path) > len(prefix)

    kwargs = {
        field.alias or field.name: data[key]
        for key, _hint, field in _fields(root)
        if key in data and key != "type"
    }
    with pytest.raises(FieldError) as constructed:
        root(**kwargs)
    assert constructed.value.path[: len(prefix)] == prefix


@pytest.mark.parametrize(
    "unknown",
    [providers.UnknownListenProvider, providers.UnknownThinkProvider, providers.UnknownSpeakProvider],
)
def test_unknown_provider_class_refusing_a_known_type_is_a_field_error(unknown: type[WireObject]) -> None:
    """The validator's refusal, decoded on its own: a FieldError at ``version``, never OptionsError."""
    data = {"type": "deepgram", "model": 42}
    with pytest.raises(FieldError) as converted:
        codec_module.default_converter().structure(data, unknown)
    assert converted.value.path == ["version"]
    assert "is modelled by" in converted.value.problem
    with pytest.raises(ProtocolError, match=rf"^{unknown.__name__}: version: type 'deepgram'"):
        codec_module.structure(unknown, data)
    private = codec_module.make_converter()
    with pytest.raises(FieldError):
        private.structure(data, unknown)
    with pytest.raises(OptionsError):  # constructing it directly keeps the validator's own error
        unknown(type="deepgram")


def test_settings_frame_with_a_wrong_typed_listen_model() -> None:
    """The reported crash: ``agent.listen.provider.model: 42`` decodes to a DecodeError naming it."""
    from actors.protocol.agent_v1.codec import client_codec

    frame = {
        "type": "Settings",
        "audio": {"input": {"encoding": "linear16", "sample_rate": 16000}},
        "agent": {
            "listen": {"provider": {"type": "deepgram", "model": 42}},
            "think": {"provider": {"type": "open_ai", "model": "gpt-4o-mini"}},
            "speak": {"provider": {"type": "deepgram", "model": "aura-2-thalia-en"}},
        },
    }
    decoded = client_codec().decode(orjson.dumps(frame))
    assert isinstance(decoded, DecodeError)
    assert decoded.reason.startswith("Settings: agent.listen.provider.model: expected a string, got int 42")


def test_a_user_hook_raising_inside_a_union_is_a_field_error() -> None:
    """A member whose (user) hook raises something else than a FieldError: still a FieldError."""
    converter = codec_module.make_converter()

    def refuse(_data: Any, _type: Any) -> Any:
        raise ValueError("not today")

    converter.register_structure_hook(providers.UnknownThinkProvider, refuse)
    conv = codec_module.WireHooks(converter).union_converter(
        list(typing.get_args(providers.ThinkSettingsV1Provider))
    )
    with pytest.raises(FieldError) as refused:
        conv({"type": "new_llm"})
    assert "ValueError: not today" in str(refused.value)
    with pytest.raises(FieldError) as typed:  # the known member's own error still wins
        conv({"type": "open_ai", "model": 42})
    assert typed.value.path == ["model"]
