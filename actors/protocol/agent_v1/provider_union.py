"""Provider unions that can also be called, as Deepgram's SDK examples do.

In the protocol the provider families are typing unions (``V1 | V2 | Unknown``). Deepgram's reference
example writes ``AgentV1SettingsAgentListenProvider(type="deepgram", model="nova-3")``, which fails on a
union (and fails in deepgram-sdk 7.16 too). :func:`constructible_union` makes a name that builds the member
its ``type``/``version`` fields select, and that ``isinstance`` accepts for any member.
"""

from __future__ import annotations

from typing import Any

import attrs

from actors.errors import OptionsError
from actors.protocol.base import WireObject


def _tag_matches(member: type[WireObject], name: str, given: Any) -> bool:
    """Whether ``member`` accepts ``given`` for field ``name`` (absent -> the member's own default)."""
    field = attrs.fields_dict(member).get(name)  # type: ignore[arg-type]
    if field is None:
        return given is None
    if field.default is attrs.NOTHING:
        return True  # a free-form field (the unknown classes): anything goes
    if given is None:
        return True
    literal_values = getattr(field.type, "__args__", None)
    if isinstance(field.type, str) or literal_values is None:
        return bool(given == field.default)
    return given in _literal_values(field.type)


def _literal_values(annotation: Any) -> set[Any]:
    """Every literal value inside ``Literal[...]`` or ``Literal[...] | None``."""
    values: set[Any] = set()
    for arg in getattr(annotation, "__args__", ()):
        if arg is type(None):
            values.add(None)
        elif hasattr(arg, "__args__"):
            values |= _literal_values(arg)
        else:
            values.add(arg)
    return values


class _UnionMeta(type):
    """Metaclass of the callable unions: ``isinstance`` checks every member."""

    _members: tuple[type[WireObject], ...]

    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, cls._members)

    def __call__(cls, **fields: Any) -> WireObject:
        for member in cls._members:
            if _tag_matches(member, "type", fields.get("type")) and _tag_matches(
                member, "version", fields.get("version")
            ):
                known = {f.name for f in attrs.fields(member)}  # type: ignore[arg-type]
                kwargs = {k: v for k, v in fields.items() if k in known}
                extra = {k: v for k, v in fields.items() if k not in known}
                obj = member(**kwargs)
                obj.unknown_fields.update(extra)
                return obj
        raise OptionsError(
            cls.__name__, f"no provider matches type={fields.get('type')!r}", fields.get("type")
        )


def constructible_union(name: str, *members: type[WireObject]) -> type:
    """A class named ``name``: calling it builds the first member whose ``type``/``version`` match.

    Members are tried in order, so the family's unknown-provider class goes last.
    """
    return _UnionMeta(
        name, (), {"_members": members, "__doc__": f"Any of: {', '.join(m.__name__ for m in members)}."}
    )
