"""Reading WAV call recordings into linear16, and the errors for everything else."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from actors.cli.audiofile import AudioFile, read_audio
from actors.errors import AudioFileError
from tests.support.wav import write_wav


def pcm_of(audio: AudioFile) -> bytes:
    return b"".join(piece for piece, _ in audio.chunks(1.0))


def test_reads_stereo_16_bit(tmp_path: Path) -> None:
    frames = struct.pack("<4h", 1, -1, 300, -300)
    audio = read_audio(write_wav(tmp_path / "a.wav", frames, channels=2, rate=8000))
    assert (audio.sample_rate, audio.channels, pcm_of(audio)) == (8000, 2, frames)
    assert audio.duration == pytest.approx(2 / 8000)


@pytest.mark.parametrize(
    ("width", "raw", "expected"),
    [
        (1, bytes([0x80, 0xFF, 0x00]), struct.pack("<3h", 0, 0x7F00, -0x8000)),
        (3, bytes([0x11, 0x34, 0x12, 0xFF, 0xFF, 0xFF]), struct.pack("<2h", 0x1234, -1)),
        (4, struct.pack("<2i", 0x12345678, -0x10000), struct.pack("<2h", 0x1234, -1)),
    ],
)
def test_converts_other_integer_widths_to_16_bit(
    tmp_path: Path, width: int, raw: bytes, expected: bytes
) -> None:
    audio = read_audio(write_wav(tmp_path / "w.wav", raw, width=width))
    assert pcm_of(audio) == expected


def test_reads_wave_format_extensible(tmp_path: Path) -> None:
    pcm = struct.pack("<2h", 5, -5)
    fmt = struct.pack("<HHIIHH", 0xFFFE, 1, 16000, 32000, 2, 16) + struct.pack("<HHI", 22, 16, 4)
    fmt += struct.pack("<H14s", 1, b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71")
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(pcm)) + pcm
    path = tmp_path / "ext.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    assert pcm_of(read_audio(path)) == pcm


def test_chunks_cover_the_audio_on_frame_boundaries(tmp_path: Path) -> None:
    frames = bytes(range(200)) * 2  # 100 stereo frames
    audio = read_audio(write_wav(tmp_path / "c.wav", frames, channels=2, rate=1000 * 8))
    pieces = list(audio.chunks(0.005))  # 40 frames per chunk
    assert b"".join(p for p, _ in pieces) == frames
    assert all(len(p) % 4 == 0 for p, _ in pieces)
    assert pieces[-1][1] == pytest.approx(audio.duration)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"fLaC\x00\x00", "cannot decode FLAC: damaged"),
        (b"ID3\x03\x00rest-of-an-mp3", "cannot decode MP3: damaged"),
        (b"\x00\x00\x00\x20ftypM4A rest", "unsupported format: MP4/M4A"),
        (b"", "unsupported format: empty file"),
        (b"hello world, not audio", "unsupported format: unrecognised data"),
    ],
)
def test_rejects_non_wav_naming_the_format(tmp_path: Path, content: bytes, needle: str) -> None:
    path = tmp_path / "call.bin"
    path.write_bytes(content)
    with pytest.raises(AudioFileError, match=needle) as info:
        read_audio(path)
    assert str(path) in str(info.value)
    assert "ffmpeg" in str(info.value)


@pytest.mark.parametrize(
    ("tag", "bits", "needle"),
    [
        (0x0002, 4, "unsupported WAV encoding ADPCM"),
        (0x0003, 16, "unsupported WAV sample size 16 bits for float"),
        (0x0007, 16, "unsupported WAV sample size 16 bits for mu-law"),
    ],
)
def test_rejects_unstreamable_wav_encodings(tmp_path: Path, tag: int, bits: int, needle: str) -> None:
    fmt = struct.pack("<HHIIHH", tag, 1, 16000, 64000, 4, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", 4) + b"\0" * 4
    path = tmp_path / "odd.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    with pytest.raises(AudioFileError, match=needle):
        read_audio(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError, match="no such file"):
        read_audio(tmp_path / "nope.wav")
    with pytest.raises(AudioFileError, match="is a directory"):
        read_audio(tmp_path)


def test_empty_data_chunk(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError, match="contains no audio"):
        read_audio(write_wav(tmp_path / "empty.wav", b""))


def test_damaged_wav_is_named(tmp_path: Path) -> None:
    path = tmp_path / "cut.wav"
    path.write_bytes(write_wav(tmp_path / "whole.wav", b"\0" * 64).read_bytes()[:40])  # header cut short
    with pytest.raises(AudioFileError, match="damaged WAV"):
        read_audio(path)
