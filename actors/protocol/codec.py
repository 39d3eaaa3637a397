"""The codec: JSON text frames <-> typed wire messages, fast and forgiving on decode.

``Codec(classes)`` decodes frames into the message class whose wire tag matches the frame's
``type``. Per class it generates (once, with ``exec``) a plain Python structure function and an
unstructure function from the attrs field types; that is what makes decoding several times faster
than a generic converter. Supported field types: ``str``, ``int``, ``float``, ``bool``, ``Any``,
``Literal[...]``, ``X | None``, ``list[X]``, ``dict[str, X]``, WireObject subclasses and unions of
those (members tried in declaration order; a ``bool`` never passes as an ``int``).

Decoding never raises: a malformed frame becomes :class:`DecodeError`, an unknown ``type`` an
:class:`UnknownMessage`. Encoding omits optional fields that are ``None``, writes whole floats as
ints where the field is an ``int``, and re-emits ``unknown_fields``.
"""

from __future__ import annotations

import threading
import types
import typing
from collections.abc import Callable, Iterable
from typing import Any

import attrs
import orjson

from actors.errors import ProtocolError
from actors.protocol.base import WIRE_NAME, DecodeError, Message, UnknownMessage, WireObject

__all__ = ["Codec", "from_dict", "structure", "to_dict", "unstructure"]

Decoded = Message | UnknownMessage | DecodeError

_NoneType = type(None)
_MISSING = object()


class _Invalid(Exception):
    """Internal: a value does not match its declared type; ``path`` is built while unwinding."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.path: list[str] = []

    def describe(self) -> str:
        where = ".".join(self.path)
        return f"{where}: {self.message}" if where else self.message


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:60] + "..."
    return f"{type(value).__name__} {text}"


def _bad(expected: str, value: Any) -> _Invalid:
    return _Invalid(f"expected {expected}, got {_describe(value)}")


def _missing(name: str) -> _Invalid:
    err = _Invalid("required field is missing")
    err.path.append(name)
    return err


# --- scalar converters (used as list/dict element converters and union members) ---------------


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


def _out_int(v: Any) -> Any:
    if type(v) is int:
        return v
    if type(v) is float and v.is_integer():
        return int(v)
    if isinstance(v, int) and not isinstance(v, bool):
        return int(v)
    raise ProtocolError(f"expected an integer, got {_describe(v)}")


def _out_dynamic(v: Any) -> Any:
    """Unstructure a value whose static type is a union: dispatch on the runtime type."""
    if isinstance(v, WireObject):
        return _compiled(type(v)).unstructure(v)
    if isinstance(v, list | tuple):
        return [_out_dynamic(x) for x in v]
    if isinstance(v, dict):
        return {k: _out_dynamic(x) for k, x in v.items()}
    return v


# --- code generation -----------------------------------------------------------------------------


@attrs.define
class _Compiled:
    structure: Callable[[Any], Any]
    unstructure: Callable[[Any], dict[str, Any]]


_COMPILED: dict[type, _Compiled] = {}
_LOCK = threading.RLock()
_counter = 0


def _fresh(prefix: str) -> str:
    global _counter
    _counter += 1
    return f"{prefix}{_counter}"


def _is_wire_class(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, WireObject)


def _union_args(tp: Any) -> tuple[Any, ...] | None:
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return typing.get_args(tp)
    return None


def _element_converter(tp: Any) -> Callable[[Any], Any]:
    """A callable converting one JSON value to ``tp`` (raising _Invalid)."""
    if tp is str:
        return _conv_str
    if tp is bool:
        return _conv_bool
    if tp is int:
        return _conv_int
    if tp is float:
        return _conv_float
    if tp is Any or tp is object:
        return _conv_any
    if tp is None or tp is _NoneType:
        return _conv_none
    if _is_wire_class(tp):
        return _compiled(tp).structure
    ns: dict[str, Any] = {}
    lines = ["def conv(v):"]
    _emit_structure(tp, "v", lines, "    ", ns)
    lines.append("    return v")
    return _exec(lines, ns, "conv")


def _emit_structure(tp: Any, var: str, lines: list[str], ind: str, ns: dict[str, Any]) -> None:
    """Append code that validates ``var`` as ``tp`` and rebinds it to the converted value."""
    if tp is str:
        lines.append(f"{ind}if type({var}) is not str: raise _bad('a string', {var})")
    elif tp is bool:
        lines.append(f"{ind}if type({var}) is not bool: raise _bad('a boolean', {var})")
    elif tp is int:
        lines.append(f"{ind}if type({var}) is not int: {var} = _conv_int({var})")
    elif tp is float:
        lines.append(f"{ind}if type({var}) is not float: {var} = _conv_float({var})")
    elif tp is Any or tp is object:
        pass
    elif _is_wire_class(tp):
        fn = _fresh("S")
        ns[fn] = _compiled(tp).structure
        lines.append(f"{ind}{var} = {fn}({var})")
    elif (args := _union_args(tp)) is not None:
        members = [a for a in args if a is not _NoneType]
        if len(members) < len(args):
            lines.append(f"{ind}if {var} is not None:")
            inner = members[0] if len(members) == 1 else typing.Union[tuple(members)]  # noqa: UP007
            _emit_structure(inner, var, lines, ind + "    ", ns)
        else:
            fn = _fresh("U")
            ns[fn] = _union_converter(members)
            lines.append(f"{ind}{var} = {fn}({var})")
    elif typing.get_origin(tp) is typing.Literal:
        allowed = _fresh("L")
        ns[allowed] = typing.get_args(tp)
        lines.append(
            f"{ind}if {var} not in {allowed} or type({var}) is bool: "
            f"raise _bad('one of ' + repr({allowed}), {var})"
        )
    elif typing.get_origin(tp) is list:
        (elem,) = typing.get_args(tp) or (Any,)
        lines.append(f"{ind}if type({var}) is not list: raise _bad('a list', {var})")
        if elem not in (Any, object):
            fn = _fresh("E")
            ns[fn] = _element_converter(elem)
            lines.append(f"{ind}{var} = [{fn}(x) for x in {var}]")
    elif typing.get_origin(tp) is dict:
        _key, val = typing.get_args(tp) or (str, Any)
        lines.append(f"{ind}if type({var}) is not dict: raise _bad('an object', {var})")
        if val not in (Any, object):
            fn = _fresh("E")
            ns[fn] = _element_converter(val)
            lines.append(f"{ind}{var} = {{k: {fn}(x) for k, x in {var}.items()}}")
    else:
        raise TypeError(f"the codec does not support the field type {tp!r}")


def _union_converter(members: list[Any]) -> Callable[[Any], Any]:
    convs = [_element_converter(m) for m in members]
    names = " | ".join(getattr(m, "__name__", repr(m)) for m in members)

    def conv(v: Any) -> Any:
        for c in convs:
            try:
                return c(v)
            except _Invalid:
                continue
        raise _bad(f"one of {names}", v)

    return conv


def _needs_out_conversion(tp: Any) -> bool:
    if tp in (str, bool, float, Any, object, None, _NoneType):
        return False
    return typing.get_origin(tp) is not typing.Literal


def _emit_unstructure(tp: Any, expr: str, ns: dict[str, Any]) -> str:
    """An expression unstructuring ``expr`` (statically typed ``tp``) to JSON-ready data."""
    if not _needs_out_conversion(tp):
        return expr
    if tp is int:
        return f"_out_int({expr})"
    if _is_wire_class(tp):
        fn = _fresh("W")
        ns[fn] = _compiled(tp).unstructure
        return f"{fn}({expr})"
    if (args := _union_args(tp)) is not None:
        members = [a for a in args if a is not _NoneType]
        if len(members) == 1:
            return _emit_unstructure(members[0], expr, ns)
        if not any(_needs_out_conversion(m) for m in members):
            return expr
        return f"_out_dynamic({expr})"
    origin = typing.get_origin(tp)
    if origin is list:
        (elem,) = typing.get_args(tp) or (Any,)
        if not _needs_out_conversion(elem):
            return expr
        return f"[{_emit_unstructure(elem, 'x', ns)} for x in {expr}]"
    if origin is dict:
        _key, val = typing.get_args(tp) or (str, Any)
        if not _needs_out_conversion(val):
            return expr
        return f"{{k: {_emit_unstructure(val, 'x', ns)} for k, x in {expr}.items()}}"
    raise TypeError(f"the codec does not support the field type {tp!r}")


_BASE_NS: dict[str, Any] = {
    "_bad": _bad,
    "_missing": _missing,
    "_Invalid": _Invalid,
    "_conv_int": _conv_int,
    "_conv_float": _conv_float,
    "_out_int": _out_int,
    "_out_dynamic": _out_dynamic,
    "_MISSING": _MISSING,
}


def _exec(lines: list[str], ns: dict[str, Any], name: str) -> Callable[..., Any]:
    namespace = {**_BASE_NS, **ns}
    exec("\n".join(lines), namespace)  # generated from attrs field types only, never from input
    fn: Callable[..., Any] = namespace[name]
    return fn


def _compiled(cls: type) -> _Compiled:
    """The structure/unstructure pair of a WireObject class, generated on first use."""
    found = _COMPILED.get(cls)
    if found is not None:
        return found
    with _LOCK:
        found = _COMPILED.get(cls)
        if found is None:
            found = _compile(cls)
        return found


def _compile(cls: type) -> _Compiled:
    hints = typing.get_type_hints(cls)
    fields = [f for f in attrs.fields(cls) if f.name != "unknown_fields"]
    # Register a forwarding stub first so self-referencing types compile.
    holder: dict[str, Callable[..., Any]] = {}
    _COMPILED[cls] = _Compiled(structure=lambda d: holder["s"](d), unstructure=lambda o: holder["u"](o))
    try:
        ns: dict[str, Any] = {"CLS": cls}
        wire_names = [f.metadata.get(WIRE_NAME) or f.name for f in fields]
        ns["KNOWN"] = frozenset(wire_names)
        # Required fields first, then optional ones; ``x`` counts the keys not yet accounted for,
        # so optional lookups stop as soon as every key of the object has been seen.
        required = [(f, w) for f, w in zip(fields, wire_names, strict=True) if f.default is attrs.NOTHING]
        optional = [(f, w) for f, w in zip(fields, wire_names, strict=True) if f.default is not attrs.NOTHING]
        ns["NEW"] = cls.__new__
        s = [
            "def structure(d):",
            "    if type(d) is not dict: raise _bad('an object', d)",
            "    o = NEW(CLS)",
        ]
        for field, wire in required:
            s.append("    try:")
            s.append(f"        v = d[{wire!r}]")
            _emit_structure(hints[field.name], "v", s, "        ", ns)
            s.append(f"    except KeyError: raise _missing({wire!r}) from None")
            s.append(f"    except _Invalid as e: e.path.insert(0, {wire!r}); raise")
            s.append(f"    o.{field.name} = v")
        s.append(f"    x = len(d) - {len(required)}")
        for i, (field, wire) in enumerate(optional):
            tp = hints[field.name]
            if field.default is None:
                s.append(f"    v = d.get({wire!r}) if x else None")
                s.append("    if v is not None:")
                if (args := _union_args(tp)) is not None:
                    members = [a for a in args if a is not _NoneType]
                    tp = members[0] if len(members) == 1 else typing.Union[tuple(members)]  # noqa: UP007
            else:
                if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
                    ns[f"_F{i}"] = field.default.factory
                    fallback = f"_F{i}()"
                else:
                    ns[f"_D{i}"] = field.default
                    fallback = f"_D{i}"
                s.append(f"    v = d.get({wire!r}, _MISSING) if x else _MISSING")
                s.append(f"    if v is _MISSING: v = {fallback}")
                s.append("    else:")
            s.append("        x -= 1")
            s.append("        try:")
            _emit_structure(tp, "v", s, "            ", ns)
            s.append(f"        except _Invalid as e: e.path.insert(0, {wire!r}); raise")
            s.append(f"    o.{field.name} = v")
        s.append("    o.unknown_fields = {k: x for k, x in d.items() if k not in KNOWN} if x else {}")
        s.append("    return o")

        u = ["def unstructure(o):", "    d = {}"]
        ordered = sorted(zip(fields, wire_names, strict=True), key=lambda fw: fw[0].name != "type")
        for field, wire in ordered:
            tp = hints[field.name]
            out = _emit_unstructure(tp, "v", ns)
            u.append(f"    v = o.{field.name}")
            if field.default is None:
                u.append(f"    if v is not None: d[{wire!r}] = {out}")
            else:
                u.append(f"    d[{wire!r}] = {out}")
        u.append("    uf = o.unknown_fields")
        u.append("    if uf:")
        u.append("        for k, x in uf.items():")
        u.append("            if k not in d: d[k] = x")
        u.append("    return d")

        holder["s"] = _exec(s, ns, "structure")
        holder["u"] = _exec(u, ns, "unstructure")
        compiled = _Compiled(structure=holder["s"], unstructure=holder["u"])
        _COMPILED[cls] = compiled
        return compiled
    except BaseException:
        _COMPILED.pop(cls, None)
        raise


# --- public API ------------------------------------------------------------------------------------


def structure(cls: type[WireObject], data: Any) -> Any:
    """Build a ``cls`` from plain JSON data; raises ProtocolError naming the bad field."""
    try:
        return _compiled(cls).structure(data)
    except _Invalid as e:
        raise ProtocolError(f"{cls.__name__}: {e.describe()}") from None


def unstructure(obj: WireObject) -> dict[str, Any]:
    """Plain JSON-ready data for ``obj`` (unset optional fields omitted, unknown fields re-emitted)."""
    return _compiled(type(obj)).unstructure(obj)


def to_dict(msg: Message | UnknownMessage) -> dict[str, Any]:
    """Plain data for any message (an UnknownMessage gives back its raw object)."""
    if isinstance(msg, UnknownMessage):
        return dict(msg.raw)
    if not isinstance(msg, WireObject):
        raise ProtocolError(f"cannot encode {type(msg).__name__}: not a wire message")
    try:
        return _compiled(type(msg)).unstructure(msg)
    except AttributeError as e:
        raise ProtocolError(f"cannot encode {type(msg).__name__}: {e}") from None


def from_dict(cls: type[WireObject], data: Any) -> Any:
    """Alias of :func:`structure` for symmetry with :func:`to_dict`."""
    return structure(cls, data)


class Codec:
    """Decodes JSON text frames into one of a fixed set of message classes, keyed by wire ``type``.

    One codec per API and direction (what the server sends, what the client sends). Decoding
    never raises; encoding raises ``ProtocolError`` for values that cannot go on the wire.
    """

    def __init__(self, classes: Iterable[type[Message]], name: str = "") -> None:
        self.name = name
        self._by_tag: dict[str, type[Message]] = {}
        self._decoders: dict[str, Callable[[Any], Any]] = {}
        for cls in classes:
            tag = cls.wire_type()
            if tag in self._by_tag:
                raise ValueError(
                    f"codec {name!r}: wire type {tag!r} claimed by both "
                    f"{self._by_tag[tag].__name__} and {cls.__name__}"
                )
            self._by_tag[tag] = cls
            self._decoders[tag] = _compiled(cls).structure

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
            return UnknownMessage(type=tag, raw=data)
        try:
            msg: Message = decoder(data)
            return msg
        except _Invalid as e:
            return DecodeError(reason=f"{tag}: {e.describe()}", raw=_raw_text(frame, data), type=tag)
        except Exception as e:  # defensive: a reader must survive anything a frame can trigger
            return DecodeError(reason=f"{tag}: {type(e).__name__}: {e}", raw=_raw_text(frame, data), type=tag)

    def encode(self, msg: Message | UnknownMessage) -> str:
        """Compact JSON text for ``msg``; raises ProtocolError if a field cannot be serialised."""
        try:
            return orjson.dumps(to_dict(msg)).decode()
        except orjson.JSONEncodeError as e:
            raise ProtocolError(f"cannot encode {type(msg).__name__}: {e}") from None

    def to_dict(self, msg: Message | UnknownMessage) -> dict[str, Any]:
        """Plain JSON-ready data for ``msg`` (what :meth:`encode` serialises)."""
        return to_dict(msg)

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
