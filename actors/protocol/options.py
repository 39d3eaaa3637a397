"""Connect-option machinery shared by every API: a declarative parameter table, validation and
query-string serialisation.

Each API declares its parameters as a tuple of :class:`Param` on a :class:`ConnectOptions`
subclass. Values are checked when the options object is built (never at connect time), in one
of two modes:

* **lenient** (the default for ``from_kwargs`` and the constructor, as Deepgram's SDK): the
  *type* of each value is checked -- an unknown name, a missing required parameter, a list for
  a single-valued parameter, a non-number for a numeric one, ``"yes"`` for a boolean raise
  ``actors.errors.OptionsError`` naming the parameter -- but *values* are not second-guessed:
  out-of-range numbers, values outside the documented choices (``callback_method="put"``,
  ``encoding="opus"`` on Speak), over-long strings go to the service, whose HTTP 400 (with its
  ``dg-error``) becomes the caller's ``HandshakeError``. An ``int`` for a boolean parameter is
  sent as its digits (``smart_format=1`` -> ``smart_format=1``), as the SDK's query encoder does.
* **strict** (``from_kwargs(..., strict=True)``, and ``from_query``, which the local server uses):
  also ranges, choices, string lengths and formats, as the service documents them.

Accepted inputs are native Python values and the strings Deepgram's SDK passes
(``interim_results="true"``, ``sample_rate="16000"``).

Serialisation (``to_query``) follows what the service expects: booleans ``true``/``false``,
integers without a fractional part, list parameters as repeated keys, ``extra`` as ``key:value``.
Parameters a newer service knows but this table does not can be passed unvalidated with
``extra_query={"new_param": "x"}``.
"""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Literal, TypeVar

import attrs

from actors._lean_attrs import LeanFrozen
from actors.errors import OptionsError

__all__ = ["ConnectOptions", "Param"]

Kind = Literal["bool", "int", "float", "str", "enum"]
_O = TypeVar("_O", bound="ConnectOptions")


@attrs.frozen(repr=False, eq=False)
class Param(LeanFrozen):
    """One query parameter: its name, kind and constraints.

    * ``kind``: ``bool``, ``int``, ``float``, ``str`` or ``enum`` (``choices`` lists the values).
    * ``repeatable``: a list parameter sent as repeated keys.
    * ``minimum``/``maximum``: inclusive numeric range; ``choices`` also restricts ints.
    * ``or_false``: an int that may also be ``false`` (Listen V1 ``endpointing``).
    * ``key_value``: each value is ``key:value`` (``extra``); a dict is accepted too.
    * ``max_length``: longest accepted string value.
    """

    name: str
    kind: Kind
    repeatable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] = ()
    or_false: bool = False
    key_value: bool = False
    max_length: int | None = None
    required: bool = False
    doc: str = ""

    def parse(self, value: Any, api: str, strict: bool = True) -> Any:
        """Validate one value (native or string) and return its normalised Python form.

        ``strict=False`` checks only the value's type (see the module docstring).
        """
        one = self._parse_one if strict else self._check_one
        if self.repeatable:
            items = self._items(value, api)
            if not items:
                raise OptionsError(self.name, f"needs at least one value for {api}", value)
            return [one(v, api) for v in items]
        if isinstance(value, list | tuple | set):
            raise OptionsError(self.name, f"takes a single value for {api}, got a list", value)
        return one(value, api)

    def serialise(self, value: Any) -> list[str]:
        """The query-string values for a normalised value (one per repeated key)."""
        values = value if self.repeatable else [value]
        return [_to_text(v) for v in values]

    def _items(self, value: Any, api: str) -> list[Any]:
        if self.key_value and isinstance(value, Mapping):
            return [f"{k}:{v}" for k, v in value.items()]
        if isinstance(value, str | bytes) or not isinstance(value, Iterable):
            return [value]
        return list(value)

    def _parse_one(self, value: Any, api: str) -> Any:
        if self.or_false and (value is False or (isinstance(value, str) and value.lower() == "false")):
            return False
        if self.or_false and (value is True or (isinstance(value, str) and value.lower() == "true")):
            return True
        parsed: Any = _PARSERS[self.kind](self, value, api)
        if self.kind in ("int", "float") and not isinstance(parsed, bool):
            self._check_range(float(parsed), value)
        if self.choices and parsed not in self.choices:
            shown = ", ".join(str(c) for c in self.choices)
            raise OptionsError(self.name, f"must be one of {shown}; got {value!r}", value)
        if isinstance(parsed, str) and self.max_length is not None and len(parsed) > self.max_length:
            raise OptionsError(
                self.name, f"is {len(parsed)} characters; the limit is {self.max_length}", value
            )
        return parsed

    def _check_one(self, value: Any, api: str) -> Any:
        """The lenient check of one value: its type only; the normalised value, or the value as given."""
        if not isinstance(value, bool | int | float | str):
            raise _type_error(self, _EXPECTED[self.kind], value)
        if isinstance(value, float) and not math.isfinite(value):
            raise _type_error(self, "a finite number", value)
        if self.or_false and (value is False or (isinstance(value, str) and value.lower() == "false")):
            return False
        if self.or_false and (value is True or (isinstance(value, str) and value.lower() == "true")):
            return True
        if self.kind == "bool" and isinstance(value, int) and not isinstance(value, bool):
            return value  # sent as its digits, as the SDK does (smart_format=1)
        if self.kind in ("str", "enum"):
            if isinstance(value, bool):
                return "true" if value else "false"
            return value if isinstance(value, str) else _to_text(value)
        parsed: Any = _PARSERS[self.kind](self, value, api)
        return parsed

    def _check_range(self, parsed: float, given: Any) -> None:
        if self.minimum is not None and parsed < self.minimum:
            raise OptionsError(self.name, f"must be >= {self.minimum:g}; got {given!r}", given)
        if self.maximum is not None and parsed > self.maximum:
            raise OptionsError(self.name, f"must be <= {self.maximum:g}; got {given!r}", given)


def _type_error(param: Param, expected: str, value: Any) -> OptionsError:
    return OptionsError(param.name, f"expected {expected}, got {type(value).__name__} {value!r}", value)


def _parse_bool(param: Param, value: Any, api: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _type_error(param, "true or false", value)


def _parse_int(param: Param, value: Any, api: str) -> int:
    if isinstance(value, bool):
        raise _type_error(param, "an integer" + (" or false" if param.or_false else ""), value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                as_float = float(text)
            except ValueError:
                pass
            else:
                if as_float.is_integer():
                    return int(as_float)
    raise _type_error(param, "an integer" + (" or false" if param.or_false else ""), value)


def _parse_float(param: Param, value: Any, api: str) -> float:
    if isinstance(value, bool):
        raise _type_error(param, "a number", value)
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            raise _type_error(param, "a number", value) from None
    else:
        raise _type_error(param, "a number", value)
    if not math.isfinite(result):
        raise _type_error(param, "a finite number", value)
    return result


def _parse_str(param: Param, value: Any, api: str) -> str:
    if isinstance(value, bool):  # bools are allowed where the value set includes "true"/"false"
        text = "true" if value else "false"
        if param.choices and text in param.choices:
            return text
        raise _type_error(param, "a string", value)
    if isinstance(value, int | float) and not param.choices:
        return _to_text(value)
    if not isinstance(value, str):
        raise _type_error(param, "a string", value)
    if not value:
        raise OptionsError(param.name, "must not be empty", value)
    if param.key_value:
        key, sep, _rest = value.partition(":")
        if not sep or not key:
            raise OptionsError(param.name, f"expected 'key:value', got {value!r}", value)
    return value


#: What each kind of parameter takes, for type errors.
_EXPECTED = {
    "bool": "true or false",
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "enum": "a string",
}

_PARSERS = {
    "bool": _parse_bool,
    "int": _parse_int,
    "float": _parse_float,
    "str": _parse_str,
    "enum": _parse_str,
}


def _to_text(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


class ConnectOptions:
    """Validated connect options of one API; subclasses set ``API``, ``PATH`` and ``PARAMS``.

    Build with keyword arguments (``ListenV1Options(model="nova-3", interim_results=True)``) or
    :meth:`from_kwargs`; read a value as an attribute (``opts.model``; None when unset).
    Values are checked leniently (types only) unless ``strict=True`` (ranges and choices too);
    see the module docstring. ``extra_query`` passes parameters this table does not know to the
    service unvalidated. Instances are immutable, comparable and hashable by content (the mode
    is not part of it); :meth:`updated` checks changes in the mode the object was built with.
    """

    API: ClassVar[str] = ""
    PATH: ClassVar[str] = ""
    PARAMS: ClassVar[tuple[Param, ...]] = ()
    _BY_NAME: ClassVar[dict[str, Param]] = {}

    __slots__ = ("_extra_query", "_strict", "_values")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._BY_NAME = {p.name: p for p in cls.PARAMS}

    def __init__(
        self,
        *,
        extra_query: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
        strict: bool = False,
        **params: Any,
    ) -> None:
        if not isinstance(strict, bool):
            raise OptionsError("strict", f"expected True or False, got {strict!r}", strict)
        values: dict[str, Any] = {}
        for name, value in params.items():
            if value is None:
                continue
            param = self._BY_NAME.get(name)
            if param is None:
                raise OptionsError(name, self._unknown_message(name), value)
            values[name] = param.parse(value, self.PATH, strict)
        missing = [p.name for p in self.PARAMS if p.required and p.name not in values]
        if missing:
            raise OptionsError(missing[0], f"is required for {self.PATH}")
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_extra_query", _extra_pairs(extra_query))
        object.__setattr__(self, "_strict", strict)

    @classmethod
    def _unknown_message(cls, name: str) -> str:
        known = ", ".join(p.name for p in cls.PARAMS)
        return (
            f"unknown parameter {name!r} for {cls.PATH}; known: {known}. "
            "To pass a parameter this version does not know, use extra_query={...}"
        )

    @classmethod
    def from_kwargs(cls: type[_O], *, strict: bool = False, **params: Any) -> _O:
        """Check keyword parameters (native values or SDK-style strings); None means unset.

        Lenient by default (types only, values go to the service as given); ``strict=True``
        also checks ranges and choices. Raises OptionsError naming the first bad parameter.
        """
        return cls(strict=strict, **params)

    @classmethod
    def from_query(
        cls: type[_O],
        pairs: Iterable[tuple[str, str]] | str,
        *,
        allow_unknown: bool = False,
        strict: bool = True,
    ) -> _O:
        """Parse a query string (or its decoded pairs) as the service would; server side.

        Strict by default (the local server refuses what Deepgram documents as invalid).
        Raises OptionsError naming the first bad parameter. Unknown parameters raise unless
        ``allow_unknown``, in which case they are kept in ``extra_query``.
        """
        if isinstance(pairs, str):
            pairs = urllib.parse.parse_qsl(pairs.lstrip("?"), keep_blank_values=True)
        grouped: dict[str, list[str]] = {}
        unknown: list[tuple[str, str]] = []
        for name, value in pairs:
            if name in cls._BY_NAME:
                grouped.setdefault(name, []).append(value)
            elif allow_unknown:
                unknown.append((name, value))
            else:
                raise OptionsError(name, cls._unknown_message(name), value)
        params: dict[str, Any] = {}
        for name, values in grouped.items():
            if cls._BY_NAME[name].repeatable:
                params[name] = values
            elif len(values) > 1:
                raise OptionsError(name, f"given {len(values)} times; it takes one value", values)
            else:
                params[name] = values[0]
        return cls(extra_query=unknown, strict=strict, **params)

    def get(self, name: str, default: Any = None) -> Any:
        """The normalised value of ``name`` (a known parameter), or ``default`` when unset."""
        if name not in self._BY_NAME:
            raise OptionsError(name, self._unknown_message(name))
        return self._values.get(name, default)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._BY_NAME:
            return self._values.get(name)
        raise AttributeError(f"{type(self).__name__} has no parameter {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; use updated(...)")

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        """Pickle as the class and its values (rebuilt and checked again where unpickled)."""
        return (_rebuild_options, (type(self), dict(self._values), list(self._extra_query), self._strict))

    @property
    def strict(self) -> bool:
        """Whether values were checked strictly (ranges and choices) or for their types only."""
        return bool(self._strict)

    @property
    def values(self) -> dict[str, Any]:
        """The set parameters and their normalised values (a copy)."""
        return dict(self._values)

    @property
    def extra_query(self) -> list[tuple[str, str]]:
        """Unvalidated extra query parameters, in order (a copy)."""
        return list(self._extra_query)

    def updated(self: _O, **changes: Any) -> _O:
        """A copy with some parameters changed (None unsets a parameter), checked in this object's mode."""
        merged: dict[str, Any] = {**self._values, **changes}
        return type(self)(extra_query=self._extra_query, strict=self._strict, **merged)

    def to_query(self) -> list[tuple[str, str]]:
        """The query parameters in table order, list values as repeated keys, then extra_query."""
        pairs: list[tuple[str, str]] = []
        for param in self.PARAMS:
            if param.name in self._values:
                pairs.extend((param.name, v) for v in param.serialise(self._values[param.name]))
        pairs.extend(self._extra_query)
        return pairs

    def query_string(self) -> str:
        """``to_query()`` form-encoded (space as ``+``, ``:`` as ``%3A``), without the ``?``."""
        return urllib.parse.urlencode(self.to_query())

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and self._values == other._values
            and self._extra_query == other._extra_query
        )

    def __hash__(self) -> int:
        return hash((type(self), self.query_string()))

    def __repr__(self) -> str:
        args = [f"{k}={v!r}" for k, v in self._values.items()]
        if self._extra_query:
            args.append(f"extra_query={self._extra_query!r}")
        return f"{type(self).__name__}({', '.join(args)})"


def _extra_pairs(extra: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> list[tuple[str, str]]:
    if extra is None:
        return []
    items = extra.items() if isinstance(extra, Mapping) else extra
    pairs: list[tuple[str, str]] = []
    for item in items:
        try:
            name, value = item
        except (TypeError, ValueError):
            raise OptionsError(
                "extra_query", f"expected a mapping or (name, value) pairs, got {item!r}"
            ) from None
        if not isinstance(name, str) or not name:
            raise OptionsError("extra_query", f"parameter names must be non-empty strings, got {name!r}")
        values = value if isinstance(value, list | tuple) else [value]
        pairs.extend((name, _to_text(v)) for v in values)
    return pairs


def _rebuild_options(
    cls: type[_O], values: dict[str, Any], extra_query: list[tuple[str, str]], strict: bool
) -> _O:
    """The inverse of `ConnectOptions.__reduce__`."""
    return cls(extra_query=extra_query, strict=strict, **values)
