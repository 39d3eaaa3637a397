"""The real engine: pocketsphinx speech-to-text in worker processes, espeak-ng text-to-speech."""

from __future__ import annotations

import os

from actors.server.engines.espeak import EspeakSynthesizer
from actors.server.engines.sphinx import CALL_TIMEOUT_SECONDS, SphinxPool, SphinxRecognizer


class RealEngine:
    """Offline speech engines; worker processes start on the first recognizer and stop on close().

    ``workers`` pocketsphinx processes (default: 2, or 1 on a single core); a worker that does not
    answer a request within ``call_timeout`` seconds is killed, failing its streams, and replaced.
    """

    name = "real"

    def __init__(self, workers: int | None = None, call_timeout: float = CALL_TIMEOUT_SECONDS) -> None:
        self._pool = SphinxPool(workers or min(2, os.cpu_count() or 1), call_timeout)
        self._synthesizer = EspeakSynthesizer()

    @property
    def pool(self) -> SphinxPool:
        """The owned pocketsphinx worker pool (for inspection: worker names, liveness)."""
        return self._pool

    def recognizer(self, sample_rate: int) -> SphinxRecognizer:
        """Return a pocketsphinx-backed recognizer for one mono stream."""
        return self._pool.recognizer(sample_rate)

    def synthesizer(self) -> EspeakSynthesizer:
        """Return the (thread-safe) espeak-ng synthesizer."""
        return self._synthesizer

    def close(self) -> None:
        """Stop the pocketsphinx worker processes."""
        self._pool.close()
