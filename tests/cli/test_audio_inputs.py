"""Every input format `transcribe` reads, end to end through `python -m actors transcribe`, and its memory.

The recordings carry deterministic-engine words, so the transcripts are checked exactly. WAV
variants are written here with `struct`; FLAC, Ogg Vorbis, Ogg Opus and MP3 with `soundfile`.
The lossy codecs blur the engine's 1 ms symbols, so for them the expected words are what
libsndfile's own decode of the same file carries (checked non-empty): the CLI must hear exactly
those. The long-file test streams a 2-hour stereo WAV (230 MB) and checks the child's peak RSS.
"""

from __future__ import annotations

import array
import os
import struct
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from actors.cli.audiofile import read_audio
from actors.server import LocalServer
from actors.server.engines.deterministic import interleave, synthesize_words, transcribe
from tests.support.jsonl import words_by_channel

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

ROOT = Path(__file__).resolve().parents[2]
WORDS = ["thank", "you", "for", "calling", "how", "can", "i", "help"]
OTHER = ["my", "order", "number", "is", "five"]
_EXT_GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"


@pytest.fixture(autouse=True)
def _no_deepgram_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEEPGRAM_API_KEY", raising=False)


def wav_bytes(
    tag: int,
    bits: int,
    samples: bytes,
    *,
    rate: int = 16000,
    channels: int = 1,
    extensible: bool = False,
    data_size: int | None = None,
) -> bytes:
    """A WAV file: ``fmt `` (plain or WAVE_FORMAT_EXTENSIBLE wrapping ``tag``), a LIST chunk, ``data``."""
    align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", 0xFFFE if extensible else tag, channels, rate, rate * align, align, bits)
    if extensible:
        fmt += struct.pack("<HHI", 22, bits, 0) + struct.pack("<H", tag) + _EXT_GUID_TAIL
    info = b"INFOISFT" + struct.pack("<I", 6) + b"tests\0"
    size = len(samples) if data_size is None else data_size
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"LIST" + struct.pack("<I", len(info)) + info
    body += b"data" + struct.pack("<I", size) + samples
    return b"RIFF" + struct.pack("<I", len(body) if data_size is None else 0xFFFFFFFF) + body


def samples_of(pcm: bytes) -> array.array[int]:
    values = array.array("h", pcm)
    if sys.byteorder == "big":  # pragma: no cover
        values.byteswap()
    return values


def to_width(pcm: bytes, width: int) -> bytes:
    """Little-endian linear16 -> little-endian integer PCM of ``width`` bytes (8-bit unsigned)."""
    if width == 1:
        return bytes((v >> 8) + 128 for v in samples_of(pcm))
    return b"".join((v << (8 * (width - 2))).to_bytes(width, "little", signed=True) for v in samples_of(pcm))


def to_float(pcm: bytes, typecode: str) -> bytes:
    values = array.array(typecode, (v / 32768 for v in samples_of(pcm)))
    if sys.byteorder == "big":  # pragma: no cover
        values.byteswap()
    return values.tobytes()


#: name -> (format tag, bits, encoder from linear16, extensible)
WAV_VARIANTS: dict[str, tuple[int, int, Callable[[bytes], bytes], bool]] = {
    "pcm8": (1, 8, lambda p: to_width(p, 1), False),
    "pcm16": (1, 16, lambda p: p, False),
    "pcm24": (1, 24, lambda p: to_width(p, 3), False),
    "pcm32": (1, 32, lambda p: to_width(p, 4), False),
    "float32": (3, 32, lambda p: to_float(p, "f"), False),
    "float64": (3, 64, lambda p: to_float(p, "d"), False),
    "mulaw": (7, 8, lambda p: audioop.lin2ulaw(p, 2), False),
    "alaw": (6, 8, lambda p: audioop.lin2alaw(p, 2), False),
    "ext-pcm24": (1, 24, lambda p: to_width(p, 3), True),
    "ext-float32": (3, 32, lambda p: to_float(p, "f"), True),
    "ext-mulaw": (7, 8, lambda p: audioop.lin2ulaw(p, 2), True),
    "ext-alaw": (6, 8, lambda p: audioop.lin2alaw(p, 2), True),
}
#: name -> (soundfile format, subtype, extra write options); 48 kHz at the best quality.
CODECS: dict[str, tuple[str, str, dict[str, object]]] = {
    "flac": ("FLAC", "PCM_16", {}),
    "vorbis": ("OGG", "VORBIS", {"compression_level": 0.0}),
    "opus": ("OGG", "OPUS", {"compression_level": 0.0}),
    "mp3": ("MP3", "MPEG_LAYER_III", {"compression_level": 0.0, "bitrate_mode": "CONSTANT"}),
}


def run_transcribe(
    server: LocalServer, out: Path, *calls: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DEEPGRAM_API_KEY", None)
    argv = [sys.executable, "-m", "actors", "transcribe", *calls, "--url", server.url, "--out", str(out)]
    argv += ["--fast", "--progress", "plain"]
    return subprocess.run(argv, input=stdin, capture_output=True, env=env, cwd=ROOT, timeout=300, check=False)


def write_codec(path: Path, pcm: bytes, rate: int, codec: str) -> None:
    import numpy
    import soundfile

    fmt, subtype, options = CODECS[codec]
    soundfile.write(str(path), numpy.array(samples_of(pcm)), rate, format=fmt, subtype=subtype, **options)


def libsndfile_words(path: Path) -> list[str]:
    import soundfile

    with soundfile.SoundFile(str(path)) as audio:
        rate = audio.samplerate
        pcm = b"".join(block.tobytes() for block in audio.blocks(blocksize=4800, dtype="int16"))
    return [w.text for w in transcribe(pcm, rate)]


def test_every_format_is_transcribed_end_to_end(
    tmp_path: Path, make_server: Callable[..., LocalServer]
) -> None:
    server = make_server()
    speech = synthesize_words(WORDS, 16000, leading_ms=200)
    expected: dict[str, dict[int, list[str]]] = {}
    paths: list[str] = []
    for name, (tag, bits, encode, extensible) in WAV_VARIANTS.items():
        path = tmp_path / f"{name}.wav"
        path.write_bytes(wav_bytes(tag, bits, encode(speech), extensible=extensible))
        paths.append(str(path))
        expected[name] = {0: WORDS}
    stereo = interleave([speech, synthesize_words(OTHER, 16000, leading_ms=2500)])
    (tmp_path / "stereo-pcm24.wav").write_bytes(wav_bytes(1, 24, to_width(stereo, 3), channels=2, rate=16000))
    paths.append(str(tmp_path / "stereo-pcm24.wav"))
    expected["stereo-pcm24"] = {0: WORDS, 1: OTHER}
    speech48 = synthesize_words(WORDS, 48000, leading_ms=200)
    for codec in CODECS:
        path = tmp_path / f"{codec}.{'flac' if codec == 'flac' else 'mp3' if codec == 'mp3' else 'ogg'}"
        write_codec(path, speech48, 48000, codec)
        paths.append(str(path))
        reference = libsndfile_words(path)
        assert codec != "flac" or reference == WORDS
        assert reference and set(reference) <= set(WORDS), f"{codec}: the codec kept no words: {reference}"
        expected[codec] = {0: reference}

    started = time.monotonic()
    result = run_transcribe(server, tmp_path / "out", *paths)
    elapsed = time.monotonic() - started

    assert result.returncode == 0, result.stderr.decode()
    heard = {name: words_by_channel(tmp_path / "out" / f"{name}.jsonl") for name in expected}
    assert heard == expected
    assert elapsed < 60


def test_companded_wav_is_sent_as_it_is(tmp_path: Path) -> None:
    speech = synthesize_words(WORDS[:2], 8000)
    ulaw = audioop.lin2ulaw(speech, 2)
    path = tmp_path / "ulaw.wav"
    path.write_bytes(wav_bytes(7, 8, ulaw, rate=8000, extensible=True))
    audio = read_audio(path)
    assert (audio.encoding, audio.frame_bytes, audio.sample_rate) == ("mulaw", 1, 8000)
    assert b"".join(piece for piece, _ in audio.chunks(0.1)) == ulaw
    decoded = read_audio(path, linear16=True)  # what the agent, which takes linear16 only, reads
    assert decoded.encoding == "linear16"
    assert b"".join(piece for piece, _ in decoded.chunks(0.1)) == audioop.ulaw2lin(ulaw, 2)


def test_chunks_stream_from_disk(tmp_path: Path) -> None:
    """Only the header is read by read_audio: the samples are read again on every pass."""
    path = tmp_path / "call.wav"
    path.write_bytes(wav_bytes(1, 16, bytes(3200)))
    audio = read_audio(path)
    assert audio.duration == pytest.approx(0.1)
    with path.open("r+b") as f:
        f.seek(-2, os.SEEK_END)
        f.write(b"\x01\x02")
    assert b"".join(p for p, _ in audio.chunks(0.05))[-2:] == b"\x01\x02"


def test_truncated_wav_keeps_what_is_there(tmp_path: Path) -> None:
    path = tmp_path / "cut.wav"
    path.write_bytes(wav_bytes(1, 16, bytes(1000), data_size=4000)[:-1])  # last frame cut in half
    audio = read_audio(path)
    assert audio.duration == pytest.approx(998 / 2 / 16000)
    assert len(b"".join(p for p, _ in audio.chunks(0.01))) == 998


@pytest.mark.parametrize("data_size", [None, 0, 0xFFFFFFFF])  # with its length, and without
def test_piped_wav_on_stdin(
    tmp_path: Path, make_server: Callable[..., LocalServer], data_size: int | None
) -> None:
    server = make_server()
    speech = synthesize_words(WORDS, 16000, leading_ms=200)
    result = run_transcribe(
        server, tmp_path / "out", "-", stdin=wav_bytes(1, 16, speech, data_size=data_size)
    )
    assert result.returncode == 0, result.stderr.decode()
    (jsonl,) = (tmp_path / "out").glob("*.jsonl")
    assert words_by_channel(jsonl) == {0: WORDS}
    assert f"{len(speech) / 32000:.1f} s audio" in result.stdout.decode() + result.stderr.decode()


def test_non_wav_on_stdin_is_refused_naming_it(
    tmp_path: Path, make_server: Callable[..., LocalServer]
) -> None:
    server = make_server()
    result = run_transcribe(server, tmp_path / "out", "-", stdin=b"fLaC\0\0\0\x22" + bytes(64))
    assert result.returncode != 0
    assert "unsupported format on standard input: FLAC" in result.stderr.decode()


# -- bounded memory ---------------------------------------------------------------------------------

LONG_RATE = 8000
LONG_SECONDS = 2 * 3600
LONG_WORDS = {0: ["hello", "first"], 3600: ["middle", "of", "call"], LONG_SECONDS - 10: ["goodbye"]}


def write_long_call(path: Path) -> None:
    """A 2-hour stereo 8 kHz 16-bit WAV (230 MB), written a minute at a time: silence and a few words."""
    frame = 4
    total = LONG_SECONDS * LONG_RATE * frame
    minute = bytes(60 * LONG_RATE * frame)
    with path.open("wb") as f:
        f.write(wav_bytes(1, 16, b"", rate=LONG_RATE, channels=2, data_size=total))
        for start in range(0, LONG_SECONDS, 60):
            block = minute
            for at, words in LONG_WORDS.items():
                if start <= at < start + 60:
                    left = synthesize_words(words, LONG_RATE, leading_ms=1000 * (at - start))
                    right = bytes(len(left))
                    piece = interleave([left, right])
                    block = piece + minute[len(piece) :]
            f.write(block)


#: Runs ``python -m actors ARGS`` and, at exit, writes the process's own peak RSS (``VmHWM``) to the
#: file named by ``$HWM_FILE``. ``VmHWM`` belongs to the memory map made at exec, unlike wait4's
#: ``ru_maxrss``, which Linux carries over from the forking parent (the test runner's own size).
HWM_WRAPPER = """
import atexit, os, runpy, sys
def report():
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["HWM_FILE"], "w") as out:
        out.write(peak)
atexit.register(report)
sys.argv = ["actors", *sys.argv[1:]]
runpy.run_module("actors", run_name="__main__", alter_sys=True)
"""


def rss_of_child(args: Sequence[str], env: dict[str, str], hwm_file: Path) -> tuple[int, int]:
    """Run ``python -m actors ARGS``; return its exit status and its own peak RSS in bytes."""
    argv = [sys.executable, "-c", HWM_WRAPPER, *args]
    done = subprocess.run(
        argv,
        env={**env, "HWM_FILE": str(hwm_file)},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert hwm_file.exists(), done.stderr.decode()[-2000:]
    return done.returncode, int(hwm_file.read_text()) * 1024  # VmHWM is in kB


@pytest.mark.timeout(300)  # about 25 s on 2 busy cores
def test_two_hour_stereo_call_stays_under_100_mb(
    tmp_path: Path, make_server: Callable[..., LocalServer]
) -> None:
    server = make_server()
    path = tmp_path / "long.wav"
    write_long_call(path)
    assert path.stat().st_size > 230_000_000
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DEEPGRAM_API_KEY", None)
    out = tmp_path / "out"
    args = ["transcribe", str(path), "--url", server.url, "--out", str(out), "--fast", "--progress", "off"]
    status, peak = rss_of_child(args, env, tmp_path / "hwm")
    print(f"peak RSS of transcribe on a {path.stat().st_size / 1e6:.0f} MB WAV: {peak / 2**20:.1f} MiB")
    assert status == 0
    assert words_by_channel(out / "long.jsonl") == {0: [w for words in LONG_WORDS.values() for w in words]}
    assert peak < 100 * 2**20
