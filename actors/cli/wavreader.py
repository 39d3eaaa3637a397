"""WAV headers parsed from a stream, and the per-chunk conversion of every WAV sample encoding.

Only the header is read up front (``parse_wav``); the samples are read and converted a chunk at a
time by `WavSource`, so memory stays bounded whatever the length of the recording. mu-law and
A-law are passed through unchanged (Deepgram takes them as they are); every other encoding is
converted to little-endian 16-bit PCM (Deepgram's ``linear16``).
"""

from __future__ import annotations

import array
import struct
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import BinaryIO

import attrs

with warnings.catch_warnings():  # stdlib (deprecated) up to 3.12; the audioop-lts wheel from 3.13
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

from actors.errors import AudioFileError

FORMAT_PCM = 0x0001
FORMAT_FLOAT = 0x0003
FORMAT_ALAW = 0x0006
FORMAT_MULAW = 0x0007
FORMAT_EXTENSIBLE = 0xFFFE
FORMAT_NAMES = {
    0x0002: "ADPCM",
    0x0011: "IMA ADPCM",
    0x0031: "GSM 6.10",
    0x0055: "MP3",
}
CONVERT_HINT = "convert it to 16-bit PCM WAV, e.g. `ffmpeg -i IN -c:a pcm_s16le OUT.wav`"
MAX_CHANNELS = 20  # Deepgram's multichannel limit
#: A data size a writer that cannot seek back (a pipe) leaves in the header: read to the end.
UNKNOWN_SIZES = (0, 0xFFFFFFFF)
_BIG_ENDIAN = sys.byteorder == "big"
_SKIP_PIECE = 1 << 16

Converter = Callable[[bytes], bytes]


@attrs.frozen
class WavFormat:
    """What a WAV's header says: sample layout, the encoding sent, and where the samples are."""

    sample_rate: int
    channels: int
    width: int  # bytes per stored sample
    encoding: str  # as Deepgram names it: linear16, mulaw or alaw
    convert: Converter  # stored samples -> samples in ``encoding``
    data_offset: int  # position of the first sample in the stream
    data_size: int | None  # None: unknown (a piped WAV), read to the end

    @property
    def stored_frame_bytes(self) -> int:
        """Bytes of one stored sample frame (one sample of every channel)."""
        return self.width * self.channels


def _native(pcm: bytes, width: int) -> bytes:
    return audioop.byteswap(pcm, width) if _BIG_ENDIAN else pcm  # pragma: no cover - big-endian hosts


def _little(pcm: bytes) -> bytes:
    return audioop.byteswap(pcm, 2) if _BIG_ENDIAN else pcm  # pragma: no cover - big-endian hosts


def _unsigned8(pcm: bytes) -> bytes:
    return _little(audioop.lin2lin(audioop.bias(pcm, 1, -128), 1, 2))


def _identity(pcm: bytes) -> bytes:
    return pcm


def _integer(width: int) -> Converter:
    def convert(pcm: bytes) -> bytes:
        return _little(audioop.lin2lin(_native(pcm, width), width, 2))  # keeps the top 16 bits

    return convert


def _floating(typecode: str) -> Converter:
    def convert(pcm: bytes) -> bytes:
        values = array.array(typecode, pcm)
        if _BIG_ENDIAN:  # pragma: no cover - big-endian hosts
            values.byteswap()
        out = array.array("h", [int(32767 * (1.0 if v > 1.0 else -1.0 if v < -1.0 else v)) for v in values])
        return _little(out.tobytes())

    return convert


def _companded(decode: Callable[[bytes, int], bytes]) -> Converter:
    def convert(pcm: bytes) -> bytes:
        return _little(decode(pcm, 2))

    return convert


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    return data if data is not None else b""


def _skip(stream: BinaryIO, size: int, seekable: bool) -> None:
    if seekable:
        stream.seek(size, 1)
        return
    while size > 0:
        piece = _read_exactly(stream, min(size, _SKIP_PIECE))
        if not piece:
            return
        size -= len(piece)


def parse_wav(
    name: str, stream: BinaryIO, *, seekable: bool, file_size: int | None, linear16: bool
) -> WavFormat:
    """Read a WAV header from ``stream`` (positioned after nothing: at the file's first byte).

    On return a non-seekable ``stream`` is positioned at the first sample. ``file_size`` (files
    only) bounds a data size that is unknown or larger than the file. With ``linear16`` mu-law
    and A-law are decoded too. Raises `AudioFileError` naming what was found when the header is
    damaged or describes audio that cannot be streamed.
    """
    head = _read_exactly(stream, 12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise AudioFileError(name, "damaged WAV: no RIFF/WAVE header")
    fmt: bytes | None = None
    data: tuple[int, int] | None = None  # (offset, declared size)
    pos = 12
    while True:
        header = _read_exactly(stream, 8)
        if len(header) < 8:
            break
        chunk_id, size = struct.unpack("<4sI", header)
        pos += 8
        if chunk_id == b"data":
            data = (pos, size)
            if fmt is not None or not seekable or size in UNKNOWN_SIZES:
                break
            _skip(stream, size + (size & 1), seekable)  # a 'fmt ' after the samples: look for it
        elif chunk_id == b"fmt ":
            fmt = _read_exactly(stream, size)
            if size & 1:
                _skip(stream, 1, seekable)
            if data is not None:
                break
        else:
            _skip(stream, size + (size & 1), seekable)
        pos += size + (size & 1)
    if fmt is None or len(fmt) < 16:
        raise AudioFileError(name, "damaged WAV: no valid 'fmt ' chunk")
    if data is None:
        raise AudioFileError(name, "damaged WAV: no 'data' chunk")
    return _format(name, fmt, data, file_size, linear16)


def _format(name: str, fmt: bytes, data: tuple[int, int], file_size: int | None, linear16: bool) -> WavFormat:
    tag, channels, sample_rate, _, _, bits = struct.unpack_from("<HHIIHH", fmt)
    if tag == FORMAT_EXTENSIBLE and len(fmt) >= 26:
        tag = struct.unpack_from("<H", fmt, 24)[0]  # first two bytes of the sub-format GUID
    encoding, convert = _codec(name, tag, bits, linear16)
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioFileError(
            name, f"unsupported channel count {channels} (1 to {MAX_CHANNELS} are supported)"
        )
    if not 8000 <= sample_rate <= 192000:
        raise AudioFileError(name, f"unsupported sample rate {sample_rate} Hz (8000 to 192000 are supported)")
    offset, declared = data
    width = bits // 8
    size: int | None = declared
    if file_size is not None:
        remaining = max(0, file_size - offset)
        size = remaining if declared in UNKNOWN_SIZES else min(declared, remaining)
    elif declared in UNKNOWN_SIZES:
        size = None
    if size is not None:
        size -= size % (width * channels)
        if size == 0:
            raise AudioFileError(name, "contains no audio (empty 'data' chunk)")
    return WavFormat(sample_rate, channels, width, encoding, convert, offset, size)


def _codec(name: str, tag: int, bits: int, linear16: bool) -> tuple[str, Converter]:
    """The encoding sent for a WAV format tag and sample size, and the converter to it."""
    if tag == FORMAT_PCM and bits in (8, 16, 24, 32):
        return "linear16", {8: _unsigned8, 16: _identity}.get(bits) or _integer(bits // 8)
    if tag == FORMAT_FLOAT and bits in (32, 64):
        return "linear16", _floating("f" if bits == 32 else "d")
    if tag in (FORMAT_MULAW, FORMAT_ALAW) and bits == 8:
        encoding = "mulaw" if tag == FORMAT_MULAW else "alaw"
        if linear16:
            return "linear16", _companded(audioop.ulaw2lin if tag == FORMAT_MULAW else audioop.alaw2lin)
        return encoding, _identity
    kinds = {FORMAT_PCM: "integer PCM", FORMAT_FLOAT: "float", FORMAT_MULAW: "mu-law", FORMAT_ALAW: "A-law"}
    if tag in kinds:
        raise AudioFileError(
            name, f"unsupported WAV sample size {bits} bits for {kinds[tag]}; {CONVERT_HINT}"
        )
    kind = FORMAT_NAMES.get(tag, f"format tag 0x{tag:04x}")
    raise AudioFileError(name, f"unsupported WAV encoding {kind}; {CONVERT_HINT}")


@attrs.define
class WavSource:
    """Reads a WAV's samples a block at a time, converted; reopens the file for every pass.

    With ``stream`` (stdin) the samples are read from it once, from its current position.
    """

    name: str
    format: WavFormat
    stream: BinaryIO | None = None
    _used: bool = False

    def blocks(self, frames: int) -> Iterator[bytes]:
        """Yield the samples converted, ``frames`` sample frames per block (the last may be shorter)."""
        if self.stream is not None:
            if self._used:
                raise AudioFileError(self.name, "standard input can be read only once")
            self._used = True
            yield from self._read(self.stream, frames)
            return
        try:
            with open(self.name, "rb") as stream:
                stream.seek(self.format.data_offset)
                yield from self._read(stream, frames)
        except OSError as exc:
            raise AudioFileError(self.name, f"cannot read: {exc.strerror or exc}") from None

    def _read(self, stream: BinaryIO, frames: int) -> Iterator[bytes]:
        frame = self.format.stored_frame_bytes
        remaining = self.format.data_size
        convert = self.format.convert
        step = frames * frame
        while remaining is None or remaining > 0:
            want = step if remaining is None else min(step, remaining)
            piece = _read_exactly(stream, want)
            if remaining is not None:
                remaining -= len(piece)
            usable = len(piece) - len(piece) % frame  # a truncated last frame is dropped
            if usable:
                yield convert(piece[:usable])
            if len(piece) < want:
                return  # end of file (shorter than its header said, or a pipe that closed)
