"""The codec: JSON text frames <-> typed wire messages, through a cattrs converter.

Every :class:`Codec` owns a ``cattrs.Converter``, ``codec.converter``: the process-wide
:func:`default_converter` unless given one made with :func:`make_converter`. The converter's
hooks for WireObject classes are the generated ones (:mod:`actors.protocol.wire_hooks` registers
the factories, :mod:`actors.protocol.hook_source` writes the code), and the codec decodes and
encodes through them, so

* ``codec.converter.structure(d, ListenV1Results)`` equals ``codec.from_dict(d)`` and raises
  :class:`actors.errors.FieldError` (a ``ProtocolError``) naming the field path for bad data;
* ``codec.converter.unstructure(msg)`` equals ``codec.to_dict(msg)`` (``UnknownMessage`` too);
* ``codec.converter.structure(d, codec.message_type)`` is the codec's tag dispatch: each codec
  registers, for the union of its classes, a hook choosing the class by the ``type`` field, with an
  :class:`UnknownMessage` for an unknown tag;
* users register their own cattrs hooks for their own types as usual. A hook registered for a
  WireObject class in a converter replaces the generated one in every codec on that converter
  (register it before the codec first decodes that class's tag).

The hot path ``codec.decode(frame)`` calls the converter's structure hook of the frame's class,
looked up once per tag (``converter.get_structure_hook``) and kept, so there is no per-call
dispatch; encoding likewise keeps each class's unstructure hook. Supported field types: ``str``,
``int``, ``float``, ``bool``, ``Any``, ``Literal[...]``, ``X | None``, ``list[X]``,
``dict[str, X]``, WireObject subclasses and unions of those (members tried in declaration order;
a ``bool`` never passes as an ``int``). Scalar field types are checked inline by the generated
code (hooks registered for ``str``/``int``/... do not apply to them).

Decoding never raises: a malformed frame becomes :class:`DecodeError`, an unknown ``type`` an
:class:`UnknownMessage`. Encoding omits optional fields that are ``None``, writes whole floats as
ints where the field is an ``int``, and re-emits ``unknown_fields``.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Iterable
from typing import Any

import cattrs
import orjson

from actors.errors import FieldError, ProtocolError
from actors.protocol.base import DecodeError, Message, UnknownMessage, WireObject
from actors.protocol.hook_source import generated_class
from actors.protocol.wire_hooks import (
    WireHooks,
    configure_converter,
    default_converter,
    default_hooks,
    make_converter,
)
from actors.protocol.wire_types import union_args

__all__ = [
    "Codec",
    "Decoded",
    "WireHooks",
    "configure_converter",
    "default_converter",
    "default_hooks",
    "from_dict",
    "make_converter",
    "structure",
    "to_dict",
    "unstructure",
]

Decoded = Message | UnknownMessage | DecodeError
_Decoder = Callable[[Any], Any]


def _decoder_of(converter: cattrs.Converter, cls: type) -> _Decoder:
    """``converter``'s structure hook for ``cls`` as a one-argument function (looked up now)."""
    hook = converter.get_structure_hook(cls)
    if generated_class(hook) is not None:
        return typing.cast(_Decoder, hook)
    return lambda d: hook(d, cls)


def _to_dict(converter: cattrs.Converter, msg: Any) -> dict[str, Any]:
    """``msg`` as plain data through ``converter``'s hooks; ProtocolError if it is no wire message."""
    if type(msg) is UnknownMessage:
        return dict(msg.raw)
    if not isinstance(msg, WireObject):
        raise ProtocolError(f"cannot encode {type(msg).__name__}: not a wire message")
    try:
        result: dict[str, Any] = converter.unstructure(msg)
        return result
    except AttributeError as e:
        raise ProtocolError(f"cannot encode {type(msg).__name__}: {e}") from None


# --- module-level API on the default converter --------------------------------------------------


def structure(cls: type[WireObject], data: Any) -> Any:
    """Build a ``cls`` from plain JSON data; raises ProtocolError naming the class and bad field."""
    try:
        return default_converter().structure(data, cls)
    except FieldError as e:
        raise ProtocolError(f"{cls.__name__}: {e}") from None


def unstructure(obj: WireObject) -> dict[str, Any]:
    """Plain JSON-ready data for ``obj`` (unset optional fields omitted, unknown fields re-emitted)."""
    result: dict[str, Any] = default_converter().unstructure(obj)
    return result


def to_dict(msg: Message | UnknownMessage) -> dict[str, Any]:
    """Plain data for any message (an UnknownMessage gives back its raw object)."""
    return _to_dict(default_converter(), msg)


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

    Creating a codec is cheap: a class's hook is looked up in the converter (and so generated)
    when the first frame of its tag is decoded, or its first message encoded.
    """

    def __init__(
        self,
        classes: Iterable[type[Message]],
        name: str = "",
        *,
        converter: cattrs.Converter | None = None,
    ) -> None:
        self.name = name
        self._converter: cattrs.Converter = default_converter() if converter is None else converter
        self._by_tag: dict[str, type[Message]] = {}
        # Filled per tag on first decode (_load_decoder): creating a codec generates no hooks.
        self._decoders: dict[str, _Decoder] = {}
        # Filled per class on first encode: the converter's unstructure hooks.
        self._encoders: dict[type, Callable[[Any], Any]] = {}
        for cls in classes:
            tag = cls.wire_type()
            if tag in self._by_tag:
                raise ValueError(
                    f"codec {name!r}: wire type {tag!r} claimed by both "
                    f"{self._by_tag[tag].__name__} and {cls.__name__}"
                )
            self._by_tag[tag] = cls
        # Tags decode() may hand straight to their hook (a subclass removes the ones it selects).
        self._fast: dict[str, _Decoder] = self._decoders
        self.message_type: Any = self._register_message_union(self._all_classes())

    @property
    def converter(self) -> cattrs.Converter:
        """The cattrs converter whose hooks this codec decodes and encodes with."""
        return self._converter

    def _decoder_for(self, cls: type[Message]) -> _Decoder:
        """The converter's structure hook for ``cls`` as a one-argument function (looked up now)."""
        return _decoder_of(self._converter, cls)

    def _load_decoder(self, tag: str) -> _Decoder | None:
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
    def _run_decoder(decoder: _Decoder, data: dict[str, Any], frame: Any, tag: str) -> Decoded:
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
        if union_args(union) is not None:  # a single class is its own (class) hook already
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
            return orjson.dumps(self.to_dict(msg)).decode()
        except orjson.JSONEncodeError as e:
            raise ProtocolError(f"cannot encode {type(msg).__name__}: {e}") from None

    def to_dict(self, msg: Message | UnknownMessage) -> dict[str, Any]:
        """Plain JSON-ready data for ``msg`` (what :meth:`encode` serialises).

        Through the converter's unstructure hook of ``type(msg)``, looked up once per class.
        """
        encoder = self._encoders.get(type(msg))
        if encoder is None:
            if type(msg) is UnknownMessage or not isinstance(msg, WireObject):
                return _to_dict(self._converter, msg)
            encoder = self._encoders[type(msg)] = self._converter.get_unstructure_hook(type(msg))
        try:
            result: dict[str, Any] = encoder(msg)
            return result
        except AttributeError as e:
            raise ProtocolError(f"cannot encode {type(msg).__name__}: {e}") from None

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
