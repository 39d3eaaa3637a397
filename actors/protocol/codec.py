"""The codec: JSON text frames <-> typed wire messages, built on one cattrs converter.

**Framework.** Every :class:`Codec` works through a ``cattrs.Converter``, ``codec.converter``: by
default the process-wide :func:`default_converter`, or one the caller passes (made with
:func:`make_converter`, an orjson-preconfigured cattrs converter). :func:`make_converter` registers
a structure hook factory and an unstructure hook factory for every :class:`WireObject` subclass.
The hooks they return are plain Python functions generated once per class and converter (with
``exec``, from the attrs field types only): cattrs' own design (generated hooks), specialised for
JSON data, which is what makes decoding several times faster than a generic converter. So

* ``codec.converter.structure(d, ListenV1Results)`` equals ``codec.from_dict(d)`` and raises
  :class:`actors.errors.FieldError` (a ``ProtocolError``) naming the field path for bad data;
* ``codec.converter.unstructure(msg)`` equals ``codec.to_dict(msg)`` (``UnknownMessage`` too);
* ``codec.converter.structure(d, codec.message_type)`` is the codec's tag dispatch: each codec
  registers, for the union of its classes, a hook choosing the class by the ``type`` field, with an
  :class:`UnknownMessage` for an unknown tag;
* users register their own cattrs hooks for their own types as usual. A hook registered for a
  WireObject class in a converter (before the codec using that converter is created) replaces the
  generated one, also where the class is nested in another: nested hooks are looked up in the
  converter when the enclosing class's hook is generated, as cattrs does.

The hot path ``codec.decode(frame)`` calls the hook looked up once per tag, without per-call
dispatch. Supported field types: ``str``, ``int``, ``float``, ``bool``, ``Any``, ``Literal[...]``,
``X | None``, ``list[X]``, ``dict[str, X]``, WireObject subclasses and unions of those (members
tried in declaration order; a ``bool`` never passes as an ``int``). Scalar field types are checked
inline by the generated code (hooks registered for ``str``/``int``/... do not apply to them).

Decoding never raises: a malformed frame becomes :class:`DecodeError`, an unknown ``type`` an
:class:`UnknownMessage`. Encoding omits optional fields that are ``None``, writes whole floats as
ints where the field is an ``int``, and re-emits ``unknown_fields``.
"""

from __future__ import annotations

import threading
import types
import typing
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NoReturn

import attrs
import orjson

from actors.errors import ActorsError, FieldError, OptionsError, ProtocolError
from actors.protocol.base import (
    UNKNOWN_FIELDS_SLOT,
    WIRE_NAME,
    DecodeError,
    Message,
    UnknownMessage,
    WireObject,
)

if TYPE_CHECKING:
    # cattrs is imported when a converter is first made (not to decode or encode): cold start.
    import cattrs
    from cattrs.preconf.orjson import OrjsonConverter

__all__ = [
    "Codec",
    "WireHooks",
    "configure_converter",
    "default_converter",
    "from_dict",
    "make_converter",
    "structure",
    "to_dict",
    "unstructure",
]

Decoded = Message | UnknownMessage | DecodeError
StructureHook = Callable[..., Any]
UnstructureHook = Callable[[Any], Any]

_NoneType = type(None)
_MISSING = object()

#: Attribute set on every generated structure hook (value: its class), so callers can tell a
#: generated hook (callable with the data alone) from a user's cattrs hook (``hook(data, type)``).
_GENERATED = "__actors_wire_class__"


def _type_label(tp: Any) -> str:
    """A short name of a field type for messages: ``ThinkSettingsV1``, ``list[SpeakSettingsV1]``."""
    if isinstance(tp, type):
        return tp.__name__
    args = typing.get_args(tp)
    if typing.get_origin(tp) is list and args:
        return f"list[{_type_label(args[0])}]"
    return repr(tp)


#: A union member's tags: (wire key, accepted values, accepted when absent) per ``Literal`` field.
_Tags = tuple[tuple[str, tuple[Any, ...], bool], ...]


def _tags_of(tp: Any) -> _Tags:
    """The ``Literal`` fields of WireObject class ``tp`` (none for other types)."""
    if not _is_wire_class(tp):
        return ()
    hints = typing.get_type_hints(tp)
    found = []
    for field in attrs.fields(typing.cast(Any, tp)):
        hint = hints.get(field.name)
        allowed = [hint] if typing.get_origin(hint) is typing.Literal else list(_union_args(hint) or ())
        values = tuple(
            v for a in allowed if typing.get_origin(a) is typing.Literal for v in typing.get_args(a)
        )
        if values:
            key = field.metadata.get(WIRE_NAME) or field.name
            found.append((key, values, field.default is not attrs.NOTHING))
    return tuple(found)


def _tag_defaults(tp: Any) -> dict[str, Any]:
    """Wire key -> declared default (``attrs.NOTHING`` if required) of each ``Literal`` field of ``tp``."""
    if not _is_wire_class(tp):
        return {}
    hints = typing.get_type_hints(tp)
    found: dict[str, Any] = {}
    for field in attrs.fields(typing.cast(Any, tp)):
        hint = hints.get(field.name)
        allowed = [hint] if typing.get_origin(hint) is typing.Literal else list(_union_args(hint) or ())
        if any(typing.get_origin(a) is typing.Literal for a in allowed):
            found[field.metadata.get(WIRE_NAME) or field.name] = field.default
    return found


def _needs_present(members: list[Any]) -> list[tuple[str, ...]]:
    """Per member, the tag keys it must find in the value to be tried at all.

    A tag a member defaults to a value (``version: Literal["v2"] = "v2"``) while another member
    of the union reads its absence as its own (``version: Literal["v1"] | None = None``): an
    object without that key is the other member's, so when that member refuses it, the error
    is reported instead of the object passing as this member (a V1 speak provider with a
    wrong-typed ``speed`` is not a V2 one with an unknown ``speed``).
    """
    defaults = [_tag_defaults(m) for m in members]
    absent_is_none = {key for d in defaults for key, value in d.items() if value is None}
    return [
        tuple(k for k, value in d.items() if k in absent_is_none and value not in (None, attrs.NOTHING))
        for d in defaults
    ]


def _tags_match(tags: _Tags, value: Any) -> bool:
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


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:60] + "..."
    return f"{type(value).__name__} {text}"


def _bad(expected: str, value: Any) -> FieldError:
    return FieldError(f"expected {expected}, got {_describe(value)}")


#: Attribute set on a FieldError once a union has named the member it was reported for.
_MEMBER_NOTED = "_actors_member_noted"


def _missing(name: str) -> FieldError:
    return FieldError("required field is missing", [name])


def _refusal(error: Exception) -> FieldError:
    """A FieldError (no path yet) for a non-FieldError ``error`` refusing a value.

    Raised by an attrs validator (the provider families' unknown classes refuse a ``type`` they
    model with an OptionsError) or by a user's cattrs hook inside a union.
    """
    if isinstance(error, OptionsError):
        return FieldError(str(error).removeprefix(f"{error.name}: "))
    if isinstance(error, ActorsError):
        return FieldError(str(error))
    return FieldError(f"{type(error).__name__}: {error}")


def _set_checked(obj: Any, name: str, value: Any, key: str) -> None:
    """``obj.name = value`` for a field with an attrs validator: a refusal is a FieldError at ``key``."""
    try:
        setattr(obj, name, value)
    except FieldError as e:
        e.path.insert(0, key)
        raise
    except Exception as e:
        refused = _refusal(e)
        refused.path.insert(0, key)
        raise refused from None


# --- scalar converters (raise FieldError; also used inline by generated code) -------------------


def _conv_str(v: Any) -> str:
    if type(v) is not str:
        raise _bad("a string", v)
    return v


def _conv_bool(v: Any) -> bool:
    if type(v) is not bool:
        raise _bad("a boolean", v)
    return v


def _conv_int(v: Any) -> int:
    if type(v) is int:
        return v
    if type(v) is float and v.is_integer():
        return int(v)
    raise _bad("an integer", v)


def _conv_float(v: Any) -> float:
    if type(v) is float:
        return v
    if type(v) is int:
        return float(v)
    raise _bad("a number", v)


def _conv_any(v: Any) -> Any:
    return v


def _conv_none(v: Any) -> None:
    if v is not None:
        raise _bad("null", v)
    return None


def _fail_object(v: Any) -> NoReturn:
    raise _bad("an object", v)


def _out_int(v: Any) -> Any:
    if type(v) is int:
        return v
    if type(v) is float and v.is_integer():
        return int(v)
    if isinstance(v, int) and not isinstance(v, bool):
        return int(v)
    raise ProtocolError(f"expected an integer, got {_describe(v)}")


#: Scalar field types checked inline: ``type(v) is T`` is the fast test, the function converts or
#: raises otherwise (ints are accepted as floats, whole floats as ints).
_SCALARS: dict[Any, tuple[str, str]] = {
    str: ("str", "_conv_str"),
    bool: ("bool", "_conv_bool"),
    int: ("int", "_conv_int"),
    float: ("float", "_conv_float"),
}

_HELPERS: dict[str, Any] = {
    "_bad": _bad,
    "_missing": _missing,
    "_set_checked": _set_checked,
    "FieldError": FieldError,
    "_conv_str": _conv_str,
    "_conv_bool": _conv_bool,
    "_conv_int": _conv_int,
    "_conv_float": _conv_float,
    "_fail_object": _fail_object,
    "_out_int": _out_int,
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


def _is_wire_class(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, WireObject)


def _union_args(tp: Any) -> tuple[Any, ...] | None:
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return typing.get_args(tp)
    return None


def _without_none(tp: Any) -> Any:
    """``tp`` minus ``None`` (``X | None`` -> ``X``; ``X | Y | None`` -> ``X | Y``)."""
    args = _union_args(tp)
    if args is None:
        return tp
    members = [a for a in args if a is not _NoneType]
    return members[0] if len(members) == 1 else typing.Union[tuple(members)]  # noqa: UP007


def _is_opaque(tp: Any) -> bool:
    return tp is Any or tp is object


def _needs_out_conversion(tp: Any) -> bool:
    if tp in (str, bool, float, Any, object, None, _NoneType):
        return False
    return typing.get_origin(tp) is not typing.Literal


def _compile(lines: list[str], ns: dict[str, Any], name: str, label: str) -> Callable[..., Any]:
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


class _Generator:
    """Writes the structure/unstructure source of one class; ``ns`` collects what the code uses.

    Structuring inlines the code of nested WireObject classes (single objects and list items) whose
    converter hook is a generated one, up to ``_INLINE_DEPTH`` levels: a Python call per nested
    object is the largest cost left once lookups and checks are minimal.
    """

    def __init__(self, hooks: WireHooks) -> None:
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
        return getattr(self.hooks.nested_structure_hook(tp), _GENERATED, None) is tp

    def nested_call(self, tp: type, arg: str) -> str:
        """An expression structuring ``arg`` as WireObject class ``tp`` via the converter's hook."""
        hook = self.hooks.nested_structure_hook(tp)
        fn = self.bind("S", hook)
        if getattr(hook, _GENERATED, None) is not None:
            return f"{fn}({arg})"
        return f"{fn}({arg}, {self.bind('T', tp)})"

    def element(self, tp: Any, var: str) -> str | None:
        """An expression converting ``var`` to ``tp`` (raising FieldError), None if it is as is."""
        if _is_opaque(tp):
            return None
        if tp in _SCALARS:
            name, conv = _SCALARS[tp]
            return f"{var} if type({var}) is {name} else {conv}({var})"
        if _is_wire_class(tp):
            return self.nested_call(tp, var)
        fn = self.bind("E", self.hooks.converter_for(tp))
        return f"{fn}({var})"

    def structure(self, tp: Any, var: str, lines: list[str], ind: str, chain: tuple[type, ...]) -> None:
        """Append code that validates ``var`` as ``tp`` and rebinds it to the converted value."""
        if tp in _SCALARS:
            name, conv = _SCALARS[tp]
            lines.append(f"{ind}if type({var}) is not {name}: {var} = {conv}({var})")
        elif _is_opaque(tp):
            pass
        elif _is_wire_class(tp):
            if self._inlinable(tp, chain):
                n = self.fresh()
                self.object_body(tp, var, f"o{n}", lines, ind, (*chain, tp))
                lines.append(f"{ind}{var} = o{n}")
            else:
                lines.append(f"{ind}{var} = {self.nested_call(tp, var)}")
        elif (args := _union_args(tp)) is not None:
            if _NoneType in args:
                lines.append(f"{ind}if {var} is not None:")
                self.structure(_without_none(tp), var, lines, ind + "    ", chain)
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
            if _is_wire_class(elem) and self._inlinable(elem, chain):
                n = self.fresh()
                item, built = f"i{n}", f"l{n}"
                lines.append(f"{ind}{built} = []")
                lines.append(f"{ind}for {item} in {var}:")
                self.object_body(elem, item, f"o{n}", lines, ind + "    ", (*chain, elem))
                lines.append(f"{ind}    {built}.append(o{n})")
                lines.append(f"{ind}{var} = {built}")
            elif elem in _SCALARS:
                # Validate in a loop (no comprehension frame); convert only if an item needs it.
                name, conv = _SCALARS[elem]
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
                tp = _without_none(hints[f.name])
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
        through :func:`_set_checked`, so a refusal is a FieldError at ``key`` like any other.
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
        if not _needs_out_conversion(tp):
            return expr
        if tp is int:
            return f"_out_int({expr})"
        if _is_wire_class(tp):
            return f"{self.bind('W', self.hooks.nested_unstructure_hook(tp))}({expr})"
        if (args := _union_args(tp)) is not None:
            members = [a for a in args if a is not _NoneType]
            if len(members) == 1:
                return self.unstructure_expr(members[0], expr)
            if not any(_needs_out_conversion(m) for m in members):
                return expr
            return f"{self.bind('DYN', self.hooks.unstructure_value)}({expr})"
        origin = typing.get_origin(tp)
        if origin is list:
            (elem,) = typing.get_args(tp) or (Any,)
            if not _needs_out_conversion(elem):
                return expr
            return f"[{self.unstructure_expr(elem, 'e')} for e in {expr}]"
        if origin is dict:
            _key, val = typing.get_args(tp) or (str, Any)
            if not _needs_out_conversion(val):
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


class WireHooks:
    """The generated cattrs hooks of WireObject classes for one converter (see module docstring).

    :func:`make_converter` creates one per converter and registers :meth:`structure_hook` and
    :meth:`unstructure_hook` as the converter's hook factories for WireObject subclasses. Hooks
    are generated on first use and cached; generation is thread-safe.

    ``converter=None`` is the process-wide default set (shared by every codec without a private
    converter, and registered in :func:`default_converter` once that is made): nested classes are
    resolved among its own generated hooks, so decoding and encoding never need cattrs.
    """

    def __init__(self, converter: cattrs.Converter | None = None) -> None:
        self.converter = converter
        self._structure: dict[type, StructureHook] = {}
        self._unstructure: dict[type, UnstructureHook] = {}
        self._pending: dict[tuple[str, type], Callable[..., Any]] = {}
        self._lock = threading.RLock()

    def structure_hook(self, cls: type) -> StructureHook:
        """The generated structure hook of ``cls``: ``hook(data, type=None) -> cls`` (FieldError)."""
        found = self._structure.get(cls)
        if found is not None:
            return found
        with self._lock:
            found = self._structure.get(cls) or self._pending.get(("s", cls))
            if found is None:
                found = self._generate(cls, "s")
            return found

    def unstructure_hook(self, cls: type) -> UnstructureHook:
        """The generated unstructure hook of ``cls``: ``hook(obj) -> dict`` ready for JSON."""
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
        if self.converter is None:
            return self.structure_hook(cls)
        return self.converter.get_structure_hook(cls, cache_result=False)

    def nested_unstructure_hook(self, cls: type) -> UnstructureHook:
        """The converter's unstructure hook for ``cls`` (a user's hook if one is registered)."""
        if self.converter is None:
            return self.unstructure_hook(cls)
        return self.converter.get_unstructure_hook(cls, cache_result=False)

    def unstructure_value(self, value: Any) -> Any:
        """Unstructure a value whose static type is a union: dispatch on its runtime type."""
        if isinstance(value, WireObject):
            if self.converter is None:
                return self.unstructure_hook(type(value))(value)
            return self.converter.unstructure(value)
        if isinstance(value, list | tuple):
            return [self.unstructure_value(x) for x in value]
        if isinstance(value, dict):
            return {k: self.unstructure_value(x) for k, x in value.items()}
        return value

    def converter_for(self, tp: Any) -> Callable[[Any], Any]:
        """A one-argument function converting a JSON value to ``tp`` (raising FieldError)."""
        if tp in _SCALARS:
            return {str: _conv_str, bool: _conv_bool, int: _conv_int, float: _conv_float}[tp]
        if _is_opaque(tp):
            return _conv_any
        if tp is None or tp is _NoneType:
            return _conv_none
        if _is_wire_class(tp):
            hook = self.nested_structure_hook(tp)
            if getattr(hook, _GENERATED, None) is not None:
                return hook
            return lambda v: hook(v, tp)
        gen = _Generator(self)
        lines = ["def conv(v):"]
        gen.structure(tp, "v", lines, "    ", ())
        lines.append("    return v")
        return _compile(lines, gen.ns, "conv", repr(tp))

    def union_converter(self, members: list[Any]) -> Callable[[Any], Any]:
        """A function trying each member type in order; if none fits, the most telling error.

        That is the error of the member that got deepest into the value (longest field path)
        among the members whose tags match it (``Literal`` fields such as a provider's ``type``):
        ``provider.model: expected a string ... (as ThinkSettingsV1Provider_OpenAi)`` rather than
        "expected one of A | B | C". Failing that, a member's other refusal (a user's hook raising
        something else than a FieldError), as a FieldError; else a FieldError naming them all. So
        a union only ever raises FieldError. A member is not tried on an object lacking a tag that
        another member reads as absent (:func:`_needs_present`). (A provider family's unknown
        class refuses a known ``type`` at its ``version`` field; the known member, tried first,
        wins the tie.)
        """
        convs = [self.converter_for(m) for m in members]
        names = " | ".join(getattr(m, "__name__", repr(m)) for m in members)
        labels = [_type_label(m) for m in members]
        tags = [_tags_of(m) for m in members]
        present = _needs_present(members)

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
                    if e.path and (best is None or len(e.path) > len(best.path)) and _tags_match(tag, v):
                        best, best_label = e, label
                except Exception as e:  # a user's hook: this member does not fit either
                    if other is None:
                        other = _refusal(e)
                        other.problem = f"{other.problem} (as {label})"
                        setattr(other, _MEMBER_NOTED, True)
            if best is None and other is not None:
                raise other
            if best is not None:
                if not getattr(best, _MEMBER_NOTED, False):  # the innermost union names its member
                    setattr(best, _MEMBER_NOTED, True)
                    best.problem = f"{best.problem} (as {best_label})"
                raise best
            raise _bad(f"one of {names}", v)

        return conv

    def _generate(self, cls: type, kind: str) -> Callable[..., Any]:
        # A forwarding stub stands in while ``cls`` is generated, so self-referencing classes work;
        # it is only reachable by this thread (the lock is held) and resolves at call time.
        table: dict[type, Any] = self._structure if kind == "s" else self._unstructure
        self._pending[(kind, cls)] = lambda *args: table[cls](*args)
        try:
            gen = _Generator(self)
            if kind == "s":
                fn = _compile(gen.structure_function(cls), gen.ns, "structure", cls.__qualname__)
                setattr(fn, _GENERATED, cls)
            else:
                fn = _compile(gen.unstructure_function(cls), gen.ns, "unstructure", cls.__qualname__)
            table[cls] = fn
            return fn
        finally:
            del self._pending[(kind, cls)]


def configure_converter(converter: cattrs.Converter) -> None:
    """Register the WireObject hook factories (and the UnknownMessage hook) in ``converter``.

    Hooks registered in ``converter`` afterwards for WireObject classes take precedence, as usual
    in cattrs; register them before creating a :class:`Codec` on the converter.
    """
    _register_hooks(converter, WireHooks(converter))


def _register_hooks(converter: cattrs.Converter, hooks: WireHooks) -> None:
    converter.register_structure_hook_factory(_is_wire_class, hooks.structure_hook)
    converter.register_unstructure_hook_factory(_is_wire_class, hooks.unstructure_hook)
    converter.register_unstructure_hook(UnknownMessage, lambda m: dict(m.raw))


def make_converter(**kwargs: Any) -> OrjsonConverter:
    """A new cattrs converter (``cattrs.preconf.orjson``) configured by :func:`configure_converter`.

    ``kwargs`` go to ``cattrs.preconf.orjson.make_converter``. Register hooks for your own types
    on it as with any cattrs converter; pass it to ``Codec(..., converter=...)``.
    """
    from cattrs.preconf.orjson import make_converter as make_orjson_converter

    converter = make_orjson_converter(**kwargs)
    configure_converter(converter)
    return converter


#: The generated hooks of the default converter. They exist before it does: codecs on the default
#: converter decode and encode through them, and cattrs is imported only when a converter is asked
#: for (``codec.converter``, :func:`default_converter`), which keeps the cold start short.
_DEFAULT_HOOKS = WireHooks()
_DEFAULT: OrjsonConverter | None = None
_DEFAULT_LOCK = threading.Lock()
#: Tag-dispatch hooks of default-converter codecs made before the converter: (union, hook).
_PENDING_UNIONS: list[tuple[Any, StructureHook]] = []


def default_converter() -> OrjsonConverter:
    """The process-wide converter shared by every codec created without ``converter=``.

    Made on first call; its WireObject hooks are the ones the default codecs already use.
    """
    global _DEFAULT
    if _DEFAULT is None:
        with _DEFAULT_LOCK:
            if _DEFAULT is None:
                from cattrs.preconf.orjson import make_converter as make_orjson_converter

                converter = make_orjson_converter()
                _register_hooks(converter, _DEFAULT_HOOKS)
                for union, hook in _PENDING_UNIONS:
                    converter.register_structure_hook(union, hook)
                _PENDING_UNIONS.clear()
                _DEFAULT = converter
    return _DEFAULT


def _register_default_union(union: Any, hook: StructureHook) -> None:
    """Register ``hook`` for ``union`` in the default converter, now or when it is made."""
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _PENDING_UNIONS.append((union, hook))
            return
    _DEFAULT.register_structure_hook(union, hook)


def _direct_hook(converter: cattrs.Converter, cls: type) -> Callable[[Any], Any]:
    """``converter``'s structure hook for ``cls`` as a one-argument function."""
    hook = converter.get_structure_hook(cls)
    if getattr(hook, _GENERATED, None) is not None:
        return typing.cast(Callable[[Any], Any], hook)
    return lambda d: hook(d, cls)


# --- module-level API on the default converter --------------------------------------------------


def structure(cls: type[WireObject], data: Any) -> Any:
    """Build a ``cls`` from plain JSON data; raises ProtocolError naming the class and bad field."""
    try:
        if _is_wire_class(cls):
            return _DEFAULT_HOOKS.structure_hook(cls)(data)
        return default_converter().structure(data, cls)
    except FieldError as e:
        raise ProtocolError(f"{cls.__name__}: {e}") from None


def unstructure(obj: WireObject) -> dict[str, Any]:
    """Plain JSON-ready data for ``obj`` (unset optional fields omitted, unknown fields re-emitted)."""
    if isinstance(obj, WireObject):
        found: dict[str, Any] = _DEFAULT_HOOKS.unstructure_hook(type(obj))(obj)
        return found
    result: dict[str, Any] = default_converter().unstructure(obj)
    return result


def _to_dict(converter: cattrs.Converter | None, msg: Any) -> dict[str, Any]:
    """``msg`` as plain data through ``converter``'s hooks (None: the default hooks, no cattrs)."""
    if type(msg) is UnknownMessage:
        return dict(msg.raw)
    if not isinstance(msg, WireObject):
        raise ProtocolError(f"cannot encode {type(msg).__name__}: not a wire message")
    try:
        if converter is None:
            found: dict[str, Any] = _DEFAULT_HOOKS.unstructure_hook(type(msg))(msg)
            return found
        result: dict[str, Any] = converter.unstructure(msg)
        return result
    except AttributeError as e:
        raise ProtocolError(f"cannot encode {type(msg).__name__}: {e}") from None


def to_dict(msg: Message | UnknownMessage) -> dict[str, Any]:
    """Plain data for any message (an UnknownMessage gives back its raw object)."""
    return _to_dict(None, msg)


def from_dict(cls: type[WireObject], data: Any) -> Any:
    """Alias of :func:`structure` for symmetry with :func:`to_dict`."""
    return structure(cls, data)


class Codec:
    """Decodes JSON text frames into one of a fixed set of message classes, keyed by wire ``type``.

    One codec per API and direction (what the server sends, what the client sends). Decoding
    never raises; encoding raises ``ProtocolError`` for values that cannot go on the wire.
    ``converter`` is the cattrs converter whose hooks the codec uses (default:
    :func:`default_converter`); the codec registers a tag-dispatching hook for
    ``message_type`` (the union of its classes) in it.

    Creating a codec is cheap: a class's hook is generated when the first frame of its tag is
    decoded, and a codec on the default converter neither makes that converter nor imports cattrs
    until ``codec.converter`` is read.
    """

    def __init__(
        self,
        classes: Iterable[type[Message]],
        name: str = "",
        *,
        converter: cattrs.Converter | None = None,
    ) -> None:
        self.name = name
        #: The private converter, or None for the default one (made on first ``self.converter``).
        self._converter: cattrs.Converter | None = converter
        self._by_tag: dict[str, type[Message]] = {}
        # Filled per tag on first decode (_load_decoder): creating a codec generates no hooks.
        self._decoders: dict[str, Callable[[Any], Any]] = {}
        for cls in classes:
            tag = cls.wire_type()
            if tag in self._by_tag:
                raise ValueError(
                    f"codec {name!r}: wire type {tag!r} claimed by both "
                    f"{self._by_tag[tag].__name__} and {cls.__name__}"
                )
            self._by_tag[tag] = cls
        # Tags decode() may hand straight to their hook (a subclass removes the ones it selects).
        self._fast: dict[str, Callable[[Any], Any]] = self._decoders
        self.message_type: Any = self._register_message_union(self._all_classes())

    @property
    def converter(self) -> cattrs.Converter:
        """The cattrs converter whose hooks this codec uses (the default one is made on first read)."""
        if self._converter is None:
            return default_converter()
        return self._converter

    def _decoder_for(self, cls: type[Message]) -> Callable[[Any], Any]:
        """The converter's structure hook for ``cls`` as a one-argument function (looked up once)."""
        if self._converter is None:
            return _DEFAULT_HOOKS.structure_hook(cls)
        return _direct_hook(self._converter, cls)

    def _load_decoder(self, tag: str) -> Callable[[Any], Any] | None:
        """The decoder of ``tag``, generated now if it is a known tag never decoded before.

        Only called for tags that may take the fast path (a subclass's selected tags never get here).
        """
        cls = self._by_tag.get(tag)
        if cls is None:
            return None
        decoder = self._decoder_for(cls)
        self._decoders[tag] = decoder
        self._fast[tag] = decoder
        return decoder

    @staticmethod
    def _run_decoder(decoder: Callable[[Any], Any], data: dict[str, Any], frame: Any, tag: str) -> Decoded:
        """Run one class's structure hook, turning any failure into a DecodeError."""
        try:
            msg: Message = decoder(data)
            return msg
        except Exception as e:  # a reader must survive anything a frame can trigger
            return Codec._failure(e, data, frame, tag)

    @staticmethod
    def _failure(error: Exception, data: Any, frame: Any, tag: str) -> DecodeError:
        """The DecodeError for a hook's exception (a FieldError names the field path)."""
        reason = str(error) if isinstance(error, FieldError) else f"{type(error).__name__}: {error}"
        return DecodeError(reason=f"{tag}: {reason}", raw=_raw_text(frame, data), type=tag)

    def _all_classes(self) -> list[type[Message]]:
        """Every class of this codec (the members of ``message_type``)."""
        return list(self._by_tag.values())

    def _register_message_union(self, classes: list[type[Message]]) -> Any:
        """Register the tag dispatch for the union of ``classes``; return that union type."""
        if not classes:
            return None
        union: Any = typing.Union[tuple(classes)]  # noqa: UP007
        if _union_args(union) is not None:  # a single class is its own (class) hook already
            if self._converter is None:
                _register_default_union(union, self._structure_tagged)
            else:
                self._converter.register_structure_hook(union, self._structure_tagged)
        return union

    def _structure_tagged(self, data: Any, _type: Any = None) -> Message | UnknownMessage:
        """cattrs hook of ``message_type``: the class named by ``type``; ProtocolError if malformed."""
        result = self.decode_obj(data)
        if isinstance(result, DecodeError):
            raise result.to_exception()
        return result

    @property
    def classes(self) -> dict[str, type[Message]]:
        """The message classes of this codec keyed by wire type tag (a copy)."""
        return dict(self._by_tag)

    def class_for(self, tag: str) -> type[Message] | None:
        """The class decoding frames whose ``type`` is ``tag``, or None if unknown."""
        return self._by_tag.get(tag)

    def decode(self, frame: str | bytes | bytearray | memoryview) -> Decoded:
        """Decode one text frame; never raises (see module docstring for the three outcomes)."""
        try:
            data = orjson.loads(frame)
        except orjson.JSONDecodeError as e:
            return DecodeError(reason=f"frame is not valid JSON ({e})", raw=_as_text(frame))
        except TypeError:
            return DecodeError(
                reason=f"frame must be str or bytes, got {type(frame).__name__}", raw=repr(frame)
            )
        # The common case inline (one hook call); everything else goes through decode_obj.
        if type(data) is dict:
            tag = data.get("type")
            if type(tag) is str:
                decoder = self._fast.get(tag)
                if decoder is not None:
                    try:
                        msg: Message = decoder(data)
                        return msg
                    except Exception as e:  # a reader must survive anything a frame can trigger
                        return self._failure(e, data, frame, tag)
        return self.decode_obj(data, frame)

    def decode_obj(self, data: Any, frame: Any = None) -> Decoded:
        """Decode already-parsed JSON data (``frame`` only feeds ``DecodeError.raw``); never raises."""
        if type(data) is not dict:
            return DecodeError(
                reason=f"expected a JSON object, got {_json_kind(data)}", raw=_raw_text(frame, data)
            )
        tag = data.get("type")
        if type(tag) is not str:
            reason = "missing 'type' field" if tag is None else f"'type' must be a string, got {tag!r}"
            return DecodeError(reason=reason, raw=_raw_text(frame, data))
        decoder = self._decoders.get(tag)
        if decoder is None:
            try:
                decoder = self._load_decoder(tag)
            except Exception as e:  # e.g. a field type the codec does not support
                return self._failure(e, data, frame, tag)
            if decoder is None:
                return UnknownMessage(type=tag, raw=data)
        return self._run_decoder(decoder, data, frame, tag)

    def encode(self, msg: Message | UnknownMessage) -> str:
        """Compact JSON text for ``msg``; raises ProtocolError if a field cannot be serialised."""
        try:
            return orjson.dumps(_to_dict(self._converter, msg)).decode()
        except orjson.JSONEncodeError as e:
            raise ProtocolError(f"cannot encode {type(msg).__name__}: {e}") from None

    def to_dict(self, msg: Message | UnknownMessage) -> dict[str, Any]:
        """Plain JSON-ready data for ``msg`` (what :meth:`encode` serialises)."""
        return _to_dict(self._converter, msg)

    def from_dict(self, data: dict[str, Any]) -> Message | UnknownMessage:
        """Build the message for plain data; raises ProtocolError when it is malformed."""
        result = self.decode_obj(data)
        if isinstance(result, DecodeError):
            raise result.to_exception()
        return result

    def __repr__(self) -> str:
        return f"Codec({self.name!r}, types={sorted(self._by_tag)})"


def _as_text(frame: Any) -> str:
    if isinstance(frame, str):
        return frame
    try:
        return bytes(frame).decode("utf-8", errors="replace")
    except TypeError:
        return repr(frame)


def _raw_text(frame: Any, data: Any) -> str:
    if frame is not None:
        return _as_text(frame)
    try:
        return orjson.dumps(data).decode()
    except TypeError:
        return repr(data)


def _json_kind(data: Any) -> str:
    kinds = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean"}
    return kinds.get(type(data), "null" if data is None else type(data).__name__)
