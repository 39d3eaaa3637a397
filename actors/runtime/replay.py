"""Lossless reconnect, the pure parts: what audio to replay, and how to stitch the results.

* :class:`AudioFormat` -- bytes <-> seconds for fixed-size audio (raw PCM/G.711 or WAV).
* :class:`ReplayBuffer` -- the audio not yet covered by a final result, bounded, plus the
  container header to re-send first on every new connection.
* :class:`TimelineRebaser` -- shifts the timestamps of one connection's messages onto the
  logical stream's timeline (each connection starts counting at 0).
* :class:`FinalDeduplicator` -- drops finals (and words) already delivered, and tells how far
  the finals cover the audio, i.e. where the replay buffer can be trimmed.
* :class:`FluxSilenceTracker` -- tells how far Flux's empty between-turn ``Update`` messages show
  the audio to hold no turn, so a long silence on Flux is trimmed too (Flux has no empty finals).

Positions in the logical stream are byte offsets into the audio payload (the container header
excluded); times are seconds of audio. Nothing here reads a clock or touches a socket. The
message helpers are duck-typed on the wire ``type`` tag ("Results", "TurnInfo", ...) and use
``attrs.evolve``, so they work on the protocol classes without depending on their module layout.
"""

from __future__ import annotations

import struct
from typing import Any

import attrs

from actors.errors import OptionsError

#: Bytes per sample of the raw encodings whose size per second is fixed.
FIXED_SIZE_ENCODINGS = {"linear16": 2, "linear32": 4, "mulaw": 1, "alaw": 1}
#: WAV ``fmt`` audio-format tags we can replay: PCM, IEEE float, A-law, mu-law.
_WAV_FORMATS = {1, 3, 6, 7}
_WAV_HEADER_LIMIT = 1 << 16
_TIME_DIGITS = 6  # rebased timestamps are rounded to the microsecond to hide float noise
#: How much audio before an empty between-turn Flux ``Update`` is still kept for replay: speech
#: that has begun is reported only once a word is recognised (the deterministic engine reports a
#: word when it ends; Deepgram's StartOfTurn comes some hundreds of ms after onset), so an empty
#: Update at ``t`` proves only that no turn began well before ``t``.
FLUX_ONSET_GUARD_SECONDS = 3.0


@attrs.frozen
class AudioFormat:
    """A fixed-size audio format: ``sample_rate`` frames per second of ``frame_bytes`` bytes each."""

    sample_rate: int
    frame_bytes: int

    @property
    def bytes_per_second(self) -> int:
        """Bytes of audio per second."""
        return self.sample_rate * self.frame_bytes

    @classmethod
    def from_encoding(cls, encoding: str, sample_rate: int | None, channels: int | None = 1) -> AudioFormat:
        """The format of raw audio declared by the ``encoding``/``sample_rate``/``channels`` options.

        Raises :class:`OptionsError` when the encoding has no fixed size per second (compressed
        audio cannot be cut and replayed at an exact time).
        """
        sample_bytes = FIXED_SIZE_ENCODINGS.get(encoding)
        if sample_bytes is None:
            raise OptionsError(
                "encoding",
                f"lossless reconnect needs audio with a fixed size per second "
                f"({', '.join(sorted(FIXED_SIZE_ENCODINGS))}, or a WAV container); "
                f"got {encoding!r} -- pass lossless=False",
                encoding,
            )
        if not sample_rate:
            raise OptionsError(
                "sample_rate", "lossless reconnect of raw audio needs sample_rate", sample_rate
            )
        return cls(sample_rate=int(sample_rate), frame_bytes=sample_bytes * int(channels or 1))

    def seconds(self, nbytes: int) -> float:
        """Seconds of audio in ``nbytes`` bytes."""
        return nbytes / self.bytes_per_second

    def position(self, seconds: float) -> int:
        """The byte offset of the frame that starts at or just before ``seconds``."""
        # Round first so 0.3 s (float 0.29999...) maps to the frame at 0.3, not one before.
        frame = int(round(seconds * self.sample_rate, 3))
        return max(0, frame) * self.frame_bytes


def parse_wav_header(prefix: bytes) -> tuple[int, AudioFormat] | None:
    """Parse a WAV header at the start of ``prefix``.

    Returns ``(header_length, format)`` once the ``data`` chunk header is in ``prefix``, None when
    more bytes are needed. Raises :class:`OptionsError` when ``prefix`` is not a replayable WAV.
    """
    if len(prefix) < 12:
        return None
    if prefix[:4] != b"RIFF" or prefix[8:12] != b"WAVE":
        raise OptionsError(
            "encoding",
            "lossless reconnect of audio without `encoding` needs a WAV container "
            "(set encoding/sample_rate for raw audio, or pass lossless=False)",
        )
    offset = 12
    fmt: AudioFormat | None = None
    while len(prefix) >= offset + 8:
        chunk_id = prefix[offset : offset + 4]
        (size,) = struct.unpack_from("<I", prefix, offset + 4)
        body = offset + 8
        if chunk_id == b"data":
            if fmt is None:
                raise OptionsError("audio", "WAV stream has a data chunk before its fmt chunk")
            return body, fmt
        if len(prefix) < body + size:
            return None
        if chunk_id == b"fmt ":
            tag, _channels, rate, _, block_align, _bits = struct.unpack_from("<HHIIHH", prefix, body)
            if tag not in _WAV_FORMATS or block_align == 0:
                raise OptionsError("audio", f"WAV format tag {tag} is compressed; pass lossless=False")
            fmt = AudioFormat(sample_rate=rate, frame_bytes=block_align)
        offset = body + size + (size & 1)
    if len(prefix) > _WAV_HEADER_LIMIT:
        raise OptionsError("audio", "WAV header longer than 64 KiB: no data chunk found")
    return None


@attrs.frozen
class ReplaySnapshot:
    """What to send first on a new connection: ``header`` then ``audio`` from ``start`` (bytes)."""

    header: bytes
    audio: bytes
    start: int
    start_seconds: float


class ReplayBuffer:
    """The tail of a stream's audio that is not yet covered by a final result.

    ``append`` every chunk sent; ``ack(seconds)`` when finals cover the audio up to ``seconds``
    (or, on Flux, the server has shown it to be silence: :class:`FluxSilenceTracker`);
    ``snapshot()`` on reconnect gives the header and the audio to replay. At most
    ``max_seconds`` of audio is kept: beyond it the oldest audio is dropped and counted in
    ``dropped_bytes`` (the stream then loses that audio if a reconnect happens, but the timeline
    stays right because positions are counted, not inferred).

    ``fmt=None`` means the format comes from a WAV header at the start of the stream.
    Not thread-safe: the owning stream serialises calls.
    """

    def __init__(self, fmt: AudioFormat | None, max_seconds: float = 60.0) -> None:
        if max_seconds <= 0:
            raise ValueError(f"max_seconds must be > 0, got {max_seconds!r}")
        self.format = fmt
        self.max_seconds = max_seconds
        self.header = b""
        self._prefix = bytearray()  # bytes seen before the WAV header is complete
        self._data = bytearray()
        self._start = 0  # logical position of _data[0]
        self._limit = self._limit_for(fmt)  # bytes kept at most (0 until the format is known)
        self.dropped_bytes = 0

    def _limit_for(self, fmt: AudioFormat | None) -> int:
        return int(self.max_seconds * fmt.sample_rate) * fmt.frame_bytes if fmt is not None else 0

    @property
    def start(self) -> int:
        """Logical byte position of the first retained byte."""
        return self._start

    @property
    def end(self) -> int:
        """Logical byte position just past the last appended audio byte."""
        return self._start + len(self._data)

    @property
    def buffered_bytes(self) -> int:
        """Audio bytes held for replay."""
        return len(self._data)

    def _seconds(self, nbytes: int) -> float:
        return self.format.seconds(nbytes) if self.format else 0.0

    @property
    def buffered_seconds(self) -> float:
        """Seconds of audio held for replay."""
        return self._seconds(len(self._data))

    @property
    def dropped_seconds(self) -> float:
        """Seconds of audio dropped because the buffer was full."""
        return self._seconds(self.dropped_bytes)

    def append(self, data: bytes) -> int:
        """Add audio sent (or about to be sent) on the stream; return the new :attr:`end`.

        Raises :class:`OptionsError` when the stream's first bytes are not a replayable WAV
        header (only for a buffer created without a format).
        """
        buf = self._data
        if self.format is None:
            data = self._sniff(data)
        buf += data  # the hot path: one copy into the buffer, one comparison
        if len(buf) > self._limit:
            self._enforce_bound()
        return self._start + len(buf)

    def _sniff(self, data: bytes) -> bytes:
        """Collect the WAV header; return the audio after it (empty while it is incomplete)."""
        self._prefix += data
        parsed = parse_wav_header(bytes(self._prefix))
        if parsed is None:
            return b""
        header_len, self.format = parsed
        self._limit = self._limit_for(self.format)
        self.header = bytes(self._prefix[:header_len])
        rest = bytes(self._prefix[header_len:])
        self._prefix.clear()
        return rest

    def _enforce_bound(self) -> None:
        fmt = self.format
        if fmt is None:
            return
        excess = len(self._data) - self._limit
        if excess > 0:
            # Drop whole frames so the replay still starts on a frame boundary.
            excess += (-excess) % fmt.frame_bytes
            self._drop(excess)
            self.dropped_bytes += excess

    def _drop(self, nbytes: int) -> None:
        del self._data[:nbytes]
        self._start += nbytes

    def ack(self, seconds: float) -> None:
        """Forget the audio before ``seconds`` (covered by final results)."""
        if self.format is None:
            return
        self.ack_position(self.format.position(seconds))

    def ack_position(self, position: int) -> None:
        """Forget the audio before byte ``position``."""
        drop = min(position, self.end) - self._start
        if drop > 0:
            self._drop(drop)

    def read(self, start: int, end: int) -> bytes:
        """The retained audio between logical positions ``start`` and ``end`` (clamped to what is kept)."""
        lo = max(start, self._start) - self._start
        hi = min(end, self.end) - self._start
        return bytes(self._data[lo:hi]) if hi > lo else b""

    def discard_all(self) -> None:
        """Forget every buffered byte (used when the stream does not replay)."""
        self._drop(len(self._data))

    def snapshot(self) -> ReplaySnapshot:
        """The header and audio to send first on a new connection, and where that audio starts."""
        header = self.header if self.format is not None else bytes(self._prefix)
        return ReplaySnapshot(
            header=header,
            audio=bytes(self._data),
            start=self._start,
            start_seconds=self._seconds(self._start),
        )


# --- message timeline helpers -----------------------------------------------------------------


def _shift(value: Any, offset: float) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return round(value + offset, _TIME_DIGITS)
    return value


def _shift_words(words: Any, offset: float) -> Any:
    if not words:
        return words
    return [
        attrs.evolve(w, start=_shift(w.start, offset), end=_shift(w.end, offset))
        if getattr(w, "start", None) is not None
        else w
        for w in words
    ]


def message_type(msg: object) -> str | None:
    """The wire ``type`` tag of a protocol message, or None for other events."""
    tag = getattr(msg, "type", None)
    return tag if isinstance(tag, str) else None


def is_final(msg: object) -> bool:
    """Whether ``msg`` is a final result: a Listen V1 final ``Results`` or a Flux ``EndOfTurn``."""
    tag = message_type(msg)
    if tag == "Results":
        return bool(getattr(msg, "is_final", False))
    if tag == "TurnInfo":
        return getattr(msg, "event", None) == "EndOfTurn"
    return False


def final_span(msg: Any) -> tuple[int, float, float]:
    """``(channel, start, end)`` of the audio a final result covers, in its own timeline."""
    if message_type(msg) == "TurnInfo":
        return 0, float(msg.audio_window_start), float(msg.audio_window_end)
    channel_index = getattr(msg, "channel_index", None) or [0]
    return int(channel_index[0]), float(msg.start), float(msg.start) + float(msg.duration)


def channel_count(msg: Any) -> int:
    """How many audio channels a Listen V1 Results reports (``channel_index[1]``), else 1."""
    channel_index = getattr(msg, "channel_index", None)
    if channel_index and len(channel_index) > 1:
        return max(1, int(channel_index[1]))
    return 1


def _words_of(msg: Any) -> list[Any]:
    if message_type(msg) == "TurnInfo":
        return list(msg.words or [])
    alternatives = msg.channel.alternatives
    return list(alternatives[0].words or []) if alternatives else []


def _sequence_id_of(msg: Any) -> int | None:
    cls = type(msg)
    if not attrs.has(cls) or "sequence_id" not in attrs.fields_dict(cls):
        return None
    value = msg.sequence_id
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class TimelineRebaser:
    """Moves one connection's timestamps onto the logical stream's timeline.

    Each new connection counts audio from 0; the replay for it starts at ``offset`` seconds of
    the logical stream, so every time field is shifted by ``offset``. Flux turn numbers restart
    at 0 too, so ``turn_offset`` (the turns completed before) is added to ``turn_index``.

    With ``sequence_ids=True`` (Flux) the per-connection ``sequence_id`` (0 for ``Connected``,
    then +1 per message) is shifted too: a later connection's ids continue after the last id
    seen, so subscribers see one increasing sequence (a later ``Connected`` is not forwarded by
    the stream; ids of dropped duplicates leave gaps, never repeats).
    """

    def __init__(self, sequence_ids: bool = False) -> None:
        self.offset = 0.0
        self.turn_offset = 0
        self.sequence_offset = 0
        self._turns_done = 0
        self._sequence_ids = sequence_ids
        self._last_sequence: int | None = None

    def start_connection(self, offset: float) -> None:
        """A new connection starts; its audio begins at ``offset`` seconds of the logical stream."""
        self.offset = offset
        self.turn_offset = self._turns_done
        self.sequence_offset = self._last_sequence if self._last_sequence is not None else 0

    def rebase(self, msg: Any) -> Any:
        """``msg`` with its time fields (and Flux ``sequence_id``) shifted onto the stream's timeline."""
        msg = self._rebase_times(msg)
        if not self._sequence_ids:
            return msg
        sequence = _sequence_id_of(msg)
        if sequence is None:
            return msg
        rebased = sequence + self.sequence_offset
        if self._last_sequence is None or rebased > self._last_sequence:
            self._last_sequence = rebased
        return msg if rebased == sequence else attrs.evolve(msg, sequence_id=rebased)

    def _rebase_times(self, msg: Any) -> Any:
        tag = message_type(msg)
        if tag == "TurnInfo":
            if msg.event == "EndOfTurn":
                self._turns_done = max(self._turns_done, self.turn_offset + int(msg.turn_index) + 1)
            if self.offset == 0 and self.turn_offset == 0:
                return msg
            return attrs.evolve(
                msg,
                audio_window_start=_shift(msg.audio_window_start, self.offset),
                audio_window_end=_shift(msg.audio_window_end, self.offset),
                words=_shift_words(msg.words, self.offset),
                turn_index=int(msg.turn_index) + self.turn_offset,
            )
        if self.offset == 0:
            return msg
        if tag == "Results":
            alternatives = [
                attrs.evolve(alt, words=_shift_words(alt.words, self.offset))
                for alt in msg.channel.alternatives
            ]
            return attrs.evolve(
                msg,
                start=_shift(msg.start, self.offset),
                channel=attrs.evolve(msg.channel, alternatives=alternatives),
            )
        if tag == "UtteranceEnd":
            return attrs.evolve(msg, last_word_end=_shift(msg.last_word_end, self.offset))
        if tag == "SpeechStarted":
            return attrs.evolve(msg, timestamp=_shift(msg.timestamp, self.offset))
        return msg


class FinalDeduplicator:
    """Keeps finals in order and unique, and tracks how far they cover the audio.

    Feed it rebased messages. A final that ends at or before the previous final on its channel
    was already delivered (a replay re-recognised it) and is dropped; a final that straddles it
    keeps only the words starting at or after it. ``covered_until`` is the time up to which every
    channel has its finals: the replay buffer can forget the audio before it.
    """

    def __init__(self, tolerance: float = 1e-3) -> None:
        self.tolerance = tolerance
        self._ends: dict[int, float] = {}
        self._channels = 1
        self.dropped = 0

    def covered_until(self) -> float:
        """Seconds of audio covered by finals on every channel."""
        return min(self._ends.get(ch, 0.0) for ch in range(self._channels))

    def process(self, msg: Any) -> Any | None:
        """Return ``msg`` to deliver (possibly with duplicate words removed) or None to drop it."""
        if not is_final(msg):
            return msg
        if message_type(msg) == "Results":
            self._channels = max(self._channels, channel_count(msg))
        channel, start, end = final_span(msg)
        watermark = self._ends.get(channel)
        if watermark is not None and end <= watermark + self.tolerance and start < watermark - self.tolerance:
            self.dropped += 1
            return None
        if watermark is not None and start < watermark - self.tolerance:
            msg = self._without_words_before(msg, watermark)
        self._ends[channel] = max(end, watermark or 0.0)
        return msg

    def _without_words_before(self, msg: Any, watermark: float) -> Any:
        words = _words_of(msg)
        kept = [
            w for w in words if getattr(w, "start", None) is None or w.start >= watermark - self.tolerance
        ]
        if len(kept) == len(words):
            return msg
        transcript = " ".join(getattr(w, "punctuated_word", None) or w.word for w in kept)
        if message_type(msg) == "TurnInfo":
            return attrs.evolve(msg, words=kept, transcript=transcript)
        alternatives = list(msg.channel.alternatives)
        alternatives[0] = attrs.evolve(alternatives[0], words=kept, transcript=transcript)
        return attrs.evolve(msg, channel=attrs.evolve(msg.channel, alternatives=alternatives))


class FluxSilenceTracker:
    """How far Flux's between-turn messages show the audio to be outside every turn.

    Flux closes turns with ``EndOfTurn`` (a final) but sends nothing final during silence: only
    ``Update`` messages with an empty transcript and no words while no turn is open, whose
    ``audio_window_end`` is how much audio was heard. Such an Update proves no word *ended*
    before its end; a word that has *started* is not reported yet (and the next turn's
    ``audio_window_start`` even goes back to the previous turn's end), so only the audio up to
    ``audio_window_end - guard`` is taken as silence. Anything else -- a turn open, a transcript
    or words in an Update, an unknown event -- proves nothing. Feed it rebased messages; call
    :meth:`start_connection` when a new connection starts (its server has no turn open).
    """

    def __init__(self, guard: float = FLUX_ONSET_GUARD_SECONDS) -> None:
        if guard < 0:
            raise ValueError(f"guard must be >= 0, got {guard!r}")
        self.guard = guard
        self._turn_open = False
        self._silent_until = 0.0

    def start_connection(self) -> None:
        """A new connection starts: its server has no turn open (its replay re-opens one if needed)."""
        self._turn_open = False

    def silent_until(self) -> float:
        """Seconds of the logical stream before which no turn can start (never decreases)."""
        return self._silent_until

    def observe(self, msg: Any) -> float:
        """Take one rebased message into account; return :meth:`silent_until`."""
        if message_type(msg) != "TurnInfo":
            return self._silent_until
        event = getattr(msg, "event", None)
        if event == "EndOfTurn":
            self._turn_open = False
        elif event != "Update" or msg.transcript or msg.words:
            self._turn_open = True  # StartOfTurn, Eager/Resumed, unknown, or words: a turn runs
        elif not self._turn_open:
            edge = float(msg.audio_window_end) - self.guard
            self._silent_until = max(self._silent_until, edge)
        return self._silent_until
