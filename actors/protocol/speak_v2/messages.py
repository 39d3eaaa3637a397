"""Speak V2 (``/v2/speak``, Flux TTS) wire messages, both directions.

Turn-based: ``Speak`` text accumulates into the current turn, ``Flush`` ends the turn (the server
answers ``SpeechStarted``, audio, ``SpeechMetadata``, ``Flushed``), ``Interrupt`` stops it
(``SpeechInterrupted``), ``Configure`` changes the speed (``ConfigureSuccess`` /
``ConfigureFailure``), ``Close`` ends the session (``SessionMetadata``). Field shapes follow
asyncapi.yml's ``SpeakV2_*`` schemas; the messages the spec does not have yet (``Interrupt``,
``Configure`` and their answers) follow deepgram-sdk 7.16's ``deepgram.speak.v2.types``.
"""

from __future__ import annotations

from actors.protocol.base import Message, WireObject, wire_object

__all__ = [
    "CLIENT_MESSAGES",
    "SERVER_MESSAGES",
    "SpeakV2Close",
    "SpeakV2Configure",
    "SpeakV2ConfigureFailure",
    "SpeakV2ConfigureSuccess",
    "SpeakV2ConfigureSuccessApplied",
    "SpeakV2Connected",
    "SpeakV2Error",
    "SpeakV2Flush",
    "SpeakV2Flushed",
    "SpeakV2Interrupt",
    "SpeakV2InterruptPlaybackOffset",
    "SpeakV2SessionMetadata",
    "SpeakV2Speak",
    "SpeakV2SpeechInterrupted",
    "SpeakV2SpeechInterruptedMetadata",
    "SpeakV2SpeechInterruptedMetadataControlsApplied",
    "SpeakV2SpeechMetadata",
    "SpeakV2SpeechMetadataControlsApplied",
    "SpeakV2SpeechStarted",
    "SpeakV2Warning",
]


# -- server messages -------------------------------------------------------------------------------


@wire_object
class SpeakV2Connected(Message):
    """First server message: the request id and the resolved Flux TTS model."""

    type: str = "Connected"
    request_id: str
    model_name: str
    model_version: str
    model_uuids: list[str]


@wire_object
class SpeakV2SpeechStarted(Message):
    """A turn started being synthesised; ``speech_id`` is ``dg_sp_<12 hex digits>``."""

    type: str = "SpeechStarted"
    speech_id: str


@wire_object
class SpeakV2SpeechMetadataControlsApplied(WireObject):
    """Counts of inline controls applied in a turn (all 0 during Early Access).

    ``breaks_applied`` is in the SDK but not in the spec, so it may be absent.
    """

    pronunciations_applied: int
    pronunciation_warnings: int
    breaks_applied: int | None = None


@wire_object
class SpeakV2SpeechMetadata(Message):
    """Billing and timing of one completed turn (after its last audio)."""

    type: str = "SpeechMetadata"
    speech_id: str
    audio_duration_ms: int
    input_character_count: int
    billable_character_count: int
    controls_applied: SpeakV2SpeechMetadataControlsApplied


@wire_object
class SpeakV2Flushed(Message):
    """All audio of the flushed turn ``speech_id`` has been sent."""

    type: str = "Flushed"
    speech_id: str


@wire_object
class SpeakV2SessionMetadata(Message):
    """Session totals, sent when the session closes."""

    type: str = "SessionMetadata"
    total_audio_duration_ms: int
    total_input_character_count: int
    total_billable_character_count: int


@wire_object
class SpeakV2SpeechInterruptedMetadataControlsApplied(WireObject):
    """Counts of inline controls applied in an interrupted turn."""

    pronunciations_applied: int
    pronunciation_warnings: int
    breaks_applied: int | None = None


@wire_object
class SpeakV2SpeechInterruptedMetadata(WireObject):
    """Billing and timing of the interrupted turn."""

    speech_id: str
    audio_duration_ms: int
    input_character_count: int
    billable_character_count: int
    controls_applied: SpeakV2SpeechInterruptedMetadataControlsApplied


@wire_object
class SpeakV2SpeechInterrupted(Message):
    """An ``Interrupt`` stopped the turn: how much audio was played and the text split there.

    ``text_spoken`` / ``text_remaining`` are absent when the ``Interrupt`` carried no offset.
    """

    type: str = "SpeechInterrupted"
    audio_played_ms: int
    metadata: SpeakV2SpeechInterruptedMetadata
    text_spoken: str | None = None
    text_remaining: str | None = None


@wire_object
class SpeakV2ConfigureSuccessApplied(WireObject):
    """The synthesis configuration now in force (a field only once it was set)."""

    speed: float | None = None


@wire_object
class SpeakV2ConfigureSuccess(Message):
    """A ``Configure`` was applied."""

    type: str = "ConfigureSuccess"
    applied: SpeakV2ConfigureSuccessApplied


@wire_object
class SpeakV2ConfigureFailure(Message):
    """A ``Configure`` was refused (``SPEED_OUT_OF_RANGE``, ``SPEED_INCREMENT_INVALID``, ...)."""

    type: str = "ConfigureFailure"
    code: str
    description: str
    field: str | None = None
    value: float | None = None


@wire_object
class SpeakV2Warning(Message):
    """A non-fatal warning (``NO_ACTIVE_SPEECH``, ``NO_AUDIO_GENERATED``, ...)."""

    type: str = "Warning"
    code: str
    description: str


@wire_object
class SpeakV2Error(Message):
    """A fatal error (``MESSAGE-0000``, ``DATA-0002``, ``NET-0001``, ...); the server closes next."""

    type: str = "Error"
    code: str
    description: str


# -- client messages -------------------------------------------------------------------------------


@wire_object
class SpeakV2Speak(Message):
    """Text to add to the current turn (wire type ``Speak``)."""

    type: str = "Speak"
    text: str


@wire_object
class SpeakV2Flush(Message):
    """End the current turn: synthesise it now; answered by ``SpeechMetadata`` and ``Flushed``."""

    type: str = "Flush"


@wire_object
class SpeakV2InterruptPlaybackOffset(WireObject):
    """Milliseconds of session audio the client played (``type`` ``time_ms``, cumulative)."""

    type: str = "time_ms"
    value: int


@wire_object
class SpeakV2Interrupt(Message):
    """Stop the current turn (barge-in); answered by ``SpeechInterrupted``."""

    type: str = "Interrupt"
    playback_offset: SpeakV2InterruptPlaybackOffset | None = None


@wire_object
class SpeakV2Configure(Message):
    """Change the speech rate mid-session (0.5 to 1.5 in 0.05 steps)."""

    type: str = "Configure"
    speed: float | None = None


@wire_object
class SpeakV2Close(Message):
    """Finish the audio of what was flushed and close; answered by ``SessionMetadata``."""

    type: str = "Close"


SERVER_MESSAGES: tuple[type[Message], ...] = (
    SpeakV2Connected,
    SpeakV2SpeechStarted,
    SpeakV2SpeechMetadata,
    SpeakV2Flushed,
    SpeakV2SessionMetadata,
    SpeakV2SpeechInterrupted,
    SpeakV2ConfigureSuccess,
    SpeakV2ConfigureFailure,
    SpeakV2Warning,
    SpeakV2Error,
)
"""Every message class the server sends on /v2/speak (text frames; audio is binary)."""

CLIENT_MESSAGES: tuple[type[Message], ...] = (
    SpeakV2Speak,
    SpeakV2Flush,
    SpeakV2Interrupt,
    SpeakV2Configure,
    SpeakV2Close,
)
"""Every message class the client sends on /v2/speak."""
