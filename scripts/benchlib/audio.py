"""The benchmark's audio: deterministic-engine speech giving a final Result every ~0.4 s."""

from __future__ import annotations

import attrs

SAMPLE_RATE = 16000
BYTES_PER_SECOND = SAMPLE_RATE * 2  # linear16 mono
#: Five-letter words: 225 ms of "speech" + 200 ms gap, so endpointing cuts a final every 425 ms.
WORDS = ("alpha", "bravo", "delta", "hotel", "oscar", "tango", "romeo", "sugar")
GAP_MS = 200


@attrs.frozen
class BenchAudio:
    """``seconds`` of linear16 16 kHz mono audio cut into ``chunk_ms`` chunks (shared by every stream).

    ``expected_finals`` is how many words (hence final Results) the deterministic engine yields.
    """

    chunk_ms: int
    chunks: tuple[bytes, ...]
    expected_finals: int

    @property
    def chunk_seconds(self) -> float:
        """Seconds of audio per chunk."""
        return self.chunk_ms / 1000.0

    @property
    def seconds(self) -> float:
        """Seconds of audio in all chunks."""
        return len(self.chunks) * self.chunk_seconds


def build_audio(seconds: float, chunk_ms: int) -> BenchAudio:
    """Synthesize at least ``seconds`` of speech-like audio and cut it into ``chunk_ms`` chunks."""
    from actors.server.engines.deterministic import synthesize_words

    if seconds <= 0:
        raise ValueError(f"seconds must be > 0, got {seconds!r}")
    if chunk_ms < 1:
        raise ValueError(f"chunk_ms must be >= 1, got {chunk_ms!r}")
    words: list[str] = []
    pcm = b""
    while len(pcm) < seconds * BYTES_PER_SECOND:
        block = [WORDS[(len(words) + i) % len(WORDS)] for i in range(len(WORDS))]
        words.extend(block)
        pcm += synthesize_words(block, SAMPLE_RATE, gap_ms=GAP_MS)
    chunk_bytes = BYTES_PER_SECOND * chunk_ms // 1000
    total = int(seconds * BYTES_PER_SECOND) // chunk_bytes * chunk_bytes
    pcm = pcm[:total]
    from actors.server.engines.deterministic import transcribe

    expected = len(transcribe(pcm, SAMPLE_RATE))
    chunks = tuple(pcm[i : i + chunk_bytes] for i in range(0, total, chunk_bytes))
    return BenchAudio(chunk_ms=chunk_ms, chunks=chunks, expected_finals=expected)
