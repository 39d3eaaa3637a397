"""A deterministic speech engine: every word is exactly recoverable from the audio that carries it.

Audio format (linear16 mono at any sample rate of at least 1 kHz):

* **Silence** is any sample with ``|value| < 256`` (the synthesizer writes exact zeros; a-law and
  mu-law round trips of silence stay below that bound).
* **A word** is one unbroken run of loud samples. It starts with a frame of 1 ms *symbols* (each
  symbol holds one constant value for ``sample_rate // 1000`` samples): a two-nibble sync pattern,
  the UTF-8 length, the UTF-8 bytes and a CRC-8-like check byte, one nibble per symbol. Nibble
  ``n`` is written as ``±(2048 + 1792 * n)`` with alternating signs; the rest of the word is
  padding at ``±30720``. The wide spacing survives mu-law/a-law quantization.
* Word timing comes from sample positions: a word starts at its first loud sample and ends at the
  first quiet sample after it, so timings are exact and independent of how the audio is chunked.

The recognizer classifies samples with C-level bytes operations (slice the high bytes, translate,
``find``), never a Python loop per sample, so a thousand real-time streams cost little. Audio that
is not in this format (speech, noise) yields runs that fail the sync/length/check tests and
produce no words.
"""

from __future__ import annotations

import sys
import zlib
from array import array
from collections.abc import Sequence

import attrs

from actors.errors import OptionsError
from actors.server.engines.base import Word

SYMBOL_MS = 1
NIBBLE_BASE = 2048
NIBBLE_STEP = 1792
PAD_LEVEL = 30720
SYNC = (0xA, 0x5)
MAX_WORD_BYTES = 255
#: A word lasts WORD_BASE_MS + WORD_MS_PER_CHAR * characters; the gap after it DEFAULT_GAP_MS.
WORD_BASE_MS = 100
WORD_MS_PER_CHAR = 25
DEFAULT_GAP_MS = 100
MIN_SAMPLE_RATE = 1000
MAX_SAMPLE_RATE = 192000

# High byte of a little-endian sample -> 1 if the sample is loud (|v| >= 256), else 0.
_LOUD_TABLE = bytes(0 if b in (0x00, 0xFF) else 1 for b in range(256))
_NATIVE_LITTLE = sys.byteorder == "little"


def _check_rate(sample_rate: int) -> None:
    if not isinstance(sample_rate, int) or not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise OptionsError(
            "sample_rate",
            f"must be an integer between {MIN_SAMPLE_RATE} and {MAX_SAMPLE_RATE} Hz",
            sample_rate,
        )


def symbol_samples(sample_rate: int) -> int:
    """Return how many samples one 1 ms symbol lasts at ``sample_rate``."""
    return max(1, sample_rate * SYMBOL_MS // 1000)


def _check_byte(payload: bytes) -> int:
    return zlib.crc32(payload) & 0xFF


def _nibbles(payload: bytes) -> list[int]:
    framed = bytes([len(payload)]) + payload + bytes([_check_byte(payload)])
    out = list(SYNC)
    for byte in framed:
        out.append(byte >> 4)
        out.append(byte & 0xF)
    return out


def split_token(token: str) -> list[str]:
    """Split ``token`` into pieces of at most 255 UTF-8 bytes, on character boundaries."""
    pieces: list[str] = []
    current = ""
    size = 0
    for char in token:
        width = len(char.encode("utf-8"))
        if size + width > MAX_WORD_BYTES:
            pieces.append(current)
            current, size = "", 0
        current += char
        size += width
    if current:
        pieces.append(current)
    return pieces


def word_samples(word: str, sample_rate: int) -> int:
    """Return the number of samples ``word`` occupies at ``sample_rate`` (gap not included)."""
    payload = word.encode("utf-8")
    frame = (len(SYNC) + 2 * (len(payload) + 2)) * symbol_samples(sample_rate)
    natural = (WORD_BASE_MS + WORD_MS_PER_CHAR * len(word)) * sample_rate // 1000
    return max(frame + symbol_samples(sample_rate), natural)


def _word_pcm(word: str, sample_rate: int) -> bytes:
    payload = word.encode("utf-8")
    if not payload or len(payload) > MAX_WORD_BYTES:
        raise OptionsError("words", f"each word must be 1..{MAX_WORD_BYTES} UTF-8 bytes", word)
    length = symbol_samples(sample_rate)
    samples = array("h")
    sign = 1
    for nibble in _nibbles(payload):
        samples.extend(array("h", [sign * (NIBBLE_BASE + NIBBLE_STEP * nibble)]) * length)
        sign = -sign
    total = word_samples(word, sample_rate)
    pad = total - len(samples)
    samples.extend(array("h", [sign * PAD_LEVEL, -sign * PAD_LEVEL]) * (pad // 2))
    if pad % 2:
        samples.append(sign * PAD_LEVEL)
    if not _NATIVE_LITTLE:
        samples.byteswap()
    return samples.tobytes()


def silence(seconds: float, sample_rate: int = 16000, channels: int = 1) -> bytes:
    """Return ``seconds`` of exact-zero linear16 audio (rounded down to whole samples)."""
    _check_rate(sample_rate)
    return bytes(2 * channels * int(seconds * sample_rate))


def interleave(channel_pcms: Sequence[bytes]) -> bytes:
    """Interleave mono linear16 buffers into one multichannel buffer (shorter ones zero-padded)."""
    channels = len(channel_pcms)
    if channels == 0:
        raise OptionsError("channel_pcms", "needs at least one channel")
    if channels == 1:
        return bytes(channel_pcms[0])
    frames = max(len(pcm) // 2 for pcm in channel_pcms)
    out = array("h", bytes(2 * frames * channels))
    for index, pcm in enumerate(channel_pcms):
        mono = array("h", pcm[: len(pcm) - len(pcm) % 2])
        mono.extend(array("h", bytes(2 * (frames - len(mono)))))
        out[index::channels] = mono
    return out.tobytes()


def synthesize_words(
    words: Sequence[str],
    sample_rate: int = 16000,
    channels: int = 1,
    *,
    gap_ms: int = DEFAULT_GAP_MS,
    leading_ms: int = 0,
) -> bytes:
    """Return linear16 audio carrying ``words`` exactly: ``leading_ms`` of silence, then each word
    followed by ``gap_ms`` of silence. With ``channels > 1`` every channel carries the same words
    (use :func:`interleave` for different words per channel).

    Concatenating two results equals synthesizing the concatenated word lists (with
    ``leading_ms=0``), so streamed TTS and one-shot TTS produce the same audio.
    """
    _check_rate(sample_rate)
    if isinstance(words, str):
        raise OptionsError("words", "must be a sequence of words, not one string", words)
    if gap_ms < 1:
        raise OptionsError("gap_ms", "must be at least 1 ms, or words would merge", gap_ms)
    gap = bytes(2 * (gap_ms * sample_rate // 1000))
    parts = [bytes(2 * (leading_ms * sample_rate // 1000))]
    for word in words:
        parts.append(_word_pcm(word, sample_rate))
        parts.append(gap)
    mono = b"".join(parts)
    return interleave([mono] * channels) if channels > 1 else mono


def expected_words(
    words: Sequence[str],
    sample_rate: int = 16000,
    *,
    gap_ms: int = DEFAULT_GAP_MS,
    leading_ms: int = 0,
    offset_seconds: float = 0.0,
) -> list[Word]:
    """Return the words (with exact timings) a recognizer yields for :func:`synthesize_words` output
    with the same arguments, as if that audio started ``offset_seconds`` into the stream."""
    _check_rate(sample_rate)
    offset = round(offset_seconds * sample_rate)
    position = offset + leading_ms * sample_rate // 1000
    gap = gap_ms * sample_rate // 1000
    out = []
    for word in words:
        end = position + word_samples(word, sample_rate)
        out.append(Word(word, position / sample_rate, end / sample_rate, 1.0))
        position = end + gap
    return out


def transcribe(pcm: bytes, sample_rate: int = 16000) -> list[Word]:
    """Return every word in a whole mono linear16 buffer (a convenience for tests)."""
    recognizer = DeterministicRecognizer(sample_rate)
    recognizer.feed(pcm)
    return recognizer.commit()


def decode_run(run: bytes, sample_rate: int) -> str | None:
    """Decode the start of one loud run into its word; None if it is not a valid word frame."""
    length = symbol_samples(sample_rate)
    samples = array("h", run[: len(run) - len(run) % 2])
    if not _NATIVE_LITTLE:
        samples.byteswap()
    centres = samples[length // 2 :: length]
    nibbles = []
    for value in centres[: len(SYNC) + 2]:
        nibble = _nibble(value)
        if nibble is None:
            return None
        nibbles.append(nibble)
    if len(nibbles) < len(SYNC) + 2 or tuple(nibbles[: len(SYNC)]) != SYNC:
        return None
    size = nibbles[2] << 4 | nibbles[3]
    needed = len(SYNC) + 2 * (size + 2)
    if size == 0 or len(centres) < needed:
        return None
    body = bytearray()
    for index in range(len(SYNC) + 2, needed, 2):
        high, low = _nibble(centres[index]), _nibble(centres[index + 1])
        if high is None or low is None:
            return None
        body.append(high << 4 | low)
    payload, check = bytes(body[:-1]), body[-1]
    if _check_byte(payload) != check:
        return None
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _nibble(value: int) -> int | None:
    nibble = (abs(value) - NIBBLE_BASE + NIBBLE_STEP // 2) // NIBBLE_STEP
    return nibble if 0 <= nibble <= 15 else None


def _max_run_bytes(sample_rate: int) -> int:
    return 2 * (len(SYNC) + 2 * (MAX_WORD_BYTES + 2) + 1) * symbol_samples(sample_rate)


@attrs.define
class DeterministicRecognizer:
    """Recognizer for the deterministic audio format (see the module docstring).

    Voice activity is exact: ``in_speech`` is True inside a word, ``speech_started_at`` is the
    start of the current (or latest) word, ``last_voice_end`` the end of the latest finished one.
    A word appears in :meth:`hypothesis` as soon as its run of samples ends; :meth:`commit` also
    finalizes a word still being received if its frame is complete (ending at the audio so far),
    so nothing is lost when a stream ends mid-word.
    """

    sample_rate: int
    audio_seconds: float = 0.0
    in_speech: bool = False
    speech_started_at: float | None = None
    last_voice_end: float | None = None
    _position: int = 0
    _odd_byte: bytes = b""
    _run: bytearray = attrs.Factory(bytearray)
    _run_start: int = 0
    _run_emitted: bool = False
    _pending: list[Word] = attrs.Factory(list)
    _max_run: int = 0
    _closed: bool = False

    def __attrs_post_init__(self) -> None:
        _check_rate(self.sample_rate)
        self._max_run = _max_run_bytes(self.sample_rate)

    def feed(self, pcm: bytes) -> None:
        """Consume linear16 mono PCM of any length; results do not depend on chunking."""
        if self._closed:
            raise RuntimeError("DeterministicRecognizer.feed called after close()")
        data = pcm if type(pcm) is bytes else bytes(pcm)
        if self._odd_byte:
            data = self._odd_byte + data
        if len(data) % 2:
            self._odd_byte = data[-1:]
            data = data[:-1]
        else:
            self._odd_byte = b""
        if not data:
            return
        loud = data[1::2].translate(_LOUD_TABLE)
        index, count = 0, len(loud)
        while index < count:
            if self.in_speech:
                end = loud.find(b"\x00", index)
                stop = count if end == -1 else end
                self._append_run(data, index, stop)
                if end == -1:
                    break
                self._end_run(self._position + end)
                index = end
            else:
                start = loud.find(b"\x01", index)
                if start == -1:
                    break
                self.in_speech = True
                self._run_start = self._position + start
                self._run_emitted = False
                self._run.clear()
                self.speech_started_at = self._run_start / self.sample_rate
                index = start
        self._position += count
        self.audio_seconds = self._position / self.sample_rate

    def _append_run(self, data: bytes, start: int, stop: int) -> None:
        room = self._max_run - len(self._run)
        if room > 0:
            self._run += data[2 * start : min(2 * stop, 2 * start + room)]

    def _end_run(self, end_sample: int) -> None:
        self.in_speech = False
        self.last_voice_end = end_sample / self.sample_rate
        if not self._run_emitted:
            text = decode_run(bytes(self._run), self.sample_rate)
            if text is not None:
                self._pending.append(Word(text, self._run_start / self.sample_rate, self.last_voice_end, 1.0))
        self._run.clear()

    def hypothesis(self) -> list[Word]:
        """Return the finished words not yet committed."""
        return list(self._pending)

    def commit(self) -> list[Word]:
        """Return and forget the uncommitted words, plus a word still in progress if decodable."""
        words, self._pending = self._pending, []
        if self.in_speech and not self._run_emitted:
            text = decode_run(bytes(self._run), self.sample_rate)
            if text is not None:
                self._run_emitted = True
                words.append(Word(text, self._run_start / self.sample_rate, self.audio_seconds, 1.0))
        return words

    def close(self) -> None:
        """Drop buffered state; later :meth:`feed` calls raise."""
        self._closed = True
        self._pending = []
        self._run.clear()


class DeterministicSynthesizer:
    """Text to deterministic audio: whitespace-separated tokens become words, verbatim.

    Tokens longer than 255 UTF-8 bytes are split into several words. The output of two calls
    concatenates exactly like one call on the joined text.
    """

    def synthesize(self, text: str, sample_rate: int) -> bytes:
        """Return linear16 mono audio for ``text`` (empty bytes for blank text)."""
        words = [piece for token in text.split() for piece in split_token(token)]
        return synthesize_words(words, sample_rate)


class DeterministicEngine:
    """The cheap, exact engine used by tests and load runs."""

    name = "deterministic"
    #: No call ever blocks (pure CPU, microseconds), so the server runs its endpoints inline on the loop.
    nonblocking = True

    def __init__(self) -> None:
        self._synthesizer = DeterministicSynthesizer()

    def recognizer(self, sample_rate: int) -> DeterministicRecognizer:
        """Return a new :class:`DeterministicRecognizer` at ``sample_rate``."""
        return DeterministicRecognizer(sample_rate)

    def synthesizer(self) -> DeterministicSynthesizer:
        """Return the (stateless, thread-safe) deterministic synthesizer."""
        return self._synthesizer

    def close(self) -> None:
        """Nothing to release."""
