"""WAV files for tests: PCM (16-bit unless told) in a plain RIFF/WAVE container, by the stdlib ``wave``."""

from __future__ import annotations

import io
import wave
from collections.abc import Sequence
from pathlib import Path

from actors.server.engines.deterministic import synthesize_words


def wav_bytes(pcm: bytes, *, channels: int = 1, rate: int = 16000, width: int = 2) -> bytes:
    """``pcm`` (interleaved when ``channels`` > 1, ``width`` bytes a sample) as a WAV file's bytes."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue()


def write_wav(path: Path, pcm: bytes, *, channels: int = 1, rate: int = 16000, width: int = 2) -> Path:
    """Write ``pcm`` as a WAV file at ``path`` (see :func:`wav_bytes`) and return ``path``."""
    path.write_bytes(wav_bytes(pcm, channels=channels, rate=rate, width=width))
    return path


def spoken_wav(path: Path, words: Sequence[str], *, rate: int = 16000, leading_ms: int = 200) -> Path:
    """A mono 16-bit WAV at ``path`` of the deterministic engine speaking ``words`` (which it then
    transcribes back), after ``leading_ms`` of silence; returns ``path``."""
    return write_wav(path, synthesize_words(words, rate, leading_ms=leading_ms), rate=rate)
