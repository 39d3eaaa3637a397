"""Decode client audio into mono linear16 PCM per channel, frame by frame.

Supports raw ``linear16``, ``linear32`` (32-bit float), ``mulaw`` and ``alaw`` with a declared
sample rate and channel count, and WAV containers (sniffed when no encoding is declared).
Anything else is undecodable: :class:`UndecodableAudio`, which endpoints turn into a close
1008 ``DATA-0000``. Frames may split samples anywhere; the remainder is carried over.
"""

from __future__ import annotations

import array
import struct
import sys
import warnings
from collections.abc import Callable

with warnings.catch_warnings():  # stdlib (deprecated) up to 3.12; the audioop-lts wheel from 3.13
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

from actors.errors import ProtocolError

RAW_ENCODINGS = ("linear16", "linear32", "mulaw", "alaw")
#: WAV format tags we understand -> encoding name.
_WAV_FORMATS = {1: "linear16", 3: "linear32", 6: "alaw", 7: "mulaw"}
_SAMPLE_WIDTH = {"linear16": 2, "linear32": 4, "mulaw": 1, "alaw": 1}
_MAX_WAV_HEADER = 1 << 16


class UndecodableAudio(ProtocolError):
    """The client's bytes are not audio this server can decode (Deepgram closes 1008 DATA-0000)."""


class AudioDecoder:
    """Turns a stream of client frames into per-channel mono linear16 chunks.

    ``encoding=None`` means containerized audio: the first bytes must be a WAV header, which
    then sets encoding, sample rate and channels. Read :attr:`sample_rate` and
    :attr:`channels` after the first successful :meth:`decode` in that case.
    """

    def __init__(self, encoding: str | None, sample_rate: int | None, channels: int = 1) -> None:
        if encoding is not None and encoding not in RAW_ENCODINGS:
            raise UndecodableAudio(f"encoding {encoding!r} is not supported by the local server")
        self.encoding = encoding
        self.sample_rate = sample_rate or 16000
        self.channels = channels
        self.bytes_received = 0
        self._header_pending = encoding is None
        self._pending = b""

    @property
    def ready(self) -> bool:
        """True once the format is known (always for raw audio; after the WAV header otherwise)."""
        return not self._header_pending

    @property
    def frame_bytes(self) -> int:
        """Bytes per multi-channel sample frame in the input."""
        return _SAMPLE_WIDTH[self.encoding or "linear16"] * self.channels

    def decode(self, data: bytes) -> list[bytes]:
        """Decode one client frame; returns one linear16 chunk per channel (maybe empty)."""
        self.bytes_received += len(data)
        if not self._pending and self.encoding == "linear16" and self.channels == 1 and not len(data) % 2:
            return [data]  # the common case: already mono linear16, nothing carried over
        data = self._pending + data
        self._pending = b""
        if self._header_pending:
            data = self._consume_header(data)
            if self._header_pending:
                return [b""] * self.channels
        usable = len(data) - len(data) % self.frame_bytes
        self._pending = data[usable:]
        return self._to_channels(data[:usable])

    def seconds(self, chunk: bytes) -> float:
        """Duration of a mono linear16 chunk at this decoder's sample rate."""
        return len(chunk) / 2 / self.sample_rate

    def _to_channels(self, data: bytes) -> list[bytes]:
        if self.encoding == "mulaw":
            pcm = audioop.ulaw2lin(data, 2)
        elif self.encoding == "alaw":
            pcm = audioop.alaw2lin(data, 2)
        elif self.encoding == "linear32":
            floats = array.array("f", data)
            if sys.byteorder == "big":  # pragma: no cover
                floats.byteswap()
            pcm = array.array("h", (int(max(-1.0, min(1.0, f)) * 32767) for f in floats)).tobytes()
        else:
            pcm = data
        if self.channels == 1:
            return [pcm]
        samples = array.array("h", pcm)
        return [samples[ch :: self.channels].tobytes() for ch in range(self.channels)]

    def _consume_header(self, data: bytes) -> bytes:
        """Parse a WAV header at the start of ``data``; return the bytes after it."""
        if len(data) < 12:
            self._pending = data
            return b""
        if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
            raise UndecodableAudio(
                "audio has no encoding parameter and is not a WAV container; "
                "pass encoding= and sample_rate= for raw audio"
            )
        offset = 12
        while True:
            if offset + 8 > len(data):
                break
            chunk_id, size = data[offset : offset + 4], struct.unpack_from("<I", data, offset + 4)[0]
            if chunk_id == b"data":
                self._header_pending = False
                return data[offset + 8 :]
            if offset + 8 + size > len(data):
                break
            if chunk_id == b"fmt ":
                self._read_fmt(data[offset + 8 : offset + 8 + size])
            offset += 8 + size + (size & 1)
        if len(data) > _MAX_WAV_HEADER:
            raise UndecodableAudio("WAV header has no data chunk in its first 64 KiB")
        self._pending = data
        return b""

    def _read_fmt(self, fmt: bytes) -> None:
        if len(fmt) < 16:
            raise UndecodableAudio("WAV fmt chunk is truncated")
        tag, channels, rate, _byte_rate, _align, bits = struct.unpack_from("<HHIIHH", fmt)
        if tag == 0xFFFE and len(fmt) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the sub-format holds the tag
            tag = struct.unpack_from("<H", fmt, 24)[0]
        encoding = _WAV_FORMATS.get(tag)
        if encoding is None or bits != _SAMPLE_WIDTH[encoding] * 8 or channels < 1 or rate < 1:
            raise UndecodableAudio(f"WAV format {tag} with {bits}-bit samples is not supported")
        self.encoding, self.channels, self.sample_rate = encoding, channels, rate


def listen_decoder(encoding: str | None, sample_rate: int | None, channels: int = 1) -> AudioDecoder | None:
    """A decoder for a listen stream's connect options; None for a codec this server cannot decode
    (:func:`decode_listen_frame` then refuses the stream at its first audio frame, like Deepgram)."""
    try:
        return AudioDecoder(encoding, sample_rate, channels)
    except UndecodableAudio:
        return None


def decode_listen_frame(
    decoder: AudioDecoder | None, data: bytes, close: Callable[[int, str], None]
) -> list[bytes] | None:
    """One audio frame of a listen stream as linear16, one chunk per channel; None when there is
    nothing to feed: the format is not known yet (a WAV header still arriving), or the audio cannot
    be decoded and the stream was closed with ``close(1008, "DATA-0000")``, as Deepgram does."""
    if decoder is None:
        close(1008, "DATA-0000")
        return None
    try:
        chunks = decoder.decode(data)
    except UndecodableAudio:
        close(1008, "DATA-0000")
        return None
    return chunks if decoder.ready else None


def mix_down(chunks: list[bytes]) -> bytes:
    """Average equally long linear16 channel chunks into one mono chunk."""
    if len(chunks) == 1:
        return chunks[0]
    columns = [array.array("h", chunk) for chunk in chunks]
    count = len(columns)
    return array.array("h", (sum(samples) // count for samples in zip(*columns, strict=True))).tobytes()


class StepSplitter:
    """Cuts a mono linear16 stream into pieces of ``step_seconds`` aligned to the stream start.

    Endpoints evaluate their state machines after each piece, so what they send does not depend
    on how the client chunked its audio.
    """

    def __init__(self, sample_rate: int, step_seconds: float) -> None:
        self.step_bytes = max(2, int(sample_rate * step_seconds) * 2)
        self._pending = bytearray()

    def push(self, pcm: bytes) -> list[bytes]:
        """Add audio; return the whole steps now available."""
        step = self.step_bytes
        if not self._pending and len(pcm) % step == 0:  # whole steps, nothing carried: no copy
            return [pcm] if len(pcm) == step else [pcm[i : i + step] for i in range(0, len(pcm), step)]
        self._pending += pcm
        count = len(self._pending) // self.step_bytes
        if not count:
            return []
        cut = count * self.step_bytes
        steps = [bytes(self._pending[i : i + self.step_bytes]) for i in range(0, cut, self.step_bytes)]
        del self._pending[:cut]
        return steps

    def rest(self) -> bytes:
        """Return and forget the audio shorter than a step (on Finalize / end of stream)."""
        rest = bytes(self._pending)
        self._pending.clear()
        return rest
