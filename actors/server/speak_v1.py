"""Speak V1 (`/v1/speak`): streaming text-to-speech.

The server sends ``Metadata`` first; ``Speak`` text is buffered; ``Flush`` synthesizes the
buffer with the engine's synthesizer and sends the audio (binary, in the requested encoding and
sample rate) followed by ``Flushed{sequence_id}`` counting from 0; ``Clear`` drops the buffer
and answers ``Cleared``; ``Close`` sends the remaining audio and closes 1000. Deepgram's limits
are enforced: 2000 characters per ``Speak`` (close 1009 ``BIG-0001``), 2400 characters per
minute (close 1008 ``DATA-0001``), 20 flushes per minute (``Warning`` and no ``Flushed``);
binary frames close 1003 ``MESSAGE-0000``; unknown or malformed messages close 1008 ``DATA-0000``.
A connection lives at most :attr:`SpeakV1Endpoint.max_lifetime_seconds` (60 minutes, as Deepgram's
limit), then closes 1011 ``NET-0003``; the timer is one tick of the connection loop, no polling.
"""

from __future__ import annotations

import audioop  # stdlib up to 3.12; the audioop-lts wheel provides it from 3.13
import collections
import time
import uuid
from collections.abc import Sequence
from typing import Any, ClassVar

import attrs

from actors.errors import OptionsError
from actors.protocol.apis import SPEAK_V1
from actors.server.handshake import QueryReader
from actors.server.session import Endpoint, register_endpoint

#: Sample rates Deepgram accepts for each streaming encoding, default first.
SAMPLE_RATES = {
    "linear16": (24000, 8000, 16000, 32000, 48000),
    "mulaw": (8000, 16000),
    "alaw": (8000, 16000),
}
DEFAULT_MODEL = str(SPEAK_V1.model_catalog.default if SPEAK_V1.model_catalog else "")
MODEL_VERSION = "2024-11-19.0"
MAX_TEXT_CHARS = 2000
#: Seconds of audio per binary frame sent to the client.
FRAME_SECONDS = 0.1


@attrs.frozen
class SpeakV1Settings:
    """The connect options of one Speak V1 connection, validated."""

    model: str = DEFAULT_MODEL
    encoding: str = "linear16"
    sample_rate: int = 24000
    speed: float = 1.0

    @classmethod
    def from_query(cls, query: Sequence[tuple[str, str]]) -> SpeakV1Settings:
        """Parse and validate the query; raise ``OptionsError`` naming the bad parameter (-> 400)."""
        reader = QueryReader(query)
        # An unknown model was refused at the handshake (``handshake.check_model``).
        model = reader.text("model", DEFAULT_MODEL) or DEFAULT_MODEL
        encoding = reader.text("encoding", "linear16", tuple(SAMPLE_RATES)) or "linear16"
        allowed = SAMPLE_RATES[encoding]
        sample_rate = reader.integer("sample_rate", allowed[0])
        if sample_rate not in allowed:
            rates = ", ".join(str(rate) for rate in sorted(allowed))
            raise OptionsError(
                "sample_rate",
                f"Unsupported audio format: `sample_rate` must be one of {rates} when `encoding={encoding}`",
                sample_rate,
            )
        speed = reader.number("speed", 1.0, 0.5, 2.0)
        reader.flag("mip_opt_out")
        return cls(model, encoding, int(sample_rate or allowed[0]), float(speed or 1.0))


def encode_audio(pcm: bytes, encoding: str) -> bytes:
    """Convert linear16 PCM to the wire ``encoding`` (linear16, mulaw or alaw)."""
    if encoding == "mulaw":
        return audioop.lin2ulaw(pcm, 2)
    if encoding == "alaw":
        return audioop.lin2alaw(pcm, 2)
    return pcm


@register_endpoint("/v1/speak")
class SpeakV1Endpoint(Endpoint):
    """Serves one Speak V1 connection (see the module docstring for the behaviour)."""

    options: SpeakV1Settings
    #: Deepgram's limits; tests and benchmarks may raise them on a subclass or the class.
    max_flushes_per_window: ClassVar[int] = 20
    max_chars_per_window: ClassVar[int] = 2400
    window_seconds: ClassVar[float] = 60.0
    #: Deepgram's maximum connection lifetime; then close 1011 NET-0003. Tests may shorten it.
    max_lifetime_seconds: ClassVar[float] = 3600.0

    @classmethod
    def parse_query(cls, query: Sequence[tuple[str, str]]) -> SpeakV1Settings:
        """Validate the Speak V1 query (400 on error)."""
        return SpeakV1Settings.from_query(query)

    def on_open(self) -> None:
        """Send ``Metadata`` and prepare the text buffer."""
        self.synthesizer = self.context.engine.synthesizer()
        self.opened_at = time.monotonic()
        # The base loop reads ``self.tick_interval`` once it starts: a single tick at the end of
        # the lifetime (an instance value, so the class attribute can be changed at any time).
        vars(self)["tick_interval"] = self.max_lifetime_seconds
        self.buffer: list[str] = []
        self.flush_sequence = 0
        self.clear_sequence = 0
        self.flush_times: collections.deque[float] = collections.deque()
        self.char_times: collections.deque[tuple[float, int]] = collections.deque()
        self.bytes_per_second = self.options.sample_rate * (2 if self.options.encoding == "linear16" else 1)
        model = self.options.model
        self.send_message(
            {
                "type": "Metadata",
                "request_id": self.request_id,
                "model_name": model,
                "model_version": MODEL_VERSION,
                "model_uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"actors-local/{model}")),
            }
        )

    def on_tick(self) -> None:
        """The connection reached its maximum lifetime: close 1011 ``NET-0003``."""
        if time.monotonic() - self.opened_at >= self.max_lifetime_seconds:
            self.close(1011, "NET-0003")

    def on_binary(self, data: bytes) -> None:
        """Speak accepts only text frames: close 1003 ``MESSAGE-0000``."""
        self.close(1003, "MESSAGE-0000")

    def on_text(self, text: str) -> None:
        """Dispatch one client command."""
        message = self.decode_json(text)
        kind = message.get("type") if message is not None else None
        if message is None or not isinstance(kind, str):
            self.close(1008, "DATA-0000")
        elif kind == "Speak":
            self._speak(message)
        elif kind == "Flush":
            self._flush()
        elif kind == "Clear":
            self.buffer.clear()
            self.send_message({"type": "Cleared", "sequence_id": self.clear_sequence})
            self.clear_sequence += 1
        elif kind == "Close":
            self._send_audio(self._take_buffer())
            self.close(1000)
        else:
            self.close(1008, "DATA-0000")

    def _speak(self, message: dict[str, Any]) -> None:
        text = message.get("text")
        if not isinstance(text, str):
            self.close(1008, "DATA-0000")
            return
        if len(text) > MAX_TEXT_CHARS:
            self.close(1009, "BIG-0001")
            return
        now = time.monotonic()
        _expire(self.char_times, now - self.window_seconds)
        if sum(count for _, count in self.char_times) + len(text) > self.max_chars_per_window:
            self.close(1008, "DATA-0001")
            return
        self.char_times.append((now, len(text)))
        self.buffer.append(text)

    def _flush(self) -> None:
        now = time.monotonic()
        while self.flush_times and self.flush_times[0] < now - self.window_seconds:
            self.flush_times.popleft()
        if len(self.flush_times) >= self.max_flushes_per_window:
            self.send_message(
                {
                    "type": "Warning",
                    "description": f"Rate limit exceeded: at most {self.max_flushes_per_window} "
                    f"Flush messages per {self.window_seconds:g} seconds; this Flush was ignored.",
                    "code": "EXCESSIVE_FLUSH",
                }
            )
            return
        self.flush_times.append(now)
        self._send_audio(self._take_buffer())
        self.send_message({"type": "Flushed", "sequence_id": self.flush_sequence})
        self.flush_sequence += 1

    def _take_buffer(self) -> str:
        text = "".join(self.buffer)
        self.buffer.clear()
        return text

    def _send_audio(self, text: str) -> None:
        if not text.strip():
            return
        opts = self.options
        audio = encode_audio(self.synthesizer.synthesize(text, opts.sample_rate), opts.encoding)
        step = max(1, int(self.bytes_per_second * FRAME_SECONDS))
        for offset in range(0, len(audio), step):
            frame = audio[offset : offset + step]
            self.send_binary(frame)
            self.audio_seconds += len(frame) / self.bytes_per_second


def _expire(times: collections.deque[tuple[float, int]], before: float) -> None:
    while times and times[0][0] < before:
        times.popleft()
