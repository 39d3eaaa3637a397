"""Listen V2 / Flux (`/v2/listen`): conversational STT with turn detection.

Turn state machine, driven by audio time in 20 ms steps::

    Initial --StartOfTurn--> Ongoing --EagerEndOfTurn--> AwaitingEnd --EndOfTurn--> Initial
                               ^                             |
                               +---------TurnResumed---------+

The deterministic "model confidence" that the turn ended is the silence since the last word
divided by ``CERTAIN_SILENCE_SECONDS`` (capped below 1): EndOfTurn ``trigger="model"`` fires when
it reaches ``eot_threshold`` (never when the threshold is 1.0), ``trigger="timeout"`` after
``eot_timeout_ms`` of silence, ``trigger="manual"`` on ForceEndTurn.

Between turns (silence, non-speech) Flux keeps sending ``Update`` about every 0.25 s of audio with
an empty transcript (documented: "Update about every 0.25 s of transcribed audio unless a
state change happened"), so a client always sees the audio being heard.

Idle timeout: neither Deepgram's docs nor the SDK document an ``Error``
message for an idle Flux stream (``FatalError`` is for server faults), so none is sent: the
connection closes 1011 with Deepgram's NET-0001 reason, the base endpoint's behaviour.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from actors.errors import OptionsError
from actors.protocol.apis import LISTEN_V2
from actors.protocol.base import DecodeError
from actors.protocol.listen_v2.options import LISTEN_V2_MODELS
from actors.server.audio import StepSplitter, decode_listen_frame, listen_decoder, mix_down
from actors.server.handshake import QueryReader
from actors.server.session import Endpoint, register_endpoint

STEP_SECONDS = 0.02
UPDATE_INTERVAL = 0.25
CERTAIN_SILENCE_SECONDS = 0.5
MODELS = LISTEN_V2_MODELS
ENCODINGS = ("linear16", "linear32", "mulaw", "alaw", "opus", "ogg-opus")
EAGER_RANGE = (0.3, 0.9)
EOT_RANGE = (0.5, 1.0)
TIMEOUT_RANGE = (500, 60000)


@attrs.frozen
class ListenV2Settings:
    """The Flux connect options, parsed from the query string."""

    model: str
    encoding: str | None = None
    sample_rate: int | None = None
    eager_eot_threshold: float | None = None
    eot_threshold: float = 0.7
    eot_timeout_ms: int = 5000
    keyterms: tuple[str, ...] = ()
    language_hints: tuple[str, ...] = ()

    @classmethod
    def from_query(cls, query: Sequence[tuple[str, str]]) -> ListenV2Settings:
        """Parse and validate; raise ``OptionsError`` naming the bad parameter."""
        _validate_with_protocol(query)
        q = QueryReader(query)
        model = q.text("model")
        if model is None:
            raise OptionsError("model", f"is required on /v2/listen (one of {', '.join(MODELS)})")
        # An unknown model was refused at the handshake (``handshake.check_model``).
        encoding = q.text("encoding", None, ENCODINGS)
        sample_rate = q.integer("sample_rate", None, 1000, 192000)
        if encoding is not None and sample_rate is None:
            raise OptionsError("sample_rate", f"is required when encoding={encoding}")
        hints = tuple(q.get_all("language_hint"))
        if hints and model != "flux-general-multi":
            raise OptionsError("language_hint", "is only supported by flux-general-multi")
        return cls(
            model=model,
            encoding=encoding,
            sample_rate=sample_rate,
            eager_eot_threshold=q.number("eager_eot_threshold", None, *EAGER_RANGE),
            eot_threshold=q.number("eot_threshold", 0.7, *EOT_RANGE) or 0.7,
            eot_timeout_ms=q.integer("eot_timeout_ms", 5000, *TIMEOUT_RANGE) or 5000,
            keyterms=tuple(q.get_all("keyterm")),
            language_hints=hints,
        )


def _validate_with_protocol(query: Sequence[tuple[str, str]]) -> None:
    """Run the protocol layer's option validation when it exists (P2's ``ListenV2Options``)."""
    try:
        from actors.protocol.listen_v2.options import ListenV2Options
    except ImportError:
        return
    ListenV2Options.from_query(list(query), allow_unknown=True)


def _threshold(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise OptionsError(name, f"must be a number between {low} and {high}, got {value!r}", value)
    return float(value)


@register_endpoint("/v2/listen")
class ListenV2Endpoint(Endpoint):
    """Serves one Flux stream: Connected, TurnInfo events, Configure, ForceEndTurn, CloseStream."""

    options: ListenV2Settings

    @classmethod
    def parse_query(cls, query: Sequence[tuple[str, str]]) -> ListenV2Settings:
        """Validate the Flux query (400 on error)."""
        return ListenV2Settings.from_query(query)

    def on_open(self) -> None:
        """Send Connected (sequence_id 0) and set up the turn state."""
        opts = self.options
        self.sequence_id = 0
        self.eager: float | None = opts.eager_eot_threshold
        self.eot = opts.eot_threshold
        self.timeout_ms = opts.eot_timeout_ms
        self.keyterms: list[str] = list(opts.keyterms)
        self.language_hints: list[str] = list(opts.language_hints)
        self.recognizer: Any = None
        self.splitter: StepSplitter | None = None
        self.turn_index = 0
        self.turn_active = False
        #: ``audio_window_start`` of every TurnInfo of the current turn (see :meth:`_turn_info`).
        self.turn_window_start = 0.0
        self.eager_sent = False
        self.last_update = 0.0
        self.decoder = listen_decoder(opts.encoding, opts.sample_rate)
        self.send_message({"type": "Connected", "request_id": self.request_id})

    def send_message(self, message: Mapping[str, Any]) -> None:
        """Send with the next ``sequence_id`` (every Flux message carries one)."""
        self.send_text_message({**message, "sequence_id": self.sequence_id})
        self.sequence_id += 1

    def send_text_message(self, message: Mapping[str, Any]) -> None:
        """Send ``message`` as is."""
        super().send_message(message)

    # -- frames -----------------------------------------------------------------------------

    def on_binary(self, data: bytes) -> None:
        """Audio: decode, cut in steps, run the turn state machine after each."""
        chunks = decode_listen_frame(self.decoder, data, self.close)
        if chunks is None:
            return
        if self.recognizer is None:
            assert self.decoder is not None  # frames were decoded
            self.recognizer = self.context.engine.recognizer(self.decoder.sample_rate)
            self.splitter = StepSplitter(self.decoder.sample_rate, STEP_SECONDS)
        assert self.splitter is not None
        for step in self.splitter.push(mix_down(chunks) if len(chunks) > 1 else chunks[0]):
            self.recognizer.feed(step)
            self._evaluate()
        self.audio_seconds = self.recognizer.audio_seconds

    def on_text(self, text: str) -> None:
        """Control messages: CloseStream, ForceEndTurn, Configure."""
        message = self.decode_json(text)
        kind = message.get("type") if message else None
        if kind == "CloseStream":
            self._close_stream()
        elif kind == "ForceEndTurn":
            self._force_end_turn()
        elif kind == "Configure" and message is not None:
            self._configure(message)
        else:
            self._warn("UNPARSABLE_CLIENT_MESSAGE", f"Unsupported client message: {text[:200]!r}")

    def on_finish(self) -> None:
        """Release the recognizer."""
        if self.recognizer is not None:
            self.recognizer.close()

    # -- turn state machine -----------------------------------------------------------------

    def _evaluate(self) -> None:
        rec = self.recognizer
        now = rec.audio_seconds
        words = rec.hypothesis()
        if not self.turn_active:
            if words:
                self.turn_active = True
                self.eager_sent = False
                self._turn_info("StartOfTurn", words, 0.0)
            elif now - self.last_update >= UPDATE_INTERVAL:
                self._turn_info("Update", words, 0.0)  # Flux reports silence too (empty Updates)
            return
        silence = now - rec.last_voice_end if (not rec.in_speech and rec.last_voice_end is not None) else 0.0
        confidence = min(0.99, silence / CERTAIN_SILENCE_SECONDS)
        if self.eager_sent and rec.in_speech:
            self.eager_sent = False
            self._turn_info("TurnResumed", words, 0.0)
            return
        if not rec.in_speech and words:
            if self.eot < 1.0 and confidence >= self.eot:
                self._end_turn("model", confidence)
                return
            if silence * 1000 >= self.timeout_ms:
                self._end_turn("timeout", confidence)
                return
            if self.eager is not None and not self.eager_sent and confidence >= self.eager:
                self.eager_sent = True
                self._turn_info("EagerEndOfTurn", words, confidence)
                return
        if now - self.last_update >= UPDATE_INTERVAL:
            self._turn_info("Update", words, confidence)

    def _end_turn(self, trigger: str, confidence: float) -> None:
        words = self.recognizer.commit()
        self._turn_info("EndOfTurn", words, confidence, trigger=trigger)
        self.turn_window_start = self.recognizer.audio_seconds
        self.turn_active = False
        self.eager_sent = False
        self.turn_index += 1

    def _turn_info(self, event: str, words: list[Any], confidence: float, trigger: str | None = None) -> None:
        """Send one TurnInfo. Its audio window starts where the previous turn ended (0 for the first
        turn; the recorded StartOfTurn of a first turn has ``audio_window_start`` 0.0),
        or at the turn's first word if that began earlier (a word cut by ForceEndTurn), and
        is fixed at StartOfTurn for every message of the turn: it never moves backwards, whatever
        the engine's hypotheses do."""
        now = self.recognizer.audio_seconds
        if event == "StartOfTurn" and words:
            self.turn_window_start = min(self.turn_window_start, words[0].start)
        message: dict[str, Any] = {
            "type": "TurnInfo",
            "request_id": self.request_id,
            "event": event,
            "turn_index": self.turn_index,
            "audio_window_start": round(self.turn_window_start, 3),
            "audio_window_end": round(now, 3),
            "transcript": " ".join(w.text for w in words),
            "words": [
                {
                    "word": w.text,
                    "confidence": w.confidence,
                    "start": round(w.start, 3),
                    "end": round(w.end, 3),
                }
                for w in words
            ],
            "end_of_turn_confidence": round(confidence, 4),
        }
        if trigger is not None:
            message["trigger"] = trigger
        self.last_update = now
        self.send_message(message)

    # -- control ----------------------------------------------------------------------------

    def _flush(self) -> None:
        if self.recognizer is not None and self.splitter is not None:
            rest = self.splitter.rest()
            if rest:
                self.recognizer.feed(rest)
                self._evaluate()
            self.audio_seconds = self.recognizer.audio_seconds

    def _close_stream(self) -> None:
        """Transcribe what was received, send its Update, close without a status code."""
        self._flush()
        if self.turn_active and self.recognizer is not None:
            self._turn_info("Update", self.recognizer.hypothesis(), 0.0)
        self.close(None)

    def _force_end_turn(self) -> None:
        self._flush()
        if self.recognizer is not None and (self.turn_active or self.recognizer.hypothesis()):
            if not self.turn_active:
                self.turn_active = True
                self._turn_info("StartOfTurn", self.recognizer.hypothesis(), 0.0)
            self._end_turn("manual", 1.0)
        else:
            self._warn("FORCE_END_TURN_NO_ACTIVE_TURN", "ForceEndTurn was sent while no turn was active.")

    def _configure(self, message: dict[str, Any]) -> None:
        try:
            decoded = LISTEN_V2.client_codec.decode_obj(message)
            if isinstance(decoded, DecodeError):  # a wrong-typed field, named by the codec
                raise OptionsError("Configure", decoded.reason.removeprefix("Configure: "))
            eager, eot, timeout = self.eager, self.eot, self.timeout_ms
            thresholds = message.get("thresholds") or {}
            if not isinstance(thresholds, dict):
                raise OptionsError("thresholds", "must be an object")
            if thresholds.get("eager_eot_threshold") is not None:
                eager = _threshold(thresholds["eager_eot_threshold"], "eager_eot_threshold", *EAGER_RANGE)
            if thresholds.get("eot_threshold") is not None:
                eot = _threshold(thresholds["eot_threshold"], "eot_threshold", *EOT_RANGE)
            if thresholds.get("eot_timeout_ms") is not None:
                timeout = int(_threshold(thresholds["eot_timeout_ms"], "eot_timeout_ms", *TIMEOUT_RANGE))
            if eager is not None and eager > eot:
                raise OptionsError("eager_eot_threshold", f"({eager}) must not exceed eot_threshold ({eot})")
            keyterms = self.keyterms
            if message.get("keyterms") is not None:
                raw = message["keyterms"]
                keyterms = [raw] if isinstance(raw, str) else raw
                if not isinstance(keyterms, list) or not all(isinstance(k, str) for k in keyterms):
                    raise OptionsError("keyterms", "must be a string or a list of strings")
            hints = self.language_hints
            if message.get("language_hints") is not None:
                hints = message["language_hints"]
                if not isinstance(hints, list) or not all(isinstance(h, str) and h for h in hints):
                    raise OptionsError("language_hints", "must be a list of non-empty strings")
        except OptionsError as exc:
            self.send_message(
                {
                    "type": "ConfigureFailure",
                    "request_id": self.request_id,
                    "code": "INVALID_CONFIGURE",
                    "description": str(exc),
                }
            )
            return
        self.eager, self.eot, self.timeout_ms = eager, eot, timeout
        self.keyterms, self.language_hints = list(keyterms), list(hints)
        reply: dict[str, Any] = {
            "type": "ConfigureSuccess",
            "request_id": self.request_id,
            "thresholds": {"eager_eot_threshold": eager, "eot_threshold": eot, "eot_timeout_ms": timeout},
            "keyterms": self.keyterms,
        }
        if self.language_hints:
            reply["language_hints"] = self.language_hints
        self.send_message(reply)

    def _warn(self, code: str, description: str) -> None:
        self.send_message(
            {"type": "Warning", "request_id": self.request_id, "code": code, "description": description}
        )
