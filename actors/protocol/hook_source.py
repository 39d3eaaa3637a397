"""The hook generator: Python source of one WireObject class's structure/unstructure hook.

A hook is a plain function generated once per class and converter (with ``exec``, from the attrs
field types only, never from received data) and specialised for JSON data: keys looked up with
orjson's own key objects, scalar types checked inline, nested WireObject classes inlined where
their converter hook is a generated one. That is what makes decoding several times faster than a
generic converter. :mod:`actors.protocol.wire_hooks` registers the hooks on a cattrs converter;
this module only writes and compiles them, asking a :class:`HookLookup` (the converter's hooks)
for what a nested type needs.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any, Protocol

import attrs
import orjson

from actors.errors import FieldError
from actors.protocol import wire_checks as checks
from actors.protocol.base import UNKNOWN_FIELDS_SLOT, WIRE_NAME
from actors.protocol.wire_checks import SCALARS
from actors.protocol.wire_types import (
    NONE_TYPE,
    is_opaque,
    is_wire_class,
    needs_out_conversion,
    union_args,
    without_none,
)

__all__ = ["GENERATED_FOR", "HookLookup", "HookSource", "compile_function", "generated_class"]

_MISSING = object()

#: Attribute set on every generated structure hook (value: its class), so callers can tell a
#: generated hook (callable with the data alone) from a user's cattrs hook (``hook(data, type)``).
GENERATED_FOR = "__actors_wire_class__"


def generated_class(hook: Any) -> type | None:
    """The class ``hook`` was generated for, or None if it is not a generated structure hook."""
    found: type | None = getattr(hook, GENERATED_FOR, None)
    return found


class HookLookup(Protocol):
    """What the generator asks about nested types: a converter's hooks (``WireHooks``)."""

    def nested_structure_hook(self, cls: type) -> Callable[..., Any]:
        """The converter's structure hook for WireObject class ``cls``."""

    def nested_unstructure_hook(self, cls: type) -> Callable[[Any], Any]:
        """The converter's unstructure hook for WireObject class ``cls``."""

    def converter_for(self, tp: Any) -> Callable[[Any], Any]:
        """A one-argument function converting a JSON value to ``tp`` (raising FieldError)."""

    def union_converter(self, members: list[Any]) -> Callable[[Any], Any]:
        """A one-argument function converting a JSON value to one of ``members``."""

    def unstructure_value(self, value: Any) -> Any:
        """Unstructure a value whose static type is a union."""


_HELPERS: dict[str, Any] = {
    "_bad": checks.bad,
    "_missing": checks.missing,
    "_set_checked": checks.set_checked,
    "FieldError": FieldError,
    "_conv_str": checks.conv_str,
    "_conv_bool": checks.conv_bool,
    "_conv_int": checks.conv_int,
    "_conv_float": checks.conv_float,
    "_fail_object": checks.fail_object,
    "_out_int": checks.out_int,
    "_MISSING": _MISSING,
    "NEW": object.__new__,
    # Builtins as closure variables: read faster than globals in the generated code.
    "type": type,
    "len": len,
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "dict": dict,
    "list": list,
}


#: How many levels of nested WireObject classes a generated hook inlines.
_INLINE_DEPTH = 3
#: Optional fields handled as nested ``if`` blocks (beyond: one flat ``if`` each, bounding nesting).
_NESTED_OPTIONALS = 8


def _wire_key(name: str) -> str:
    """``name`` as the very str object orjson returns for that object key, when orjson caches it.

    orjson reuses one str object per (short) key across parses. Looking keys up with that same
    object lets the dict match by identity instead of comparing characters, which halves the cost
    of each lookup. Purely a speed-up: if orjson ever returns another object, lookups still match
    by equality.
    """
    parsed = orjson.loads(orjson.dumps({name: 0}))
    key: str = next(iter(parsed))
    return key


def compile_function(lines: list[str], ns: dict[str, Any], name: str, label: str) -> Callable[..., Any]:
    """Compile ``lines`` (the body of function ``name``) as a closure over ``ns`` and return it.

    The names in ``ns`` become closure variables of the generated function, which are as fast to
    read as locals. The code is generated from attrs field types only, never from received data.
    """
    env = {**_HELPERS, **ns}
    params = ", ".join(env)
    body = "\n".join("    " + line for line in lines)
    source = f"def _make({params}):\n{body}\n    return {name}\n"
    scope: dict[str, Any] = {}
    exec(compile(source, f"<actors codec: {label}>", "exec"), scope)
    fn: Callable[..., Any] = scope["_make"](**env)
    return fn


class HookSource:
    """Writes the structure/unstructure source of one class; ``ns`` collects what the code uses.

    Structuring inlines the code of nested WireObject classes (single objects and list items) whose
    converter hook is a generated one, up to ``_INLINE_DEPTH`` levels: a Python call per nested
    object is the largest cost left once lookups and checks are minimal.
    """

    def __init__(self, hooks: HookLookup) -> None:
        self.hooks = hooks
        self.ns: dict[str, Any] = {}
        self._count = 0

    def bind(self, prefix: str, value: Any) -> str:
        """A fresh name under which the generated code sees ``value``."""
        self._count += 1
        name = f"{prefix}{self._count}"
        self.ns[name] = value
        return name

    def fresh(self) -> int:
        """A fresh suffix for the variables of one inlined object."""
        self._count += 1
        return self._count

    # --- structuring -----------------------------------------------------------------------------

    def _inlinable(self, tp: type, chain: tuple[type, ...]) -> bool:
        """Whether ``tp``'s code may be inlined here (its hook is a generated one, no recursion)."""
        if len(chain) > _INLINE_DEPTH or tp in chain:
            return False
        return generated_class(self.hooks.nested_structure_hook(tp)) is tp

    def nested_call(self, tp: type, arg: str) -> str:
        """An expression structuring ``arg`` as WireObject class ``tp`` via the converter's hook."""
        hook = self.hooks.nested_structure_hook(tp)
        fn = self.bind("S", hook)
        if generated_class(hook) is not None:
            return f"{fn}({arg})"
        return f"{fn}({arg}, {self.bind('T', tp)})"

    def element(self, tp: Any, var: str) -> str | None:
        """An expression converting ``var`` to ``tp`` (raising FieldError), None if it is as is."""
        if is_opaque(tp):
            return None
        if tp in SCALARS:
            name, conv = SCALARS[tp][:2]
            return f"{var} if type({var}) is {name} else {conv}({var})"
        if is_wire_class(tp):
            return self.nested_call(tp, var)
        fn = self.bind("E", self.hooks.converter_for(tp))
        return f"{fn}({var})"

    def structure(self, tp: Any, var: str, lines: list[str], ind: str, chain: tuple[type, ...]) -> None:
        """Append code that validates ``var`` as ``tp`` and rebinds it to the converted value."""
        if tp in SCALARS:
            name, conv = SCALARS[tp][:2]
            lines.append(f"{ind}if type({var}) is not {name}: {var} = {conv}({var})")
        elif is_opaque(tp):
            pass
        elif is_wire_class(tp):
            if self._inlinable(tp, chain):
                n = self.fresh()
                self.object_body(tp, var, f"o{n}", lines, ind, (*chain, tp))
                lines.append(f"{ind}{var} = o{n}")
            else:
                lines.append(f"{ind}{var} = {self.nested_call(tp, var)}")
        elif (args := union_args(tp)) is not None:
            if NONE_TYPE in args:
                lines.append(f"{ind}if {var} is not None:")
                self.structure(without_none(tp), var, lines, ind + "    ", chain)
            else:
                fn = self.bind("U", self.hooks.union_converter(list(args)))
                lines.append(f"{ind}{var} = {fn}({var})")
        elif typing.get_origin(tp) is typing.Literal:
            allowed = self.bind("L", typing.get_args(tp))
            lines.append(
                f"{ind}if {var} not in {allowed} or type({var}) is bool: "
                f"raise _bad('one of ' + repr({allowed}), {var})"
            )
        elif typing.get_origin(tp) is list:
            (elem,) = typing.get_args(tp) or (Any,)
            lines.append(f"{ind}if type({var}) is not list: raise _bad('a list', {var})")
            if is_wire_class(elem) and self._inlinable(elem, chain):
                n = self.fresh()
                item, built = f"i{n}", f"l{n}"
                lines.append(f"{ind}{built} = []")
                lines.append(f"{ind}for {item} in {var}:")
                self.object_body(elem, item, f"o{n}", lines, ind + "    ", (*chain, elem))
                lines.append(f"{ind}    {built}.append(o{n})")
                lines.append(f"{ind}{var} = {built}")
            elif elem in SCALARS:
                # Validate in a loop (no comprehension frame); convert only if an item needs it.
                name, conv = SCALARS[elem][:2]
                item = f"e{self.fresh()}"
                lines.append(f"{ind}for {item} in {var}:")
                lines.append(f"{ind}    if type({item}) is not {name}:")
                lines.append(f"{ind}        {var} = [{conv}(e) for e in {var}]")
                lines.append(f"{ind}        break")
                lines.append(f"{ind}else: {var} = {var}.copy()")
            elif (expr := self.element(elem, "e")) is not None:
                lines.append(f"{ind}{var} = [{expr} for e in {var}]")
        elif typing.get_origin(tp) is dict:
            _key, val = typing.get_args(tp) or (str, Any)
            lines.append(f"{ind}if type({var}) is not dict: raise _bad('an object', {var})")
            expr = self.element(val, "e")
            if expr is not None:
                lines.append(f"{ind}{var} = {{k: {expr} for k, e in {var}.items()}}")
        else:
            raise TypeError(f"the codec does not support the field type {tp!r}")

    def structure_function(self, cls: type) -> list[str]:
        """Source of ``structure(d, _type=None)`` for ``cls``."""
        s = [
            "def structure(d, _type=None):",
        ]
        self.object_body(cls, "d", "o", s, "    ", (cls,))
        s.append("    return o")
        return s

    def object_body(
        self, cls: type, d: str, o: str, lines: list[str], ind: str, chain: tuple[type, ...]
    ) -> None:
        """Append code building ``o`` (a ``cls``) from the dict ``d``.

        Required fields come first; ``x`` then counts the keys of ``d`` not yet accounted for, so
        as soon as it reaches 0 the remaining optional fields get their defaults without lookups
        and the unknown-field scan is skipped (its slot stays None). The optional fields form a
        chain of nested ``if x:`` blocks (flat, one ``if`` each, past ``_NESTED_OPTIONALS``).
        """
        n = self.fresh()
        v, x = f"v{n}", f"x{n}"
        hints = typing.get_type_hints(cls)
        fields = [f for f in attrs.fields(cls) if f.name != UNKNOWN_FIELDS_SLOT]
        wire = {f.name: f.metadata.get(WIRE_NAME) or f.name for f in fields}
        known = self.bind("K", frozenset(_wire_key(w) for w in wire.values()))
        kv = {name: self.bind("k", _wire_key(w)) for name, w in wire.items()}
        required = [f for f in fields if f.default is attrs.NOTHING]
        optional = [f for f in fields if f.default is not attrs.NOTHING]
        defaults = {f.name: self._default(f) for f in optional}
        if not required:
            lines.append(f"{ind}if type({d}) is not dict: _fail_object({d})")
        lines.append(f"{ind}{o} = NEW({self.bind('C', cls)})")
        for i, f in enumerate(required):
            key = wire[f.name]
            lines.append(f"{ind}try:")
            lines.append(f"{ind}    {v} = {d}[{kv[f.name]}]")
            self.structure(hints[f.name], v, lines, ind + "    ", chain)
            lines.append(f"{ind}except KeyError: raise _missing({key!r}) from None")
            if i == 0:
                # No upfront ``type(d) is dict`` test: indexing anything but a mapping raises this.
                lines.append(f"{ind}except TypeError:")
                lines.append(f"{ind}    if type({d}) is not dict: _fail_object({d})")
                lines.append(f"{ind}    raise")
            lines.append(f"{ind}except FieldError as e: e.path.insert(0, {key!r}); raise")
            lines.append(f"{ind}{self._assign(o, f, v, key)}")
        lines.append(f"{ind}{x} = len({d}) - {len(required)}")
        scan = f"{o}.{UNKNOWN_FIELDS_SLOT} = ({{k: u for k, u in {d}.items() if k not in {known}}} or None)"
        level = ind
        for i, f in enumerate(optional):
            key = wire[f.name]
            nested = i < _NESTED_OPTIONALS
            if nested:
                lines.append(f"{level}if not {x}:")
                lines.extend(
                    f"{level}    {self._assign(o, rest, defaults[rest.name], wire[rest.name])}"
                    for rest in optional[i:]
                )
                lines.append(f"{level}    {o}.{UNKNOWN_FIELDS_SLOT} = None")
                lines.append(f"{level}else:")
                level += "    "
            if f.default is None:
                get = f"{d}.get({kv[f.name]})" + ("" if nested else f" if {x} else None")
                lines.append(f"{level}{v} = {get}")
                lines.append(f"{level}if {v} is not None:")
                tp = without_none(hints[f.name])
            else:
                get = f"{d}.get({kv[f.name]}, _MISSING)" + ("" if nested else f" if {x} else _MISSING")
                lines.append(f"{level}{v} = {get}")
                lines.append(f"{level}if {v} is _MISSING: {v} = {defaults[f.name]}")
                lines.append(f"{level}else:")
                tp = hints[f.name]
            lines.append(f"{level}    {x} -= 1")
            lines.append(f"{level}    try:")
            body_start = len(lines)
            self.structure(tp, v, lines, level + "        ", chain)
            if len(lines) == body_start:
                lines.append(f"{level}        pass")
            lines.append(f"{level}    except FieldError as e: e.path.insert(0, {key!r}); raise")
            lines.append(f"{level}{self._assign(o, f, v, key)}")
        lines.append(f"{level}if {x}: {scan}")
        lines.append(f"{level}else: {o}.{UNKNOWN_FIELDS_SLOT} = None")

    @staticmethod
    def _assign(o: str, field: Any, expr: str, key: str) -> str:
        """The statement setting field ``field`` of ``o`` to ``expr``.

        Assigning runs the field's attrs validator (and converter), if it has one: that goes
        through :func:`actors.protocol.wire_checks.set_checked`, so a refusal is a FieldError at
        ``key`` like any other.
        """
        if field.validator is None and field.converter is None:
            return f"{o}.{field.name} = {expr}"
        return f"_set_checked({o}, {field.name!r}, {expr}, {key!r})"

    def _default(self, field: Any) -> str:
        if field.default is None:
            return "None"
        if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            return f"{self.bind('F', field.default.factory)}()"
        return self.bind("D", field.default)

    # --- unstructuring ---------------------------------------------------------------------------

    def unstructure_expr(self, tp: Any, expr: str) -> str:
        """An expression unstructuring ``expr`` (statically typed ``tp``) to JSON-ready data."""
        if not needs_out_conversion(tp):
            return expr
        if tp is int:
            return f"_out_int({expr})"
        if is_wire_class(tp):
            return f"{self.bind('W', self.hooks.nested_unstructure_hook(tp))}({expr})"
        if (args := union_args(tp)) is not None:
            members = [a for a in args if a is not NONE_TYPE]
            if len(members) == 1:
                return self.unstructure_expr(members[0], expr)
            if not any(needs_out_conversion(m) for m in members):
                return expr
            return f"{self.bind('DYN', self.hooks.unstructure_value)}({expr})"
        origin = typing.get_origin(tp)
        if origin is list:
            (elem,) = typing.get_args(tp) or (Any,)
            if not needs_out_conversion(elem):
                return expr
            return f"[{self.unstructure_expr(elem, 'e')} for e in {expr}]"
        if origin is dict:
            _key, val = typing.get_args(tp) or (str, Any)
            if not needs_out_conversion(val):
                return expr
            return f"{{k: {self.unstructure_expr(val, 'e')} for k, e in {expr}.items()}}"
        raise TypeError(f"the codec does not support the field type {tp!r}")

    def unstructure_function(self, cls: type) -> list[str]:
        """Source of ``unstructure(o)`` for ``cls``: ``type`` first, then fields in order."""
        hints = typing.get_type_hints(cls)
        fields = [f for f in attrs.fields(cls) if f.name != UNKNOWN_FIELDS_SLOT]
        fields.sort(key=lambda f: f.name != "type")
        u = ["def unstructure(o):"]
        # The leading run of always-present fields goes into one dict display.
        head = 0
        while head < len(fields) and fields[head].default is not None:
            head += 1
        items = []
        for f in fields[:head]:
            key = f.metadata.get(WIRE_NAME) or f.name
            items.append(f"{key!r}: {self.unstructure_expr(hints[f.name], 'o.' + f.name)}")
        u.append(f"    d = {{{', '.join(items)}}}")
        for f in fields[head:]:
            key = f.metadata.get(WIRE_NAME) or f.name
            out = self.unstructure_expr(hints[f.name], "v")
            u.append(f"    v = o.{f.name}")
            if f.default is None:
                u.append(f"    if v is not None: d[{key!r}] = {out}")
            else:
                u.append(f"    d[{key!r}] = {out}")
        u.append(f"    uf = o.{UNKNOWN_FIELDS_SLOT}")
        u.append("    if uf:")
        u.append("        for k, e in uf.items():")
        u.append("            if k not in d: d[k] = e")
        u.append("    return d")
        return u
