"""Listen V1's replay rules: finals are ``Results`` with ``is_final``; times are stream offsets."""

from __future__ import annotations

from actors.protocol.listen_v1.messages import (
    ListenV1Metadata,
    ListenV1Results,
    ListenV1ResultsChannelAlternativesItemWordsItem,
    ListenV1SpeechStarted,
    ListenV1UtteranceEnd,
)
from actors.protocol.listen_v1.options import ListenV1Options
from actors.protocol.replay_rules import DeclaredAudio, FinalSpan, ReplayRules, replaced, shift_time

__all__ = ["LISTEN_V1_REPLAY", "ListenV1ReplayRules"]

_Word = ListenV1ResultsChannelAlternativesItemWordsItem


def _shift_words(words: list[_Word], offset: float) -> list[_Word]:
    return [replaced(w, start=shift_time(w.start, offset), end=shift_time(w.end, offset)) for w in words]


class ListenV1ReplayRules(ReplayRules):
    """Finals: ``Results.is_final`` (one per channel and segment; ``channel_index`` is
    ``[channel, channels]``). Times: ``Results.start`` and its words, ``UtteranceEnd.last_word_end``,
    ``SpeechStarted.timestamp``. The closing ``Metadata`` summary belongs to the finishing connection.
    Listen V1 sends empty finals during silence, so it needs no other silence evidence.
    """

    def declared_audio(self, options: object) -> DeclaredAudio | None:
        """``encoding`` / ``sample_rate`` / ``channels`` of :class:`ListenV1Options`."""
        if not isinstance(options, ListenV1Options):
            return None
        encoding = options.encoding
        return DeclaredAudio(
            None if encoding is None else str(encoding), options.sample_rate, options.channels or 1
        )

    def final_span(self, msg: object) -> FinalSpan | None:
        """The channel and seconds a final ``Results`` covers."""
        if not isinstance(msg, ListenV1Results) or not msg.is_final:
            return None
        index = msg.channel_index or [0]
        channels = max(1, int(index[1])) if len(index) > 1 else 1
        return FinalSpan(int(index[0]), channels, float(msg.start), float(msg.start) + float(msg.duration))

    def rebase(self, msg: object, seconds: float, turns: int) -> object:
        """Results (start and words), UtteranceEnd and SpeechStarted moved by ``seconds``."""
        if seconds == 0:
            return msg
        if isinstance(msg, ListenV1Results):
            alternatives = [
                replaced(alt, words=_shift_words(alt.words, seconds)) if alt.words else alt
                for alt in msg.channel.alternatives
            ]
            return replaced(
                msg,
                start=shift_time(msg.start, seconds),
                channel=replaced(msg.channel, alternatives=alternatives),
            )
        if isinstance(msg, ListenV1UtteranceEnd):
            return replaced(msg, last_word_end=shift_time(msg.last_word_end, seconds))
        if isinstance(msg, ListenV1SpeechStarted):
            return replaced(msg, timestamp=shift_time(msg.timestamp, seconds))
        return msg

    def without_words_before(self, msg: object, seconds: float, tolerance: float) -> object:
        """The first alternative's words from ``seconds`` on (its transcript rebuilt from them)."""
        if not isinstance(msg, ListenV1Results) or not msg.channel.alternatives:
            return msg
        alternatives = list(msg.channel.alternatives)
        words = alternatives[0].words or []
        kept = [w for w in words if w.start >= seconds - tolerance]
        if len(kept) == len(words):
            return msg
        transcript = " ".join(w.punctuated_word or w.word for w in kept)
        alternatives[0] = replaced(alternatives[0], words=kept, transcript=transcript)
        return replaced(msg, channel=replaced(msg.channel, alternatives=alternatives))

    def is_summary(self, msg: object) -> bool:
        """``Metadata``: sent once at the end of a session."""
        return isinstance(msg, ListenV1Metadata)

    def transcript(self, final: object) -> str:
        """Channel 0's first alternative ("" for other channels)."""
        if not isinstance(final, ListenV1Results):
            return ""
        index = final.channel_index or [0]
        if index[0] != 0 or not final.channel.alternatives:
            return ""
        return str(final.channel.alternatives[0].transcript or "")


#: The rules ``LISTEN_V1.replay`` declares.
LISTEN_V1_REPLAY = ListenV1ReplayRules()
