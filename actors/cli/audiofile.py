"""Reading call recordings: WAV files decoded to linear16 PCM, ready to stream.

The reader parses the RIFF container itself (rather than the stdlib ``wave`` module) so that
``WAVE_FORMAT_EXTENSIBLE`` files open on every supported Python and so that every unsupported
variant gets an error naming what was found and how to convert it.
"""

from __future__ import annotations

import struct
import wave
from collections.abc import Iterator
from pathlib import Path

import attrs

from actors.errors import AudioFileError

_FORMAT_PCM = 0x0001
_FORMAT_EXTENSIBLE = 0xFFFE
_FORMAT_NAMES = {
    0x0002: "ADPCM",
    0x0003: "32-bit float",
    0x0006: "A-law",
    0x0007: "mu-law",
    0x0011: "IMA ADPCM",
    0x0055: "MP3",
}
_CONVERT_HINT = "convert it to 16-bit PCM WAV, e.g. `ffmpeg -i IN -c:a pcm_s16le OUT.wav`"
MAX_CHANNELS = 20  # Deepgram's multichannel limit


@attrs.frozen
class AudioFile:
    """A decoded recording: interleaved little-endian 16-bit PCM (Deepgram's ``linear16``)."""

    path: str
    sample_rate: int
    channels: int
    pcm: bytes = attrs.field(repr=lambda pcm: f"<{len(pcm)} bytes>")

    encoding = "linear16"

    @property
    def frame_bytes(self) -> int:
        """Bytes per sample frame (one sample of every channel)."""
        return 2 * self.channels

    @property
    def duration(self) -> float:
        """Length of the recording in seconds."""
        return len(self.pcm) / (self.frame_bytes * self.sample_rate)

    def chunks(self, chunk_seconds: float) -> Iterator[tuple[bytes, float]]:
        """Yield ``(pcm, end_seconds)`` pieces of about ``chunk_seconds``, cut on frame boundaries.

        ``end_seconds`` is the audio time at the end of the piece, which is what a pacer needs.
        """
        if chunk_seconds <= 0:
            raise ValueError(f"chunk_seconds must be positive, got {chunk_seconds}")
        step = max(1, round(chunk_seconds * self.sample_rate)) * self.frame_bytes
        bytes_per_second = self.frame_bytes * self.sample_rate
        view = memoryview(self.pcm)
        for start in range(0, len(self.pcm), step):
            piece = view[start : start + step]
            yield bytes(piece), (start + len(piece)) / bytes_per_second


def read_audio(path: str | Path) -> AudioFile:
    """Read a WAV file of integer PCM (8, 16, 24 or 32 bit, 1-20 channels) as linear16.

    Raises `AudioFileError` naming the file when it is missing, unreadable, not a WAV, or in an
    encoding that cannot be streamed as linear16 (float, A-law, mu-law, compressed).
    """
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise AudioFileError(name, "no such file") from None
    except IsADirectoryError:
        raise AudioFileError(name, "is a directory, not an audio file") from None
    except OSError as exc:
        raise AudioFileError(name, f"cannot read: {exc.strerror or exc}") from None
    return _parse_wav(name, data)


def _parse_wav(name: str, data: bytes) -> AudioFile:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        kind = _guess_kind(data)
        raise AudioFileError(name, f"unsupported format: {kind}, not a WAV file; {_CONVERT_HINT}")
    fmt: bytes | None = None
    pcm: bytes | None = None
    pos = 12
    while pos + 8 <= len(data):
        chunk_id, size = struct.unpack_from("<4sI", data, pos)
        body = data[pos + 8 : pos + 8 + size]
        if chunk_id == b"fmt ":
            fmt = body
        elif chunk_id == b"data":
            pcm = body  # a truncated final chunk keeps what is there
            if fmt is not None:
                break
        pos += 8 + size + (size & 1)
    if fmt is None or len(fmt) < 16:
        raise AudioFileError(name, "damaged WAV: no valid 'fmt ' chunk")
    if pcm is None:
        raise AudioFileError(name, "damaged WAV: no 'data' chunk")
    tag, channels, sample_rate, _, _, bits = struct.unpack_from("<HHIIHH", fmt)
    if tag == _FORMAT_EXTENSIBLE and len(fmt) >= 26:
        tag = struct.unpack_from("<H", fmt, 24)[0]  # first two bytes of the sub-format GUID
    if tag != _FORMAT_PCM:
        kind = _FORMAT_NAMES.get(tag, f"format tag 0x{tag:04x}")
        raise AudioFileError(name, f"unsupported WAV encoding {kind}; {_CONVERT_HINT}")
    if bits not in (8, 16, 24, 32):
        raise AudioFileError(name, f"unsupported WAV sample size {bits} bits; {_CONVERT_HINT}")
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioFileError(
            name, f"unsupported channel count {channels} (1 to {MAX_CHANNELS} are supported)"
        )
    if not 8000 <= sample_rate <= 192000:
        raise AudioFileError(name, f"unsupported sample rate {sample_rate} Hz (8000 to 192000 are supported)")
    width = bits // 8
    usable = len(pcm) - len(pcm) % (width * channels)
    if usable == 0:
        raise AudioFileError(name, "contains no audio (empty 'data' chunk)")
    return AudioFile(name, sample_rate, channels, _to_linear16(pcm[:usable], width))


def _to_linear16(pcm: bytes, width: int) -> bytes:
    """Convert little-endian integer PCM of ``width`` bytes per sample to 16-bit, keeping the top bits."""
    if width == 2:
        return pcm
    count = len(pcm) // width
    out = bytearray(2 * count)
    if width == 1:  # 8-bit WAV is unsigned: flipping the top bit makes it the signed high byte
        out[1::2] = pcm.translate(bytes((b ^ 0x80) for b in range(256)))
    else:
        out[0::2] = pcm[width - 2 :: width]
        out[1::2] = pcm[width - 1 :: width]
    return bytes(out)


def _guess_kind(data: bytes) -> str:
    if not data:
        return "empty file"
    signatures = {
        b"ID3": "MP3",
        b"fLaC": "FLAC",
        b"OggS": "Ogg",
        b"RIFF": "RIFF (not WAVE)",
        b"\xff\xfb": "MP3",
        b"\xff\xf3": "MP3",
        b"#!AMR": "AMR",
    }
    for magic, kind in signatures.items():
        if data.startswith(magic):
            return kind
    if data[4:8] == b"ftyp":
        return "MP4/M4A"
    return "unrecognised data"


def write_wav(path: Path, pcm: bytes, sample_rate: int) -> None:
    """Write mono linear16 ``pcm`` as a WAV file at ``path``, creating its folder if needed.

    Raises ``OSError`` when the file cannot be written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm)
