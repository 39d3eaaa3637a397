"""What ported deepgram-sdk code expects of a message object beyond its fields.

Two things, both off the decode hot path (``Codec.decode`` builds objects without ``__init__``):

* **Plain data in constructors.** Deepgram's SDK models are pydantic models, so
  ``AgentV1Settings(**settings_dict)`` turns nested dicts into typed objects. :func:`init_plan`
  gives, for a WireObject class, the fields whose type holds WireObject classes and a converter
  for each: a dict (or a list holding dicts) is structured into the typed object by the default
  converter's generated hooks (the same validation as decoding; typed objects inside the dict are kept by
  value); anything else passes through untouched. Bad data raises
  :class:`actors.errors.FieldError` naming the field path (``agent.think.provider.model: ...``).
* **pydantic-style dumps.** :func:`dump_python` is ``model_dump()`` (every field, None included,
  as pydantic's default); the SDK's ``dict()`` / ``json()`` / ``model_dump_json()`` are the wire
  form (``codec.to_dict``: unset optional fields omitted, unknown fields kept), see
  :class:`actors.protocol.base.WireObject`.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

import attrs

from actors.errors import ActorsError, FieldError
from actors.protocol.base import (
    UNKNOWN_FIELDS_SLOT,
    WIRE_NAME,
    UnknownMessage,
    WireObject,
    stored_unknown_fields,
)
from actors.protocol.wire_hooks import default_converter, default_hooks
from actors.protocol.wire_types import is_wire_class, union_args

__all__ = ["converting_init", "dump_python", "init_plan", "to_plain"]

#: One entry per field needing conversion: (init keyword, converter of a given value).
InitPlan = list[tuple[str, Callable[[Any], Any]]]


def _holds_wire_class(tp: Any) -> bool:
    """Whether the field type ``tp`` is, or contains, a WireObject class."""
    if is_wire_class(tp):
        return True
    args = union_args(tp)
    if args is None and typing.get_origin(tp) in (list, dict):
        args = typing.get_args(tp)
    return args is not None and any(_holds_wire_class(a) for a in args)


_SEQUENCES = (list, tuple)


def _holds_plain(value: Any) -> bool:
    """Whether ``value`` is a dict, or a list/tuple with a dict somewhere inside (not in typed objects)."""
    if type(value) is dict:
        return True
    if type(value) in _SEQUENCES:
        for item in value:
            if type(item) is dict or (type(item) in _SEQUENCES and _holds_plain(item)):
                return True
    return False


def to_plain(value: Any) -> Any:
    """``value`` as plain JSON data: typed objects at any depth become their wire dicts."""
    if isinstance(value, WireObject):
        return default_converter().unstructure(value)
    if type(value) is UnknownMessage:
        return dict(value.raw)
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    return value


def _field_converter(cls: type, name: str, tp: Any) -> Callable[[Any], Any]:
    """The converter of one constructor argument ``name`` of ``cls`` (declared type ``tp``)."""
    structure = default_hooks().converter_for(tp)

    def convert(value: Any) -> Any:
        if not _holds_plain(value):
            return value
        try:
            return structure(to_plain(value))
        except FieldError as e:
            raise FieldError(f"{e.problem} (constructing {cls.__name__})", [name, *e.path]) from None
        except (ActorsError, TypeError, ValueError) as e:  # a user's cattrs hook (validators give FieldError)
            raise FieldError(f"{e} (constructing {cls.__name__})", [name]) from None

    return convert


def init_plan(cls: type) -> InitPlan:
    """The constructor arguments of ``cls`` that accept plain data, with their converters."""
    hints = typing.get_type_hints(cls)
    plan: InitPlan = []
    for field in attrs.fields(cls):
        if field.name == UNKNOWN_FIELDS_SLOT or not _holds_wire_class(hints[field.name]):
            continue
        plan.append((field.alias or field.name, _field_converter(cls, field.name, hints[field.name])))
    return plan


def converting_init(cls: type, attrs_init: Callable[..., None], plan: InitPlan) -> Callable[..., None]:
    """A constructor for ``cls`` that converts the ``plan`` arguments, then calls ``attrs_init``.

    Generated with the same keyword-only signature and defaults as ``attrs_init`` (so a call
    costs one extra frame, no ``**kwargs`` packing); a value of any type other than dict, list or
    tuple reaches ``attrs_init`` untouched.
    """
    ns: dict[str, Any] = {"_attrs_init": attrs_init, "_type_of": type, "_plain": (dict, list, tuple)}
    params, passed = [], []
    for i, param in enumerate(inspect.signature(attrs_init).parameters.values()):
        if param.kind is not inspect.Parameter.KEYWORD_ONLY:
            continue
        if param.default is inspect.Parameter.empty:
            params.append(param.name)
        else:
            ns[f"_d{i}"] = param.default
            params.append(f"{param.name}=_d{i}")
        passed.append(f"{param.name}={param.name}")
    lines = [f"def __init__(self, *, {', '.join(params)}):"]
    for i, (name, convert) in enumerate(plan):
        ns[f"_c{i}"] = convert
        lines.append(f"    if _type_of({name}) in _plain: {name} = _c{i}({name})")
    lines.append(f"    _attrs_init(self, {', '.join(passed)})")
    source = "def _make({}):\n{}\n    return __init__\n".format(
        ", ".join(ns), "\n".join("    " + line for line in lines)
    )
    scope: dict[str, Any] = {}
    exec(compile(source, f"<actors init: {cls.__qualname__}>", "exec"), scope)
    init: Callable[..., None] = scope["_make"](**ns)
    init.__doc__ = attrs_init.__doc__
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__wrapped__ = attrs_init  # type: ignore[attr-defined]
    return init


def dump_python(obj: Any, by_alias: bool = False) -> Any:
    """pydantic's default ``model_dump()``: every field (None included), nested objects as dicts.

    Unknown fields come last, as pydantic's ``extra="allow"`` puts them. ``by_alias`` uses wire
    names for fields declared with ``wire_field(wire=...)`` (Python names otherwise).
    """
    if isinstance(obj, WireObject):
        out: dict[str, Any] = {}
        for field in attrs.fields(typing.cast(Any, type(obj))):
            if field.name == UNKNOWN_FIELDS_SLOT:
                continue
            key = (field.metadata.get(WIRE_NAME) or field.name) if by_alias else field.name
            out[key] = dump_python(getattr(obj, field.name), by_alias)
        for key, value in (stored_unknown_fields(obj) or {}).items():
            out.setdefault(key, dump_python(value, by_alias))
        return out
    if type(obj) is UnknownMessage:
        return dict(obj.raw)
    if isinstance(obj, dict):
        return {k: dump_python(v, by_alias) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [dump_python(v, by_alias) for v in obj]
    return obj
