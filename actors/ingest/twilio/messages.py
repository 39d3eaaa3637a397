"""Twilio Media Streams messages: parse what Twilio sends, serialize what we may send back.

From Twilio (per its docs): ``connected`` (first, no sequence number), ``start`` (once), ``media``,
``dtmf`` and ``mark`` (bidirectional streams), ``stop``. ``sequenceNumber``, ``media.chunk`` and
``media.timestamp`` are decimal **strings**; anything else there is rejected. ``mediaFormat.sampleRate``
and ``channels`` are numbers. Audio is base64 μ-law 8 kHz mono, one track per message.

To Twilio (§2.3, bidirectional only): ``media`` (audio to play), ``mark``, ``clear``.

Every parse failure raises :class:`TwilioProtocolError` naming the field; its ``close_code`` is what the
driver should close the WebSocket with.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Literal

import attrs

from actors.ingest.calls import CallEvent

Track = Literal["inbound", "outbound"]
TRACKS: tuple[Track, ...] = ("inbound", "outbound")

#: WebSocket close codes the driver uses (RFC 6455 §7.4.1).
CLOSE_NORMAL = 1000
CLOSE_UNSUPPORTED = 1003  # a binary frame, or a media format we cannot take
CLOSE_INVALID_DATA = 1007  # not JSON, wrong field types, bad base64
CLOSE_POLICY = 1008  # a message out of order, an unknown event, a stream id mismatch


class TwilioProtocolError(Exception):
    """Twilio's side broke the protocol: ``str(error)`` names what; close the socket with ``close_code``.

    ``events`` are the call-model events that end the call (buffered audio, then ``CallEnd("error")``)
    when the session had started one; the driver delivers them before closing. Empty otherwise.
    """

    def __init__(self, message: str, close_code: int = CLOSE_INVALID_DATA) -> None:
        super().__init__(message)
        self.close_code = close_code
        self.events: tuple[CallEvent, ...] = ()


@attrs.frozen
class MediaFormat:
    """The stream's audio format as ``start.mediaFormat`` declares it."""

    encoding: str
    sample_rate: int
    channels: int


@attrs.frozen
class Connected:
    """The first message on the socket: the protocol name and version."""

    protocol: str
    version: str


@attrs.frozen
class Start:
    """The stream's metadata: ids, the tracks it carries, ``<Parameter>`` values and the audio format."""

    sequence_number: int
    stream_sid: str
    account_sid: str
    call_sid: str
    tracks: tuple[Track, ...]
    custom_parameters: Mapping[str, str]
    media_format: MediaFormat


@attrs.frozen
class Media:
    """One chunk of one track: ``payload`` (decoded μ-law) starting ``timestamp`` ms after stream start."""

    sequence_number: int
    stream_sid: str
    track: Track
    chunk: int
    timestamp: int
    payload: bytes = attrs.field(repr=lambda b: f"<{len(b)} bytes>")


@attrs.frozen
class Dtmf:
    """A key the caller pressed (bidirectional streams); ``track`` is Twilio's, e.g. ``"inbound_track"``."""

    sequence_number: int
    stream_sid: str
    track: str
    digit: str


@attrs.frozen
class Mark:
    """Twilio echoes our mark ``name``: the audio queued before it has played (or was cleared)."""

    sequence_number: int
    stream_sid: str
    name: str


@attrs.frozen
class Stop:
    """The stream stopped or the call ended."""

    sequence_number: int
    stream_sid: str
    account_sid: str
    call_sid: str


TwilioMessage = Connected | Start | Media | Dtmf | Mark | Stop


def _object(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise TwilioProtocolError(f"{where} must be a JSON object, got {type(value).__name__}")
    return value


def _string(obj: Mapping[str, object], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        got = "missing" if key not in obj else f"a {type(value).__name__}"
        raise TwilioProtocolError(f"{where}.{key} must be a string, got {got}")
    return value


def _id(obj: Mapping[str, object], key: str, where: str) -> str:
    value = _string(obj, key, where)
    if not value:
        raise TwilioProtocolError(f"{where}.{key} must not be empty")
    return value


def _counter(obj: Mapping[str, object], key: str, where: str) -> int:
    """A decimal-string counter such as ``sequenceNumber`` ("1"); a JSON number is rejected too."""
    value = obj.get(key)
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        shown = "missing" if key not in obj else json.dumps(value)
        raise TwilioProtocolError(f"{where}.{key} must be a string of decimal digits, got {shown}")
    return int(value)


def _number(obj: Mapping[str, object], key: str, where: str) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        shown = "missing" if key not in obj else json.dumps(value)
        raise TwilioProtocolError(f"{where}.{key} must be a whole number, got {shown}")
    return int(value)


def _track(value: object, where: str) -> Track:
    for track in TRACKS:
        if value == track:
            return track
    raise TwilioProtocolError(f"{where} must be 'inbound' or 'outbound', got {json.dumps(value)}")


def _parse_start(msg: Mapping[str, object]) -> Start:
    seq = _counter(msg, "sequenceNumber", "start")
    body = _object(msg.get("start"), "start.start")
    stream_sid = _id(body, "streamSid", "start.start")
    if "streamSid" in msg and msg["streamSid"] != stream_sid:
        raise TwilioProtocolError("start.streamSid differs from start.start.streamSid", CLOSE_POLICY)
    raw_tracks = body.get("tracks")
    if not isinstance(raw_tracks, list) or not raw_tracks:
        raise TwilioProtocolError("start.start.tracks must be a non-empty list of 'inbound'/'outbound'")
    tracks = tuple(_track(t, f"start.start.tracks[{i}]") for i, t in enumerate(raw_tracks))
    if len(set(tracks)) != len(tracks):
        raise TwilioProtocolError(f"start.start.tracks lists a track twice: {list(tracks)}")
    raw_params = _object(body.get("customParameters", {}), "start.start.customParameters")
    params: dict[str, str] = {}
    for name, value in raw_params.items():
        if not isinstance(value, str):
            raise TwilioProtocolError(f"start.start.customParameters.{name} must be a string")
        params[name] = value
    fmt = _object(body.get("mediaFormat"), "start.start.mediaFormat")
    media_format = MediaFormat(
        encoding=_string(fmt, "encoding", "start.start.mediaFormat"),
        sample_rate=_number(fmt, "sampleRate", "start.start.mediaFormat"),
        channels=_number(fmt, "channels", "start.start.mediaFormat"),
    )
    return Start(
        sequence_number=seq,
        stream_sid=stream_sid,
        account_sid=_id(body, "accountSid", "start.start"),
        call_sid=_id(body, "callSid", "start.start"),
        tracks=tracks,
        custom_parameters=params,
        media_format=media_format,
    )


def _parse_media(msg: Mapping[str, object]) -> Media:
    seq = _counter(msg, "sequenceNumber", "media")
    body = _object(msg.get("media"), "media.media")
    encoded = _string(body, "payload", "media.media")
    try:
        payload = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise TwilioProtocolError(f"media.media.payload is not valid base64 ({exc})") from None
    return Media(
        sequence_number=seq,
        stream_sid=_id(msg, "streamSid", "media"),
        track=_track(body.get("track"), "media.media.track"),
        chunk=_counter(body, "chunk", "media.media"),
        timestamp=_counter(body, "timestamp", "media.media"),
        payload=payload,
    )


def parse_message(frame: str | bytes) -> TwilioMessage:
    """Parse one WebSocket frame from Twilio. Twilio sends only text frames of JSON.

    Raises :class:`TwilioProtocolError`: a binary frame (close 1003), not JSON or a field of the wrong
    type (1007), an unknown ``event`` (1008).
    """
    if isinstance(frame, bytes | bytearray | memoryview):
        raise TwilioProtocolError("Twilio sends text frames only; got a binary frame", CLOSE_UNSUPPORTED)
    try:
        decoded = json.loads(frame)
    except ValueError as exc:
        raise TwilioProtocolError(f"frame is not JSON ({exc.__class__.__name__}: {exc})") from None
    msg = _object(decoded, "message")
    event = msg.get("event")
    if event == "connected":
        return Connected(
            protocol=_string(msg, "protocol", "connected"), version=_string(msg, "version", "connected")
        )
    if event == "start":
        return _parse_start(msg)
    if event == "media":
        return _parse_media(msg)
    if event == "dtmf":
        body = _object(msg.get("dtmf"), "dtmf.dtmf")
        return Dtmf(
            sequence_number=_counter(msg, "sequenceNumber", "dtmf"),
            stream_sid=_id(msg, "streamSid", "dtmf"),
            track=_string(body, "track", "dtmf.dtmf"),
            digit=_id(body, "digit", "dtmf.dtmf"),
        )
    if event == "mark":
        body = _object(msg.get("mark"), "mark.mark")
        return Mark(
            sequence_number=_counter(msg, "sequenceNumber", "mark"),
            stream_sid=_id(msg, "streamSid", "mark"),
            name=_string(body, "name", "mark.mark"),
        )
    if event == "stop":
        body = _object(msg.get("stop"), "stop.stop")
        return Stop(
            sequence_number=_counter(msg, "sequenceNumber", "stop"),
            stream_sid=_id(msg, "streamSid", "stop"),
            account_sid=_id(body, "accountSid", "stop.stop"),
            call_sid=_id(body, "callSid", "stop.stop"),
        )
    if not isinstance(event, str):
        raise TwilioProtocolError("message.event must be a string naming the event")
    raise TwilioProtocolError(
        f"unknown event {event!r} (expected connected, start, media, dtmf, mark or stop)", CLOSE_POLICY
    )


def media_message(stream_sid: str, audio: bytes) -> str:
    """A ``media`` message playing raw μ-law/8000 ``audio`` into a bidirectional stream."""
    payload = base64.b64encode(audio).decode("ascii")
    return json.dumps({"event": "media", "streamSid": stream_sid, "media": {"payload": payload}})


def mark_message(stream_sid: str, name: str) -> str:
    """A ``mark`` message: Twilio echoes ``name`` once the audio sent before it has played."""
    return json.dumps({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})


def clear_message(stream_sid: str) -> str:
    """A ``clear`` message: Twilio drops the audio buffered so far and echoes the pending marks."""
    return json.dumps({"event": "clear", "streamSid": stream_sid})


__all__ = [
    "CLOSE_INVALID_DATA",
    "CLOSE_NORMAL",
    "CLOSE_POLICY",
    "CLOSE_UNSUPPORTED",
    "TRACKS",
    "Connected",
    "Dtmf",
    "Mark",
    "Media",
    "MediaFormat",
    "Start",
    "Stop",
    "Track",
    "TwilioMessage",
    "TwilioProtocolError",
    "clear_message",
    "mark_message",
    "media_message",
    "parse_message",
]
