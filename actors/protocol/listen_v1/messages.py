"""Listen V1 (``/v1/listen``) wire messages, both directions.

Shapes follow asyncapi.yml plus what the live service sends beyond it (``Error``, ``Configure``,
``ConfigureSuccess``/``ConfigureFailure``, ``Sync``, Results ``search``/``extra``, summary
``Metadata.models``/``model_info``). Class names follow Deepgram's SDK. This module is the worked
pattern for the other APIs: nested objects are ``WireObject`` subclasses, messages are ``Message``
subclasses with ``type`` defaulting to their wire tag, optional fields default to ``None``.
"""

from __future__ import annotations

from typing import Any

import attrs

from actors.protocol.base import Message, WireObject, wire_object

__all__ = [
    "CLIENT_MESSAGES",
    "SERVER_MESSAGES",
    "ListenV1CloseStream",
    "ListenV1Configure",
    "ListenV1ConfigureFailure",
    "ListenV1ConfigureSuccess",
    "ListenV1Error",
    "ListenV1Finalize",
    "ListenV1KeepAlive",
    "ListenV1Metadata",
    "ListenV1MetadataModelInfo",
    "ListenV1Results",
    "ListenV1ResultsChannel",
    "ListenV1ResultsChannelAlternativesItem",
    "ListenV1ResultsChannelAlternativesItemWordsItem",
    "ListenV1ResultsChannelSearchItem",
    "ListenV1ResultsChannelSearchItemHitsItem",
    "ListenV1ResultsEntitiesItem",
    "ListenV1ResultsMetadata",
    "ListenV1ResultsMetadataDiarizeInfo",
    "ListenV1ResultsMetadataModelInfo",
    "ListenV1SpeechStarted",
    "ListenV1Sync",
    "ListenV1UtteranceEnd",
]


# --- Results and its nested objects ------------------------------------------------------------------


@wire_object
class ListenV1ResultsChannelAlternativesItemWordsItem(WireObject):
    """One recognised word; ``start``/``end`` are absolute stream offsets in seconds."""

    word: str
    start: float
    end: float
    confidence: float
    # Optional fields in the order they are most often present (the decoder looks them up in order).
    punctuated_word: str | None = None
    speaker: int | None = None
    language: str | None = None
    speaker_confidence: float | None = None


@wire_object
class ListenV1ResultsChannelAlternativesItem(WireObject):
    """One transcription hypothesis for a channel segment."""

    transcript: str
    confidence: float
    words: list[ListenV1ResultsChannelAlternativesItemWordsItem] = attrs.field(factory=list)
    languages: list[str] | None = None
    languages_hinted: list[str] | None = None


@wire_object
class ListenV1ResultsChannelSearchItemHitsItem(WireObject):
    """One hit of a ``search`` term."""

    confidence: float
    start: float
    end: float
    snippet: str


@wire_object
class ListenV1ResultsChannelSearchItem(WireObject):
    """Hits for one ``search`` query parameter."""

    query: str
    hits: list[ListenV1ResultsChannelSearchItemHitsItem] = attrs.field(factory=list)


@wire_object
class ListenV1ResultsChannel(WireObject):
    """The channel's alternatives (and search hits when ``search`` was requested)."""

    alternatives: list[ListenV1ResultsChannelAlternativesItem]
    search: list[ListenV1ResultsChannelSearchItem] | None = None


@wire_object
class ListenV1ResultsMetadataModelInfo(WireObject):
    """Name, version and architecture of the model that produced a result."""

    name: str
    version: str
    arch: str


@wire_object
class ListenV1ResultsMetadataDiarizeInfo(WireObject):
    """The diarisation model used (with ``diarize_model``)."""

    model_uuid: str
    arch: str


@wire_object
class ListenV1ResultsMetadata(WireObject):
    """Per-result metadata: request id and model; ``extra`` echoes the ``extra`` query parameter."""

    request_id: str
    model_info: ListenV1ResultsMetadataModelInfo
    model_uuid: str
    diarize_info: ListenV1ResultsMetadataDiarizeInfo | None = None
    extra: dict[str, Any] | None = None


@wire_object
class ListenV1ResultsEntitiesItem(WireObject):
    """A detected entity (``detect_entities``), spanning words ``start_word``..``end_word``."""

    label: str
    value: str
    raw_value: str
    confidence: float
    start_word: int
    end_word: int


@wire_object
class ListenV1Results(Message):
    """A transcript segment; ``channel_index`` is ``[channel, total_channels]``."""

    type: str = "Results"
    channel_index: list[int]
    duration: float
    start: float
    channel: ListenV1ResultsChannel
    metadata: ListenV1ResultsMetadata
    is_final: bool | None = None
    speech_final: bool | None = None
    from_finalize: bool | None = None
    entities: list[ListenV1ResultsEntitiesItem] | None = None


# --- other server messages ---------------------------------------------------------------------------


@wire_object
class ListenV1MetadataModelInfo(WireObject):
    """Model description inside the summary ``Metadata.model_info`` map."""

    name: str
    version: str
    arch: str


@wire_object
class ListenV1Metadata(Message):
    """The summary sent once at the end of a stream, right before the close frame."""

    type: str = "Metadata"
    transaction_key: str
    request_id: str
    sha256: str
    created: str
    duration: float
    channels: int
    models: list[str] | None = None
    model_info: dict[str, ListenV1MetadataModelInfo] | None = None
    extra: dict[str, Any] | None = None
    warnings: list[Any] | None = None


@wire_object
class ListenV1UtteranceEnd(Message):
    """A gap after the last word (``utterance_end_ms``); ``last_word_end`` in seconds."""

    type: str = "UtteranceEnd"
    channel: list[int]
    last_word_end: float


@wire_object
class ListenV1SpeechStarted(Message):
    """Voice activity started (``vad_events``) at ``timestamp`` seconds."""

    type: str = "SpeechStarted"
    channel: list[int]
    timestamp: float


@wire_object
class ListenV1Error(Message):
    """A non-spec ``Error``: ``variant`` is e.g. ``SchemaError`` (bad client JSON) or ``Closing``."""

    type: str = "Error"
    description: str
    variant: str | None = None
    code: str | None = None
    message: str | None = None


@wire_object
class ListenV1ConfigureSuccess(Message):
    """The server applied a ``Configure``; ``keyterms`` are the now-active key terms."""

    type: str = "ConfigureSuccess"
    request_id: str
    keyterms: list[str] | None = None
    features: dict[str, Any] | None = None


@wire_object
class ListenV1ConfigureFailure(Message):
    """The server refused a ``Configure``; ``code`` names why (e.g. CONFIGURE_ALREADY_PENDING)."""

    type: str = "ConfigureFailure"
    request_id: str
    code: str
    description: str


# --- client messages (Sync is echoed back by the server too) -------------------------------------------


@wire_object
class ListenV1Finalize(Message):
    """Flush buffered audio now; ``channel`` limits it to one channel (all when omitted)."""

    type: str = "Finalize"
    channel: int | None = None


@wire_object
class ListenV1CloseStream(Message):
    """Finish the stream: the server sends the remaining results, then ``Metadata``, then closes."""

    type: str = "CloseStream"


@wire_object
class ListenV1KeepAlive(Message):
    """Keeps an idle stream open (send every 3-5 s while no audio flows)."""

    type: str = "KeepAlive"


@wire_object
class ListenV1Configure(Message):
    """Mid-stream reconfiguration: replace ``keyterms`` and/or toggle ``features`` (e.g. numerals)."""

    type: str = "Configure"
    keyterms: list[str] | None = None
    features: dict[str, Any] | None = None


@wire_object
class ListenV1Sync(Message):
    """A barrier the server echoes back unchanged (``id`` is an unsigned 64-bit integer)."""

    type: str = "Sync"
    id: int


SERVER_MESSAGES: tuple[type[Message], ...] = (
    ListenV1Results,
    ListenV1Metadata,
    ListenV1UtteranceEnd,
    ListenV1SpeechStarted,
    ListenV1Error,
    ListenV1ConfigureSuccess,
    ListenV1ConfigureFailure,
    ListenV1Sync,
)
"""Every message class the server sends on /v1/listen (text frames)."""

CLIENT_MESSAGES: tuple[type[Message], ...] = (
    ListenV1Finalize,
    ListenV1CloseStream,
    ListenV1KeepAlive,
    ListenV1Configure,
    ListenV1Sync,
)
"""Every message class the client sends on /v1/listen (text frames; audio is binary)."""
