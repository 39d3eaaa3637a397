"""Listen V1 (`/v1/listen`): live speech-to-text with interim/final Results.

Everything is driven by audio time, not wall time: the audio is cut into 20 ms steps aligned
to the stream start and the state machine runs after each step, so what the client receives
does not depend on how it chunked the audio.

Features that change the Results shape (punctuate/smart_format, numerals, diarize, search,
detect_entities) are rendered by :class:`actors.server.listen_features.ResultFeatures`, created
only when one of them is asked for; ``keyterm``/``keywords`` are accepted and have no effect.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Sequence
from typing import Any

import attrs

from actors.errors import OptionsError
from actors.protocol.apis import LISTEN_V1
from actors.protocol.base import DecodeError
from actors.server.audio import AudioDecoder, StepSplitter, decode_listen_frame, listen_decoder, mix_down
from actors.server.formatting import plain_word
from actors.server.handshake import QueryReader
from actors.server.listen_features import ResultFeatures
from actors.server.session import NET_0001_REASON, Endpoint, register_endpoint

STEP_SECONDS = 0.02
INTERIM_INTERVAL = 1.0
#: Without an endpoint, a final is still cut at the next pause after this much audio.
MAX_SEGMENT_SECONDS = 5.0
#: A segment without words (silence, a tone, hold music) is closed by an empty final after this
#: much audio, as Deepgram does (its empty finals during silence span ~3-3.6 s): the client
#: learns the audio was heard, and the segment's start/duration cover it.
EMPTY_SEGMENT_SECONDS = 3.0
#: Voice activity that has gone on this long without a word is not speech (a tone, music): its
#: empty segments are closed too. Longer than any deterministic word (6.5 s), so no word is cut.
NOISE_SECONDS = 8.0
ENCODINGS = (
    "linear16",
    "linear32",
    "flac",
    "alaw",
    "mulaw",
    "amr-nb",
    "amr-wb",
    "opus",
    "ogg-opus",
    "speex",
    "g729",
)
MODEL_VERSION = "2024-01-01.0"


@attrs.frozen
class ListenV1Settings:
    """The connect options Listen V1 acts on, parsed from the query string."""

    model: str = "base"
    encoding: str | None = None
    sample_rate: int | None = None
    channels: int = 1
    multichannel: bool = False
    interim_results: bool = False
    endpointing_ms: int | None = 10
    utterance_end_ms: int | None = None
    vad_events: bool = False
    punctuate: bool = False
    numerals: bool = False
    diarize: bool = False
    search: tuple[str, ...] = ()
    detect_entities: bool = False
    extra: dict[str, str] = attrs.field(factory=dict)

    def features(self) -> ResultFeatures | None:
        """The Results features this stream asked for; None when none is on (the fast path)."""
        if not (self.punctuate or self.numerals or self.diarize or self.search or self.detect_entities):
            return None
        return ResultFeatures(
            punctuate=self.punctuate,
            numerals=self.numerals,
            diarize=self.diarize,
            search=self.search,
            detect_entities=self.detect_entities,
        )

    @classmethod
    def from_query(cls, query: Sequence[tuple[str, str]]) -> ListenV1Settings:
        """Parse and validate; raise ``OptionsError`` naming the bad parameter."""
        _validate_with_protocol(query)
        q = QueryReader(query)
        model = q.text("model", "base") or "base"
        if model.startswith("flux"):
            raise OptionsError("model", f"{model} is a Flux model; Flux requires /v2/listen", model)
        encoding = q.text("encoding", None, ENCODINGS)
        sample_rate = q.integer("sample_rate", None, 1000, 192000)
        if encoding is not None and sample_rate is None and encoding not in ("amr-nb", "amr-wb"):
            raise OptionsError("sample_rate", f"is required when encoding={encoding}")
        endpointing_raw = q.text("endpointing")
        if endpointing_raw is None or endpointing_raw.lower() == "true":
            endpointing: int | None = 10
        elif endpointing_raw.lower() == "false":
            endpointing = None
        else:
            endpointing = q.integer("endpointing", 10, 0, 60000)
        extra: dict[str, str] = {}
        for item in q.get_all("extra"):
            key, sep, value = item.partition(":")
            if not sep:
                raise OptionsError("extra", f"expected key:value, got {item!r}", item)
            extra[key] = value
        smart_format = q.flag("smart_format")
        return cls(
            model=model,
            encoding=encoding,
            sample_rate=sample_rate,
            channels=q.integer("channels", 1, 1, 20) or 1,
            multichannel=q.flag("multichannel"),
            interim_results=q.flag("interim_results"),
            endpointing_ms=endpointing,
            utterance_end_ms=q.integer("utterance_end_ms", None, 0, 60000),
            vad_events=q.flag("vad_events"),
            punctuate=q.flag("punctuate") or smart_format,
            numerals=q.flag("numerals") or smart_format,
            diarize=q.flag("diarize") or q.text("diarize_model") is not None,
            search=tuple(term for term in q.get_all("search") if term.strip()),
            detect_entities=q.flag("detect_entities"),
            extra=extra,
        )


def _validate_with_protocol(query: Sequence[tuple[str, str]]) -> None:
    """Run the protocol layer's option validation when it exists (P1's ``ListenV1Options``)."""
    try:
        from actors.protocol.listen_v1.options import ListenV1Options
    except ImportError:
        return
    ListenV1Options.from_query(list(query), allow_unknown=True)


def model_info(model: str) -> tuple[str, dict[str, str]]:
    """A stable model uuid and ``model_info`` object for a model name."""
    model_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"actors-local/{model}"))
    return model_uuid, {"name": f"general-{model}", "version": MODEL_VERSION, "arch": model}


@attrs.define
class _Channel:
    """Per-channel recognition state."""

    index: int
    recognizer: Any
    splitter: StepSplitter
    segment_start: float = 0.0
    last_emit: float = 0.0
    was_in_speech: bool = False
    last_word_end: float | None = None
    utterance_open: bool = False
    speaking: bool = False


@register_endpoint("/v1/listen")
class ListenV1Endpoint(Endpoint):
    """Serves one Listen V1 stream: Results, SpeechStarted, UtteranceEnd, Metadata, close codes."""

    options: ListenV1Settings

    @classmethod
    def parse_query(cls, query: Sequence[tuple[str, str]]) -> ListenV1Settings:
        """Validate the Listen V1 query (400 on error)."""
        return ListenV1Settings.from_query(query)

    def on_open(self) -> None:
        """Prepare the decoder; recognizers start once the audio format is known."""
        opts = self.options
        self.decoder: AudioDecoder | None = None
        self.channels: list[_Channel] = []
        self.model_uuid, self.model_info = model_info(opts.model)
        self.features = opts.features()
        self.decoder = listen_decoder(opts.encoding, opts.sample_rate, opts.channels)

    # -- frames -----------------------------------------------------------------------------

    def on_binary(self, data: bytes) -> None:
        """Audio (an empty frame is the legacy end-of-stream)."""
        if not data:
            self._finish_stream()
            return
        chunks = decode_listen_frame(self.decoder, data, self.close)
        if chunks is None:
            return
        if not self.channels:
            self._start_channels()
        if not self.options.multichannel and len(chunks) > 1:
            chunks = [mix_down(chunks)]
        for channel, chunk in zip(self.channels, chunks, strict=True):
            for step in channel.splitter.push(chunk):
                channel.recognizer.feed(step)
                self._evaluate(channel)
        self.audio_seconds = self.channels[0].recognizer.audio_seconds

    def on_text(self, text: str) -> None:
        """Control messages: KeepAlive, Finalize, CloseStream, Configure, Sync."""
        message = self.decode_json(text)
        kind = message.get("type") if message else None
        if kind == "KeepAlive":
            return
        decoded = LISTEN_V1.client_codec.decode_obj(message) if message is not None else None
        if isinstance(decoded, DecodeError):  # a known message with a wrong-typed field
            self._schema_error(f"Could not parse the client message: {decoded.reason}.", text)
            return
        if kind == "Finalize" and message is not None:
            self._finalize(message.get("channel"))
        elif kind == "CloseStream":
            self._finish_stream()
        elif kind == "Configure" and message is not None:
            self._configure(message, text)
        elif kind == "Sync" and message is not None:
            self.send_message({"type": "Sync", "id": message.get("id")})
        else:
            self._schema_error("Could not parse the client message: not a known control message.", text)

    def _configure(self, message: dict[str, Any], text: str) -> None:
        """``Configure``: ``features`` toggles (``numerals`` acts mid-stream), ``keyterms`` echoed."""
        features = message.get("features")
        if features is not None:
            if not isinstance(features, dict) or not all(isinstance(v, bool) for v in features.values()):
                self._schema_error(
                    "Could not parse the client message: Configure.features must map feature names "
                    "to true or false.",
                    text,
                )
                return
            if "numerals" in features:
                if self.features is None:
                    self.features = ResultFeatures()
                self.features.numerals = features["numerals"]
        reply: dict[str, Any] = {"type": "ConfigureSuccess", "request_id": self.request_id}
        if message.get("keyterms") is not None:
            reply["keyterms"] = message["keyterms"]
        self.send_message(reply)

    def _schema_error(self, description: str, text: str) -> None:
        """The live service's answer to a client message it cannot parse (the session stays open)."""
        self.send_message(
            {"type": "Error", "variant": "SchemaError", "description": description, "message": text[:1000]}
        )

    def on_idle_timeout(self) -> None:
        """No client frame for the idle window: Metadata, then close 1011 NET-0001."""
        self._send_metadata()
        self.close(1011, NET_0001_REASON)

    def on_finish(self) -> None:
        """Release the recognizers."""
        for channel in self.channels:
            channel.recognizer.close()

    # -- state machine ----------------------------------------------------------------------

    def _start_channels(self) -> None:
        assert self.decoder is not None
        count = self.decoder.channels if self.options.multichannel else 1
        rate = self.decoder.sample_rate
        self.channels = [
            _Channel(i, self.context.engine.recognizer(rate), StepSplitter(rate, STEP_SECONDS))
            for i in range(count)
        ]

    def _evaluate(self, channel: _Channel) -> None:
        """Run after each step: SpeechStarted, endpointing finals, interim Results, UtteranceEnd."""
        opts = self.options
        rec = channel.recognizer
        now = rec.audio_seconds
        in_speech = rec.in_speech
        if in_speech and not channel.was_in_speech:
            channel.utterance_open = True
            if opts.vad_events and not channel.speaking:
                channel.speaking = True
                started = rec.speech_started_at if rec.speech_started_at is not None else now
                self.send_message(
                    {"type": "SpeechStarted", "channel": self._index(channel), "timestamp": round(started, 3)}
                )
        channel.was_in_speech = in_speech
        paused_for = now - rec.last_voice_end if (not in_speech and rec.last_voice_end is not None) else None
        if (
            paused_for is not None
            and opts.endpointing_ms is not None
            and paused_for >= opts.endpointing_ms / 1000
        ):
            words = rec.hypothesis()
            if words:
                self._send_final(channel, rec.commit(), speech_final=True)
                return
        if paused_for is not None and now - channel.segment_start >= MAX_SEGMENT_SECONDS:
            words = rec.hypothesis()
            if words:
                self._send_final(channel, rec.commit(), speech_final=False)
                return
        if now - channel.segment_start >= EMPTY_SEGMENT_SECONDS and self._close_empty_segment(channel):
            return
        if opts.interim_results and now - channel.last_emit >= INTERIM_INTERVAL:
            self._send_results(channel, rec.hypothesis(), is_final=False, speech_final=False)
            channel.last_emit = now
        if (
            opts.utterance_end_ms is not None
            and opts.interim_results
            and channel.utterance_open
            and not in_speech
            and channel.last_word_end is not None
            and now - channel.last_word_end >= opts.utterance_end_ms / 1000
            and not rec.hypothesis()
        ):
            channel.utterance_open = False
            channel.speaking = False
            self.send_message(
                {
                    "type": "UtteranceEnd",
                    "channel": self._index(channel),
                    "last_word_end": round(channel.last_word_end, 3),
                }
            )

    def _close_empty_segment(self, channel: _Channel) -> bool:
        """Close a long segment that has no words with an empty final; True if one was sent.

        In silence the segment ends now and the final is ``speech_final`` when endpointing is on
        (what Deepgram sends when endpointing fires on silence). While voice activity runs (a
        tone, music -- or a word arriving) the segment ends where that run began, so a word in
        progress always lands whole in the next segment; a run that has gone on for
        ``NOISE_SECONDS`` without a word is not speech, and its segment ends now. Nothing is
        committed: the recognizer holds no word (its hypothesis is empty).
        """
        rec = channel.recognizer
        now = rec.audio_seconds
        end = now
        if rec.in_speech:
            started = rec.speech_started_at
            if started is None:
                return False
            if now - started < NOISE_SECONDS:
                end = started
                if end - channel.segment_start < EMPTY_SEGMENT_SECONDS:
                    return False
        if rec.hypothesis():
            return False
        speech_final = not rec.in_speech and self.options.endpointing_ms is not None
        self._send_final(channel, [], speech_final=speech_final, end=end)
        return True

    def _finalize(self, only_channel: Any) -> None:
        for channel in self.channels:
            if only_channel is not None and only_channel != channel.index:
                continue
            self._flush(channel)
            words = channel.recognizer.commit()
            if words or channel.recognizer.audio_seconds > channel.segment_start:
                self._send_final(channel, words, speech_final=False, from_finalize=True)

    def _finish_stream(self) -> None:
        """CloseStream: the last finals, Metadata, close 1000."""
        for channel in self.channels:
            self._flush(channel)
            words = channel.recognizer.commit()
            if words or channel.recognizer.audio_seconds > channel.segment_start:
                self._send_final(channel, words, speech_final=bool(words))
        self._send_metadata()
        self.close(1000)

    def _flush(self, channel: _Channel) -> None:
        rest = channel.splitter.rest()
        if rest:
            channel.recognizer.feed(rest)
        self.audio_seconds = max(self.audio_seconds, channel.recognizer.audio_seconds)

    # -- messages ---------------------------------------------------------------------------

    def _index(self, channel: _Channel) -> list[int]:
        return [channel.index, len(self.channels)]

    def _send_final(
        self,
        channel: _Channel,
        words: list[Any],
        speech_final: bool,
        from_finalize: bool = False,
        end: float | None = None,
    ) -> None:
        """A final for the segment up to ``end`` (None: all audio so far); the next segment starts there."""
        self._send_results(
            channel, words, is_final=True, speech_final=speech_final, from_finalize=from_finalize, end=end
        )
        now = channel.recognizer.audio_seconds
        channel.segment_start = now if end is None else end
        channel.last_emit = now
        if words:
            channel.last_word_end = words[-1].end
            channel.utterance_open = True
        if speech_final:
            channel.speaking = False  # the next voice starts a new utterance: SpeechStarted again

    def _send_results(
        self,
        channel: _Channel,
        words: list[Any],
        is_final: bool,
        speech_final: bool,
        from_finalize: bool = False,
        end: float | None = None,
    ) -> None:
        now = channel.recognizer.audio_seconds if end is None else end
        search: list[dict[str, Any]] | None = None
        entities: list[dict[str, Any]] | None = None
        if self.features is None:
            wire_words = [
                {
                    "word": plain_word(word.text),
                    "start": round(word.start, 3),
                    "end": round(word.end, 3),
                    "confidence": word.confidence,
                }
                for word in words
            ]
            transcript = " ".join(w["word"] for w in wire_words)
        else:
            rendered = self.features.render(channel.index, words, is_final, speech_final)
            wire_words, transcript = rendered.words, rendered.transcript
            search, entities = rendered.search, rendered.entities
        confidence = sum(w.confidence for w in words) / len(words) if words else 0.0
        alternative = {"transcript": transcript, "confidence": confidence, "words": wire_words}
        metadata: dict[str, Any] = {
            "request_id": self.request_id,
            "model_info": self.model_info,
            "model_uuid": self.model_uuid,
        }
        if self.options.extra:
            metadata["extra"] = self.options.extra
        channel_body: dict[str, Any] = {"alternatives": [alternative]}
        if search is not None:
            channel_body["search"] = search
        message: dict[str, Any] = {
            "type": "Results",
            "channel_index": self._index(channel),
            "duration": round(now - channel.segment_start, 3),
            "start": round(channel.segment_start, 3),
            "is_final": is_final,
            "speech_final": speech_final,
            "from_finalize": from_finalize,
            "channel": channel_body,
            "metadata": metadata,
        }
        if entities is not None:
            message["entities"] = entities
        self.send_message(message)

    def _send_metadata(self) -> None:
        message: dict[str, Any] = {
            "type": "Metadata",
            "transaction_key": "deprecated",
            "request_id": self.request_id,
            "sha256": "incomplete",
            "created": datetime.datetime.now(datetime.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "duration": round(self.audio_seconds, 6),
            "channels": self.options.channels,
        }
        if self.audio_seconds > 0:
            message["models"] = [self.model_uuid]
            message["model_info"] = {self.model_uuid: self.model_info}
        if self.options.extra:
            message["extra"] = self.options.extra
        self.send_message(message)
