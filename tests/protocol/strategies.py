"""Hypothesis strategies generated from attrs field types: ``message_strategy(cls)`` builds valid
instances of any WireObject/Message class (nested objects, optional fields, unknown fields).

Reusable for every API's classes; values stay JSON-representable (64-bit ints, finite floats,
no lone surrogates) so encode -> decode must be the identity.
"""

from __future__ import annotations

import functools
import types
import typing
from typing import Any, cast

import attrs
from hypothesis import strategies as st

from actors.protocol.base import WIRE_NAME, Message, WireObject

__all__ = ["json_values", "message_strategy", "strategy_for_type"]

_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
_ints = st.integers(min_value=-(2**53), max_value=2**53)
_floats = st.floats(allow_nan=False, allow_infinity=False)

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | _ints | _floats | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=6,
)
"""Any JSON value (small)."""


def strategy_for_type(tp: Any) -> st.SearchStrategy[Any]:
    """A strategy for values of the (resolved) field type ``tp``."""
    if tp is str:
        return _text
    if tp is bool:
        return st.booleans()
    if tp is int:
        return _ints
    if tp is float:
        return _floats
    if tp is Any or tp is object:
        return json_values
    if tp is None or tp is type(None):
        return st.none()
    if isinstance(tp, type) and issubclass(tp, WireObject):
        return st.deferred(lambda: message_strategy(tp))
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return st.one_of([strategy_for_type(a) for a in typing.get_args(tp)])
    if origin is typing.Literal:
        return st.sampled_from(typing.get_args(tp))
    if origin is list:
        (elem,) = typing.get_args(tp) or (Any,)
        return st.lists(strategy_for_type(elem), max_size=3)
    if origin is dict:
        _key, val = typing.get_args(tp) or (str, Any)
        return st.dictionaries(_text, strategy_for_type(val), max_size=3)
    raise TypeError(f"no strategy for {tp!r}")


def message_strategy(cls: type[WireObject]) -> st.SearchStrategy[Any]:
    """Instances of ``cls`` with every field generated from its type, plus unknown fields."""
    return _message_strategy(cast(Any, cls))


@functools.cache
def _message_strategy(cls: Any) -> st.SearchStrategy[Any]:
    hints = typing.get_type_hints(cls)
    fields = [f for f in attrs.fields(cls) if f.alias != "unknown_fields"]
    known = {f.metadata.get(WIRE_NAME) or f.name for f in fields}
    kwargs: dict[str, st.SearchStrategy[Any]] = {}
    for field in fields:
        if field.name == "type" and issubclass(cls, Message):
            kwargs[field.alias] = st.just(cls.wire_type())
        else:
            kwargs[field.alias] = strategy_for_type(hints[field.name])
    unknown_keys = _text.map(lambda s: "x_" + s).filter(lambda k: k not in known)
    kwargs["unknown_fields"] = st.dictionaries(unknown_keys, json_values, max_size=2)
    return st.builds(cls, **kwargs)
