"""How a socket's send method turns its argument into a wire message and hands it on.

Every typed send method of the sockets (written out per API in :mod:`actors.client.sockets` and
:mod:`actors.client.async_sockets`) is one call of :meth:`MessageSender._send_message` with its
message class, or of :meth:`MessageSender._send_audio`. Which methods an API's sockets have is
declared once, in its :class:`~actors.protocol.apis.ApiSpec` (``client_sends``,
``client_sends_binary``); ``tests/client/test_send_methods.py`` checks the sockets against it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

import attrs

from actors.errors import OptionsError, ProtocolError
from actors.protocol.base import Message

M = TypeVar("M", bound=Message)

__all__ = ["MessageSender", "audio_bytes", "build_message", "message_is_optional", "raw_text"]


def message_is_optional(cls: type[Message]) -> bool:
    """True when ``cls`` has no required field, so its send method's argument may be omitted."""
    return all(field.default is not attrs.NOTHING for field in attrs.fields(cast(Any, cls)))


def build_message(method: str, cls: type[M], message: M | Mapping[str, Any] | None) -> M:
    """The ``cls`` message that send method ``method`` sends for the argument ``message``.

    None -> the message with its defaults (``ListenV1Finalize()``); an instance of ``cls`` ->
    itself; a mapping -> ``cls`` built from it (its ``type`` may be omitted; unknown keys are kept
    and sent). Anything else, or a mapping of another type or with bad fields, raises
    ``OptionsError`` naming ``method`` and ``cls``.
    """
    from actors.protocol.codec import structure

    if message is None:
        try:
            return cls()
        except TypeError as exc:
            raise OptionsError("message", f"{method}() needs a {cls.__name__} argument ({exc})") from None
    if isinstance(message, cls):
        return message
    if isinstance(message, Mapping):
        data = dict(message)
        tag = cls.wire_type()
        data.setdefault("type", tag)
        if data["type"] != tag:
            raise OptionsError(
                "message", f"{method}() got a dict of type {data['type']!r}; expected {cls.__name__}"
            )
        try:
            return structure(cls, data)
        except ProtocolError as exc:
            raise OptionsError("message", f"{method}() got a dict that is not a valid {exc}") from None
    raise OptionsError(
        "message", f"{method}() expects a {cls.__name__} (or a dict), got {type(message).__name__}"
    )


def audio_bytes(method: str, message: object) -> bytes:
    """``message`` as bytes for the audio send ``method``; ``OptionsError`` if it is not bytes-like."""
    if isinstance(message, bytes):
        return message
    if isinstance(message, (bytearray, memoryview)):
        return bytes(message)
    raise OptionsError("message", f"{method}() expects audio bytes, got {type(message).__name__}")


def raw_text(message: object) -> str:
    """The text frame ``send_raw`` sends: a string verbatim, a mapping as compact JSON.

    Raises ``OptionsError`` for anything else or a mapping that is not JSON-serialisable.
    """
    if isinstance(message, str):
        return message
    if isinstance(message, Mapping):
        import orjson

        try:
            return orjson.dumps(dict(message)).decode()
        except TypeError as exc:
            raise OptionsError("message", f"send_raw() got a dict that is not JSON ({exc})") from None
    raise OptionsError("message", f"send_raw() expects a dict or a JSON string, got {type(message).__name__}")


class MessageSender:
    """Base of every socket (sync and async): the helpers its send methods call.

    The socket provides ``_connection``. Every text frame goes through :meth:`_deliver_message` /
    :meth:`_deliver_text`, which a socket may extend (Agent sockets record the requests that await
    a reply there). Sends only enqueue, so the async sockets call these too.
    """

    _connection: Any

    def _send_message(self, method: str, cls: type[M], message: M | Mapping[str, Any] | None) -> None:
        """Send ``message`` as a ``cls`` (see :func:`build_message`); ``method`` names the caller."""
        self._deliver_message(build_message(method, cls, message))

    def _send_audio(self, method: str, message: bytes) -> None:
        """Send ``message`` as one binary audio frame; ``method`` names the caller in errors."""
        data = audio_bytes(method, message)
        self._connection.send_audio(data)

    def _deliver_message(self, message: Message) -> None:
        """Send one protocol message (encoded by the connection)."""
        self._connection.send(message)

    def _deliver_text(self, frame: str) -> None:
        """Send one already-encoded JSON text frame."""
        self._connection.send_text(frame)
