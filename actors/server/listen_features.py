"""Listen V1 features that change the shape of ``Results``, computed with deterministic rules.

:class:`ResultFeatures` turns the recognizer's words of one ``Results`` into the wire words,
transcript, ``channel.search`` and ``entities``. The listen endpoint only builds one when at
least one feature is on, so a plain stream pays nothing for it.

* ``punctuate`` / ``smart_format``: ``punctuated_word`` on every word and a transcript built from
  them (rules in :mod:`actors.server.formatting`); without them words and transcript are lower case.
* ``numerals`` (also implied by ``smart_format``, toggled by ``Configure``): number words become
  digits (``one two three`` -> one word ``123``) in ``word``, ``punctuated_word`` and transcript.
* ``diarize`` (or ``diarize_model``): every word gets ``speaker``. Rule: each channel starts with
  speaker 0 and switches between 0 and 1 whenever the pause between two consecutive words is at
  least :data:`SPEAKER_TURN_PAUSE` (1 s), as in a two-party call.
* ``search=term`` (repeatable): ``channel.search`` has one ``{query, hits}`` per term; a hit is a
  run of consecutive words whose ``word`` forms equal the term's words (case and punctuation
  ignored), with the run's timing, lowest confidence and its words as ``snippet``.
* ``detect_entities``: final results carry ``entities`` (possibly empty); every number (a run of
  number words or a digit string) is a ``CARDINAL`` with ``value`` in digits, ``raw_value`` as
  spoken and ``start_word``/``end_word`` (exclusive) indexing the result's words.

Sentence and speaker state move forward only on final results; interim results are rendered
with the state as it is, so an interim and the final covering the same words agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from actors.server.engines.base import Word
from actors.server.formatting import (
    FormattedWord,
    NumberRun,
    apply_numerals,
    number_runs,
    plain_word,
    punctuate,
)

#: A pause between two words at least this long (seconds) switches the diarized speaker.
SPEAKER_TURN_PAUSE = 1.0
ENTITY_LABEL = "CARDINAL"


@attrs.define
class _ChannelState:
    """What carries over from one final result to the next on a channel."""

    sentence_start: bool = True
    speaker: int = 0
    last_word_end: float | None = None


@attrs.frozen
class RenderedResult:
    """The feature-dependent parts of one ``Results``: words, transcript, search, entities."""

    words: list[dict[str, Any]]
    transcript: str
    search: list[dict[str, Any]] | None = None
    entities: list[dict[str, Any]] | None = None


@attrs.define
class ResultFeatures:
    """Renders Results words for the features a stream asked for (see the module docstring).

    ``numerals`` may be changed mid-stream (``Configure``); the other switches are fixed.
    """

    punctuate: bool = False
    numerals: bool = False
    diarize: bool = False
    search: tuple[str, ...] = ()
    detect_entities: bool = False
    _channels: dict[int, _ChannelState] = attrs.field(factory=dict, init=False)

    def render(
        self, channel: int, words: Sequence[Word], is_final: bool, speech_final: bool
    ) -> RenderedResult:
        """The wire words, transcript, search and entities of one Results on ``channel``.

        Only final results advance the channel's sentence and speaker state.
        """
        state = self._channels.setdefault(channel, _ChannelState())
        out = [
            FormattedWord(
                word=plain, text=w.text, start=w.start, end=w.end, confidence=w.confidence, raw=plain
            )
            for w in words
            for plain in (plain_word(w.text),)
        ]
        wants_entities = is_final and self.detect_entities
        runs = number_runs([w.word for w in out]) if (self.numerals or wants_entities) else []
        if self.numerals and runs:
            out = apply_numerals(out, runs)
            runs = number_runs([w.word for w in out]) if wants_entities else []
        entities = _entities(out, runs) if wants_entities else None
        punctuated: list[str] | None = None
        if self.punctuate:
            punctuated, sentence_start = punctuate([w.text for w in out], state.sentence_start, speech_final)
            if is_final:
                state.sentence_start = sentence_start
        if self.diarize:
            self._assign_speakers(state, out, commit=is_final)
        wire: list[dict[str, Any]] = []
        for index, word in enumerate(out):
            item: dict[str, Any] = {
                "word": word.word,
                "start": round(word.start, 3),
                "end": round(word.end, 3),
                "confidence": word.confidence,
            }
            if punctuated is not None:
                item["punctuated_word"] = punctuated[index]
            if word.speaker is not None:
                item["speaker"] = word.speaker
            wire.append(item)
        transcript = " ".join(punctuated if punctuated is not None else [w.word for w in out])
        search = [_search(query, out) for query in self.search] if self.search else None
        return RenderedResult(wire, transcript, search, entities)

    @staticmethod
    def _assign_speakers(state: _ChannelState, words: list[FormattedWord], commit: bool) -> None:
        speaker, last_end = state.speaker, state.last_word_end
        for word in words:
            if last_end is not None and word.start - last_end >= SPEAKER_TURN_PAUSE:
                speaker ^= 1
            word.speaker = speaker
            last_end = word.end
        if commit:
            state.speaker, state.last_word_end = speaker, last_end


def _entities(words: list[FormattedWord], runs: Sequence[NumberRun]) -> list[dict[str, Any]]:
    """One CARDINAL entity per number run, ``raw_value`` being the words as spoken."""
    found = []
    for run in runs:
        group = words[run.start_word : run.end_word]
        found.append(
            {
                "label": ENTITY_LABEL,
                "value": run.digits,
                "raw_value": " ".join(w.raw for w in group),
                "confidence": min(w.confidence for w in group),
                "start_word": run.start_word,
                "end_word": run.end_word,
            }
        )
    return found


def _search(query: str, words: list[FormattedWord]) -> dict[str, Any]:
    """Hits of ``query`` (consecutive words, compared in their plain forms) among ``words``."""
    terms = [plain_word(part) for part in query.split()]
    hits = []
    if terms:
        size = len(terms)
        for start in range(len(words) - size + 1):
            group = words[start : start + size]
            if [w.word for w in group] == terms:
                hits.append(
                    {
                        "confidence": min(w.confidence for w in group),
                        "start": round(group[0].start, 3),
                        "end": round(group[-1].end, 3),
                        "snippet": " ".join(w.word for w in group),
                    }
                )
    return {"query": query, "hits": hits}
