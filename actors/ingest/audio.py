"""Audio arithmetic shared by the ingress sessions: sample widths, silence, frames and durations.

Only the two encodings the call model carries are known here: ``"mulaw"`` (G.711 μ-law, one byte a
sample, silence is ``0xFF``) and ``"linear16"`` (signed 16-bit little-endian PCM, silence is zero).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

Encoding = Literal["mulaw", "linear16"]

#: The μ-law byte for a zero sample (what Twilio-style gaps are filled with).
MULAW_SILENCE = 0xFF

_WIDTH: dict[str, int] = {"mulaw": 1, "linear16": 2}


def sample_width(encoding: Encoding) -> int:
    """Bytes one sample of one channel takes in ``encoding`` (1 for mulaw, 2 for linear16)."""
    return _WIDTH[encoding]


def frame_bytes(encoding: Encoding, channels: int) -> int:
    """Bytes one sample frame (one sample of every channel, interleaved) takes."""
    return sample_width(encoding) * channels


def silence(encoding: Encoding, samples: int) -> bytes:
    """``samples`` samples of one channel of digital silence in ``encoding``."""
    if encoding == "mulaw":
        return bytes([MULAW_SILENCE]) * samples
    return bytes(2 * samples)


def seconds(samples: int, sample_rate: int) -> float:
    """The duration of ``samples`` sample frames at ``sample_rate`` Hz, in seconds."""
    return samples / sample_rate


def interleave(tracks: Sequence[bytes], width: int = 1) -> bytes:
    """Interleave equally long mono ``tracks`` sample by sample (``width`` bytes a sample).

    Raises ``ValueError`` if the tracks differ in length or are not whole samples.
    """
    if not tracks:
        return b""
    length = len(tracks[0])
    if any(len(track) != length for track in tracks) or length % width:
        raise ValueError(f"cannot interleave tracks of lengths {[len(t) for t in tracks]} (width {width})")
    if len(tracks) == 1:
        return bytes(tracks[0])
    count = len(tracks)
    out = bytearray(length * count)
    for index, track in enumerate(tracks):
        for byte in range(width):
            # Slice assignment with a stride does the per-sample interleave in C.
            out[index * width + byte :: count * width] = track[byte::width]
    return bytes(out)


def deinterleave(audio: bytes, channels: int, index: int, width: int = 1) -> bytes:
    """Channel ``index`` of interleaved ``audio`` (``channels`` channels, ``width`` bytes a sample):
    the inverse of :func:`interleave`, by strided slices (no Python loop per sample)."""
    if channels == 1:
        return bytes(audio)
    frame = width * channels
    out = bytearray(len(audio) // channels)
    for byte in range(width):
        out[byte::width] = audio[index * width + byte :: frame]
    return bytes(out)
