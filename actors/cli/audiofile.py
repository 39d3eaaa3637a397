"""Reading call recordings: only the header up front, the samples streamed from disk in chunks.

`read_audio` parses the header and fails fast, naming what it found, for anything that cannot be
streamed; the returned `AudioFile` then reads, converts and yields one chunk at a time
(`AudioFile.chunks`), so memory stays bounded whatever the length of the call.

* WAV (parsed here, not by the stdlib ``wave`` module, so ``WAVE_FORMAT_EXTENSIBLE`` opens on
  every supported Python and every variant gets a precise error): integer PCM of 8 to 32 bits and
  32/64-bit float are converted to ``linear16``; mu-law and A-law are sent as they are
  (``encoding=mulaw``/``alaw``), which Deepgram takes.
* FLAC, Ogg Vorbis, Ogg Opus, MP3 (and whatever else libsndfile reads): decoded to ``linear16`` by
  `soundfile` (see `actors.cli.sfreader`).
* ``-``: a WAV read from standard input, once, as it arrives. A piped WAV may not know its length
  (data size 0 or 0xFFFFFFFF): it is then read to the end and ``duration`` is None.
"""

from __future__ import annotations

import os
import sys
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

import attrs

from actors.cli.wavreader import CONVERT_HINT, MAX_CHANNELS, WavSource, parse_wav
from actors.errors import AudioFileError

__all__ = ["MAX_CHANNELS", "STDIN", "AudioFile", "read_audio", "write_wav"]

STDIN = "-"
_SNIFF_BYTES = 12
_BYTES_PER_SAMPLE = {"linear16": 2, "mulaw": 1, "alaw": 1}


class AudioSource(Protocol):
    """Where an `AudioFile`'s samples come from, already in its encoding."""

    def blocks(self, frames: int) -> Iterator[bytes]:
        """Yield the samples, ``frames`` sample frames per block (the last may be shorter)."""
        ...


@attrs.frozen
class AudioFile:
    """A recording ready to stream: its format as Deepgram names it, and its samples on demand.

    ``encoding`` is ``linear16`` (interleaved little-endian 16-bit PCM), ``mulaw`` or ``alaw``.
    ``duration`` is None when it is not known before the end (a WAV piped without its length).
    """

    path: str
    sample_rate: int
    channels: int
    encoding: str
    duration: float | None
    source: AudioSource = attrs.field(repr=False, eq=False)

    @property
    def frame_bytes(self) -> int:
        """Bytes per sample frame (one sample of every channel) in ``encoding``."""
        return _BYTES_PER_SAMPLE[self.encoding] * self.channels

    def chunks(self, chunk_seconds: float) -> Iterator[tuple[bytes, float]]:
        """Yield ``(samples, end_seconds)`` pieces of about ``chunk_seconds``, cut on frame boundaries.

        ``end_seconds`` is the audio time at the end of the piece, which is what a pacer needs.
        Every pass reads the file again from disk (standard input can be read only once).
        """
        if chunk_seconds <= 0:
            raise ValueError(f"chunk_seconds must be positive, got {chunk_seconds}")
        frames = max(1, round(chunk_seconds * self.sample_rate))
        done = 0
        for block in self.source.blocks(frames):
            done += len(block) // self.frame_bytes
            yield block, done / self.sample_rate


def read_audio(path: str | Path, *, linear16: bool = False) -> AudioFile:
    """Open a recording: read and check its header only; ``"-"`` is a WAV on standard input.

    With ``linear16`` mu-law and A-law are decoded as well, for consumers that take nothing else.
    Raises `AudioFileError` naming the file when it is missing, unreadable, damaged or in a
    format that cannot be streamed (the message names the format and how to convert it).
    """
    name = str(path)
    if name == STDIN:
        return _read_stdin(linear16)
    try:
        with open(name, "rb") as stream:
            magic = stream.read(_SNIFF_BYTES)
            if magic[:4] == b"RIFF" and magic[8:12] == b"WAVE":
                stream.seek(0)
                fmt = parse_wav(
                    name,
                    stream,
                    seekable=True,
                    file_size=os.fstat(stream.fileno()).st_size,
                    linear16=linear16,
                )
                return _wav_file(name, WavSource(name, fmt))
    except FileNotFoundError:
        raise AudioFileError(name, "no such file") from None
    except IsADirectoryError:
        raise AudioFileError(name, "is a directory, not an audio file") from None
    except OSError as exc:
        raise AudioFileError(name, f"cannot read: {exc.strerror or exc}") from None
    return _decoded_file(name, magic)


def _wav_file(name: str, source: WavSource) -> AudioFile:
    fmt = source.format
    duration = None if fmt.data_size is None else fmt.data_size / (fmt.stored_frame_bytes * fmt.sample_rate)
    return AudioFile(name, fmt.sample_rate, fmt.channels, fmt.encoding, duration, source)


def _decoded_file(name: str, magic: bytes) -> AudioFile:
    """A file that is not a WAV: decoded by libsndfile if it can, else an error naming its kind."""
    kind = _guess_kind(magic)
    if kind in ("empty file", "MP4/M4A", "AMR"):
        raise AudioFileError(name, f"unsupported format: {kind}; {CONVERT_HINT}")
    from actors.cli.sfreader import SoundfileSource, probe

    info = probe(name)
    if info is None:
        if kind == "unrecognised data":
            raise AudioFileError(name, f"unsupported format: {kind}, not a WAV file; {CONVERT_HINT}")
        raise AudioFileError(
            name, f"cannot decode {kind}: damaged, or a variant libsndfile does not read; {CONVERT_HINT}"
        )
    if not 1 <= info.channels <= MAX_CHANNELS:
        raise AudioFileError(
            name, f"unsupported channel count {info.channels} (1 to {MAX_CHANNELS} are supported)"
        )
    if not 8000 <= info.sample_rate <= 192000:
        raise AudioFileError(
            name, f"unsupported sample rate {info.sample_rate} Hz (8000 to 192000 are supported)"
        )
    duration = info.frames / info.sample_rate if info.frames else None
    return AudioFile(name, info.sample_rate, info.channels, "linear16", duration, SoundfileSource(name))


def _read_stdin(linear16: bool) -> AudioFile:
    stream: BinaryIO = sys.stdin.buffer
    magic = stream.peek(_SNIFF_BYTES)[:_SNIFF_BYTES] if hasattr(stream, "peek") else b""
    if len(magic) == _SNIFF_BYTES and not (magic[:4] == b"RIFF" and magic[8:12] == b"WAVE"):
        kind = _guess_kind(magic)
        raise AudioFileError(
            "stdin",
            f"unsupported format on standard input: {kind}; only WAV can be piped "
            "(e.g. `ffmpeg -i IN -f wav -c:a pcm_s16le -`), or pass the file's path",
        )
    fmt = parse_wav("stdin", stream, seekable=False, file_size=None, linear16=linear16)
    source = WavSource("stdin", fmt, stream=stream)
    audio = _wav_file("stdin", source)
    return attrs.evolve(audio, path=STDIN)


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
        b"\xff\xf2": "MP3",
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
