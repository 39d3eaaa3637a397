"""Listen V2 / Flux (``/v2/listen``) wire messages, both directions.

Shapes follow asyncapi.yml plus what the live service sends beyond it: ``ForceEndTurn``,
``TurnInfo.trigger``, ``Warning``, ``Configure.numerals``, ``ConfigureFailure.code/description``.
Every server message carries ``sequence_id`` (0 for ``Connected``, then +1 per message).
"""

from __future__ import annotations

from actors.protocol.base import Message, WireObject, wire_object

__all__ = [
    "CLIENT_MESSAGES",
    "SERVER_MESSAGES",
    "ListenV2CloseStream",
    "ListenV2Configure",
    "ListenV2ConfigureFailure",
    "ListenV2ConfigureSuccess",
    "ListenV2ConfigureSuccessThresholds",
    "ListenV2ConfigureThresholds",
    "ListenV2Connected",
    "ListenV2FatalError",
    "ListenV2ForceEndTurn",
    "ListenV2TurnInfo",
    "ListenV2TurnInfoWordsItem",
    "ListenV2Warning",
]


@wire_object
class ListenV2Connected(Message):
    """First server message of a Flux session (``sequence_id`` 0)."""

    type: str = "Connected"
    request_id: str
    sequence_id: int


@wire_object
class ListenV2TurnInfoWordsItem(WireObject):
    """One word of a turn transcript (cased and punctuated); times in seconds when present."""

    word: str
    confidence: float
    start: float | None = None
    end: float | None = None


@wire_object
class ListenV2TurnInfo(Message):
    """A turn event: ``event`` is StartOfTurn, Update, EagerEndOfTurn, TurnResumed or EndOfTurn.

    ``trigger`` (EndOfTurn only) is ``model``, ``manual`` (ForceEndTurn) or ``timeout``.
    """

    type: str = "TurnInfo"
    request_id: str
    sequence_id: int
    event: str
    turn_index: int
    audio_window_start: float
    audio_window_end: float
    transcript: str
    words: list[ListenV2TurnInfoWordsItem]
    end_of_turn_confidence: float
    trigger: str | None = None
    languages: list[str] | None = None
    languages_hinted: list[str] | None = None


@wire_object
class ListenV2ConfigureSuccessThresholds(WireObject):
    """The end-of-turn thresholds active after a Configure."""

    eager_eot_threshold: float | None = None
    eot_threshold: float | None = None
    eot_timeout_ms: int | None = None


@wire_object
class ListenV2ConfigureSuccess(Message):
    """The server applied a Configure; fields hold the now-active values."""

    type: str = "ConfigureSuccess"
    request_id: str
    sequence_id: int
    thresholds: ListenV2ConfigureSuccessThresholds | None = None
    keyterms: str | list[str] | None = None
    language_hints: list[str] | None = None
    numerals: bool | None = None


@wire_object
class ListenV2ConfigureFailure(Message):
    """The server refused a Configure (``code``/``description`` when the service gives them)."""

    type: str = "ConfigureFailure"
    request_id: str
    sequence_id: int
    code: str | None = None
    description: str | None = None


@wire_object
class ListenV2Warning(Message):
    """A non-fatal warning, e.g. ``FORCE_END_TURN_NO_ACTIVE_TURN``."""

    type: str = "Warning"
    code: str
    description: str
    request_id: str | None = None
    sequence_id: int | None = None


@wire_object
class ListenV2FatalError(Message):
    """A fatal error (wire type ``Error``); the server closes the connection after it."""

    type: str = "Error"
    code: str
    description: str
    sequence_id: int | None = None


@wire_object
class ListenV2CloseStream(Message):
    """Finish: the server transcribes what it has, sends the Updates and closes (no EndOfTurn)."""

    type: str = "CloseStream"


@wire_object
class ListenV2ForceEndTurn(Message):
    """End the current turn now; answered by ``EndOfTurn`` with ``trigger="manual"``."""

    type: str = "ForceEndTurn"


@wire_object
class ListenV2ConfigureThresholds(WireObject):
    """End-of-turn thresholds to change mid-stream; omitted ones keep their value."""

    eager_eot_threshold: float | None = None
    eot_threshold: float | None = None
    eot_timeout_ms: int | None = None


@wire_object
class ListenV2Configure(Message):
    """Mid-stream reconfiguration; ``keyterms`` replaces the list; omitted fields are unchanged."""

    type: str = "Configure"
    thresholds: ListenV2ConfigureThresholds | None = None
    keyterms: str | list[str] | None = None
    language_hints: list[str] | None = None
    numerals: bool | None = None


SERVER_MESSAGES: tuple[type[Message], ...] = (
    ListenV2Connected,
    ListenV2TurnInfo,
    ListenV2ConfigureSuccess,
    ListenV2ConfigureFailure,
    ListenV2Warning,
    ListenV2FatalError,
)
"""Every message class the server sends on /v2/listen."""

CLIENT_MESSAGES: tuple[type[Message], ...] = (
    ListenV2CloseStream,
    ListenV2ForceEndTurn,
    ListenV2Configure,
)
"""Every message class the client sends on /v2/listen (text frames; audio is binary)."""
