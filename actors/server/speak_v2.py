"""Speak V2 (`/v2/speak`, "Flux TTS"): turn-based streaming text-to-speech.

Wire shapes: asyncapi.yml channel ``/v2/speak`` and deepgram-sdk 7.16's ``speak.v2`` types (the
SDK also has ``Interrupt``, ``Configure``, ``SpeechInterrupted`` and ``ConfigureSuccess/Failure``,
which the stored spec lacks). Behaviour of this server:

* Handshake: ``model`` is required and must read ``flux-{voice}-{language}`` (an Aura model is
  refused with a pointer to /v1/speak); ``encoding`` linear16/mulaw/alaw; ``sample_rate`` 8000,
  16000, 24000, 32000, 44100, 48000 (mulaw/alaw: 8000 and 16000 only; default 24000 for linear16,
  8000 otherwise); ``speed`` 0.5-1.5 in 0.05 steps; ``mip_opt_out`` true/false; ``tag`` any,
  repeatable. A bad one is a 400 naming it. Then ``Connected``.
* A turn: ``Speak`` text accumulates into the open turn (the first ``Speak`` opens one and mints
  its ``speech_id``, ``dg_sp_<12 hex>``). ``Flush`` synthesizes it: ``SpeechStarted``, the audio
  as binary frames, ``SpeechMetadata``, ``Flushed``. A turn with nothing to say (whitespace or
  punctuation) gets ``Warning NO_SYNTHESIZABLE_TEXT`` and a zero-duration ``SpeechMetadata``
  instead of audio. ``Flush`` with no open turn: ``Warning NO_ACTIVE_SPEECH``.
* ``Interrupt`` stops the audio at once: audio not sent yet is never sent (with the queued
  ``SpeechMetadata``/``Flushed`` of the turns it belonged to: ``SpeechInterrupted`` ends them),
  and the open turn's text is dropped. ``SpeechInterrupted`` reports ``audio_played_ms`` -- the
  ``playback_offset`` (session milliseconds) when given, with the interrupted turn's text split
  at the played point in proportion to its audio (``text_spoken + text_remaining`` is the turn's
  text), else the audio sent so far -- and the interrupted turn's metadata (its duration cut to
  what was played). The session's audio total is rebased onto the played audio. Ignored with a
  ``Warning`` when no audio was sent yet (``NO_AUDIO_GENERATED``) or the offset does not advance
  past the previous interrupt's (``INVALID_INTERRUPT_OFFSET``).
* Pacing: by default a turn's audio goes out at once on ``Flush``, so an ``Interrupt`` only cuts
  audio the client has not played. With :attr:`SpeakV2Endpoint.audio_pace` set (tests), audio
  goes out at that multiple of real time, one frame per tick, and an ``Interrupt`` lands mid-turn.
* ``Configure {speed}``: ``ConfigureSuccess {applied}`` or ``ConfigureFailure``
  (``SPEED_OUT_OF_RANGE``, ``SPEED_INCREMENT_INVALID``). The engines have no speech rate, so speed
  is recorded, not heard.
* ``Close``: queued audio and an open turn are sent (the open turn without ``Flushed``), then
  ``SessionMetadata`` and close 1000.
* Bad client frames get ``Error`` then a close: binary 1003 ``MESSAGE-0000``; not JSON, unknown
  ``type`` or a wrong field 1008 ``DATA-0000``; ``Speak`` text over 2000 characters 1009
  ``BIG-0000``. No client frame for the idle timeout: ``Error NET-0001`` and close 1011.
"""

from __future__ import annotations

import collections
import math
import re
import unicodedata
import uuid
from collections.abc import Sequence
from typing import Any, ClassVar

import attrs

from actors.errors import OptionsError
from actors.protocol.speak_v2.options import (
    SPEAK_V2_COMPANDED_SAMPLE_RATES,
    SPEAK_V2_ENCODINGS,
    SPEAK_V2_MODEL_PATTERN,
    SPEAK_V2_SAMPLE_RATES,
    SPEAK_V2_SPEED_RANGE,
    SPEAK_V2_SPEED_STEP,
    SpeakV2Options,
)
from actors.server.handshake import QueryReader, Rejected
from actors.server.session import NET_0001_REASON, Endpoint, register_endpoint
from actors.server.speak_v1 import FRAME_SECONDS, encode_audio

# Per-API facts come from the protocol's declaration of /v2/speak.
PATH = SpeakV2Options.PATH
ENCODINGS = SPEAK_V2_ENCODINGS
LINEAR16_SAMPLE_RATES = SPEAK_V2_SAMPLE_RATES
COMPANDED_SAMPLE_RATES = SPEAK_V2_COMPANDED_SAMPLE_RATES
SPEED_RANGE = SPEAK_V2_SPEED_RANGE
SPEED_STEP = SPEAK_V2_SPEED_STEP
MODEL_PATTERN = SPEAK_V2_MODEL_PATTERN
#: The server's own choices (the spec is silent): the default linear16 rate and the text limit
#: (Speak V1's 2000 characters).
DEFAULT_LINEAR16_RATE = 24000
MAX_TEXT_CHARS = 2000

MODEL_VERSION = "2026-01-01.0"
_NO_SUCH_MODEL = "Bad Request: No such model/version combination found."


@attrs.frozen
class SpeakV2Settings:
    """The connect options of one Speak V2 connection, validated."""

    model: str
    encoding: str = "linear16"
    sample_rate: int = DEFAULT_LINEAR16_RATE
    speed: float | None = None
    mip_opt_out: bool = False
    tags: tuple[str, ...] = ()

    @classmethod
    def from_query(cls, query: Sequence[tuple[str, str]]) -> SpeakV2Settings:
        """Parse and validate the query; raise ``OptionsError`` (400) or ``Rejected`` (bad model)."""
        reader = QueryReader(query)
        model = reader.text("model")
        if not model:
            raise OptionsError(
                "model", "is required on /v2/speak (flux-{voice}-{language}, e.g. flux-alexis-en)"
            )
        if model.startswith("aura-"):
            raise Rejected(
                400,
                f"Aura models are not supported on the `/v2/speak` endpoint ({model!r}). "
                "Please use `/v1/speak`.",
                "Bad Request",
            )
        if not MODEL_PATTERN.fullmatch(model):
            raise Rejected(
                400,
                f"{_NO_SUCH_MODEL} (model {model!r}; expected flux-{{voice}}-{{language}})",
                "Bad Request",
            )
        encoding = reader.text("encoding", "linear16", ENCODINGS) or "linear16"
        allowed = LINEAR16_SAMPLE_RATES if encoding == "linear16" else COMPANDED_SAMPLE_RATES
        default_rate = DEFAULT_LINEAR16_RATE if encoding == "linear16" else COMPANDED_SAMPLE_RATES[0]
        sample_rate = reader.integer("sample_rate", default_rate)
        if sample_rate not in allowed:
            rates = ", ".join(str(rate) for rate in allowed)
            raise OptionsError(
                "sample_rate",
                f"Unsupported audio format: `sample_rate` must be one of {rates} when `encoding={encoding}`",
                sample_rate,
            )
        speed = reader.number("speed")
        if speed is not None:
            problem = speed_problem(speed)
            if problem is not None:
                raise OptionsError("speed", problem[1], speed)
        mip_opt_out = reader.flag("mip_opt_out")
        return cls(
            model,
            encoding,
            int(sample_rate or default_rate),
            speed,
            mip_opt_out,
            tuple(reader.get_all("tag")),
        )


def speed_problem(speed: float) -> tuple[str, str] | None:
    """``(failure code, description)`` when ``speed`` is not accepted; None when it is."""
    low, high = SPEED_RANGE
    if not math.isfinite(speed) or not low <= speed <= high:
        return "SPEED_OUT_OF_RANGE", f"speed must be between {low} and {high}, got {speed}"
    steps = speed / SPEED_STEP
    if abs(steps - round(steps)) > 1e-6:
        return "SPEED_INCREMENT_INVALID", f"speed must be a multiple of {SPEED_STEP}, got {speed}"
    return None


def billable_characters(text: str) -> int:
    """Characters billed for ``text``: all but control characters (Unicode category Cc)."""
    return sum(1 for char in text if unicodedata.category(char) != "Cc")


def split_spoken(text: str, fraction: float) -> tuple[str, str]:
    """Split ``text`` at the word boundary nearest ``fraction`` of its characters: (spoken, remaining).

    ``spoken + remaining == text``; the cut falls after a word and its following whitespace.
    """
    if fraction <= 0:
        return "", text
    if fraction >= 1:
        return text, ""
    target = fraction * len(text)
    cuts = [0] + [m.end() for m in re.finditer(r"\S+\s*", text)]
    cut = min(cuts, key=lambda position: abs(position - target))
    return text[:cut], text[cut:]


@attrs.define
class Turn:
    """One turn: its text so far and, once its audio goes out, where that audio sits in the session."""

    speech_id: str
    texts: list[str] = attrs.Factory(list)
    start_ms: int = 0
    sent_bytes: int = 0
    #: Milliseconds of audio sent so far (cut to what was heard by an interrupt).
    duration_ms: int = 0
    #: Milliseconds of audio synthesized for the turn (sent or not).
    total_ms: int = 0

    @property
    def text(self) -> str:
        """The turn's text, as sent."""
        return "".join(self.texts)

    def metadata(self, duration_ms: int | None = None) -> dict[str, Any]:
        """The turn's billing and timing (``SpeechMetadata`` without ``type``)."""
        text = self.text
        return {
            "speech_id": self.speech_id,
            "audio_duration_ms": self.duration_ms if duration_ms is None else duration_ms,
            "input_character_count": len(text),
            "billable_character_count": billable_characters(text),
            "controls_applied": {
                "pronunciations_applied": 0,
                "breaks_applied": 0,
                "pronunciation_warnings": 0,
            },
        }


def new_speech_id() -> str:
    """A fresh turn id of the form ``dg_sp_<12 hex digits>``."""
    return f"dg_sp_{uuid.uuid4().hex[:12]}"


@attrs.frozen
class _Out:
    """One queued server frame: a JSON message (``metadata`` is filled in when it goes out) or audio."""

    turn: Turn
    message: str | None = None
    audio: bytes = b""


@register_endpoint(PATH)
class SpeakV2Endpoint(Endpoint):
    """Serves one Speak V2 connection (see the module docstring for the behaviour)."""

    options: SpeakV2Settings
    #: None: a turn's audio goes out at once on ``Flush``. A number: audio goes out at that many times
    #: real time, one frame per tick, so an ``Interrupt`` can land mid-turn (tests set it).
    audio_pace: ClassVar[float | None] = None

    @classmethod
    def parse_query(cls, query: Sequence[tuple[str, str]]) -> SpeakV2Settings:
        """Validate the Speak V2 query (400 on error)."""
        return SpeakV2Settings.from_query(query)

    def on_open(self) -> None:
        """Send ``Connected`` and start an empty session."""
        self.synthesizer = self.context.engine.synthesizer()
        self.bytes_per_second = self.options.sample_rate * (2 if self.options.encoding == "linear16" else 1)
        self.pace = self.audio_pace
        if self.pace is not None:
            vars(self)["tick_interval"] = FRAME_SECONDS / self.pace  # read by the loop once it starts
        self.speed = self.options.speed
        self.open_turn: Turn | None = None
        #: Turn frames not sent yet (only when paced), in order.
        self.outbox: collections.deque[_Out] = collections.deque()
        #: Turns whose audio started, in order, positioned on the session's (rebased) audio timeline.
        self.spoken: list[Turn] = []
        self.input_chars = 0
        self.billable_chars = 0
        self.interrupted_at: int | None = None
        model = self.options.model
        self.send_message(
            {
                "type": "Connected",
                "request_id": self.request_id,
                "model_name": model,
                "model_version": MODEL_VERSION,
                "model_uuids": [str(uuid.uuid5(uuid.NAMESPACE_URL, f"actors-local/{model}"))],
            }
        )

    @property
    def session_ms(self) -> int:
        """Milliseconds of audio sent in the session (rebased by interrupts)."""
        last = self.spoken[-1] if self.spoken else None
        return last.start_ms + last.duration_ms if last is not None else 0

    def on_binary(self, data: bytes) -> None:
        """Speak V2 accepts only text frames."""
        self._fail(
            1003, "MESSAGE-0000", "Binary messages are not supported on /v2/speak; send JSON text messages."
        )

    def on_idle_timeout(self) -> None:
        """No client frame for the idle timeout: ``Error NET-0001``, close 1011."""
        self.send_message({"type": "Error", "code": "NET-0001", "description": NET_0001_REASON})
        self.close(1011, NET_0001_REASON)

    def on_tick(self) -> None:
        """Paced audio: send the next frame, with the messages due before the frame after it."""
        sent_audio = False
        while self.outbox and not self.closed:
            item = self.outbox[0]
            if item.message is None and sent_audio:
                return
            if item.message == "SpeechStarted" and sent_audio:
                return
            self.outbox.popleft()
            self._release(item)
            sent_audio = sent_audio or item.message is None

    def on_text(self, text: str) -> None:
        """Dispatch one client message."""
        message = self.decode_json(text)
        kind = message.get("type") if message is not None else None
        if message is None or not isinstance(kind, str):
            self._fail(1008, "DATA-0000", "Expected a JSON object with a string `type`.")
        elif kind == "Speak":
            self._speak(message)
        elif kind == "Flush":
            self._flush()
        elif kind == "Interrupt":
            self._interrupt(message)
        elif kind == "Configure":
            self._configure(message)
        elif kind == "Close":
            self._close()
        else:
            self._fail(
                1008,
                "DATA-0000",
                f"Unknown message type {kind!r}; expected Speak, Flush, Interrupt, Configure or Close.",
            )

    def _fail(self, code: int, error: str, description: str) -> None:
        self.send_message({"type": "Error", "code": error, "description": description})
        self.close(code, error)

    def _warn(self, code: str, description: str) -> None:
        self.send_message({"type": "Warning", "code": code, "description": description})

    def _speak(self, message: dict[str, Any]) -> None:
        text = message.get("text")
        if not isinstance(text, str):
            self._fail(1008, "DATA-0000", "Speak: `text` must be a string.")
            return
        if len(text) > MAX_TEXT_CHARS:
            self._fail(
                1009, "BIG-0000", f"Speak: `text` has {len(text)} characters; at most {MAX_TEXT_CHARS}."
            )
            return
        if self.open_turn is None:
            self.open_turn = Turn(new_speech_id())
        self.open_turn.texts.append(text)
        self.input_chars += len(text)
        self.billable_chars += billable_characters(text)

    def _take_turn(self) -> Turn:
        turn, self.open_turn = self.open_turn, None
        assert turn is not None
        return turn

    def _flush(self) -> None:
        if self.open_turn is None:
            self._warn("NO_ACTIVE_SPEECH", "Flush arrived with no active turn; send Speak first.")
            return
        turn = self._take_turn()
        self._queue_turn(turn)
        self._emit(_Out(turn, "Flushed"))

    def _close(self) -> None:
        """Send what is queued and the open turn, then ``SessionMetadata`` and close 1000."""
        if self.open_turn is not None:
            self._queue_turn(self._take_turn())
        while self.outbox and not self.closed:
            self._release(self.outbox.popleft())
        self.send_message(
            {
                "type": "SessionMetadata",
                "total_audio_duration_ms": self.session_ms,
                "total_input_character_count": self.input_chars,
                "total_billable_character_count": self.billable_chars,
            }
        )
        self.close(1000)

    def _queue_turn(self, turn: Turn) -> None:
        """Synthesize ``turn``: SpeechStarted, its audio frames, SpeechMetadata (or the no-text Warning)."""
        text = turn.text
        if not any(char.isalnum() for char in text):
            self._emit(_Out(turn, "Warning"))
        else:
            opts = self.options
            audio = encode_audio(self.synthesizer.synthesize(text, opts.sample_rate), opts.encoding)
            turn.total_ms = round(len(audio) * 1000 / self.bytes_per_second)
            self._emit(_Out(turn, "SpeechStarted"))
            step = max(1, int(self.bytes_per_second * FRAME_SECONDS))
            for offset in range(0, len(audio), step):
                self._emit(_Out(turn, audio=audio[offset : offset + step]))
        self._emit(_Out(turn, "SpeechMetadata"))

    def _emit(self, item: _Out) -> None:
        if self.pace is None:
            self._release(item)
        else:
            self.outbox.append(item)

    def _release(self, item: _Out) -> None:
        """Send one queued frame and account for it on the session timeline."""
        turn = item.turn
        if item.message is None:
            self.send_binary(item.audio)
            self.audio_seconds += len(item.audio) / self.bytes_per_second
            turn.sent_bytes += len(item.audio)
            turn.duration_ms = round(turn.sent_bytes * 1000 / self.bytes_per_second)
        elif item.message == "SpeechStarted":
            turn.start_ms = self.session_ms
            self.spoken.append(turn)
            self.send_message({"type": "SpeechStarted", "speech_id": turn.speech_id})
        elif item.message == "SpeechMetadata":
            self.send_message({"type": "SpeechMetadata", **turn.metadata()})
        elif item.message == "Flushed":
            self.send_message({"type": "Flushed", "speech_id": turn.speech_id})
        else:
            self._warn(
                "NO_SYNTHESIZABLE_TEXT", "The turn's text has nothing to speak; no audio was produced."
            )

    def _interrupt(self, message: dict[str, Any]) -> None:
        offset = message.get("playback_offset")
        played: int | None = None
        if offset is not None:
            value = offset.get("value") if isinstance(offset, dict) else None
            unit = offset.get("type", "time_ms") if isinstance(offset, dict) else None
            if unit != "time_ms" or not isinstance(value, int) or isinstance(value, bool) or value < 0:
                self._fail(
                    1008,
                    "DATA-0000",
                    "Interrupt: `playback_offset` must be "
                    '{"type": "time_ms", "value": <non-negative integer>}.',
                )
                return
            played = value
        if not self.spoken:
            self._warn("NO_AUDIO_GENERATED", "Interrupt ignored: the session has produced no audio yet.")
            return
        if played is not None and self.interrupted_at is not None and played <= self.interrupted_at:
            self._warn(
                "INVALID_INTERRUPT_OFFSET",
                f"Interrupt ignored: playback_offset {played} ms does not advance past the previous "
                f"interrupt's {self.interrupted_at} ms.",
            )
            return
        # Stop at once: audio not sent yet is never sent, the open turn is never spoken.
        head = self.outbox[0].turn if self.outbox else None
        cut = head if head is not None and any(t is head for t in self.spoken) else None
        self.outbox.clear()
        dropped = self.open_turn
        self.open_turn = None
        result: dict[str, Any] = {"type": "SpeechInterrupted"}
        if played is None:
            result["audio_played_ms"] = self.session_ms
            turn = cut or dropped or self.spoken[-1]
            metadata = turn.metadata(0 if turn is dropped else None)
        else:
            result["audio_played_ms"] = played
            position = min(played, self.session_ms)
            playing = [t for t in self.spoken if t.start_ms <= position < t.start_ms + t.duration_ms]
            # All sent audio was played: the turn being sent (or the open one) is the one cut short.
            turn = playing[0] if playing else cut or dropped or self.spoken[-1]
            heard = 0 if turn is dropped else position - turn.start_ms
            fraction = heard / turn.total_ms if turn.total_ms else 0.0
            result["text_spoken"], result["text_remaining"] = split_spoken(turn.text, fraction)
            metadata = turn.metadata(heard)
            if turn is not dropped:  # turns after the interrupted one were never heard
                index = next(i for i, t in enumerate(self.spoken) if t is turn)
                del self.spoken[index + 1 :]
                turn.duration_ms = heard
        self.interrupted_at = result["audio_played_ms"]
        result["metadata"] = metadata
        self.send_message(result)

    def _configure(self, message: dict[str, Any]) -> None:
        speed = message.get("speed")
        if speed is not None:
            if isinstance(speed, bool) or not isinstance(speed, (int, float)):
                self._fail(1008, "DATA-0000", "Configure: `speed` must be a number.")
                return
            problem = speed_problem(float(speed))
            if problem is not None:
                code, description = problem
                self.send_message(
                    {
                        "type": "ConfigureFailure",
                        "code": code,
                        "field": "speed",
                        "value": float(speed),
                        "description": description,
                    }
                )
                return
            self.speed = float(speed)
        applied = {} if self.speed is None else {"speed": self.speed}
        self.send_message({"type": "ConfigureSuccess", "applied": applied})
