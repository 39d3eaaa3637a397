"""The shared repr / == / hash of ``actors._lean_attrs`` behave as attrs' generated methods, and every
class that derives from them really uses them (declared ``repr=False, eq=False``)."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import attrs
import pytest

import actors
from actors._lean_attrs import LeanAttrs, LeanFrozen


def _fields() -> dict[str, Any]:
    return {
        "a": attrs.field(),
        "b": attrs.field(default="x"),
        "secret": attrs.field(default="k", repr=False),
        "loose": attrs.field(default=None, eq=lambda v: v or None),
        "ignored": attrs.field(default=0, eq=False),
        "shown": attrs.field(default=5, repr=lambda v: f"<{v}>"),
    }


def _pair(frozen: bool) -> tuple[type, type]:
    """The same fields declared twice: attrs' generated methods, and the lean base's."""
    generated = attrs.make_class("Generated", _fields(), frozen=frozen)
    base = LeanFrozen if frozen else LeanAttrs
    lean = attrs.make_class("Lean", _fields(), bases=(base,), frozen=frozen, repr=False, eq=False)
    return generated, lean


@pytest.mark.parametrize("frozen", [True, False])
def test_repr_and_equality_are_attrs_own(frozen: bool) -> None:
    generated, lean = _pair(frozen)
    for kwargs in ({"a": 1}, {"a": 2, "b": "y", "secret": "s", "loose": {}, "ignored": 3, "shown": 9}):
        ours, theirs = lean(**kwargs), generated(**kwargs)
        assert repr(ours).replace("Lean", "Generated") == repr(theirs)
        assert "secret" not in repr(ours) and "shown=<" in repr(ours)
    assert lean(a=1) == lean(a=1, loose={}, ignored=7)  # eq_key applied, eq=False field skipped
    assert generated(a=1) == generated(a=1, loose={}, ignored=7)
    assert lean(a=1) != lean(a=1, b="z") and lean(a=1) != lean(a=1, loose={"k": 1})
    assert lean(a=1).__eq__(generated(a=1)) is NotImplemented  # another class is never equal
    assert lean(a=1) != generated(a=1)


def test_frozen_hashes_by_value_and_mutable_is_unhashable() -> None:
    _, frozen = _pair(True)
    assert hash(frozen(a=1)) == hash(frozen(a=1, loose={}, ignored=4))
    assert len({frozen(a=1), frozen(a=1), frozen(a=2)}) == 2
    _, mutable = _pair(False)
    with pytest.raises(TypeError, match="unhashable"):
        hash(mutable(a=1))


def test_a_repr_that_reaches_itself_stops_as_attrs_does() -> None:
    _, lean = _pair(False)
    obj = lean(a=1)
    obj.b = obj  # type: ignore[assignment]
    assert repr(obj) == "Lean(a=1, b=..., loose=None, ignored=0, shown=<5>)"


def _package_classes() -> list[type]:
    for info in pkgutil.walk_packages(actors.__path__, "actors."):
        if info.name.endswith("__main__") or info.name.startswith(("actors.server", "actors.cluster")):
            continue  # the CLI entry point runs on import; the server and Ray parts are not needed here
        importlib.import_module(info.name)
    found: list[type] = []
    stack: list[type] = [LeanAttrs]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            if sub not in found:
                found.append(sub)
                stack.append(sub)
    return found


def test_every_lean_class_uses_the_shared_methods() -> None:
    classes = _package_classes()
    assert len(classes) > 60  # the protocol's messages and the runtime's events among them
    compiled: list[str] = []
    for cls in classes:
        for name in ("__repr__", "__eq__", "__hash__"):
            method: Any = cls.__dict__.get(name)
            code = getattr(method, "__code__", None)
            if code is not None and code.co_filename.startswith("<attrs generated"):
                compiled.append(f"{cls.__module__}.{cls.__qualname__}.{name}")
    assert not compiled, f"declare these with repr=False, eq=False: {compiled}"
