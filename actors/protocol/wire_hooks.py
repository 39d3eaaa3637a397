"""The codec's cattrs side: WireObject hooks registered on a cattrs converter, and the default one.

:func:`configure_converter` registers, on a ``cattrs.Converter``, a structure hook factory and an
unstructure hook factory for every :class:`~actors.protocol.base.WireObject` subclass; the hooks
they return are generated once per class and converter (:mod:`actors.protocol.hook_source`).
Nested types are resolved through the converter (``converter.get_structure_hook``), so a hook a
user registers for a WireObject class replaces the generated one, also where the class is nested
in another, as cattrs does; register it before the enclosing class's hook is first generated.

:func:`default_converter` is the process-wide converter (``cattrs.preconf.orjson``, configured so)
that every codec uses unless given another; :func:`make_converter` makes a private one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import cattrs
from cattrs.preconf.orjson import OrjsonConverter
from cattrs.preconf.orjson import make_converter as make_orjson_converter

from actors.errors import FieldError
from actors.protocol.base import UnknownMessage, WireObject
from actors.protocol.hook_source import GENERATED_FOR, HookSource, compile_function, generated_class
from actors.protocol.wire_checks import SCALARS, bad, conv_any, conv_none, refusal
from actors.protocol.wire_types import (
    NONE_TYPE,
    is_opaque,
    is_wire_class,
    needs_present,
    tags_match,
    tags_of,
    type_label,
)

__all__ = [
    "StructureHook",
    "UnstructureHook",
    "WireHooks",
    "configure_converter",
    "default_converter",
    "default_hooks",
    "make_converter",
]

StructureHook = Callable[..., Any]
UnstructureHook = Callable[[Any], Any]

#: Attribute set on a FieldError once a union has named the member it was reported for.
_MEMBER_NOTED = "_actors_member_noted"


class WireHooks:
    """The generated hooks of WireObject classes for one cattrs converter (see module docstring).

    :func:`configure_converter` registers :meth:`structure_hook` and :meth:`unstructure_hook` as
    the converter's hook factories for WireObject subclasses. Hooks are generated on first use
    and cached; generation is thread-safe. A generated structure hook is
    ``hook(data, type=None) -> cls`` and raises :class:`actors.errors.FieldError` naming the
    field path; a generated unstructure hook is ``hook(obj) -> dict`` ready for JSON.
    """

    def __init__(self, converter: cattrs.Converter) -> None:
        self.converter = converter
        self._structure: dict[type, StructureHook] = {}
        self._unstructure: dict[type, UnstructureHook] = {}
        self._pending: dict[tuple[str, type], Callable[..., Any]] = {}
        self._lock = threading.RLock()

    def structure_hook(self, cls: type) -> StructureHook:
        """The generated structure hook of ``cls`` (the factory the converter calls)."""
        found = self._structure.get(cls)
        if found is not None:
            return found
        with self._lock:
            found = self._structure.get(cls) or self._pending.get(("s", cls))
            if found is None:
                found = self._generate(cls, "s")
            return found

    def unstructure_hook(self, cls: type) -> UnstructureHook:
        """The generated unstructure hook of ``cls`` (the factory the converter calls)."""
        found = self._unstructure.get(cls)
        if found is not None:
            return found
        with self._lock:
            found = self._unstructure.get(cls) or self._pending.get(("u", cls))
            if found is None:
                found = self._generate(cls, "u")
            return found

    def nested_structure_hook(self, cls: type) -> StructureHook:
        """The converter's structure hook for ``cls`` (a user's hook if one is registered)."""
        return self.converter.get_structure_hook(cls, cache_result=False)

    def nested_unstructure_hook(self, cls: type) -> UnstructureHook:
        """The converter's unstructure hook for ``cls`` (a user's hook if one is registered)."""
        return self.converter.get_unstructure_hook(cls, cache_result=False)

    def unstructure_value(self, value: Any) -> Any:
        """Unstructure a value whose static type is a union: dispatch on its runtime type."""
        if isinstance(value, WireObject):
            return self.converter.unstructure(value)
        if isinstance(value, list | tuple):
            return [self.unstructure_value(x) for x in value]
        if isinstance(value, dict):
            return {k: self.unstructure_value(x) for k, x in value.items()}
        return value

    def converter_for(self, tp: Any) -> Callable[[Any], Any]:
        """A one-argument function converting a JSON value to ``tp`` (raising FieldError)."""
        if tp in SCALARS:
            convert: Callable[[Any], Any] = SCALARS[tp][2]
            return convert
        if is_opaque(tp):
            return conv_any
        if tp is None or tp is NONE_TYPE:
            return conv_none
        if is_wire_class(tp):
            hook = self.nested_structure_hook(tp)
            if generated_class(hook) is not None:
                return hook
            return lambda v: hook(v, tp)
        source = HookSource(self)
        lines = ["def conv(v):"]
        source.structure(tp, "v", lines, "    ", ())
        lines.append("    return v")
        return compile_function(lines, source.ns, "conv", repr(tp))

    def union_converter(self, members: list[Any]) -> Callable[[Any], Any]:
        """A function trying each member type in order; if none fits, the most telling error.

        That is the error of the member that got deepest into the value (longest field path)
        among the members whose tags match it (``Literal`` fields such as a provider's ``type``):
        ``provider.model: expected a string ... (as ThinkSettingsV1Provider_OpenAi)`` rather than
        "expected one of A | B | C". Failing that, a member's other refusal (a user's hook raising
        something else than a FieldError), as a FieldError; else a FieldError naming them all. So
        a union only ever raises FieldError. A member is not tried on an object lacking a tag that
        another member reads as absent (:func:`actors.protocol.wire_types.needs_present`). (A
        provider family's unknown class refuses a known ``type`` at its ``version`` field; the
        known member, tried first, wins the tie.)
        """
        convs = [self.converter_for(m) for m in members]
        names = " | ".join(getattr(m, "__name__", repr(m)) for m in members)
        labels = [type_label(m) for m in members]
        tags = [tags_of(m) for m in members]
        present = needs_present(members)

        def conv(v: Any) -> Any:
            best: FieldError | None = None
            best_label = ""
            other: FieldError | None = None
            for c, label, tag, needed in zip(convs, labels, tags, present, strict=True):
                if needed and type(v) is dict and any(k not in v for k in needed):
                    continue
                try:
                    return c(v)
                except FieldError as e:
                    if e.path and (best is None or len(e.path) > len(best.path)) and tags_match(tag, v):
                        best, best_label = e, label
                except Exception as e:  # a user's hook: this member does not fit either
                    if other is None:
                        other = refusal(e)
                        other.problem = f"{other.problem} (as {label})"
                        setattr(other, _MEMBER_NOTED, True)
            if best is None and other is not None:
                raise other
            if best is not None:
                if not getattr(best, _MEMBER_NOTED, False):  # the innermost union names its member
                    setattr(best, _MEMBER_NOTED, True)
                    best.problem = f"{best.problem} (as {best_label})"
                raise best
            raise bad(f"one of {names}", v)

        return conv

    def _generate(self, cls: type, kind: str) -> Callable[..., Any]:
        # A forwarding stub stands in while ``cls`` is generated, so self-referencing classes work;
        # it is only reachable by this thread (the lock is held) and resolves at call time.
        table: dict[type, Any] = self._structure if kind == "s" else self._unstructure
        self._pending[(kind, cls)] = lambda *args: table[cls](*args)
        try:
            source = HookSource(self)
            if kind == "s":
                fn = compile_function(
                    source.structure_function(cls), source.ns, "structure", cls.__qualname__
                )
                setattr(fn, GENERATED_FOR, cls)
            else:
                fn = compile_function(
                    source.unstructure_function(cls), source.ns, "unstructure", cls.__qualname__
                )
            table[cls] = fn
            return fn
        finally:
            del self._pending[(kind, cls)]


def configure_converter(converter: cattrs.Converter) -> WireHooks:
    """Register the WireObject hook factories (and the UnknownMessage hook) in ``converter``.

    Returns the :class:`WireHooks` now serving ``converter``. Hooks registered in ``converter``
    afterwards for WireObject classes take precedence, as usual in cattrs; register them before
    the codec using the converter first decodes or encodes the classes concerned.
    """
    hooks = WireHooks(converter)
    converter.register_structure_hook_factory(is_wire_class, hooks.structure_hook)
    converter.register_unstructure_hook_factory(is_wire_class, hooks.unstructure_hook)
    converter.register_unstructure_hook(UnknownMessage, lambda m: dict(m.raw))
    return hooks


def make_converter(**kwargs: Any) -> OrjsonConverter:
    """A new cattrs converter (``cattrs.preconf.orjson``) configured by :func:`configure_converter`.

    ``kwargs`` go to ``cattrs.preconf.orjson.make_converter``. Register hooks for your own types
    on it as with any cattrs converter; pass it to ``Codec(..., converter=...)``.
    """
    converter = make_orjson_converter(**kwargs)
    configure_converter(converter)
    return converter


_DEFAULT = make_orjson_converter()
_DEFAULT_HOOKS = configure_converter(_DEFAULT)


def default_converter() -> OrjsonConverter:
    """The process-wide converter shared by every codec created without ``converter=``.

    Do not override WireObject hooks in it (every API's codecs share it); hooks for your own
    types are fine. For other WireObject hooks, use :func:`make_converter`.
    """
    return _DEFAULT


def default_hooks() -> WireHooks:
    """The :class:`WireHooks` of :func:`default_converter` (e.g. ``converter_for`` a field type)."""
    return _DEFAULT_HOOKS
