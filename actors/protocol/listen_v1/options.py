"""Connect options of Listen V1 (``/v1/listen``): every query parameter in asyncapi.yml plus the
ones the service and Deepgram's SDK also use (``language_hint``, ``filler_words``, ``no_delay``).

Declared in alphabetical order, which is the order Deepgram's SDK puts them on the wire.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actors.protocol.options import ConnectOptions, Param

__all__ = ["LISTEN_V1_AUDIO_FORMAT_OPTIONS", "LISTEN_V1_ENCODINGS", "LISTEN_V1_MODELS", "ListenV1Options"]

LISTEN_V1_ENCODINGS = (
    "linear16", "linear32", "flac", "alaw", "mulaw", "amr-nb", "amr-wb", "opus", "ogg-opus", "speex", "g729",
)  # fmt: skip
"""Audio encodings /v1/listen accepts for raw audio."""

LISTEN_V1_AUDIO_FORMAT_OPTIONS = frozenset({"encoding", "sample_rate", "channels", "multichannel"})
"""The options that describe the audio itself: a caller streaming a known recording or a platform's
media sets them from that audio, never from a user's option list."""

LISTEN_V1_MODELS = (
    "nova-3", "nova-3-general", "nova-3-medical", "nova-2", "nova-2-general", "nova-2-meeting",
    "nova-2-finance", "nova-2-conversationalai", "nova-2-voicemail", "nova-2-video", "nova-2-medical",
    "nova-2-drivethru", "nova-2-automotive", "nova", "nova-general", "nova-phonecall", "nova-medical",
    "enhanced", "enhanced-general", "enhanced-meeting", "enhanced-phonecall", "enhanced-finance", "base",
    "meeting", "phonecall", "finance", "conversationalai", "voicemail", "video", "custom",
)  # fmt: skip
"""Models listed in the spec (custom model names are accepted too, so ``model`` is not restricted)."""


def _bool(name: str) -> Param:
    return Param(name, "bool")


class ListenV1Options(ConnectOptions):
    """Validated query parameters of a /v1/listen connection (see :class:`ConnectOptions`)."""

    API = "listen.v1"
    PATH = "/v1/listen"
    PARAMS = (
        Param("callback", "str", doc="URL (http(s) or ws(s)) the service also sends results to"),
        Param("callback_method", "enum", choices=("POST", "GET", "PUT", "DELETE")),
        Param("channels", "int", minimum=1, maximum=20),
        _bool("detect_entities"),
        _bool("diarize"),
        Param("diarize_model", "enum", choices=("latest", "v1")),
        _bool("dictation"),
        Param("encoding", "enum", choices=LISTEN_V1_ENCODINGS),
        Param("endpointing", "int", minimum=0, or_false=True, doc="ms of silence, or false"),
        Param("extra", "str", repeatable=True, key_value=True, max_length=2048),
        _bool("filler_words"),
        _bool("interim_results"),
        Param("keyterm", "str", repeatable=True),
        Param("keywords", "str", repeatable=True),
        Param("language", "str"),
        Param("language_hint", "str", repeatable=True),
        _bool("mip_opt_out"),
        Param("model", "str", doc="one of LISTEN_V1_MODELS or a custom model name"),
        _bool("multichannel"),
        _bool("no_delay"),
        _bool("numerals"),
        _bool("profanity_filter"),
        _bool("punctuate"),
        Param(
            "redact",
            "enum",
            repeatable=True,
            choices=("true", "false", "pci", "numbers", "aggressive_numbers", "ssn"),
        ),
        Param("replace", "str", repeatable=True),
        Param("sample_rate", "int", minimum=1),
        Param("search", "str", repeatable=True),
        _bool("smart_format"),
        Param("tag", "str", repeatable=True, max_length=128),
        Param("utterance_end_ms", "int", minimum=0),
        _bool("vad_events"),
        Param("version", "str"),
    )

    if TYPE_CHECKING:  # typed attribute access for users; values live in the parameter table

        def __init__(self, *, extra_query: Any = None, **params: Any) -> None: ...

        callback: str | None
        callback_method: str | None
        channels: int | None
        detect_entities: bool | None
        diarize: bool | None
        diarize_model: str | None
        dictation: bool | None
        encoding: str | None
        endpointing: int | bool | None
        extra: list[str] | None
        filler_words: bool | None
        interim_results: bool | None
        keyterm: list[str] | None
        keywords: list[str] | None
        language: str | None
        language_hint: list[str] | None
        mip_opt_out: bool | None
        model: str | None
        multichannel: bool | None
        no_delay: bool | None
        numerals: bool | None
        profanity_filter: bool | None
        punctuate: bool | None
        redact: list[str] | None
        replace: list[str] | None
        sample_rate: int | None
        search: list[str] | None
        smart_format: bool | None
        tag: list[str] | None
        utterance_end_ms: int | None
        vad_events: bool | None
        version: str | None
