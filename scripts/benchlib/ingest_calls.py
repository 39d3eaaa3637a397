"""The ingestion benchmark's calls: distinct stereo PCMU conversations of deterministic-engine words.

Call ``i`` alternates turns between its two channels (external first for even ``i``, internal first
for odd), each turn a few words that no other call uses (``c<i>w<k>``), with a pause between turns
and silence at the end, so the deterministic engine recovers every word with exact times. The words
are what the store must hold after the run: :attr:`BenchCall.words`.
"""

from __future__ import annotations

import warnings

import attrs

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

SAMPLE_RATE = 8000
CHANNELS = 2
#: AudioHook's frame: 200 ms of 8 kHz PCMU per channel (the AudioHook protocol).
FRAME_SECONDS = 0.2
FRAME_BYTES = int(SAMPLE_RATE * FRAME_SECONDS) * CHANNELS
PAUSE_MS = 400  # between turns
TAIL_SECONDS = 1.0  # silence after the last word, so its final comes before the call closes
#: Benchmark credentials (loopback only, not a secret): an AudioHook API key and its base64 client secret.
API_KEY = "bench-audiohook-key"
SECRET = "YmVuY2gtb25seS1zZWNyZXQtbm90LWZvci11c2UtMDE="


@attrs.frozen
class BenchWord:
    """A word the store must hold: channel index, text, start and end on the call timeline (ms precision)."""

    channel: int
    word: str
    start: float
    end: float


@attrs.frozen
class BenchCall:
    """One call's interleaved stereo PCMU audio (a whole number of 200 ms frames) and its words."""

    audio: bytes = attrs.field(repr=False)
    words: tuple[BenchWord, ...]

    @property
    def seconds(self) -> float:
        """The call's length in seconds."""
        return len(self.audio) / (SAMPLE_RATE * CHANNELS)

    def frames(self) -> list[bytes]:
        """The audio as AudioHook's 200 ms binary frames."""
        return [self.audio[i : i + FRAME_BYTES] for i in range(0, len(self.audio), FRAME_BYTES)]


def build_call(index: int, seconds: float) -> BenchCall:
    """Call ``index``: ``seconds`` (rounded down to whole frames, at least one) of conversation."""
    from actors.server.engines.deterministic import expected_words, synthesize_words, word_samples

    if seconds < FRAME_SECONDS:
        raise ValueError(f"a call needs at least {FRAME_SECONDS} s of audio, got {seconds!r}")
    frames = int(round(seconds / FRAME_SECONDS, 6))
    total = frames * int(SAMPLE_RATE * FRAME_SECONDS)  # samples per channel
    speech_end = total - int(TAIL_SECONDS * SAMPLE_RATE)
    gap = 100 * SAMPLE_RATE // 1000  # the synthesizer's default gap after each word
    tracks = [bytearray(), bytearray()]
    cursor = 0  # samples
    words: list[BenchWord] = []
    turn, k = 0, 0
    while True:
        channel = (index + turn) % CHANNELS
        count = 2 + (index * 7 + turn * 3) % 4  # 2..5 words a turn
        texts = [f"c{index}w{k + j}" for j in range(count)]
        start = cursor + PAUSE_MS * SAMPLE_RATE // 1000
        length = sum(word_samples(t, SAMPLE_RATE) + gap for t in texts)
        if start + length > speech_end:
            break
        track = tracks[channel]
        track.extend(bytes(2 * (start - len(track) // 2)))
        track.extend(synthesize_words(texts, SAMPLE_RATE))
        for w in expected_words(texts, SAMPLE_RATE, offset_seconds=start / SAMPLE_RATE):
            words.append(BenchWord(channel, w.text, round(w.start, 3), round(w.end, 3)))
        cursor = len(track) // 2
        turn, k = turn + 1, k + count
    for track in tracks:
        track.extend(bytes(2 * (total - len(track) // 2)))
    interleaved = bytearray(2 * total * CHANNELS)
    out = memoryview(interleaved).cast("h")
    for channel, track in enumerate(tracks):
        out[channel::CHANNELS] = memoryview(track).cast("h")
    return BenchCall(audioop.lin2ulaw(bytes(interleaved), 2), tuple(words))
