"""The contract between the local server's endpoints and its speech engines.

An :class:`Engine` makes one :class:`Recognizer` per audio channel of a connection and a
:class:`Synthesizer` for text-to-speech. Endpoints only ever talk to these protocols, so the
deterministic engine (tests, load) and the real one (pocketsphinx + espeak-ng) are interchangeable.
"""

from __future__ import annotations

from typing import Protocol

import attrs


@attrs.frozen
class Word:
    """One recognized word; ``start``/``end`` are absolute seconds of audio fed to the recognizer."""

    text: str
    start: float
    end: float
    confidence: float


class Recognizer(Protocol):
    """Incremental speech-to-text for one mono linear16 stream at a fixed sample rate.

    Words move from :meth:`hypothesis` (interim, may change) to :meth:`commit` (final, returned
    once). ``in_speech``/``speech_started_at``/``last_voice_end`` expose the voice activity state
    so endpoints can implement endpointing, ``SpeechStarted`` and ``UtteranceEnd``.
    """

    audio_seconds: float
    in_speech: bool
    speech_started_at: float | None
    last_voice_end: float | None

    def feed(self, pcm: bytes) -> None:
        """Consume little-endian 16-bit mono PCM; any chunk size, including odd byte counts."""

    def hypothesis(self) -> list[Word]:
        """Return the uncommitted words recognized so far (interim; may change)."""

    def commit(self) -> list[Word]:
        """Finalize and return the uncommitted words; :meth:`hypothesis` is empty right after."""

    def close(self) -> None:
        """Release the recognizer's resources; it must not be fed afterwards."""


class Synthesizer(Protocol):
    """Text-to-speech: text in, linear16 mono PCM out."""

    def synthesize(self, text: str, sample_rate: int) -> bytes:
        """Return the speech for ``text`` as little-endian 16-bit mono PCM at ``sample_rate``."""


class Engine(Protocol):
    """A speech engine chosen once per server start (``"deterministic"`` or ``"real"``).

    An engine may also set a class attribute ``nonblocking = True`` to promise that its recognizer
    and synthesizer calls never block; the server then runs endpoint hooks inline on its event loop
    (no thread per connection). Engines without it get a named thread per connection.
    """

    name: str

    def recognizer(self, sample_rate: int) -> Recognizer:
        """Return a new recognizer for one mono stream at ``sample_rate``."""

    def synthesizer(self) -> Synthesizer:
        """Return a synthesizer (may be shared; it must be safe to call from any thread)."""

    def close(self) -> None:
        """Release process-wide resources (worker processes); called when the server stops."""
