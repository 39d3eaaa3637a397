"""Print the word error rate of the real STT engine (pocketsphinx) on speech from the real TTS
engine (espeak-ng, voice en-us+klatt4), streamed in 40 ms chunks through one recognizer (one
stream; with --stream-per-sentence a new stream per sentence). Every stream starts from the
learned cepstral mean (actors.server.engines.cmninit), so the result is the same on every run.

Usage: .venv/bin/python scripts/wer.py [--rate 16000] [--chunk-ms 40] [--stream-per-sentence]
"""

from __future__ import annotations

import argparse
import re
import time

from actors.server.engines import get_engine

SENTENCES = (
    "My name is Stella and I live in a small town.",
    "The quick brown fox jumps over the lazy dog.",
    "Please book a table for two at seven o'clock.",
    "The weather today is sunny with a light breeze.",
    "Turn off the lights in the kitchen.",
    "Call me back at five five five one two three four.",
    "She sells sea shells by the sea shore.",
    "The meeting has been moved to Thursday afternoon.",
    "Artificial intelligence is changing the world.",
    "I need to ship a package to New York.",
)


def normalize(text: str) -> list[str]:
    """Lower-case, drop punctuation, read '-' as a space (as the engine study scored)."""
    return re.sub(r"[^a-z0-9' ]", " ", text.lower().replace("-", " ")).split()


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Word-level Levenshtein distance (substitutions + deletions + insertions)."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_word in enumerate(reference, 1):
        current = [i]
        for j, hyp_word in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word)))
        previous = current
    return previous[-1]


def main() -> None:
    """Synthesize, recognize and print per-sentence and total WER."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=16000, help="sample rate of the audio (Hz)")
    parser.add_argument("--chunk-ms", type=int, default=40, help="audio per feed() call (ms)")
    parser.add_argument(
        "--stream-per-sentence", action="store_true", help="a new recognizer (stream) for each sentence"
    )
    args = parser.parse_args()
    engine = get_engine("real")
    synthesizer = engine.synthesizer()
    recognizer = engine.recognizer(args.rate)
    chunk = args.rate * 2 * args.chunk_ms // 1000
    errors = words = 0
    audio_seconds = 0.0
    started = time.perf_counter()
    try:
        for sentence in SENTENCES:
            audio = bytes(int(0.3 * args.rate) * 2) + synthesizer.synthesize(sentence, args.rate)
            audio += bytes(int(0.8 * args.rate) * 2)
            for offset in range(0, len(audio), chunk):
                recognizer.feed(audio[offset : offset + chunk])
            audio_seconds += len(audio) / 2 / args.rate
            heard = " ".join(word.text for word in recognizer.commit())
            if args.stream_per_sentence:
                recognizer.close()
                recognizer = engine.recognizer(args.rate)
            reference, hypothesis = normalize(sentence), normalize(heard)
            distance = edit_distance(reference, hypothesis)
            errors += distance
            words += len(reference)
            print(f"{distance / len(reference):6.1%}  REF: {sentence}\n        HYP: {heard}")
    finally:
        recognizer.close()
        engine.close()
    elapsed = time.perf_counter() - started
    print(f"\nWER {errors / words:.1%} ({errors} errors / {words} words) on {audio_seconds:.1f} s of audio")
    print(f"wall time {elapsed:.1f} s (real-time factor {elapsed / audio_seconds:.2f})")


if __name__ == "__main__":
    main()
