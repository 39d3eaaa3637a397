"""Speak V1 (``/v1/speak``) wire messages, both directions.

``SpeakV1Text`` is the client's ``{"type": "Speak", "text": ...}``. ``Flushed`` and ``Cleared`` are
distinct classes. ``SpeakV1Warning`` accepts both field spellings the service has used:
``description``/``code`` (current spec) and ``warn_code``/``warn_msg`` (older service).
"""

from __future__ import annotations

from actors.protocol.base import Message, wire_object

__all__ = [
    "CLIENT_MESSAGES",
    "SERVER_MESSAGES",
    "SpeakV1Clear",
    "SpeakV1Cleared",
    "SpeakV1Close",
    "SpeakV1Flush",
    "SpeakV1Flushed",
    "SpeakV1Metadata",
    "SpeakV1Text",
    "SpeakV1Warning",
]


@wire_object
class SpeakV1Metadata(Message):
    """First server message: the request id and the voice model serving the connection."""

    type: str = "Metadata"
    request_id: str
    model_name: str
    model_version: str
    model_uuid: str
    additional_model_uuids: list[str] | None = None


@wire_object
class SpeakV1Flushed(Message):
    """All audio for a ``Flush`` has been sent; ``sequence_id`` counts accepted flushes."""

    type: str = "Flushed"
    sequence_id: int


@wire_object
class SpeakV1Cleared(Message):
    """Buffered text and queued audio were dropped after a ``Clear``."""

    type: str = "Cleared"
    sequence_id: int


@wire_object
class SpeakV1Warning(Message):
    """A non-fatal warning in either spelling; use :attr:`warning_code` / :attr:`warning_text`."""

    type: str = "Warning"
    description: str | None = None
    code: str | None = None
    warn_code: str | None = None
    warn_msg: str | None = None

    @property
    def warning_code(self) -> str | None:
        """The warning's code, whichever spelling the server used."""
        return self.code if self.code is not None else self.warn_code

    @property
    def warning_text(self) -> str | None:
        """The warning's human-readable text, whichever spelling the server used."""
        return self.description if self.description is not None else self.warn_msg


@wire_object
class SpeakV1Text(Message):
    """Text to synthesise (wire type ``Speak``); at most 2000 characters per message."""

    type: str = "Speak"
    text: str


@wire_object
class SpeakV1Flush(Message):
    """Synthesise everything buffered now; answered by ``Flushed``."""

    type: str = "Flush"


@wire_object
class SpeakV1Clear(Message):
    """Drop buffered text and queued audio; answered by ``Cleared``."""

    type: str = "Clear"


@wire_object
class SpeakV1Close(Message):
    """Flush and close the connection gracefully."""

    type: str = "Close"


SERVER_MESSAGES: tuple[type[Message], ...] = (
    SpeakV1Metadata,
    SpeakV1Flushed,
    SpeakV1Cleared,
    SpeakV1Warning,
)
"""Every message class the server sends on /v1/speak (text frames; audio is binary)."""

CLIENT_MESSAGES: tuple[type[Message], ...] = (SpeakV1Text, SpeakV1Flush, SpeakV1Clear, SpeakV1Close)
"""Every message class the client sends on /v1/speak."""
