"""Per-call output files: a JSONL of every server message, a transcript, SRT and WebVTT captions.

Everything here works on plain wire dicts (``codec.to_dict(message)``), so the files hold exactly
what the service sent.

Honest files. Nothing is written under a final name before the call succeeded. The JSONL is
written (and flushed message by message) to ``.<stem>.jsonl.part``; `CallWriter.commit` writes
the transcript and captions the same way (``.<stem>.txt.part``...), fsyncs each and renames it
to ``<stem>.jsonl``/``.txt``/``.srt``/``.vtt`` (`actors.cli.atomicfile`). A call that failed or
was interrupted ends with `CallWriter.abort`: its JSONL is kept as ``<stem>.partial.jsonl``
(what the service sent before it stopped, for a look or a retry), no transcript or caption is
written, and final files an earlier run left for the same stem are removed, so the directory
never shows a complete-looking result the summary does not back. A process killed outright
leaves only hidden ``.part`` files, which the next run of that call overwrites.
`CallFiles.complete` is the test `--skip-existing` uses: all four final files are present.

Speakers. Labels come from the data: ``channel N`` for multichannel calls (one speaker per
channel); with diarization (``diarize=true``: words carry ``speaker``) ``Speaker S`` on a mono
call and ``Channel N / Speaker S`` on a multichannel one. A final that holds several speakers is
split into one turn per speaker run. The transcript writes ``[mm:ss.ss] LABEL: text`` per turn,
SRT prefixes ``[LABEL]``, WebVTT uses a ``<v LABEL>`` voice span.

Why not ``deepgram-captions`` (2.0.0, evaluated for this): it builds captions from one
prerecorded response, not a stream of ``Results``, so it would need an adapter anyway, and
then it falls short for calls: it reads only ``channels[0]`` (no multichannel, so no
"channel and speaker" labels; its label text is fixed to ``Speaker N``), starts with an empty
cue and raises ``EmptyTranscriptException`` when the first word's speaker is not 0, raises on a
call with no speech, does not escape ``<``/``&`` in WebVTT text, and splits cues by word count
only (no duration limit, no split at pauses). What it would bring, timestamp formatting and
word chunking, is a few lines here, on top of the ``srt`` package. We follow its conventions
(``<v Speaker N>`` voices) so the output reads the same.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import orjson
import srt

from actors.cli.atomicfile import AtomicFile, part_path, write_atomic
from actors.errors import OptionsError

MAX_CUE_WORDS = 12
MAX_CUE_SECONDS = 6.0
MAX_TURN_GAP = 1.5  # seconds of silence after which the same speaker starts a new line


@attrs.frozen
class Word:
    """One recognised word with its position in the call, in seconds of audio, and its speaker if diarized."""

    text: str
    start: float
    end: float
    speaker: int | None = None


@attrs.frozen
class Segment:
    """A final piece of transcript on one channel of a call (``speaker``: one diarized speaker, or None)."""

    channel: int
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    speaker: int | None = None


def _speaker_of(word: Mapping[str, Any]) -> int | None:
    speaker = word.get("speaker")
    return int(speaker) if isinstance(speaker, int | float) and not isinstance(speaker, bool) else None


def final_segment(message: Mapping[str, Any]) -> Segment | None:
    """The transcript segment a Listen V1 ``Results`` dict carries, or None if it is not a non-empty final.

    The segment's ``speaker`` is the first word's (see `speaker_turns` for finals with several).
    """
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
        Word(
            str(w.get("punctuated_word") or w.get("word") or ""),
            float(w["start"]),
            float(w["end"]),
            _speaker_of(w),
        )
        for w in best.get("words") or ()
    )
    channel_index = message.get("channel_index") or [0]
    start = float(message.get("start") or 0.0)
    end = start + float(message.get("duration") or 0.0)
    if words:
        start, end = words[0].start, words[-1].end
    return Segment(int(channel_index[0]), start, end, text, words, words[0].speaker if words else None)


def speaker_turns(segment: Segment) -> list[Segment]:
    """``segment`` split into runs of consecutive words of one speaker (itself when not diarized)."""
    if not segment.words or all(w.speaker == segment.words[0].speaker for w in segment.words):
        return [segment]
    runs: list[list[Word]] = []
    for word in segment.words:
        if runs and runs[-1][-1].speaker == word.speaker:
            runs[-1].append(word)
        else:
            runs.append([word])
    return [
        Segment(
            segment.channel,
            run[0].start,
            run[-1].end,
            " ".join(w.text for w in run),
            tuple(run),
            run[0].speaker,
        )
        for run in runs
    ]


def is_diarized(segments: Iterable[Segment]) -> bool:
    """True when any word of ``segments`` carries a speaker (the call was diarized)."""
    return any(w.speaker is not None for seg in segments for w in seg.words)


def turn_label(segment: Segment, multichannel: bool, diarized: bool) -> str | None:
    """Who speaks ``segment``: ``channel N``, ``Speaker S``, ``Channel N / Speaker S``, or None (mono)."""
    if diarized and segment.speaker is not None:
        speaker = f"Speaker {segment.speaker}"
        return f"Channel {segment.channel} / {speaker}" if multichannel else speaker
    return f"channel {segment.channel}" if multichannel else None


def _clock(seconds: float) -> str:
    minutes, rest = divmod(max(0.0, seconds), 60.0)
    return f"{int(minutes):02d}:{rest:05.2f}"


def merge_turns(segments: Iterable[Segment], max_gap: float = MAX_TURN_GAP) -> list[Segment]:
    """Join time-ordered segments into speaker turns.

    Segments are first split by speaker (`speaker_turns`). A segment extends the previous turn
    when it has the same channel and speaker, nothing from another came between them, and the
    pause is under ``max_gap`` seconds.
    """
    pieces = [piece for seg in segments for piece in speaker_turns(seg)]
    turns: list[Segment] = []
    for seg in sorted(pieces, key=lambda s: (s.start, s.channel)):
        last = turns[-1] if turns else None
        if (
            last is not None
            and (last.channel, last.speaker) == (seg.channel, seg.speaker)
            and seg.start - last.end < max_gap
        ):
            turns[-1] = Segment(
                last.channel,
                last.start,
                max(last.end, seg.end),
                f"{last.text} {seg.text}",
                last.words + seg.words,
                last.speaker,
            )
        else:
            turns.append(seg)
    return turns


def format_transcript(segments: Iterable[Segment], multichannel: bool) -> str:
    """One line per speaker turn in time order: ``[mm:ss.ss] LABEL: text`` (see `turn_label`)."""
    segments = list(segments)
    diarized = is_diarized(segments)
    lines = []
    for seg in merge_turns(segments):
        label = turn_label(seg, multichannel, diarized)
        who = f"{label}: " if label else ""
        lines.append(f"[{_clock(seg.start)}] {who}{seg.text}")
    return "\n".join(lines) + ("\n" if lines else "")


@attrs.frozen
class Cue:
    """One caption: a time span and its text (``speaker``: the turn's label, None for a plain mono call)."""

    start: float
    end: float
    text: str
    speaker: str | None = None


def caption_cues(segments: Iterable[Segment], multichannel: bool) -> list[Cue]:
    """Split turns into readable cues of at most `MAX_CUE_WORDS` words / `MAX_CUE_SECONDS` seconds.

    A cue never spans two speakers.
    """
    segments = list(segments)
    diarized = is_diarized(segments)
    cues: list[Cue] = []
    for seg in merge_turns(segments):
        speaker = turn_label(seg, multichannel, diarized)
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


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def format_webvtt(cues: Sequence[Cue]) -> str:
    """WebVTT captions; the speaker, if any, is a ``<v>`` voice span as the format intends."""
    blocks = ["WEBVTT\n"]
    for cue in cues:
        start = srt.timedelta_to_srt_timestamp(_delta(cue.start)).replace(",", ".")
        end = srt.timedelta_to_srt_timestamp(_delta(cue.end)).replace(",", ".")
        text = _vtt_escape(cue.text)
        if cue.speaker:
            text = f"<v {_vtt_escape(cue.speaker)}>{text}"
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
        """The final transcript, one line per speaker turn."""
        return self.directory / f"{self.stem}.txt"

    @property
    def srt(self) -> Path:
        """SubRip captions."""
        return self.directory / f"{self.stem}.srt"

    @property
    def vtt(self) -> Path:
        """WebVTT captions."""
        return self.directory / f"{self.stem}.vtt"

    @property
    def partial_jsonl(self) -> Path:
        """What a failed or interrupted call received: ``<stem>.partial.jsonl``."""
        return self.directory / f"{self.stem}.partial.jsonl"

    @property
    def finals(self) -> tuple[Path, ...]:
        """The four files a successful call leaves, under their final names."""
        return (self.jsonl, self.transcript, self.srt, self.vtt)

    def complete(self) -> bool:
        """True when every final file is present (they only appear once the call succeeded)."""
        return all(path.is_file() for path in self.finals)

    def remove_finals(self) -> None:
        """Remove the final files (those of an earlier run of this stem), if any."""
        for path in self.finals:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


class CallWriter:
    """Collects one call's server messages: appends each to the temporary JSONL at once, keeps finals.

    End it with `commit` (the call succeeded: all four files appear under their final names) or
    `abort` (it did not: only ``<stem>.partial.jsonl`` is left). Thread-safe: messages may
    arrive from whichever thread delivers events for the call.
    """

    def __init__(self, files: CallFiles, multichannel: bool) -> None:
        files.directory.mkdir(parents=True, exist_ok=True)
        self.files = files
        self.multichannel = multichannel
        self._lock = threading.Lock()
        self._segments: list[Segment] = []
        self._messages = 0
        self._jsonl = AtomicFile(files.jsonl)

    @property
    def temporary_paths(self) -> tuple[Path, ...]:
        """The hidden names the files are written under until `commit`."""
        return tuple(part_path(path) for path in self.files.finals)

    def add(self, message: Mapping[str, Any]) -> Segment | None:
        """Record one server message; return its final segment, if it carries one."""
        line = orjson.dumps(message) + b"\n"
        segment = final_segment(message)
        with self._lock:
            if not self._jsonl.closed:
                self._jsonl.write(line)
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
        """The transcript text as `commit` writes it."""
        return format_transcript(self.segments, self.multichannel)

    def commit(self) -> None:
        """The call succeeded: write transcript and captions, and give all four files their final names.

        Each file is fsynced before its rename; a partial JSONL of an earlier failed run is
        removed. Idempotent; a no-op after `abort`.
        """
        with self._lock:
            if self._jsonl.closed:
                return
            segments = list(self._segments)
            cues = caption_cues(segments, self.multichannel)
            write_atomic(
                self.files.transcript, format_transcript(segments, self.multichannel).encode("utf-8")
            )
            write_atomic(self.files.srt, format_srt(cues).encode("utf-8"))
            write_atomic(self.files.vtt, format_webvtt(cues).encode("utf-8"))
            self._jsonl.commit()
        with contextlib.suppress(FileNotFoundError):
            self.files.partial_jsonl.unlink()

    def abort(self) -> None:
        """The call failed or was interrupted: keep the JSONL as ``<stem>.partial.jsonl``, write nothing else.

        Final files of an earlier run of the same stem are removed. Idempotent; a no-op after `commit`.
        """
        with self._lock:
            if self._jsonl.closed:
                return
            self._jsonl.keep_as(self.files.partial_jsonl)
        self.files.remove_finals()


def prepare_output_dir(directory: Path) -> None:
    """Create ``directory`` if needed and prove it writable, before any audio is sent.

    A probe file is created and removed (permission bits alone do not tell: root, ACLs,
    read-only mounts). Raises :class:`OptionsError` naming ``--out`` and the directory.
    """
    name = f"--out {directory}"
    if directory.exists() and not directory.is_dir():
        raise OptionsError(name, "not a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OptionsError(name, f"cannot create it: {exc.strerror or exc}") from None
    try:
        fd, probe = tempfile.mkstemp(prefix=".actors-write-probe-", dir=directory)
    except OSError as exc:
        raise OptionsError(name, f"not writable: {exc.strerror or exc}") from None
    os.close(fd)
    os.unlink(probe)
