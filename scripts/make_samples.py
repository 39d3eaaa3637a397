#!/usr/bin/env python3
"""Regenerate the sample calls in actors/samples/ with the project's own espeak-ng engine.

Each call is a stereo 16 kHz WAV: channel 0 is the agent, channel 1 the customer, speaking in
turns (voice ``en-us+klatt4``, which pocketsphinx recognises best, as measured), over a faint
white-noise bed at about 35 dB SNR (which, oddly, helps pocketsphinx on espeak speech). Next to
each WAV a ``.txt`` holds its script, one ``channel N: text`` line per turn. The noise is seeded,
so the output is the same on every run with the same espeak-ng build.

Usage: python scripts/make_samples.py [--out actors/samples]
"""

from __future__ import annotations

import argparse
import array
import math
import random
import sys
import wave
from collections.abc import Sequence
from pathlib import Path

SAMPLE_RATE = 16000
GAP_SECONDS = 0.35
LEAD_SECONDS = 0.3
TAIL_SECONDS = 0.8
SNR_DB = 35.0

#: call name -> turns of (channel, text); channel 0 is the agent, 1 the customer.
CALLS: dict[str, Sequence[tuple[int, str]]] = {
    "call-1-order": (
        (0, "Thank you for calling. How can I help you today?"),
        (1, "Hello. I want to check my order."),
        (0, "Sure. What is the order number?"),
        (1, "It is five five five one two."),
    ),
    "call-2-appointment": (
        (0, "Good morning. This is the clinic."),
        (1, "I would like an appointment on Thursday."),
        (0, "We have an opening at seven o'clock."),
        (1, "Thank you very much."),
    ),
    "call-3-shipping": (
        (0, "Hello. Shipping department."),
        (1, "I need to ship a package to New York."),
        (0, "It will arrive on Monday."),
        (1, "Great. Goodbye."),
    ),
}


def silence(seconds: float) -> bytes:
    """Mono linear16 silence."""
    return bytes(2 * round(seconds * SAMPLE_RATE))


def interleave(left: bytes, right: bytes) -> bytes:
    """Two mono linear16 buffers of equal length as one stereo buffer."""
    out = bytearray(2 * len(left))
    for channel, mono in ((0, left), (1, right)):
        out[2 * channel :: 4] = mono[0::2]
        out[2 * channel + 1 :: 4] = mono[1::2]
    return bytes(out)


def add_noise(pcm: bytes, snr_db: float, rng: random.Random) -> bytes:
    """Add white noise ``snr_db`` below the power of the speech (silence excluded) to linear16 PCM."""
    samples = array.array("h", pcm)
    voiced = [s for s in samples if s]
    power = sum(s * s for s in voiced) / max(1, len(voiced))
    sigma = math.sqrt(power / (10 ** (snr_db / 10)))
    for i, s in enumerate(samples):
        samples[i] = max(-32768, min(32767, s + round(rng.gauss(0.0, sigma))))
    return samples.tobytes()


def render_call(turns: Sequence[tuple[int, str]], synthesize: object, seed: int) -> bytes:
    """The stereo PCM of a call: each turn on its speaker's channel, silence on the other."""
    channels = [bytearray(silence(LEAD_SECONDS)), bytearray(silence(LEAD_SECONDS))]
    for channel, text in turns:
        speech = synthesize.synthesize(text, SAMPLE_RATE)  # type: ignore[attr-defined]
        channels[channel] += speech
        channels[1 - channel] += bytes(len(speech))
        for track in channels:
            track += silence(GAP_SECONDS)
    for track in channels:
        track += silence(TAIL_SECONDS)
    rng = random.Random(seed)
    left, right = (add_noise(bytes(track), SNR_DB, rng) for track in channels)
    return interleave(left, right)


def main(argv: Sequence[str] | None = None) -> int:
    """Write every call's WAV and script into ``--out``."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent.parent / "actors" / "samples"
    )
    args = parser.parse_args(argv)
    from actors.server.engines import get_engine

    engine = get_engine("real")
    try:
        synthesizer = engine.synthesizer()
        args.out.mkdir(parents=True, exist_ok=True)
        for seed, (name, turns) in enumerate(CALLS.items(), start=1):
            pcm = render_call(turns, synthesizer, seed)
            with wave.open(str(args.out / f"{name}.wav"), "wb") as out:
                out.setnchannels(2)
                out.setsampwidth(2)
                out.setframerate(SAMPLE_RATE)
                out.writeframes(pcm)
            script = "".join(f"channel {channel}: {text}\n" for channel, text in turns)
            (args.out / f"{name}.txt").write_text(script, encoding="utf-8")
            print(f"{name}.wav: {len(pcm) / (4 * SAMPLE_RATE):.1f} s", file=sys.stderr)
    finally:
        engine.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
