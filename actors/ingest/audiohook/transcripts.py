"""Transcription Connector ``event`` entities from final segments (the AudioHook protocol).

:class:`Segment` is the small value this module needs from a Deepgram final result (the store part
has its own row type; the service converts). :func:`transcript_entity` maps one segment onto the
AudioHook transcript entity: ``channelId`` = the channel index (Deepgram's ``channel_index[0]``, equal to
the index in the negotiated ``channels`` because the bytes are forwarded unchanged), ``offset`` =
``base + start`` on the session timeline, where ``base`` is the session position at which the Deepgram
connection started (including Σdiscarded, see :attr:`AudioHookSession.position`), tokens from words
(``punctuated`` else ``word``). Send one entity per ``event``, finals only
(:meth:`AudioHookSession.send_event`), and only when :attr:`AudioHookSession.wants_transcripts`.
"""

from __future__ import annotations

import uuid

import attrs

from actors.ingest.audiohook.messages import Entity, Json, format_duration


@attrs.frozen
class Word:
    """One recognised word: raw ``word``, ``punctuated`` form (or ""), times (s) and confidence."""

    word: str
    punctuated: str
    start: float
    end: float
    confidence: float


@attrs.frozen
class Segment:
    """A final transcript segment on one channel; times are seconds of audio sent on its Deepgram stream."""

    channel: int
    start: float
    end: float
    transcript: str
    words: tuple[Word, ...] = ()
    confidence: float = 0.0
    language: str | None = None


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


def transcript_entity(
    segment: Segment,
    *,
    base: float,
    language: str | None = None,
    utterance_id: str | None = None,
    is_final: bool = True,
) -> Entity:
    """The ``transcript`` entity for ``segment``, its times shifted by ``base`` (s on the session timeline).

    ``language`` (the session language) is used when the segment has none. ``utterance_id`` defaults to
    a fresh UUID.
    """
    lang = segment.language or language
    tokens: list[Json] = []
    for word in segment.words:
        token: dict[str, Json] = {
            "type": "word",
            "value": word.punctuated or word.word,
            "confidence": _clamp(word.confidence),
            "offset": format_duration(max(0.0, base + word.start)),
            "duration": format_duration(max(0.0, word.end - word.start)),
        }
        if segment.language:
            token["language"] = segment.language
        tokens.append(token)
    alternative: dict[str, Json] = {
        "confidence": _clamp(segment.confidence),
        "interpretations": [{"type": "display", "transcript": segment.transcript, "tokens": tokens}],
    }
    if lang:
        alternative["languages"] = [lang]
    data: dict[str, Json] = {
        "id": utterance_id or str(uuid.uuid4()),
        "channelId": segment.channel,
        "isFinal": is_final,
        "offset": format_duration(max(0.0, base + segment.start)),
        "duration": format_duration(max(0.0, segment.end - segment.start)),
        "alternatives": [alternative],
    }
    return Entity(type="transcript", data=data)


__all__ = ["Segment", "Word", "transcript_entity"]
