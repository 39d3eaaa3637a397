"""Lossless reconnect, the pure parts: what audio to replay, and how to stitch the results.

* :class:`AudioFormat` -- bytes <-> seconds for fixed-size audio (raw PCM/G.711 or WAV).
* :class:`ReplayBuffer` -- the audio not yet covered by a final result, bounded, plus the
  container header to re-send first on every new connection.
* :class:`TimelineRebaser` -- shifts the timestamps of one connection's messages onto the
  logical stream's timeline (each connection starts counting at 0).
* :class:`FinalDeduplicator` -- drops finals (and words) already delivered, and tells how far
  the finals cover the audio, i.e. where the replay buffer can be trimmed.
* :class:`SilenceTracker` -- tells how far an API's silence evidence (Flux's empty between-turn
  ``Update`` messages) shows the audio to hold no turn, so a long silence is trimmed too (Flux
  has no empty finals).

Positions in the logical stream are byte offsets into the audio payload (the container header
excluded); times are seconds of audio. Nothing here reads a clock or touches a socket. What a
message means (final or not, which fields are times) is the API's
:class:`~actors.protocol.replay_rules.ReplayRules` (``ApiSpec.replay``); nothing here looks at
a message's fields itself.
"""

from __future__ import annotations

import bisect
import struct

import attrs

from actors.errors import OptionsError
from actors.protocol.replay_rules import ReplayRules, TurnSignal

#: Bytes per sample of the raw encodings whose size per second is fixed.
FIXED_SIZE_ENCODINGS = {"linear16": 2, "linear32": 4, "mulaw": 1, "alaw": 1}
#: WAV ``fmt`` audio-format tags we can replay: PCM, IEEE float, A-law, mu-law.
_WAV_FORMATS = {1, 3, 6, 7}
_WAV_HEADER_LIMIT = 1 << 16


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


class ReplayBuffer:
    """The tail of a stream's audio that is not yet covered by a final result.

    ``append`` every chunk sent; ``ack(seconds)`` when finals cover the audio up to ``seconds``
    (or, on Flux, the server has shown it to be silence: :class:`SilenceTracker`);
    on reconnect a new connection gets :attr:`replay_header`, then the audio from :attr:`start`
    (:meth:`read`). At most
    ``max_seconds`` of audio is kept: beyond it the oldest audio is dropped and counted in
    ``dropped_bytes`` (the stream then loses that audio if a reconnect happens, but the timeline
    stays right because positions are counted, not inferred).

    The chunks are kept as they were appended (``bytes`` are immutable, so no copy is made and
    nothing is over-allocated): the buffer holds only references to the audio not yet covered,
    plus at most one chunk's head already covered.

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
        # The retained chunks are _chunks[_first:]; _starts[i] is the logical position of
        # _chunks[i]'s first byte. _start may lie inside _chunks[_first] (its head is covered).
        self._chunks: list[bytes] = []
        self._starts: list[int] = []
        self._first = 0
        self._start = 0  # logical position of the first retained byte
        self._end = 0  # logical position just past the last appended byte
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
        return self._end

    @property
    def replay_header(self) -> bytes:
        """What a new connection gets before the audio: the container header (or what was seen of it)."""
        return self.header if self.format is not None else bytes(self._prefix)

    @property
    def start_seconds(self) -> float:
        """Seconds of the logical stream at :attr:`start`."""
        return self._seconds(self._start)

    @property
    def total_bytes(self) -> int:
        """Every byte appended so far: the header (or the part of it seen yet) and all the audio."""
        return len(self.header) + self._end + len(self._prefix)

    @property
    def buffered_bytes(self) -> int:
        """Audio bytes held for replay."""
        return self._end - self._start

    def _seconds(self, nbytes: int) -> float:
        return self.format.seconds(nbytes) if self.format else 0.0

    @property
    def buffered_seconds(self) -> float:
        """Seconds of audio held for replay."""
        return self._seconds(self._end - self._start)

    @property
    def dropped_seconds(self) -> float:
        """Seconds of audio dropped because the buffer was full."""
        return self._seconds(self.dropped_bytes)

    def append(self, data: bytes) -> int:
        """Add audio sent (or about to be sent) on the stream; return the new :attr:`end`.

        ``data`` is kept by reference when it is ``bytes`` (copied otherwise). Raises
        :class:`OptionsError` when the stream's first bytes are not a replayable WAV header (only
        for a buffer created without a format).
        """
        if type(data) is not bytes:
            data = bytes(data)
        if self.format is None:
            data = self._sniff(data)
        end = self._end
        if data:  # the hot path: two list appends, one comparison
            self._chunks.append(data)
            self._starts.append(end)
            self._end = end = end + len(data)
            if end - self._start > self._limit:
                self._enforce_bound()
        return end

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
        excess = self._end - self._start - self._limit
        if excess > 0:
            # Drop whole frames so the replay still starts on a frame boundary.
            excess += (-excess) % fmt.frame_bytes
            self._drop(excess)
            self.dropped_bytes += excess

    def _drop(self, nbytes: int) -> None:
        start = self._start = min(self._start + nbytes, self._end)
        chunks, starts = self._chunks, self._starts
        if start >= self._end:  # nothing left: forget every chunk
            chunks.clear()
            starts.clear()
            self._first = 0
            return
        first, last = self._first, len(chunks) - 1
        while first < last and starts[first + 1] <= start:
            first += 1
        if first > 16 and first * 2 > len(chunks):  # compact now and then (amortised O(1))
            del chunks[:first]
            del starts[:first]
            first = 0
        self._first = first

    def ack(self, seconds: float) -> None:
        """Forget the audio before ``seconds`` (covered by final results)."""
        if self.format is None:
            return
        self.ack_position(self.format.position(seconds))

    def ack_position(self, position: int) -> None:
        """Forget the audio before byte ``position``."""
        drop = min(position, self._end) - self._start
        if drop > 0:
            self._drop(drop)

    def read(self, start: int, end: int) -> bytes:
        """The retained audio between logical positions ``start`` and ``end`` (clamped to what is kept)."""
        lo = max(start, self._start)
        hi = min(end, self._end)
        if hi <= lo:
            return b""
        chunks, starts = self._chunks, self._starts
        i = bisect.bisect_right(starts, lo, self._first) - 1
        chunk, at = chunks[i], starts[i]
        if at == lo and at + len(chunk) == hi:
            return chunk  # exactly one whole chunk: no copy
        parts = []
        while lo < hi:
            chunk, at = chunks[i], starts[i]
            parts.append(chunk[lo - at : hi - at])
            lo = at + len(chunk)
            i += 1
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def discard_all(self) -> None:
        """Forget every buffered byte (used when the stream does not replay)."""
        self._drop(self._end - self._start)


# --- the message timeline ---------------------------------------------------------------------


class TimelineRebaser:
    """Moves one connection's timestamps onto the logical stream's timeline.

    Each new connection counts audio from 0; the replay for it starts at ``offset`` seconds of
    the logical stream, so every time field (as ``rules`` declares them) is shifted by ``offset``.
    Turn numbers restart at 0 too, so the turns completed before are added to them.

    When the API numbers its messages (``rules.numbers_messages``, Flux's ``sequence_id``: 0 for
    ``Connected``, then +1 per message) a later connection's numbers continue after the last one
    seen, so subscribers see one increasing sequence (a later greeting is not forwarded by the
    stream; numbers of dropped duplicates leave gaps, never repeats).
    """

    def __init__(self, rules: ReplayRules) -> None:
        self.rules = rules
        self.offset = 0.0
        self.turn_offset = 0
        self.sequence_offset = 0
        self._turns_done = 0
        self._last_sequence: int | None = None

    def start_connection(self, offset: float) -> None:
        """A new connection starts; its audio begins at ``offset`` seconds of the logical stream."""
        self.offset = offset
        self.turn_offset = self._turns_done
        self.sequence_offset = self._last_sequence if self._last_sequence is not None else 0

    def rebase(self, msg: object) -> object:
        """``msg`` with its times, turn numbers (and message number) moved onto the stream's timeline."""
        rules = self.rules
        closed = rules.turns_closed(msg)
        if closed is not None:
            self._turns_done = max(self._turns_done, self.turn_offset + closed)
        msg = rules.rebase(msg, self.offset, self.turn_offset)
        if not rules.numbers_messages:
            return msg
        sequence = rules.sequence_id(msg)
        if sequence is None:
            return msg
        rebased = sequence + self.sequence_offset
        if self._last_sequence is None or rebased > self._last_sequence:
            self._last_sequence = rebased
        return msg if rebased == sequence else rules.with_sequence_id(msg, rebased)


class FinalDeduplicator:
    """Keeps finals in order and unique, and tracks how far they cover the audio.

    Feed it rebased messages. A final that ends at or before the previous final on its channel
    was already delivered (a replay re-recognised it) and is dropped; a final that straddles it
    keeps only the words starting at or after it. ``covered_until`` is the time up to which every
    channel has its finals: the replay buffer can forget the audio before it.
    """

    def __init__(self, rules: ReplayRules, tolerance: float = 1e-3) -> None:
        self.rules = rules
        self.tolerance = tolerance
        self._ends: dict[int, float] = {}
        self._channels = 1
        self.dropped = 0

    def covered_until(self) -> float:
        """Seconds of audio covered by finals on every channel."""
        return min(self._ends.get(ch, 0.0) for ch in range(self._channels))

    def process(self, msg: object) -> object | None:
        """Return ``msg`` to deliver (possibly with duplicate words removed) or None to drop it."""
        span = self.rules.final_span(msg)
        if span is None:
            return msg
        return self.process_final(msg, span.channel, span.channels, span.start, span.end)

    def process_final(
        self, msg: object, channel: int, channels: int, start: float, end: float
    ) -> object | None:
        """:meth:`process` for a final whose span the caller already has."""
        self._channels = max(self._channels, channels)
        tolerance = self.tolerance
        watermark = self._ends.get(channel)
        if watermark is not None and end <= watermark + tolerance and start < watermark - tolerance:
            self.dropped += 1
            return None
        if watermark is not None and start < watermark - tolerance:
            msg = self.rules.without_words_before(msg, watermark, tolerance)
        self._ends[channel] = max(end, watermark or 0.0)
        return msg


class SilenceTracker:
    """How far an API's between-turn messages show the audio to be outside every turn.

    Flux closes turns with ``EndOfTurn`` (a final) but sends nothing final during silence: only
    messages that ``rules.turn_signal`` calls IDLE (empty ``Update`` while no turn is open), whose
    heard-until time is how much audio was heard. Such a message proves no word *ended* before
    then; a word that has *started* is not reported yet, so only the audio up to ``heard - guard``
    is taken as silence. Anything else -- a turn open, words, an unknown event -- proves nothing.
    ``guard`` defaults to ``rules.silence_guard_seconds``. Feed it rebased messages; call
    :meth:`start_connection` when a new connection starts (its server has no turn open).
    """

    def __init__(self, rules: ReplayRules, guard: float | None = None) -> None:
        guard = rules.silence_guard_seconds if guard is None else guard
        if guard is None or guard < 0:
            raise ValueError(f"guard must be >= 0 (the API declares no silence evidence), got {guard!r}")
        self.rules = rules
        self.guard = guard
        self._turn_open = False
        self._silent_until = 0.0

    def start_connection(self) -> None:
        """A new connection starts: its server has no turn open (its replay re-opens one if needed)."""
        self._turn_open = False

    def observe(self, msg: object) -> float:
        """Take one rebased message into account; return the seconds of the logical stream before
        which no turn can start (never decreases)."""
        signal, heard = self.rules.turn_signal(msg)
        if signal is TurnSignal.CLOSED:
            self._turn_open = False
        elif signal is TurnSignal.OPEN:
            self._turn_open = True
        elif signal is TurnSignal.IDLE and not self._turn_open:
            self._silent_until = max(self._silent_until, heard - self.guard)
        return self._silent_until
