"""The plain ``/v1/stream`` ingress: any app streams a call's audio over one WebSocket (protocol v1).

Client -> server, in this order:

1. One text frame, the start message::

       {"type": "start", "version": 1, "call_id": "c-42", "encoding": "linear16", "sample_rate": 16000,
        "channels": ["agent", "customer"], "language": "en", "metadata": {"queue": "billing"}}

   * ``version`` (optional, default 1): the protocol version; only 1 exists. A server that does not speak
     the version answers ``unsupported_version``. Unknown fields are rejected, so a typo never goes unseen.
   * ``call_id``: non-empty string, at most 256 characters; identifies the call in the store.
   * ``encoding``: ``"linear16"`` (signed 16-bit little-endian PCM) or ``"mulaw"`` (G.711 μ-law).
   * ``sample_rate``: integer Hz, 8000 to 48000.
   * ``channels``: a count 1-8 (labels ``"0"``, ``"1"``, ...) or a list of 1-8 distinct non-empty labels,
     in interleaving order.
   * ``language`` (optional): a BCP-47 tag such as ``"en-US"``, passed to the recogniser.
   * ``metadata`` (optional): an object of string values, stored with the call.

2. Binary frames of raw audio in that format, interleaved per sample, each a non-empty whole number of
   sample frames (``channels x width`` bytes). 20-250 ms a frame suits the recogniser.

3. One text frame ``{"type": "stop"}``: the call is complete. The server closes with 1000.

Server -> client: ``{"type": "started", "version": 1, "call_id": ...}`` once the start is accepted, and
before closing on bad input ``{"type": "error", "code": ..., "message": ...}`` where ``message`` names the
field or frame that was wrong. Codes and the close code that follows:

=========================  =====  ==========================================================
code                       close  meaning
=========================  =====  ==========================================================
``bad_json``               1007   a text frame is not a JSON object with a string ``type``
``bad_field``              1007   a field is missing, unknown, of the wrong type or out of range
``unsupported_version``    1008   ``version`` is not one this server speaks
``bad_audio``              1007   a binary frame is empty or not whole sample frames
``unexpected_message``     1008   a message out of order (audio before start, a second start, ...)
``unknown_type``           1008   ``type`` is not ``start`` or ``stop``
=========================  =====  ==========================================================

A socket that closes before ``stop`` ends the call as ``"disconnected"``
(:meth:`PlainSession.connection_lost`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Literal

from actors.ingest.audio import Encoding, frame_bytes
from actors.ingest.calls import CallAudio, CallEnd, CallEvent, CallStart

#: The protocol versions this module speaks.
VERSIONS = (1,)
MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 48000
MAX_CHANNELS = 8
MAX_CALL_ID = 256

CLOSE_NORMAL = 1000
CLOSE_INVALID_DATA = 1007
CLOSE_POLICY = 1008

ErrorCode = Literal[
    "bad_json", "bad_field", "unsupported_version", "bad_audio", "unexpected_message", "unknown_type"
]

_CLOSE_FOR: dict[str, int] = {
    "bad_json": CLOSE_INVALID_DATA,
    "bad_field": CLOSE_INVALID_DATA,
    "bad_audio": CLOSE_INVALID_DATA,
    "unsupported_version": CLOSE_POLICY,
    "unexpected_message": CLOSE_POLICY,
    "unknown_type": CLOSE_POLICY,
}
_START_FIELDS = {"type", "version", "call_id", "encoding", "sample_rate", "channels", "language", "metadata"}


class PlainProtocolError(Exception):
    """The client broke the protocol: send :meth:`to_json`, then close with ``close_code``.

    ``code`` is one of the documented error codes; ``str(error)`` names the field or frame. ``events`` end
    the call (``CallEnd("error")``) if one had started, else are empty.
    """

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.close_code = _CLOSE_FOR[code]
        self.events: tuple[CallEvent, ...] = ()

    def to_json(self) -> str:
        """The ``{"type": "error", ...}`` text frame telling the client what was wrong."""
        return json.dumps({"type": "error", "code": self.code, "message": str(self)})


def _bad(message: str) -> PlainProtocolError:
    return PlainProtocolError("bad_field", message)


def parse_start(message: Mapping[str, object]) -> CallStart:
    """Validate a start message (already JSON-decoded) into a :class:`CallStart`; raises ``bad_field``."""
    unknown = sorted(set(message) - _START_FIELDS)
    if unknown:
        raise _bad(f"start has unknown field(s) {unknown}; allowed: {sorted(_START_FIELDS)}")
    version = message.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int):
        raise _bad(f"start.version must be an integer, got {json.dumps(version)}")
    if version not in VERSIONS:
        raise PlainProtocolError(
            "unsupported_version", f"start.version {version} is not supported (speak {VERSIONS})"
        )
    call_id = message.get("call_id")
    if not isinstance(call_id, str) or not call_id or len(call_id) > MAX_CALL_ID:
        raise _bad(f"start.call_id must be a non-empty string of at most {MAX_CALL_ID} characters")
    encoding = message.get("encoding")
    if encoding not in ("linear16", "mulaw"):
        raise _bad(f"start.encoding must be 'linear16' or 'mulaw', got {json.dumps(encoding)}")
    rate = message.get("sample_rate")
    if isinstance(rate, bool) or not isinstance(rate, int) or not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise _bad(
            f"start.sample_rate must be an integer from {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE}, "
            f"got {json.dumps(rate)}"
        )
    channels = _channels(message.get("channels"))
    language = message.get("language")
    if language is not None and (not isinstance(language, str) or not language):
        raise _bad("start.language must be a non-empty string when given")
    metadata = message.get("metadata", {})
    if not isinstance(metadata, dict):
        raise _bad("start.metadata must be an object of string values")
    for key, value in metadata.items():
        if not isinstance(value, str):
            raise _bad(f"start.metadata.{key} must be a string, got {json.dumps(value)}")
    return CallStart(
        platform="stream",
        call_id=call_id,
        encoding="linear16" if encoding == "linear16" else "mulaw",
        sample_rate=rate,
        channels=channels,
        language=language,
        metadata=metadata,
    )


def _channels(value: object) -> tuple[str, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        if not 1 <= value <= MAX_CHANNELS:
            raise _bad(f"start.channels must be from 1 to {MAX_CHANNELS}, got {value}")
        return tuple(str(i) for i in range(value))
    if isinstance(value, list):
        if not 1 <= len(value) <= MAX_CHANNELS:
            raise _bad(f"start.channels must list 1 to {MAX_CHANNELS} labels, got {len(value)}")
        if not all(isinstance(label, str) and label for label in value):
            raise _bad("start.channels labels must be non-empty strings")
        if len(set(value)) != len(value):
            raise _bad(f"start.channels labels must be distinct, got {value}")
        return tuple(value)
    raise _bad(f"start.channels must be a count or a list of labels, got {json.dumps(value)}")


State = Literal["new", "streaming", "ended"]


class PlainSession:
    """One ``/v1/stream`` connection as a sans-I/O state machine (see the module docstring).

    Feed text frames to :meth:`receive_text`, binary frames to :meth:`receive_bytes`; send what
    :meth:`data_to_send` returns after each call.
    """

    def __init__(self) -> None:
        self.state: State = "new"
        self.start: CallStart | None = None
        self._frame = 0
        self._received = 0
        self._outgoing: list[str] = []

    @property
    def position(self) -> float:
        """Seconds of call audio received so far."""
        if self.start is None:
            return 0.0
        return (self._received // self._frame) / self.start.sample_rate

    def data_to_send(self) -> list[str]:
        """Text frames to send to the client, oldest first (drains the queue)."""
        out, self._outgoing = self._outgoing, []
        return out

    def receive_text(self, text: str) -> list[CallEvent]:
        """Process a text frame (start or stop). Raises :class:`PlainProtocolError` on bad input."""
        return self._guard(lambda: self._text(text))

    def receive_bytes(self, data: bytes) -> list[CallEvent]:
        """Process a binary audio frame. Raises :class:`PlainProtocolError` on bad input."""
        return self._guard(lambda: self._audio(data))

    def connection_lost(self) -> list[CallEvent]:
        """The socket closed without stop: ``CallEnd("disconnected")`` if a call was running, else nothing."""
        return self._finish("disconnected", None)

    def _guard(self, step: Callable[[], list[CallEvent]]) -> list[CallEvent]:
        try:
            if self.state == "ended":
                raise PlainProtocolError("unexpected_message", "message after the call ended")
            return step()
        except PlainProtocolError as error:
            error.events = tuple(self._finish("error", str(error)))
            self._outgoing.append(error.to_json())
            raise

    def _finish(
        self, reason: Literal["completed", "disconnected", "error"], detail: str | None
    ) -> list[CallEvent]:
        was_streaming = self.state == "streaming"
        self.state = "ended"
        if not was_streaming:
            return []
        return [CallEnd(reason=reason, position=self.position, detail=detail)]

    def _text(self, text: str) -> list[CallEvent]:
        try:
            message = json.loads(text)
        except ValueError as exc:
            raise PlainProtocolError("bad_json", f"text frame is not JSON ({exc})") from None
        if not isinstance(message, dict):
            raise PlainProtocolError(
                "bad_json", f"text frame must be a JSON object, got {type(message).__name__}"
            )
        kind = message.get("type")
        if kind == "start":
            if self.state != "new":
                raise PlainProtocolError("unexpected_message", "a second start message")
            start = parse_start(message)
            self.start = start
            self._frame = frame_bytes(_encoding(start), len(start.channels))
            self.state = "streaming"
            self._outgoing.append(
                json.dumps({"type": "started", "version": VERSIONS[-1], "call_id": start.call_id})
            )
            return [start]
        if kind == "stop":
            if self.state != "streaming":
                raise PlainProtocolError("unexpected_message", "stop before start")
            if set(message) != {"type"}:
                raise _bad(f"stop takes no fields, got {sorted(set(message) - {'type'})}")
            return self._finish("completed", None)
        if not isinstance(kind, str):
            raise PlainProtocolError("bad_json", "text frame needs a string 'type' (start or stop)")
        raise PlainProtocolError("unknown_type", f"unknown message type {kind!r} (expected start or stop)")

    def _audio(self, data: bytes) -> list[CallEvent]:
        if self.start is None:
            raise PlainProtocolError("unexpected_message", "binary audio before the start message")
        if not data or len(data) % self._frame:
            raise PlainProtocolError(
                "bad_audio",
                f"binary frame of {len(data)} bytes is not a non-empty whole number of {self._frame}-byte "
                f"sample frames ({len(self.start.channels)} channel(s) of {self.start.encoding})",
            )
        event = CallAudio(audio=bytes(data), position=self.position)
        self._received += len(data)
        return [event]


def _encoding(start: CallStart) -> Encoding:
    return start.encoding


__all__ = ["VERSIONS", "ErrorCode", "PlainProtocolError", "PlainSession", "parse_start"]
