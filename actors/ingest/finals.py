"""Deepgram finals -> store segments, and store segments -> AudioHook utterances.

* :func:`segment_from_results` turns a Listen V1 final ``Results`` into a
  :class:`~actors.ingest.store.models.Segment` on the call's timeline (channel = ``channel_index[0]``,
  which is the index into the call's channels because the interleaved bytes are forwarded unchanged).
* :func:`segment_from_turn` does the same for a Flux ``EndOfTurn`` of a one-channel stream.
* :class:`UtteranceAssembler` joins a channel's committed finals up to ``speech_final`` into one
  utterance (guidance: one final per utterance, one entity per ``event``).

Empty finals (Deepgram sends them in silence) are not segments.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from actors.ingest.audiohook import transcripts
from actors.ingest.store.models import Segment, Word
from actors.ingest.timeline import Timeline
from actors.protocol.listen_v1.messages import ListenV1Results
from actors.protocol.listen_v2.messages import ListenV2TurnInfo


def _rounded(value: float) -> float:
    return round(value, 3)


def segment_from_results(call_id: str, results: ListenV1Results, timeline: Timeline) -> Segment | None:
    """The store segment of a final ``Results`` (None for an interim or an empty final)."""
    if not results.is_final or not results.channel.alternatives:
        return None
    best = results.channel.alternatives[0]
    if not best.transcript.strip():
        return None
    words: list[Word] = []
    speaker: int | None = None
    for w in best.words:
        word: dict[str, object] = {
            "word": w.word,
            "start": _rounded(timeline.to_call(w.start)),
            "end": _rounded(timeline.to_call(w.end)),
            "confidence": w.confidence,
        }
        if w.punctuated_word is not None:
            word["punctuated_word"] = w.punctuated_word
        if w.speaker is not None:
            word["speaker"] = w.speaker
            speaker = w.speaker if speaker is None else speaker
        if w.language is not None:
            word["language"] = w.language
        words.append(word)
    start = timeline.to_call(results.start)
    channel = results.channel_index[0] if results.channel_index else 0
    return Segment(
        call_id=call_id,
        channel=channel,
        start=_rounded(start),
        end=_rounded(start + results.duration),
        transcript=best.transcript,
        words=words,
        speaker=speaker,
        confidence=best.confidence,
    )


def segment_from_turn(
    call_id: str, channel: int, turn: ListenV2TurnInfo, timeline: Timeline
) -> Segment | None:
    """The store segment of a Flux ``EndOfTurn`` on a one-channel stream (None for other events)."""
    if turn.event != "EndOfTurn" or not turn.transcript.strip():
        return None
    words: list[Word] = []
    for w in turn.words:
        word: dict[str, object] = {"word": w.word, "confidence": w.confidence}
        if w.start is not None:
            word["start"] = _rounded(timeline.to_call(w.start))
        if w.end is not None:
            word["end"] = _rounded(timeline.to_call(w.end))
        words.append(word)
    confidences = [w.confidence for w in turn.words]
    return Segment(
        call_id=call_id,
        channel=channel,
        start=_rounded(timeline.to_call(turn.audio_window_start)),
        end=_rounded(timeline.to_call(turn.audio_window_end)),
        transcript=turn.transcript,
        words=words,
        confidence=sum(confidences) / len(confidences) if confidences else turn.end_of_turn_confidence,
    )


def _float(value: object, default: float = 0.0) -> float:
    return float(value) if isinstance(value, int | float) else default


def _transcript_word(word: Word) -> transcripts.Word:
    punctuated = word.get("punctuated_word")
    return transcripts.Word(
        word=str(word.get("word", "")),
        punctuated=punctuated if isinstance(punctuated, str) else "",
        start=_float(word.get("start")),
        end=_float(word.get("end")),
        confidence=_float(word.get("confidence")),
    )


def _part_words(part: Segment) -> list[transcripts.Word]:
    """A segment's words for a transcript; a word without times (Flux may send none) gets an equal
    share of the segment's window, so token offsets stay ordered, distinct and inside the utterance."""
    words = [_transcript_word(w) for w in part.words]
    share = (part.end - part.start) / len(words) if words else 0.0
    return [
        word
        if "start" in raw and "end" in raw
        else attrs.evolve(
            word, start=_rounded(part.start + i * share), end=_rounded(part.start + (i + 1) * share)
        )
        for i, (word, raw) in enumerate(zip(words, part.words, strict=True))
    ]


def join(parts: Sequence[Segment]) -> transcripts.Segment:
    """One utterance from a channel's consecutive segments (times already on the call timeline)."""
    words = tuple(w for part in parts for w in _part_words(part))
    spans = [part.end - part.start for part in parts]
    total = sum(spans)
    confidences = [part.confidence or 0.0 for part in parts]
    confidence = (
        sum(c * s for c, s in zip(confidences, spans, strict=True)) / total
        if total > 0
        else sum(confidences) / len(confidences)
    )
    return transcripts.Segment(
        channel=parts[0].channel,
        start=min(part.start for part in parts),
        end=max(part.end for part in parts),
        transcript=" ".join(part.transcript for part in parts),
        words=words,
        confidence=confidence,
    )


@attrs.define
class UtteranceAssembler:
    """Collects committed segments per channel; an utterance is complete at ``speech_final``.

    :meth:`add` returns the utterances a segment completes; :meth:`flush` the rest (at pause,
    language change and close, where the stream was finalized). Not thread-safe: the segment
    writer thread is the only caller while a call runs.
    """

    _pending: dict[int, list[Segment]] = attrs.field(factory=dict)

    def add(self, segment: Segment, speech_final: bool) -> list[transcripts.Segment]:
        """Add a committed segment; return the utterance it completes, if any."""
        parts = self._pending.setdefault(segment.channel, [])
        parts.append(segment)
        if not speech_final:
            return []
        del self._pending[segment.channel]
        return [join(parts)]

    def flush(self) -> list[transcripts.Segment]:
        """Every pending utterance, ordered by start."""
        done = [join(parts) for parts in self._pending.values() if parts]
        self._pending.clear()
        return sorted(done, key=lambda u: (u.start, u.channel))


__all__ = ["UtteranceAssembler", "join", "segment_from_results", "segment_from_turn"]
