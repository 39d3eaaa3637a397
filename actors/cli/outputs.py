"""Per-call output files: a JSONL of every server message, a transcript, SRT and WebVTT captions.

Everything here works on plain wire dicts (``codec.to_dict(message)``), so the files hold exactly
what the service sent. The JSONL is written and flushed message by message, so a crash loses
nothing already received; the transcript and captions are written by `CallWriter.close`.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import attrs
import orjson
import srt

MAX_CUE_WORDS = 12
MAX_CUE_SECONDS = 6.0
MAX_TURN_GAP = 1.5  # seconds of silence after which the same speaker starts a new line


@attrs.frozen
class Word:
    """One recognised word with its position in the call, in seconds of audio."""

    text: str
    start: float
    end: float


@attrs.frozen
class Segment:
    """A final piece of transcript on one channel of a call."""

    channel: int
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()


def final_segment(message: Mapping[str, Any]) -> Segment | None:
    """The transcript segment a Listen V1 ``Results`` dict carries, or None if it is not a non-empty final."""
    if message.get("type") != "Results" or not message.get("is_final"):
        return None
    alternatives = (message.get("channel") or {}).get("alternatives") or []
    if not alternatives:
        return None
    best = alternatives[0]
    text = str(best.get("transcript") or "").strip()
    if not text:
        return None
    words = tuple(
        Word(str(w.get("punctuated_word") or w.get("word") or ""), float(w["start"]), float(w["end"]))
        for w in best.get("words") or ()
    )
    channel_index = message.get("channel_index") or [0]
    start = float(message.get("start") or 0.0)
    end = start + float(message.get("duration") or 0.0)
    if words:
        start, end = words[0].start, words[-1].end
    return Segment(int(channel_index[0]), start, end, text, words)


def _clock(seconds: float) -> str:
    minutes, rest = divmod(max(0.0, seconds), 60.0)
    return f"{int(minutes):02d}:{rest:05.2f}"


def merge_turns(segments: Iterable[Segment], max_gap: float = MAX_TURN_GAP) -> list[Segment]:
    """Join time-ordered segments into speaker turns.

    A segment extends the previous turn when it is on the same channel, nothing from another
    channel came between them, and the pause is under ``max_gap`` seconds.
    """
    turns: list[Segment] = []
    for seg in sorted(segments, key=lambda s: (s.start, s.channel)):
        last = turns[-1] if turns else None
        if last is not None and last.channel == seg.channel and seg.start - last.end < max_gap:
            turns[-1] = Segment(
                last.channel,
                last.start,
                max(last.end, seg.end),
                f"{last.text} {seg.text}",
                last.words + seg.words,
            )
        else:
            turns.append(seg)
    return turns


def format_transcript(segments: Iterable[Segment], multichannel: bool) -> str:
    """One line per speaker turn in time order: ``[mm:ss.ss] text``, ``channel N:`` when multichannel."""
    lines = []
    for seg in merge_turns(segments):
        who = f"channel {seg.channel}: " if multichannel else ""
        lines.append(f"[{_clock(seg.start)}] {who}{seg.text}")
    return "\n".join(lines) + ("\n" if lines else "")


@attrs.frozen
class Cue:
    """One caption: a time span and its text (``speaker`` is set for multichannel calls)."""

    start: float
    end: float
    text: str
    speaker: str | None = None


def caption_cues(segments: Iterable[Segment], multichannel: bool) -> list[Cue]:
    """Split segments into readable cues of at most `MAX_CUE_WORDS` words / `MAX_CUE_SECONDS` seconds."""
    cues: list[Cue] = []
    for seg in merge_turns(segments):
        speaker = f"channel {seg.channel}" if multichannel else None
        if not seg.words:
            cues.append(Cue(seg.start, max(seg.end, seg.start + 0.5), seg.text, speaker))
            continue
        group: list[Word] = []
        for word in seg.words:
            if group and (len(group) >= MAX_CUE_WORDS or word.end - group[0].start > MAX_CUE_SECONDS):
                cues.append(_cue_of(group, speaker))
                group = []
            group.append(word)
        cues.append(_cue_of(group, speaker))
    return cues


def _cue_of(words: Sequence[Word], speaker: str | None) -> Cue:
    return Cue(
        words[0].start, max(words[-1].end, words[0].start + 0.2), " ".join(w.text for w in words), speaker
    )


def _delta(seconds: float) -> datetime.timedelta:
    return datetime.timedelta(seconds=round(seconds, 3))


def format_srt(cues: Sequence[Cue]) -> str:
    """SubRip captions (via the ``srt`` package); the speaker, if any, prefixes the text."""
    subtitles = [
        srt.Subtitle(
            index=i,
            start=_delta(cue.start),
            end=_delta(cue.end),
            content=f"[{cue.speaker}] {cue.text}" if cue.speaker else cue.text,
        )
        for i, cue in enumerate(cues, start=1)
    ]
    return str(srt.compose(subtitles, reindex=False))


def format_webvtt(cues: Sequence[Cue]) -> str:
    """WebVTT captions; the speaker, if any, is a ``<v>`` voice span as the format intends."""
    blocks = ["WEBVTT\n"]
    for cue in cues:
        start = srt.timedelta_to_srt_timestamp(_delta(cue.start)).replace(",", ".")
        end = srt.timedelta_to_srt_timestamp(_delta(cue.end)).replace(",", ".")
        text = cue.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        if cue.speaker:
            text = f"<v {cue.speaker}>{text}"
        blocks.append(f"{start} --> {end}\n{text}\n")
    return "\n".join(blocks)


@attrs.frozen
class CallFiles:
    """Where one call's outputs go: ``<stem>.jsonl``, ``.txt``, ``.srt`` and ``.vtt`` in ``directory``."""

    directory: Path
    stem: str

    @property
    def jsonl(self) -> Path:
        """Every server message, one JSON object per line, in arrival order."""
        return self.directory / f"{self.stem}.jsonl"

    @property
    def transcript(self) -> Path:
        """The final transcript, one line per segment."""
        return self.directory / f"{self.stem}.txt"

    @property
    def srt(self) -> Path:
        """SubRip captions."""
        return self.directory / f"{self.stem}.srt"

    @property
    def vtt(self) -> Path:
        """WebVTT captions."""
        return self.directory / f"{self.stem}.vtt"


class CallWriter:
    """Collects one call's server messages: appends each to the JSONL at once, keeps final segments.

    Thread-safe: messages may arrive from whichever thread delivers events for the call.
    """

    def __init__(self, files: CallFiles, multichannel: bool) -> None:
        files.directory.mkdir(parents=True, exist_ok=True)
        self.files = files
        self.multichannel = multichannel
        self._lock = threading.Lock()
        self._segments: list[Segment] = []
        self._messages = 0
        self._jsonl: BinaryIO | None = files.jsonl.open("wb")

    def add(self, message: Mapping[str, Any]) -> Segment | None:
        """Record one server message; return its final segment, if it carries one."""
        line = orjson.dumps(message) + b"\n"
        segment = final_segment(message)
        with self._lock:
            if self._jsonl is not None:
                self._jsonl.write(line)
                self._jsonl.flush()
            self._messages += 1
            if segment is not None:
                self._segments.append(segment)
        return segment

    @property
    def messages(self) -> int:
        """How many server messages were recorded."""
        return self._messages

    @property
    def segments(self) -> list[Segment]:
        """The final segments so far, in arrival order."""
        with self._lock:
            return list(self._segments)

    def transcript(self) -> str:
        """The transcript text as `close` writes it."""
        return format_transcript(self.segments, self.multichannel)

    def close(self) -> None:
        """Close the JSONL and write the transcript and captions. Idempotent."""
        with self._lock:
            if self._jsonl is None:
                return
            self._jsonl.close()
            self._jsonl = None
            segments = list(self._segments)
        cues = caption_cues(segments, self.multichannel)
        self.files.transcript.write_text(format_transcript(segments, self.multichannel), encoding="utf-8")
        self.files.srt.write_text(format_srt(cues), encoding="utf-8")
        self.files.vtt.write_text(format_webvtt(cues), encoding="utf-8")
