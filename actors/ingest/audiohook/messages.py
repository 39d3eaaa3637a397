"""The AudioHook message envelope and catalogue (the AudioHook protocol) as attrs classes.

A message is an envelope (:class:`ClientMessage` from Genesys, :class:`ServerMessage` from us) whose
``parameters`` is one typed parameter class per message type; the type name is the parameter class's
``TYPE``. :func:`parse_client_message` / :func:`parse_server_message` validate JSON text and return a
typed message or raise :class:`MessageError` naming the offending field (a dotted path such as
``parameters.media[0].rate``); :func:`dump` serializes either direction. Durations are seconds as
``float`` here and ``PT<seconds>S`` on the wire.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import ClassVar, Literal, Self, TypeAlias, cast

import attrs

from actors.ingest.audiohook.signatures import is_uuid

#: The only protocol version.
VERSION = "2"
#: Longest text message the reference accepts (characters).
MAX_TEXT_LENGTH = 65535

#: A JSON value (as parsed by :func:`json.loads`).
Json: TypeAlias = "bool | int | float | str | list[Json] | dict[str, Json] | None"

ChannelName = Literal["external", "internal"]
AudioFormat = Literal["PCMU", "L16"]
CloseReason = Literal["end", "error", "disconnect", "reconnect"]
DisconnectReason = Literal["completed", "unauthorized", "error"]

_DURATION = re.compile(r"^PT((?:\d*\.)?\d+)S$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}-[A-Za-z]{2,3}$")


class MessageError(ValueError):
    """A message is malformed: ``field`` names what was wrong (dotted path, ``""`` for the whole message)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}" if field else problem)
        self.field = field
        self.problem = problem


# --- value helpers -------------------------------------------------------------------------------------


def parse_duration(value: object, field: str) -> float:
    """Seconds from a ``PT<seconds>S`` duration; :class:`MessageError` naming ``field`` otherwise."""
    if not isinstance(value, str):
        raise MessageError(field, "must be a duration string like PT1.5S")
    match = _DURATION.match(value)
    if not match:
        raise MessageError(field, f"{value!r} is not a duration like PT1.5S")
    return float(match.group(1))


def format_duration(seconds: float) -> str:
    """``PT<seconds>S`` with a plain decimal (nanosecond precision, no trailing zeros)."""
    if seconds < 0 or not math.isfinite(seconds):
        raise ValueError(f"a duration must be finite and non-negative, not {seconds}")
    text = f"{seconds:.9f}".rstrip("0").rstrip(".")
    return f"PT{text}S"


def is_language(value: str) -> bool:
    """True for a language code the protocol accepts (``en-US``, ``cmn-CN``)."""
    return bool(_LANGUAGE.match(value))


def _obj(value: object, field: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise MessageError(field, "must be a JSON object")
    return cast(dict[str, object], value)


def _str(obj: Mapping[str, object], key: str, field: str, *, optional: bool = False) -> str | None:
    value = obj.get(key)
    if value is None:
        if optional:
            return None
        raise MessageError(f"{field}.{key}", "is required")
    if not isinstance(value, str):
        raise MessageError(f"{field}.{key}", "must be a string")
    return value


def _req_str(obj: Mapping[str, object], key: str, field: str) -> str:
    value = _str(obj, key, field)
    assert value is not None
    return value


def _uuid(obj: Mapping[str, object], key: str, field: str) -> str:
    value = _req_str(obj, key, field)
    if not is_uuid(value):
        raise MessageError(f"{field}.{key}", f"{value!r} is not a UUID")
    return value


def _int(obj: Mapping[str, object], key: str, field: str, *, optional: bool = False) -> int | None:
    value = obj.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise MessageError(f"{field}.{key}", "must be an integer")
    return value


def _bool(obj: Mapping[str, object], key: str, field: str) -> bool | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise MessageError(f"{field}.{key}", "must be true or false")
    return value


def _opt_duration(obj: Mapping[str, object], key: str, field: str) -> float | None:
    value = obj.get(key)
    return None if value is None else parse_duration(value, f"{field}.{key}")


def _language(obj: Mapping[str, object], key: str, field: str, *, optional: bool) -> str | None:
    value = _str(obj, key, field, optional=optional)
    if value is not None and not is_language(value):
        raise MessageError(f"{field}.{key}", f"{value!r} is not a language code like en-US")
    return value


def _drop_none(obj: dict[str, Json]) -> dict[str, Json]:
    return {key: value for key, value in obj.items() if value is not None}


# --- shared parameter values ---------------------------------------------------------------------------


@attrs.frozen
class MediaFormat:
    """One media offer/selection: format, sample ``rate`` and ``channels`` in sample order."""

    format: AudioFormat
    channels: tuple[ChannelName, ...]
    rate: int = 8000
    type: Literal["audio"] = "audio"

    @classmethod
    def from_json(cls, value: object, field: str) -> MediaFormat:
        """Validate one ``MediaParameter``."""
        obj = _obj(value, field)
        if obj.get("type") != "audio":
            raise MessageError(f"{field}.type", "must be 'audio'")
        fmt = obj.get("format")
        if fmt not in ("PCMU", "L16"):
            raise MessageError(f"{field}.format", f"{fmt!r} is not PCMU or L16")
        channels = obj.get("channels")
        if (
            not isinstance(channels, list)
            or not 1 <= len(channels) <= 2
            or any(ch not in ("external", "internal") for ch in channels)
            or len(set(channels)) != len(channels)
        ):
            raise MessageError(f"{field}.channels", "must be 1-2 distinct of 'external', 'internal'")
        rate = _int(obj, "rate", field)
        if rate != 8000:
            raise MessageError(f"{field}.rate", f"{rate} is not 8000")
        return cls(format=fmt, channels=tuple(cast(list[ChannelName], channels)), rate=rate)

    def to_json(self) -> dict[str, Json]:
        """The wire form."""
        return {"type": self.type, "format": self.format, "channels": list(self.channels), "rate": self.rate}


@attrs.frozen
class Participant:
    """The open's ``participant``: its UUID and the caller's ``ani``/``aniName`` and the dialed ``dnis``."""

    id: str
    ani: str = ""
    ani_name: str = ""
    dnis: str = ""

    @classmethod
    def from_json(cls, value: object, field: str) -> Participant:
        """Validate a ``participant`` object."""
        obj = _obj(value, field)
        return cls(
            id=_uuid(obj, "id", field),
            ani=_str(obj, "ani", field, optional=True) or "",
            ani_name=_str(obj, "aniName", field, optional=True) or "",
            dnis=_str(obj, "dnis", field, optional=True) or "",
        )

    def to_json(self) -> dict[str, Json]:
        """The wire form."""
        return {"id": self.id, "ani": self.ani, "aniName": self.ani_name, "dnis": self.dnis}


@attrs.frozen
class ContinuedSession:
    """An entry of ``open.continuedSessions`` (a reconnect continuing an earlier session)."""

    id: str
    serverseq: int
    clientseq: int


# --- client -> server parameters -----------------------------------------------------------------------


@attrs.frozen
class OpenParameters:
    """``open``: who the call is and the media offered."""

    TYPE: ClassVar[str] = "open"
    organization_id: str
    conversation_id: str
    participant: Participant
    media: tuple[MediaFormat, ...]
    language: str | None = None
    supported_languages: bool | None = None
    continued_sessions: tuple[ContinuedSession, ...] = ()
    custom_config: Mapping[str, Json] = attrs.field(factory=dict)

    @classmethod
    def from_json(cls, obj: dict[str, object], field: str) -> OpenParameters:
        """Validate ``open`` parameters."""
        media = obj.get("media")
        if not isinstance(media, list):
            raise MessageError(f"{field}.media", "must be a list of media formats")
        continued: list[ContinuedSession] = []
        raw_continued = obj.get("continuedSessions")
        if raw_continued is not None:
            if not isinstance(raw_continued, list):
                raise MessageError(f"{field}.continuedSessions", "must be a list")
            for index, entry in enumerate(raw_continued):
                where = f"{field}.continuedSessions[{index}]"
                item = _obj(entry, where)
                continued.append(
                    ContinuedSession(
                        id=_uuid(item, "id", where),
                        serverseq=cast(int, _int(item, "serverseq", where)),
                        clientseq=cast(int, _int(item, "clientseq", where)),
                    )
                )
        custom = obj.get("customConfig")
        if custom is not None and not isinstance(custom, dict):
            raise MessageError(f"{field}.customConfig", "must be a JSON object")
        return cls(
            organization_id=_uuid(obj, "organizationId", field),
            conversation_id=_uuid(obj, "conversationId", field),
            participant=Participant.from_json(obj.get("participant"), f"{field}.participant"),
            media=tuple(MediaFormat.from_json(m, f"{field}.media[{i}]") for i, m in enumerate(media)),
            language=_language(obj, "language", field, optional=True),
            supported_languages=_bool(obj, "supportedLanguages", field),
            continued_sessions=tuple(continued),
            custom_config=cast(dict[str, Json], custom or {}),
        )

    def to_json(self) -> dict[str, Json]:
        """The wire form."""
        return _drop_none(
            {
                "organizationId": self.organization_id,
                "conversationId": self.conversation_id,
                "participant": self.participant.to_json(),
                "media": [m.to_json() for m in self.media],
                "language": self.language,
                "supportedLanguages": self.supported_languages,
                "continuedSessions": [
                    {"id": c.id, "serverseq": c.serverseq, "clientseq": c.clientseq}
                    for c in self.continued_sessions
                ]
                or None,
                "customConfig": dict(self.custom_config),
            }
        )


@attrs.frozen
class CloseParameters:
    """``close``: the client ends the session (``reason``)."""

    TYPE: ClassVar[str] = "close"
    reason: CloseReason = "end"

    @classmethod
    def from_json(cls, obj: dict[str, object], field: str) -> CloseParameters:
        """Validate ``close`` parameters."""
        reason = obj.get("reason")
        if reason not in ("end", "error", "disconnect", "reconnect"):
            raise MessageError(f"{field}.reason", f"{reason!r} is not end, error, disconnect or reconnect")
        return cls(reason=reason)

    def to_json(self) -> dict[str, Json]:
        """The wire form."""
        return {"reason": self.reason}


@attrs.frozen
class PingParameters:
    """``ping``: heartbeat, with the last measured round trip ``rtt`` (s) if any."""

    TYPE: ClassVar[str] = "ping"
    rtt: float | None = None

    @classmethod
    def from_json(cls, obj: dict[str, object], field: str) -> PingParameters:
        """Validate ``ping`` parameters."""
        return cls(rtt=_opt_duration(obj, "rtt", field))

    def to_json(self) -> dict[str, Json]:
        """The wire form."""
        return {} if self.rtt is None else {"rtt": format_duration(self.rtt)}


@attrs.frozen
class NoParameters:
    """Parameters of a message type that has none: ``{}`` on the wire, anything else ignored."""

    TYPE: ClassVar[str] = ""

    @classmethod
    def from_json(cls, obj: dict[str, object], field: str) -> Self:
        """A message of this type carries no parameters."""
        return cls()

    def to_json(self) -> dict[str, Json]:
        """The wire form: ``{}``."""
        return {}


@attrs.frozen
class PausedParameters(NoParameters):
    """``paused``: the client paused the audio."""

    TYPE: ClassVar[str] = "paused"


@attrs.frozen
class DiscardSpan:
    """Parameters naming skipped audio: ``discarded`` s starting at ``start`` (durations on the wire)."""

    TYPE: ClassVar[str] = ""
    start: float
    discarded: float

    @classmethod
    def from_json(cls, obj: dict[str, object], field: str) -> Self:
        """Validate the ``start`` and ``discarded`` durations."""
        return cls(
            start=parse_duration(obj.get("start"), f"{field}.start"),
            discarded=parse_duration(obj.get("discarded"), f"{field}.discarded"),
        )

    def to_json(self) -> dict[str, Json]:
        """The wire form."""
        return {"start": format_duration(self.start), "discarded": format_duration(self.discarded)}


@attrs.frozen
class ResumedParameters(DiscardSpan):
    """``resumed``: audio resumes at ``start``; ``discarded`` s of the stream were skipped by the pause."""

    TYPE: ClassVar[str] = "resumed"


@attrs.frozen
class DiscardedParameters(DiscardSpan):
    """``discarded``: the client dropped ``discarded`` s of audio starting at ``start``."""

    TYPE: ClassVar[str] = "discarded"


@attrs.frozen
class UpdateParameters:
    """``update``: the conversation language changed."""

    TYPE: ClassVar[str] = "update"
    language: str

    @classmethod
    def from_json(cls, obj: dict[str, object], field: str) -> UpdateParameters:
        """Validate ``update`` parameters."""
        return cls(language=cast(str, _language(obj, "language", field, optional=False)))

    def to_json(self) -> dict[str, Json]:
        """The wire form."""
        return {"language": self.language}


@attrs.frozen
class ClientErrorParameters:
    """``error`` from the client: ``code`` 400-9999, ``message``, optional ``retry_after`` (s)."""

    TYPE: ClassVar[str] = "error"
    code: int
    message: str
    retry_after: float | None = None

    @classmethod
    def from_json(cls, obj: dict[str, object], field: str) -> ClientErrorParameters:
        """Validate ``error`` parameters."""
        code = cast(int, _int(obj, "code", field))
        if not 400 <= code <= 9999:
            raise MessageError(f"{field}.code", f"{code} is not in 400-9999")
        return cls(
            code=code,
            message=_req_str(obj, "message", field),
            retry_after=_opt_duration(obj, "retryAfter", field),
        )

    def to_json(self) -> dict[str, Json]:
        """The wire form."""
        out: dict[str, Json] = {"code": self.code, "message": self.message}
        if self.retry_after is not None:
            out["retryAfter"] = format_duration(self.retry_after)
        return out


ClientParameters = (
    OpenParameters
    | CloseParameters
    | PingParameters
    | PausedParameters
    | ResumedParameters
    | DiscardedParameters
    | UpdateParameters
    | ClientErrorParameters
)
_CLIENT_TYPES: dict[str, type[ClientParameters]] = {
    cls.TYPE: cls
    for cls in (
        OpenParameters,
        CloseParameters,
        PingParameters,
        PausedParameters,
        ResumedParameters,
        DiscardedParameters,
        UpdateParameters,
        ClientErrorParameters,
    )
}


# --- server -> client parameters -----------------------------------------------------------------------


@attrs.frozen
class OpenedParameters:
    """``opened``: the selected ``media`` (0 or 1 entry), and optionally start paused / languages."""

    TYPE: ClassVar[str] = "opened"
    media: tuple[MediaFormat, ...]
    start_paused: bool | None = None
    discard_to: float | None = None
    supported_languages: tuple[str, ...] | None = None

    @classmethod
    def from_json(cls, obj: dict[str, object], field: str) -> OpenedParameters:
        """Validate ``opened`` parameters."""
        media = obj.get("media")
        if not isinstance(media, list) or len(media) > 1:
            raise MessageError(f"{field}.media", "must be a list of at most one media format")
        langs = obj.get("supportedLanguages")
        if langs is not None and (
            not isinstance(langs, list) or not all(isinstance(x, str) and is_language(x) for x in langs)
        ):
            raise MessageError(f"{field}.supportedLanguages", "must be a list of language codes")
        return cls(
            media=tuple(MediaFormat.from_json(m, f"{field}.media[{i}]") for i, m in enumerate(media)),
            start_paused=_bool(obj, "startPaused", field),
            discard_to=_opt_duration(obj, "discardTo", field),
            supported_languages=None if langs is None else tuple(cast(list[str], langs)),
        )

    def to_json(self) -> dict[str, Json]:
        """The wire form."""
        return _drop_none(
            {
                "media": [m.to_json() for m in self.media],
                "startPaused": self.start_paused,
                "discardTo": None if self.discard_to is None else format_duration(self.discard_to),
                "supportedLanguages": None
                if self.supported_languages is None
                else list(self.supported_languages),
            }
        )


@attrs.frozen
class ClosedParameters(NoParameters):
    """``closed``: ends the close transaction (the client then closes the WebSocket)."""

    TYPE: ClassVar[str] = "closed"


@attrs.frozen
class PongParameters(NoParameters):
    """``pong``: answers a ``ping``."""

    TYPE: ClassVar[str] = "pong"


@attrs.frozen
class PauseParameters(NoParameters):
    """``pause``: asks the client to pause the audio."""

    TYPE: ClassVar[str] = "pause"


@attrs.frozen
class ResumeParameters(NoParameters):
    """``resume``: asks the client to resume the audio."""

    TYPE: ClassVar[str] = "resume"


@attrs.frozen
class UpdatedParameters(NoParameters):
    """``updated``: acknowledges an ``update`` (in the types; the reference server never sends it)."""

    TYPE: ClassVar[str] = "updated"


@attrs.frozen
class Entity:
    """One ``event`` entity: ``type`` (``transcript``, ``agentassist``) and its JSON ``data``."""

    type: str
    data: Json


@attrs.frozen
class EventParameters:
    """``event``: entities (transcripts, agent assist) for the client."""

    TYPE: ClassVar[str] = "event"
    entities: tuple[Entity, ...]

    @classmethod
    def from_json(cls, obj: dict[str, object], field: str) -> EventParameters:
        """Validate ``event`` parameters (entity data is kept as JSON)."""
        entities = obj.get("entities")
        if not isinstance(entities, list):
            raise MessageError(f"{field}.entities", "must be a list")
        out = []
        for index, entity in enumerate(entities):
            where = f"{field}.entities[{index}]"
            item = _obj(entity, where)
            out.append(Entity(type=_req_str(item, "type", where), data=cast(Json, item.get("data"))))
        return cls(entities=tuple(out))

    def to_json(self) -> dict[str, Json]:
        """The wire form."""
        return {"entities": [{"type": e.type, "data": e.data} for e in self.entities]}


@attrs.frozen
class DisconnectParameters:
    """``disconnect``: asks the client to close (``reason``, optional ``info``)."""

    TYPE: ClassVar[str] = "disconnect"
    reason: DisconnectReason
    info: str | None = None

    @classmethod
    def from_json(cls, obj: dict[str, object], field: str) -> DisconnectParameters:
        """Validate ``disconnect`` parameters."""
        reason = obj.get("reason")
        if reason not in ("completed", "unauthorized", "error"):
            raise MessageError(f"{field}.reason", f"{reason!r} is not completed, unauthorized or error")
        return cls(reason=reason, info=_str(obj, "info", field, optional=True))

    def to_json(self) -> dict[str, Json]:
        """The wire form."""
        return _drop_none({"reason": self.reason, "info": self.info})


@attrs.frozen
class ReconnectParameters:
    """``reconnect``: asks the client to reconnect (optional ``info``)."""

    TYPE: ClassVar[str] = "reconnect"
    info: str | None = None

    @classmethod
    def from_json(cls, obj: dict[str, object], field: str) -> ReconnectParameters:
        """Validate ``reconnect`` parameters."""
        return cls(info=_str(obj, "info", field, optional=True))

    def to_json(self) -> dict[str, Json]:
        """The wire form."""
        return _drop_none({"info": self.info})


ServerParameters = (
    OpenedParameters
    | ClosedParameters
    | PongParameters
    | PauseParameters
    | ResumeParameters
    | EventParameters
    | DisconnectParameters
    | ReconnectParameters
    | UpdatedParameters
)
_SERVER_TYPES: dict[str, type[ServerParameters]] = {
    cls.TYPE: cls
    for cls in (
        OpenedParameters,
        ClosedParameters,
        PongParameters,
        PauseParameters,
        ResumeParameters,
        EventParameters,
        DisconnectParameters,
        ReconnectParameters,
        UpdatedParameters,
    )
}


# --- envelopes -----------------------------------------------------------------------------------------


@attrs.frozen
class ClientMessage:
    """A message from Genesys: session ``id``, ``seq``, the last ``serverseq`` seen, ``position`` (s)."""

    id: str
    seq: int
    serverseq: int
    position: float
    parameters: ClientParameters

    @property
    def type(self) -> str:
        """The message type (``open``, ``ping``, ...)."""
        return self.parameters.TYPE


@attrs.frozen
class ServerMessage:
    """A message from us: session ``id``, our ``seq``, the last client ``clientseq`` received."""

    id: str
    seq: int
    clientseq: int
    parameters: ServerParameters

    @property
    def type(self) -> str:
        """The message type (``opened``, ``pong``, ...)."""
        return self.parameters.TYPE


def _envelope(text: str | bytes) -> tuple[dict[str, object], str, dict[str, object]]:
    if len(text) > MAX_TEXT_LENGTH:
        raise MessageError("", f"message longer than {MAX_TEXT_LENGTH} characters")
    try:
        raw = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MessageError("", f"not JSON ({exc})") from None
    obj = _obj(raw, "message")
    if obj.get("version") != VERSION:
        raise MessageError("version", f"must be the string {VERSION!r}")
    _uuid(obj, "id", "message")
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise MessageError("type", "must be a string")
    seq = _int(obj, "seq", "message")
    if seq is None or seq < 0:
        raise MessageError("seq", "must be an integer >= 0")
    params = _obj(obj.get("parameters"), "parameters")
    return obj, kind, params


def _strip(error: MessageError) -> MessageError:
    field = error.field.removeprefix("message.")
    return MessageError(field, error.problem)


def parse_client_message(text: str | bytes) -> ClientMessage:
    """Validate a text frame from Genesys; :class:`MessageError` names the bad field."""
    try:
        obj, kind, params = _envelope(text)
        cls = _CLIENT_TYPES.get(kind)
        if cls is None:
            raise MessageError("type", f"unknown client message type {kind!r}")
        serverseq = _int(obj, "serverseq", "message")
        if serverseq is None or serverseq < 0:
            raise MessageError("serverseq", "must be an integer >= 0")
        return ClientMessage(
            id=cast(str, obj["id"]),
            seq=cast(int, obj["seq"]),
            serverseq=serverseq,
            position=parse_duration(obj.get("position"), "position"),
            parameters=cls.from_json(params, "parameters"),
        )
    except MessageError as exc:
        raise _strip(exc) from None


def parse_server_message(text: str | bytes) -> ServerMessage:
    """Validate a text frame from an AudioHook server (for clients); :class:`MessageError` names the field."""
    try:
        obj, kind, params = _envelope(text)
        cls = _SERVER_TYPES.get(kind)
        if cls is None:
            raise MessageError("type", f"unknown server message type {kind!r}")
        clientseq = _int(obj, "clientseq", "message")
        if clientseq is None or clientseq < 0:
            raise MessageError("clientseq", "must be an integer >= 0")
        return ServerMessage(
            id=cast(str, obj["id"]),
            seq=cast(int, obj["seq"]),
            clientseq=clientseq,
            parameters=cls.from_json(params, "parameters"),
        )
    except MessageError as exc:
        raise _strip(exc) from None


def dump(message: ClientMessage | ServerMessage) -> str:
    """The JSON text frame for a message (either direction)."""
    out: dict[str, Json] = {"version": VERSION, "id": message.id, "type": message.type, "seq": message.seq}
    if isinstance(message, ClientMessage):
        out["serverseq"] = message.serverseq
        out["position"] = format_duration(message.position)
    else:
        out["clientseq"] = message.clientseq
    out["parameters"] = message.parameters.to_json()
    return json.dumps(out, separators=(",", ":"))


__all__ = [
    "MAX_TEXT_LENGTH",
    "VERSION",
    "ClientErrorParameters",
    "ClientMessage",
    "ClientParameters",
    "CloseParameters",
    "ClosedParameters",
    "ContinuedSession",
    "DiscardedParameters",
    "DisconnectParameters",
    "Entity",
    "EventParameters",
    "Json",
    "MediaFormat",
    "MessageError",
    "OpenParameters",
    "OpenedParameters",
    "Participant",
    "PauseParameters",
    "PausedParameters",
    "PingParameters",
    "PongParameters",
    "ReconnectParameters",
    "ResumeParameters",
    "ResumedParameters",
    "ServerMessage",
    "ServerParameters",
    "UpdateParameters",
    "UpdatedParameters",
    "dump",
    "format_duration",
    "is_language",
    "parse_client_message",
    "parse_duration",
    "parse_server_message",
]
