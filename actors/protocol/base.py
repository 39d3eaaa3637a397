"""Base classes of every wire object: known messages, nested objects, unknown messages, decode errors.

Every message on the wire is an attrs class deriving from :class:`Message`; nested JSON objects
derive from :class:`WireObject`. Subclasses are declared with :func:`wire_object` (``attrs.define``
with keyword-only, slotted, mutable instances). Field names are the wire names; where a wire name
cannot be a Python name, declare the field with :func:`wire_field` and ``wire="the-wire-name"``.

Fields the class does not know are kept in ``unknown_fields`` (the codec fills it on decode and
re-emits it on encode) and can be read as attributes, so ``msg.new_field`` works when a newer
service sends a field this version does not model.

For code ported from Deepgram's SDK (pydantic models), constructors also take nested plain dicts
(see :func:`wire_object`), and every object has ``dict()``, ``json()``, ``model_dump()``,
``model_dump_json()``, ``model_validate()`` / ``parse_obj()``, ``model_copy()`` and
``model_extra`` with the SDK's output (:class:`_SdkDumps`, :mod:`actors.protocol.sdk_compat`).
"""

from __future__ import annotations

import builtins
import copy
import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar, cast, dataclass_transform

import attrs
import orjson

from actors._lean_attrs import LeanAttrs

if TYPE_CHECKING:
    from typing import Self

__all__ = [
    "UNKNOWN_FIELDS_SLOT",
    "DecodeError",
    "Message",
    "UnknownMessage",
    "WireObject",
    "stored_unknown_fields",
    "wire_field",
    "wire_object",
]

_C = TypeVar("_C", bound=type)
_Init = Callable[..., None]

#: Key in attrs field metadata holding the field's wire name when it differs from the Python name.
WIRE_NAME = "actors.wire_name"


@dataclass_transform(kw_only_default=True, field_specifiers=(attrs.field,))
def wire_object(cls: _C) -> _C:
    """Turn ``cls`` (a WireObject subclass) into a keyword-only, slotted attrs class.

    The class inherits its ``repr`` and ``==`` from :class:`~actors._lean_attrs.LeanAttrs` (the
    same behaviour as attrs' generated ones) instead of getting generated ones, so importing an
    API's message classes compiles only their constructors (cold start).

    Its constructor accepts plain data where a field holds WireObject classes (as the SDK's
    pydantic models do): ``AgentV1Settings(audio={"input": {...}}, agent={...})`` builds the typed
    objects, raising ``actors.errors.FieldError`` naming the field path for bad data. Which fields
    need that is worked out on the first construction of the class (type hints are resolved then,
    not at import); a class without such fields keeps attrs' own ``__init__``.
    """
    built = attrs.define(kw_only=True, slots=True, repr=False, eq=False)(cls)
    _defer_init(built)
    return built


def _defer_init(cls: type) -> None:
    """Replace ``cls.__init__`` by a stub that settles the real constructor on first call."""
    attrs_init: _Init = cls.__init__  # type: ignore[misc]

    @functools.wraps(attrs_init)
    def first_init(self: Any, **kwargs: Any) -> None:
        _settle_init(cls, attrs_init)(self, **kwargs)

    cls.__init__ = first_init  # type: ignore[misc]


def _settle_init(cls: type, attrs_init: _Init) -> _Init:
    """Install (and return) ``cls``'s constructor: attrs' own, or one converting plain data first."""
    from actors.protocol.sdk_compat import converting_init, init_plan

    plan = init_plan(cls)
    init = converting_init(cls, attrs_init, plan) if plan else attrs_init
    cls.__init__ = init  # type: ignore[misc]
    return init


def wire_field(*, wire: str | None = None, default: Any = attrs.NOTHING, factory: Any = None) -> Any:
    """Declare a field whose wire name is ``wire`` (for wire names that are not Python names).

    ``default``/``factory`` work as in ``attrs.field``.
    """
    metadata = {WIRE_NAME: wire} if wire else {}
    if factory is not None:
        return attrs.field(factory=factory, metadata=metadata)
    return attrs.field(default=default, metadata=metadata)


#: Name of the attrs field (and slot) holding a wire object's unknown fields; its init alias is
#: ``unknown_fields``. Code walking ``attrs.fields`` skips the field whose ``alias`` is ``unknown_fields``.
UNKNOWN_FIELDS_SLOT = "_unknown_fields"


def _empty_as_none(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """Equality key of the unknown-fields slot: no dict and an empty dict compare equal."""
    return value or None


def _selected(data: builtins.dict[str, Any], include: Any, exclude: Any) -> builtins.dict[str, Any]:
    """``data`` restricted to the top-level keys in ``include`` and not in ``exclude`` (pydantic's sets)."""
    if include is not None:
        data = {k: v for k, v in data.items() if k in include}
    if exclude is not None:
        data = {k: v for k, v in data.items() if k not in exclude}
    return data


def _json_text(data: Any, indent: int | None) -> str:
    """Compact JSON as pydantic writes it (``indent`` spaces per level when given)."""
    if indent:
        import json

        return json.dumps(data, indent=indent, ensure_ascii=False)
    return orjson.dumps(data).decode()


class _SdkDumps:
    """pydantic-style dump methods, as Deepgram's SDK models have them (for ported code).

    Deepgram's SDK overrides ``dict()`` / ``json()`` to dump what is on the wire: fields that were
    set, plus those with a non-None default (``type``); ``model_dump_json()`` (and
    ``model_dump(mode="json")``) give the same through its JSON serializer. Here that is the
    codec's wire form, ``codec.to_dict(msg)``: unset (None) optional fields omitted, unknown
    fields kept. ``model_dump()`` in its default Python mode is pydantic's: every field, None
    included. One difference: a field explicitly set to None is omitted here (the SDK keeps it).
    """

    __slots__ = ()

    def _wire_dict(self) -> builtins.dict[str, Any]:
        from actors.protocol.codec import to_dict

        return to_dict(cast(Any, self))

    def dict(
        self, *, by_alias: bool = True, exclude_unset: bool = True, exclude_none: bool = False,
        include: Iterable[str] | None = None, exclude: Iterable[str] | None = None,
    ) -> builtins.dict[str, Any]:  # fmt: skip
        """The wire form as plain data (the SDK's ``dict()``); ``include``/``exclude`` pick top-level keys."""
        return _selected(self._wire_dict(), include, exclude)

    def model_dump(
        self, *, mode: str = "python", by_alias: bool = False, exclude_unset: bool = False,
        exclude_none: bool = False, exclude_defaults: bool = False,
        include: Iterable[str] | None = None, exclude: Iterable[str] | None = None,
    ) -> builtins.dict[str, Any]:  # fmt: skip
        """pydantic's ``model_dump``: every field with None included (``mode="python"``, the default).

        ``mode="json"`` or ``exclude_none``/``exclude_unset``/``exclude_defaults`` give the wire form
        (:meth:`dict`), as the SDK's JSON serializer does.
        """
        if mode not in ("python", "json"):
            raise ValueError(f"model_dump: mode must be 'python' or 'json', got {mode!r}")
        if mode == "json" or exclude_none or exclude_unset or exclude_defaults:
            data = self._wire_dict()
        else:
            from actors.protocol.sdk_compat import dump_python

            data = dump_python(self, by_alias)
        return _selected(data, include, exclude)

    def model_dump_json(
        self, *, indent: int | None = None, by_alias: bool = True, exclude_unset: bool = True,
        exclude_none: bool = False, include: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
    ) -> str:  # fmt: skip
        """The wire form as compact JSON (the SDK's ``model_dump_json()``; ``indent`` to pretty-print)."""
        return _json_text(_selected(self._wire_dict(), include, exclude), indent)

    def json(
        self, *, indent: int | None = None, by_alias: bool = True, exclude_unset: bool = True,
        exclude_none: bool = False, include: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
    ) -> str:  # fmt: skip
        """Same as :meth:`model_dump_json` (the SDK's ``json()``)."""
        return _json_text(_selected(self._wire_dict(), include, exclude), indent)


@wire_object
class WireObject(_SdkDumps, LeanAttrs):
    """A JSON object on the wire: known fields as attributes, the rest in ``unknown_fields``.

    ``unknown_fields`` is a dict of the received fields this class does not model. It is stored
    lazily: the decoder leaves the slot ``None`` when there were none, and the first read creates
    the object's own empty dict, so every object has its own dict and decoding the common case
    allocates nothing. ``X(unknown_fields={...})`` sets it at construction. It is excluded from
    ``repr`` but takes part in equality (an empty dict equals none), so a decoded message equals
    its re-decoded encoding only if the unknown fields survived too.
    """

    _unknown_fields: dict[str, Any] | None = attrs.field(
        default=None, alias="unknown_fields", repr=False, eq=_empty_as_none
    )

    @property
    def unknown_fields(self) -> dict[str, Any]:
        """The fields received but not modelled by this class (this object's own dict)."""
        found = self._unknown_fields
        if found is None:
            found = self._unknown_fields = {}
        return found

    @unknown_fields.setter
    def unknown_fields(self, value: dict[str, Any]) -> None:
        self._unknown_fields = value

    # --- pydantic-style construction and copies (Deepgram's SDK models have them) -------------

    @classmethod
    def model_validate(cls, obj: Any) -> Self:
        """Build a ``cls`` from plain data (or return ``obj`` if it already is one).

        The same validation as decoding; raises ``actors.errors.FieldError`` naming the bad
        field's path. A typed object of another class is converted through its wire form.
        """
        if isinstance(obj, cls):
            return obj
        from actors.errors import FieldError
        from actors.protocol.sdk_compat import to_plain
        from actors.protocol.wire_hooks import default_converter

        try:
            built: Self = default_converter().structure(to_plain(obj), cls)
        except FieldError as e:
            raise FieldError(f"{e.problem} (validating {cls.__name__})", e.path) from None
        return built

    @classmethod
    def model_validate_json(cls, data: str | bytes) -> Self:
        """:meth:`model_validate` of a JSON text (``FieldError`` for bad data, ValueError for bad JSON)."""
        return cls.model_validate(orjson.loads(data))

    @classmethod
    def parse_obj(cls, obj: Any) -> Self:
        """pydantic v1's name of :meth:`model_validate`."""
        return cls.model_validate(obj)

    @classmethod
    def parse_raw(cls, data: str | bytes) -> Self:
        """pydantic v1's name of :meth:`model_validate_json`."""
        return cls.model_validate_json(data)

    def model_copy(self, *, update: builtins.dict[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy (``deep`` copies nested objects too) with the fields in ``update`` replaced.

        As in pydantic, ``update`` is not validated; a name that is not a field becomes an unknown field.
        """
        copied = copy.deepcopy(self) if deep else copy.copy(self)
        shared = stored_unknown_fields(copied)
        if shared is not None and not deep:
            copied.unknown_fields = builtins.dict(shared)
        known = attrs.fields_dict(type(self))  # type: ignore[arg-type]
        for name, value in (update or {}).items():
            if name in known and name != UNKNOWN_FIELDS_SLOT:
                setattr(copied, name, value)
            else:
                copied.unknown_fields[name] = value
        return copied

    @property
    def model_extra(self) -> builtins.dict[str, Any]:
        """pydantic's name for :attr:`unknown_fields` (the fields received but not modelled)."""
        return self.unknown_fields

    if not TYPE_CHECKING:
        # Hidden from type checkers so typos in typed code are still caught.
        def __getattr__(self, name: str) -> Any:
            if name == UNKNOWN_FIELDS_SLOT or name.startswith("__"):
                raise AttributeError(name)
            found = self._unknown_fields
            if found is not None and name in found:
                return found[name]
            raise AttributeError(f"{type(self).__name__} has no field {name!r} (known or received)")


def stored_unknown_fields(obj: WireObject) -> dict[str, Any] | None:
    """``obj``'s unknown fields as stored: None when it has none.

    Unlike reading ``obj.unknown_fields``, this never creates the object's dict (for code walking
    many objects, such as dumps).
    """
    return obj._unknown_fields


@wire_object
class Message(WireObject):
    """A top-level wire message; ``type`` is its wire tag and defaults to the class's tag.

    Subclasses declare ``type: str = "<Tag>"``; :meth:`wire_type` returns that tag.
    """

    type: str = ""

    @classmethod
    def wire_type(cls) -> str:
        """The wire ``type`` tag of this message class (the default of its ``type`` field)."""
        tag = attrs.fields_dict(cast(Any, cls))["type"].default
        if not isinstance(tag, str) or not tag:
            raise TypeError(f"{cls.__name__} does not declare a wire type tag")
        return tag


@attrs.define(kw_only=True, slots=True, repr=False, eq=False)
class UnknownMessage(_SdkDumps, LeanAttrs):
    """A well-formed JSON message whose ``type`` this codec does not know; ``raw`` is the whole object.

    Encoding an UnknownMessage re-emits ``raw`` unchanged, so unknown messages can be forwarded;
    ``dict()`` / ``model_dump()`` / ``json()`` give ``raw`` back.
    """

    type: str
    raw: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "raw":
            raise AttributeError(name)
        try:
            return self.raw[name]
        except KeyError:
            raise AttributeError(f"unknown message {self.type!r} has no field {name!r}") from None


def _short(raw: str) -> str:
    return raw if len(raw) <= 200 else raw[:200] + f"... ({len(raw)} chars)"


@attrs.define(kw_only=True, slots=True, repr=False, eq=False)
class DecodeError(LeanAttrs):
    """A frame that could not be decoded: ``reason`` says why, ``raw`` is the frame as text.

    Returned (never raised) by ``Codec.decode`` so a reader thread keeps running.
    ``type`` is the message's wire tag when it could be read, else None.
    """

    reason: str
    raw: str = attrs.field(repr=_short)
    type: str | None = None

    def to_exception(self) -> Exception:
        """An ``actors.errors.ProtocolError`` carrying this error's reason (for callers that raise)."""
        from actors.errors import ProtocolError

        return ProtocolError(f"could not decode frame: {self.reason}")
