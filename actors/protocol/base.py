"""Base classes of every wire object: known messages, nested objects, unknown messages, decode errors.

Every message on the wire is an attrs class deriving from :class:`Message`; nested JSON objects
derive from :class:`WireObject`. Subclasses are declared with :func:`wire_object` (``attrs.define``
with keyword-only, slotted, mutable instances). Field names are the wire names; where a wire name
cannot be a Python name, declare the field with :func:`wire_field` and ``wire="the-wire-name"``.

Fields the class does not know are kept in ``unknown_fields`` (the codec fills it on decode and
re-emits it on encode) and can be read as attributes, so ``msg.new_field`` works when a newer
service sends a field this version does not model.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, TypeVar, cast, dataclass_transform

import attrs

__all__ = [
    "UNKNOWN_FIELDS_SLOT",
    "DecodeError",
    "Message",
    "UnknownMessage",
    "WireObject",
    "wire_field",
    "wire_object",
]

_C = TypeVar("_C", bound=type)

#: Key in attrs field metadata holding the field's wire name when it differs from the Python name.
WIRE_NAME = "actors.wire_name"


@dataclass_transform(kw_only_default=True, field_specifiers=(attrs.field,))
def wire_object(cls: _C) -> _C:
    """Turn ``cls`` (a WireObject subclass) into a keyword-only, slotted attrs class.

    The class inherits :meth:`WireObject.__repr__` (the same text as attrs' generated repr)
    instead of getting a generated one: a third less work per class, so importing an API's
    message classes is faster (cold start).
    """
    return attrs.define(kw_only=True, slots=True, repr=False)(cls)


#: Ids of the wire objects whose repr is being built on this thread (recursion guard, as attrs).
_REPRING = threading.local()


def _wire_repr(obj: Any) -> str:
    """``ClassName(field=value, ...)`` exactly as attrs' generated ``__repr__`` writes it."""
    working: set[int] | None = getattr(_REPRING, "ids", None)
    if working is None:
        working = _REPRING.ids = set()
    elif id(obj) in working:
        return "..."
    working.add(id(obj))
    try:
        parts = []
        for field in type(obj).__attrs_attrs__:
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


@wire_object
class WireObject:
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

    def __repr__(self) -> str:
        return _wire_repr(self)

    if not TYPE_CHECKING:
        # Hidden from type checkers so typos in typed code are still caught.
        def __getattr__(self, name: str) -> Any:
            if name == UNKNOWN_FIELDS_SLOT or name.startswith("__"):
                raise AttributeError(name)
            found = self._unknown_fields
            if found is not None and name in found:
                return found[name]
            raise AttributeError(f"{type(self).__name__} has no field {name!r} (known or received)")


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


@attrs.define(kw_only=True, slots=True)
class UnknownMessage:
    """A well-formed JSON message whose ``type`` this codec does not know; ``raw`` is the whole object.

    Encoding an UnknownMessage re-emits ``raw`` unchanged, so unknown messages can be forwarded.
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


@attrs.define(kw_only=True, slots=True)
class DecodeError:
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
