"""The one table of socket send methods, and how a send argument becomes a wire message.

Each API's socket gets, per row, the method named as in Deepgram's WebSocket reference
(``send_listen_v_1_finalize``) and the short name the SDK's socket classes use
(``send_finalize``). ``scripts/gen_socket_methods.py`` writes both, typed, for the sync and the
async sockets into :mod:`actors.client.send_methods`; ``tests/client/test_typing.py`` fails when
that file no longer matches this table.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, cast

import attrs

from actors.errors import OptionsError


@attrs.frozen
class SendSpec:
    """One send method: its reference ``name``, SDK ``alias``, and the message class it sends.

    ``message_type`` is the class name in ``types_module`` (e.g. ``ListenV1Finalize``), or None
    for a binary audio frame. ``doc`` says what sending it does.
    """

    name: str
    alias: str
    message_type: str | None
    types_module: str
    doc: str

    @property
    def binary(self) -> bool:
        """True when this method sends audio bytes."""
        return self.message_type is None


#: The one binary send method's suffix; every other row sends a message class.
MEDIA = "media"
_AUDIO_DOC = "Send audio bytes (one binary frame)."


def class_stem(api_name: str) -> str:
    """The class-name stem of an API: ``listen.v1`` -> ``ListenV1``."""
    family, version = api_name.split(".")
    return f"{family.capitalize()}{version.upper()}"


def _rows(api_name: str, docs: Mapping[str, str]) -> tuple[SendSpec, ...]:
    """The send methods of ``api_name`` (``listen.v1``), one per ``suffix -> doc`` in ``docs``.

    Names follow the reference: ``send_listen_v_1_<suffix>``, with the SDK alias
    ``send_<suffix>`` (a suffix already starting with ``send_`` is its own alias). The message
    class is the API's class stem plus the suffix in CamelCase (``ListenV1`` + ``Finalize``) in
    ``actors.<api>.types``; the ``media`` row sends audio bytes instead.
    """
    family, version = api_name.split(".")
    prefix = f"{family}_{version[0]}_{version[1:]}"
    specs = []
    for suffix, doc in docs.items():
        alias = suffix if suffix.startswith("send_") else f"send_{suffix}"
        camel = "".join(word.capitalize() for word in suffix.split("_"))
        message_type = None if suffix == MEDIA else class_stem(api_name) + camel
        specs.append(
            SendSpec(f"send_{prefix}_{suffix}", alias, message_type, f"actors.{api_name}.types", doc)
        )
    return tuple(specs)


#: API name -> method suffix -> what sending it does (the rows of :data:`SEND_TABLE`).
_SEND_DOCS: dict[str, dict[str, str]] = {
    "listen.v1": {
        MEDIA: _AUDIO_DOC,
        "finalize": "Ask for final results of the audio sent so far.",
        "close_stream": "End the audio; the server sends finals, Metadata, closes.",
        "keep_alive": "Keep an idle connection open.",
        "configure": "Change keyterms or features mid-stream.",
    },
    "listen.v2": {
        MEDIA: _AUDIO_DOC,
        "close_stream": "End the audio; the server sends its last updates and closes.",
        "force_end_turn": "End the current turn now.",
        "configure": "Change thresholds, keyterms or language hints mid-stream.",
    },
    "speak.v1": {
        "text": "Queue text to be spoken.",
        "flush": "Synthesize all queued text now; the server answers Flushed.",
        "clear": "Drop queued text; the server answers Cleared.",
        "close": "Finish the audio of queued text and close.",
    },
    "speak.v2": {
        "speak": "Add text to the current turn.",
        "flush": "End the turn: synthesize it now; the server answers SpeechMetadata and Flushed.",
        "interrupt": "Stop the current turn (barge-in); the server answers SpeechInterrupted.",
        "configure": "Change the speech rate; the server answers ConfigureSuccess or ConfigureFailure.",
        "close": "Finish the flushed turns' audio and close; the server answers SessionMetadata.",
    },
    "agent.v1": {
        "settings": "Configure the agent (must be the first message).",
        MEDIA: "Send user audio bytes (one binary frame).",
        "keep_alive": "Keep an idle connection open.",
        "update_speak": "Change the speak (TTS) provider mid-conversation.",
        "update_prompt": "Add to the agent's prompt.",
        "update_listen": "Change the listen (STT) provider mid-conversation.",
        "update_think": "Change the think (LLM) provider mid-conversation.",
        "inject_user_message": "Inject text as if the user said it.",
        "inject_agent_message": "Make the agent say this text.",
        "send_function_call_response": "Answer a client-side FunctionCallRequest.",
        "force_end_turn": "End the user's turn now.",
        "update_think_live": (
            "Change the Think Live configuration mid-conversation (wire type ``UpdateThink_Live``)."
        ),
        "inject_dynamic_agent_message": (
            "Ask the agent to compose and say a message now (``InjectAgentMessage``, ``is_dynamic``)."
        ),
        "custom_to_think_provider": (
            "Pass data through to a custom think provider (``__customToThinkProvider``)."
        ),
    },
}


#: API name (``ApiSpec.name``) -> its send methods.
SEND_TABLE: dict[str, tuple[SendSpec, ...]] = {api: _rows(api, docs) for api, docs in _SEND_DOCS.items()}

_class_cache: dict[tuple[str, str], type] = {}
_specs_by_name: dict[str, SendSpec] = {spec.name: spec for specs in SEND_TABLE.values() for spec in specs}


def spec_named(name: str) -> SendSpec:
    """The table row whose reference name is ``name`` (``send_listen_v_1_finalize``)."""
    return _specs_by_name[name]


def message_class(spec: SendSpec) -> type:
    """The message class a text send method takes (imported on first use)."""
    assert spec.message_type is not None
    key = (spec.types_module, spec.message_type)
    cls = _class_cache.get(key)
    if cls is None:
        cls = getattr(importlib.import_module(spec.types_module), spec.message_type)
        _class_cache[key] = cls
    return cls


def message_is_optional(spec: SendSpec) -> bool:
    """True when ``spec``'s message class has no required field, so the argument may be omitted."""
    return all(field.default is not attrs.NOTHING for field in attrs.fields(message_class(spec)))


def build_message(spec: SendSpec, message: Any) -> Any:
    """The message ``spec`` sends for the argument ``message``.

    None -> the message with its defaults (``ListenV1Finalize()``); an instance of the class ->
    itself; a mapping -> that class built from it (its ``type`` may be omitted; unknown keys are
    kept and sent). Anything else, or a mapping of another type or with bad fields, raises
    ``OptionsError`` naming the method and the expected class.
    """
    from actors.errors import ProtocolError
    from actors.protocol.codec import structure

    cls = message_class(spec)
    if message is None:
        try:
            return cls()
        except TypeError as exc:
            raise OptionsError("message", f"{spec.name}() needs a {cls.__name__} argument ({exc})") from None
    if isinstance(message, cls):
        return message
    if isinstance(message, Mapping):
        data = dict(message)
        tag = cast(Any, cls).wire_type()
        data.setdefault("type", tag)
        if data["type"] != tag:
            raise OptionsError(
                "message", f"{spec.name}() got a dict of type {data['type']!r}; expected {cls.__name__}"
            )
        try:
            return structure(cls, data)
        except ProtocolError as exc:
            raise OptionsError("message", f"{spec.name}() got a dict that is not a valid {exc}") from None
    raise OptionsError(
        "message", f"{spec.name}() expects a {cls.__name__} (or a dict), got {type(message).__name__}"
    )


def audio_bytes(spec: SendSpec, message: Any) -> bytes:
    """``message`` as bytes for a binary send; raises ``OptionsError`` if it is not bytes-like."""
    if isinstance(message, bytes):
        return message
    if isinstance(message, (bytearray, memoryview)):
        return bytes(message)
    raise OptionsError("message", f"{spec.name}() expects audio bytes, got {type(message).__name__}")


def raw_text(message: Any) -> str:
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


class TableSender:
    """Base of the generated send-method mixins (:mod:`actors.client.send_methods`).

    A generated method names its table row; these helpers look the row up and hand the
    message to the socket's connection. The socket class provides ``_connection``. Every text
    frame a socket sends goes through ``_deliver_message`` / ``_deliver_text``, which a socket
    may extend (Agent sockets record the requests that await a reply there).
    """

    _connection: Any

    def _send_table_message(self, name: str, message: Any) -> None:
        self._deliver_message(build_message(spec_named(name), message))

    def _deliver_message(self, message: Any) -> None:
        """Send one protocol message (encoded by the connection)."""
        self._connection.send(message)

    def _deliver_text(self, frame: str) -> None:
        """Send one already-encoded JSON text frame."""
        self._connection.send_text(frame)

    def _send_table_audio(self, name: str, message: Any) -> None:
        self._connection.send_audio(audio_bytes(spec_named(name), message))


__all__ = [
    "SEND_TABLE",
    "SendSpec",
    "TableSender",
    "audio_bytes",
    "build_message",
    "class_stem",
    "message_class",
    "message_is_optional",
    "raw_text",
    "spec_named",
]
