"""What a wire object's field type is: the type questions the codec's hook generator asks.

Pure functions of type hints (no data, no converter): is it a WireObject class, a union, which
``Literal`` tags does a union member carry. Used by :mod:`actors.protocol.hook_source` (writing
hooks), :mod:`actors.protocol.wire_hooks` (union members) and :mod:`actors.protocol.sdk_compat`
(which constructor arguments take plain data).
"""

from __future__ import annotations

import types
import typing
from typing import Any, TypeGuard

import attrs

from actors.protocol.base import WIRE_NAME, WireObject

__all__ = [
    "NONE_TYPE",
    "Tags",
    "is_opaque",
    "is_wire_class",
    "needs_out_conversion",
    "needs_present",
    "tags_match",
    "tags_of",
    "type_label",
    "union_args",
    "without_none",
]

NONE_TYPE = type(None)
_MISSING = object()

#: A union member's tags: (wire key, accepted values, accepted when absent) per ``Literal`` field.
Tags = tuple[tuple[str, tuple[Any, ...], bool], ...]


def is_wire_class(tp: Any) -> TypeGuard[type[WireObject]]:
    """Whether ``tp`` is a WireObject subclass (a class the codec generates hooks for)."""
    return isinstance(tp, type) and issubclass(tp, WireObject)


def union_args(tp: Any) -> tuple[Any, ...] | None:
    """The members of ``tp`` if it is a union (``X | Y``, ``Optional[X]``), else None."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return typing.get_args(tp)
    return None


def without_none(tp: Any) -> Any:
    """``tp`` minus ``None`` (``X | None`` -> ``X``; ``X | Y | None`` -> ``X | Y``)."""
    args = union_args(tp)
    if args is None:
        return tp
    members = [a for a in args if a is not NONE_TYPE]
    return members[0] if len(members) == 1 else typing.Union[tuple(members)]  # noqa: UP007


def is_opaque(tp: Any) -> bool:
    """Whether values of ``tp`` pass through unchecked and unconverted (``Any``, ``object``)."""
    return tp is Any or tp is object


def needs_out_conversion(tp: Any) -> bool:
    """Whether encoding a value of static type ``tp`` needs more than the value itself."""
    if tp in (str, bool, float, Any, object, None, NONE_TYPE):
        return False
    return typing.get_origin(tp) is not typing.Literal


def type_label(tp: Any) -> str:
    """A short name of a field type for messages: ``ThinkSettingsV1``, ``list[SpeakSettingsV1]``."""
    if isinstance(tp, type):
        return tp.__name__
    args = typing.get_args(tp)
    if typing.get_origin(tp) is list and args:
        return f"list[{type_label(args[0])}]"
    return repr(tp)


def _literal_fields(tp: Any) -> list[tuple[str, tuple[Any, ...], Any]]:
    """(wire key, accepted values, declared default) of each ``Literal`` field of WireObject class ``tp``."""
    if not is_wire_class(tp):
        return []
    hints = typing.get_type_hints(tp)
    found = []
    for field in attrs.fields(typing.cast(Any, tp)):
        hint = hints.get(field.name)
        allowed = [hint] if typing.get_origin(hint) is typing.Literal else list(union_args(hint) or ())
        literals = [a for a in allowed if typing.get_origin(a) is typing.Literal]
        if literals:
            values = tuple(v for a in literals for v in typing.get_args(a))
            found.append((field.metadata.get(WIRE_NAME) or field.name, values, field.default))
    return found


def tags_of(tp: Any) -> Tags:
    """The ``Literal`` fields of WireObject class ``tp`` as union-member tags (none for other types)."""
    return tuple((key, values, default is not attrs.NOTHING) for key, values, default in _literal_fields(tp))


def needs_present(members: list[Any]) -> list[tuple[str, ...]]:
    """Per union member, the tag keys it must find in the value to be tried at all.

    A tag a member defaults to a value (``version: Literal["v2"] = "v2"``) while another member
    of the union reads its absence as its own (``version: Literal["v1"] | None = None``): an
    object without that key is the other member's, so when that member refuses it, the error
    is reported instead of the object passing as this member (a V1 speak provider with a
    wrong-typed ``speed`` is not a V2 one with an unknown ``speed``).
    """
    defaults = [{key: default for key, _, default in _literal_fields(m)} for m in members]
    absent_is_none = {key for d in defaults for key, value in d.items() if value is None}
    return [
        tuple(k for k, value in d.items() if k in absent_is_none and value not in (None, attrs.NOTHING))
        for d in defaults
    ]


def tags_match(tags: Tags, value: Any) -> bool:
    """Whether ``value`` carries the tags of a member (so that member's error is the one to report)."""
    if not tags:
        return True
    if type(value) is not dict:
        return False
    for key, values, optional in tags:
        given = value.get(key, _MISSING)
        if given is _MISSING or given is None:
            if not optional:
                return False
        elif given not in values or type(given) is bool:
            return False
    return True
