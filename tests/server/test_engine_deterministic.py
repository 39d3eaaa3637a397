"""The deterministic engine recovers every word exactly, whatever the chunking, rate or codec."""

from __future__ import annotations

import audioop
import math
import random
from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.errors import OptionsError
from actors.server.engines import get_engine
from actors.server.engines.base import Word
from actors.server.engines.deterministic import (
    DeterministicRecognizer,
    expected_words,
    interleave,
    silence,
    split_token,
    synthesize_words,
    transcribe,
    word_samples,
)

RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000)
WORDS = ["hello", "world", "don't", "42", "Zürich", "x" * 255, "a"]


@pytest.mark.parametrize("rate", RATES)
def test_every_word_and_timing_is_recovered_at_every_rate(rate: int) -> None:
    pcm = synthesize_words(WORDS, rate, leading_ms=250)
    assert transcribe(pcm, rate) == expected_words(WORDS, rate, leading_ms=250)


def test_timings_follow_sample_positions() -> None:
    words = transcribe(synthesize_words(["hello", "world"], 16000), 16000)
    assert words[0] == Word("hello", 0.0, word_samples("hello", 16000) / 16000, 1.0)
    assert words[1].start == pytest.approx(words[0].end + 0.1)


@settings(max_examples=40, deadline=None)
@given(
    words=st.lists(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789'", min_size=1, max_size=12), max_size=6
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_results_do_not_depend_on_chunking(words: list[str], seed: int) -> None:
    pcm = synthesize_words(words, 16000, leading_ms=30)
    rng = random.Random(seed)
    recognizer = DeterministicRecognizer(16000)
    offset = 0
    while offset < len(pcm):
        size = rng.choice((1, 2, 3, 7, 640, 4001))
        recognizer.feed(pcm[offset : offset + size])
        offset += size
    assert recognizer.commit() == expected_words(words, 16000, leading_ms=30)
    assert recognizer.audio_seconds == len(pcm) / 2 / 16000


def test_one_byte_at_a_time_equals_one_buffer() -> None:
    pcm = synthesize_words(["one", "two"], 8000)
    recognizer = DeterministicRecognizer(8000)
    for index in range(len(pcm)):
        recognizer.feed(pcm[index : index + 1])
    assert recognizer.commit() == transcribe(pcm, 8000)


@pytest.mark.parametrize("codec", ["ulaw", "alaw"])
def test_words_survive_mulaw_and_alaw_round_trips(codec: str) -> None:
    pcm = synthesize_words(WORDS, 8000)
    encode, decode = getattr(audioop, f"lin2{codec}"), getattr(audioop, f"{codec}2lin")
    assert transcribe(decode(encode(pcm, 2), 2), 8000) == expected_words(WORDS, 8000)


def test_voice_activity_state_is_exact() -> None:
    recognizer = DeterministicRecognizer(16000)
    recognizer.feed(silence(0.5))
    assert (recognizer.in_speech, recognizer.speech_started_at, recognizer.last_voice_end) == (
        False,
        None,
        None,
    )
    pcm = synthesize_words(["hello"], 16000)
    length = word_samples("hello", 16000)
    recognizer.feed(pcm[:100])
    assert recognizer.in_speech and recognizer.speech_started_at == 0.5
    assert recognizer.hypothesis() == []
    recognizer.feed(pcm[100:])
    assert not recognizer.in_speech
    assert recognizer.last_voice_end == 0.5 + length / 16000
    assert [w.text for w in recognizer.hypothesis()] == ["hello"]
    assert [w.text for w in recognizer.commit()] == ["hello"]
    assert recognizer.hypothesis() == [] and recognizer.commit() == []


def test_commit_mid_word_finalizes_it_once() -> None:
    pcm = synthesize_words(["tail"], 16000)
    recognizer = DeterministicRecognizer(16000)
    recognizer.feed(pcm[: len(pcm) // 3])
    assert recognizer.in_speech
    committed = recognizer.commit()
    assert [w.text for w in committed] == ["tail"]
    assert committed[0].end == recognizer.audio_seconds
    recognizer.feed(pcm[len(pcm) // 3 :])
    assert recognizer.commit() == []


def test_noise_and_speechlike_audio_produce_no_words_and_no_crash() -> None:
    rng = random.Random(7)
    noise = bytes(rng.randrange(256) for _ in range(64000))
    assert transcribe(noise, 16000) == []
    tone = array("h", (int(8000 * math.sin(i / 5) * math.sin(i / 900)) for i in range(32000))).tobytes()
    assert transcribe(tone, 16000) == []


def test_multichannel_helpers_interleave_channels() -> None:
    left = synthesize_words(["left"], 16000)
    right = synthesize_words(["right", "side"], 16000)
    stereo = interleave([left, right])
    assert len(stereo) == 2 * max(len(left), len(right))
    assert [w.text for w in transcribe(audioop.tomono(stereo, 2, 1, 0), 16000)] == ["left"]
    assert [w.text for w in transcribe(audioop.tomono(stereo, 2, 0, 1), 16000)] == ["right", "side"]
    same = synthesize_words(["both"], 16000, channels=2)
    assert audioop.tomono(same, 2, 1, 0) == audioop.tomono(same, 2, 0, 1)


def test_synthesizer_splits_text_and_concatenates_exactly() -> None:
    synthesizer = get_engine("deterministic").synthesizer()
    first = synthesizer.synthesize("Hello, world!", 24000)
    second = synthesizer.synthesize("  again ", 24000)
    assert first + second == synthesizer.synthesize("Hello, world! again", 24000)
    assert [w.text for w in transcribe(first + second, 24000)] == ["Hello,", "world!", "again"]
    assert synthesizer.synthesize("   ", 24000) == b""


def test_long_tokens_are_split_on_character_boundaries() -> None:
    pieces = split_token("é" * 200)
    assert "".join(pieces) == "é" * 200
    assert all(len(p.encode()) <= 255 for p in pieces)


def test_bad_input_raises_clear_errors() -> None:
    with pytest.raises(OptionsError, match="sample_rate"):
        DeterministicRecognizer(500)
    with pytest.raises(OptionsError, match="words"):
        synthesize_words("hello")
    with pytest.raises(OptionsError, match="words"):
        synthesize_words(["x" * 256])
    with pytest.raises(OptionsError, match="engine"):
        get_engine("nope")
    recognizer = DeterministicRecognizer(16000)
    recognizer.close()
    with pytest.raises(RuntimeError, match="after close"):
        recognizer.feed(b"\x00\x00")


def test_recognition_is_cheap() -> None:
    import time

    pcm = synthesize_words([f"word{i}" for i in range(200)], 16000)  # ~70 s of audio
    recognizer = DeterministicRecognizer(16000)
    started = time.process_time()
    for offset in range(0, len(pcm), 640):
        recognizer.feed(pcm[offset : offset + 640])
    elapsed = time.process_time() - started
    assert len(recognizer.commit()) == 200
    # 1,000 real-time streams must fit easily: well under 1 ms of CPU per second of audio.
    assert elapsed / (len(pcm) / 32000) < 0.001
