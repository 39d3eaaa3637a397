"""One shared ``__repr__``, ``__eq__`` and ``__hash__`` for the package's attrs classes.

attrs writes these methods as source text for every class and compiles it when the class is
created, which is most of the cost of declaring a class (about 0.5 ms for a frozen class of a few
fields; this package declares some sixty on the way to a first connection, so they were a large
part of its cold start). A class declared with ``repr=False, eq=False`` that derives from
:class:`LeanAttrs` (mutable) or :class:`LeanFrozen` (frozen) gets the same behaviour from these
shared methods, read from the class's ``__attrs_attrs__``, and nothing is compiled for them:

* ``repr``: ``ClassName(field=value, ...)``, exactly attrs' text, honouring each field's ``repr``
  (False hides it, a callable formats it) and guarding against recursion as attrs does;
* ``==``: only between instances of the same class (otherwise ``NotImplemented``), field by field
  in declaration order, over the fields with ``eq`` and through their ``eq_key``;
* ``hash`` (:class:`LeanFrozen` only): of the class and the same values, so equal objects hash
  alike; a :class:`LeanAttrs` object is unhashable, like attrs' mutable classes with ``eq``.

A test checks that every class deriving from them has none of the three generated.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import attrs

__all__ = ["LeanAttrs", "LeanFrozen", "attrs_repr"]

#: Per class: (name, eq_key or None) of the fields taking part in equality, worked out on first use.
_EQ_PLANS: dict[type, tuple[tuple[str, Callable[[Any], Any] | None], ...]] = {}

#: Ids of the objects whose repr is being built on this thread (recursion guard, as attrs').
_REPRING = threading.local()


def attrs_repr(obj: object) -> str:
    """``ClassName(field=value, ...)`` exactly as attrs' generated ``__repr__`` writes it."""
    working: set[int] | None = getattr(_REPRING, "ids", None)
    if working is None:
        working = _REPRING.ids = set()
    elif id(obj) in working:
        return "..."
    working.add(id(obj))
    try:
        parts = []
        for field in type(obj).__attrs_attrs__:  # type: ignore[attr-defined]
            shown = field.repr
            if shown is False:
                continue
            value = getattr(obj, field.name, attrs.NOTHING)
            text = repr(value) if shown is True else shown(value)
            parts.append(f"{field.name}={text}")
        name = type(obj).__qualname__.rsplit(">.", 1)[-1]
        return f"{name}({', '.join(parts)})"
    finally:
        working.discard(id(obj))


def _eq_plan(cls: type) -> tuple[tuple[str, Callable[[Any], Any] | None], ...]:
    plan = _EQ_PLANS.get(cls)
    if plan is None:
        plan = _EQ_PLANS[cls] = tuple((f.name, f.eq_key) for f in attrs.fields(cls) if f.eq)
    return plan


def _eq_values(obj: object) -> tuple[object, ...]:
    """The values ``==`` compares: each eq field's value, through its ``eq_key`` when it has one."""
    return tuple(
        getattr(obj, name) if key is None else key(getattr(obj, name)) for name, key in _eq_plan(type(obj))
    )


class LeanAttrs:
    """Base of a mutable attrs class declared with ``repr=False, eq=False``: attrs' repr and ``==``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return attrs_repr(self)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return _eq_values(self) == _eq_values(other)


class LeanFrozen(LeanAttrs):
    """Base of a frozen attrs class declared with ``repr=False, eq=False``: repr, ``==`` and ``hash``."""

    __slots__ = ()

    def __hash__(self) -> int:
        return hash((self.__class__, *_eq_values(self)))
