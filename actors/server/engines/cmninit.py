"""The fixed cepstral mean (``cmninit``) every pocketsphinx stream starts from, and how it was learned.

pocketsphinx normalizes cepstra by a running mean (CMN) that it updates as it decodes. A decoder
reused across streams therefore recognizes a stream differently depending on which streams it
decoded before (as measured), and a brand-new decoder starts from a poor default
(``40,3,-1``). So every stream starts from :data:`CMNINIT`: one value learned offline from the
project's own voice, which makes a stream's words and timings a function of its audio alone.

:data:`CMNINIT` is the output of :func:`learn_cmninit` (re-derive it with
``python -m actors.server.engines.cmninit``; ``tests/server/test_engine_cmninit.py`` checks the
shipped value still matches). The recipe: synthesize :data:`TRAINING_SENTENCES` (deliberately
not the sentences ``scripts/wer.py`` or the sample calls use) with the real TTS engine (espeak-ng,
voice ``en-us+klatt4``) at 16 kHz, add a faint seeded white-noise bed (35 dB SNR, as the sample
calls have), stream them as one stream through a fresh decoder gated by the same Endpointer logic
the worker uses, and read the decoder's cepstral mean at the end. Measured with this value:
scripts/wer.py 24.1% WER on one stream (27.6% from a fresh decoder), 19.5% with a stream per
sentence; the six channels of the sample calls 26.0% (a warm, history-dependent decoder gave
28.8%, a reset to the default or to a mean learned on clean audio 34-37%).
"""

from __future__ import annotations

import array
import random
from collections.abc import Sequence

#: 13 cepstral means, comma separated, as ``Decoder.set_cmn`` takes them (see module docstring).
CMNINIT = (
    "60.5413,6.3029,-5.56433,7.17089,-3.15732,-3.02499,-3.45467,-9.65832,"
    "-0.425783,-2.73406,-1.0549,0.065366,-3.3185"
)

TRAINING_SENTENCES = (
    "Hello, how are you doing today?",
    "We will meet at the station at noon.",
    "Could you send me the report by Friday?",
    "The children played in the garden all afternoon.",
    "Please call the office and leave a message.",
    "Yes, that works for me.",
    "I am sorry, could you repeat that number?",
    "Your package has been delivered.",
)
TRAINING_RATE = 16000
TRAINING_SNR_DB = 35.0
TRAINING_SEED = 11
_LEAD_SECONDS = 0.25
_TAIL_SECONDS = 0.5


def parse_cmn(text: str) -> list[float]:
    """The coefficients of a comma-separated cepstral mean (raises ``ValueError`` if malformed)."""
    values = [float(part) for part in text.split(",")]
    if not values:
        raise ValueError(f"empty cepstral mean {text!r}")
    return values


def add_noise_bed(pcm: bytes, snr_db: float, rng: random.Random) -> bytes:
    """Add white noise ``snr_db`` below the power of the non-silent samples of linear16 ``pcm``."""
    samples = array.array("h", pcm)
    voiced = [s for s in samples if s]
    power = sum(s * s for s in voiced) / max(1, len(voiced))
    sigma = (power / 10 ** (snr_db / 10)) ** 0.5
    for i, s in enumerate(samples):
        samples[i] = max(-32768, min(32767, s + round(rng.gauss(0.0, sigma))))
    return samples.tobytes()


def training_audio(sentences: Sequence[str] = TRAINING_SENTENCES) -> bytes:
    """The 16 kHz linear16 training stream: each sentence between short silences, over the noise bed."""
    from actors.server.engines.espeak import EspeakSynthesizer

    synthesizer = EspeakSynthesizer()
    rng = random.Random(TRAINING_SEED)
    lead, tail = bytes(2 * int(_LEAD_SECONDS * TRAINING_RATE)), bytes(2 * int(_TAIL_SECONDS * TRAINING_RATE))
    parts = [
        add_noise_bed(lead + synthesizer.synthesize(text, TRAINING_RATE) + tail, TRAINING_SNR_DB, rng)
        for text in sentences
    ]
    return b"".join(parts)


def learn_cmninit(sentences: Sequence[str] = TRAINING_SENTENCES) -> str:
    """Re-derive :data:`CMNINIT`: the cepstral mean a fresh decoder holds after the training stream.

    Only feature extraction runs (no search): the cepstral mean does not depend on the search, so
    this takes about a second. Needs pocketsphinx and espeakng-loader.
    """
    from pocketsphinx import Decoder

    from actors.server.engines.sphinx import DECODER_RATE, Stream

    decoder = Decoder(samprate=DECODER_RATE, loglevel="FATAL")
    stream = Stream(TRAINING_RATE, decoder, search=False)
    audio = training_audio(sentences)
    chunk = 2 * TRAINING_RATE * 40 // 1000
    for offset in range(0, len(audio), chunk):
        stream.feed(audio[offset : offset + chunk])
    stream.close()
    return str(decoder.get_cmn(False))


if __name__ == "__main__":
    print(learn_cmninit())
