"""The pure timeline of one supervised stream: its audio, its control messages, and the stitching
of its connections' messages into one logical stream.

:class:`StreamTimeline` holds, for one logical stream:

* the audio position (bytes of audio sent on the stream) and the audio a new connection must get:
  the replay buffer (audio not yet covered by finals, plus the container header) when the stream
  has a timeline, else the backlog queued while no connection was open;
* the control messages recorded at their audio positions (:class:`~actors.runtime.controls.ControlLog`);
* the message side: rebase each connection's timestamps onto the stream's timeline, drop
  duplicate finals, and acknowledge the audio that finals (or the API's silence evidence) cover,
  which trims the replay buffer and the control log.

What a message means is the API's :class:`~actors.protocol.replay_rules.ReplayRules`
(``ApiSpec.replay``). No sockets, no clock, no locks: the owning stream serialises calls.
"""

from __future__ import annotations

import logging

import attrs

from actors.errors import OptionsError
from actors.protocol.replay_rules import ReplayRules
from actors.runtime.controls import ControlEntry, ControlLog
from actors.runtime.replay import (
    AudioFormat,
    FinalDeduplicator,
    ReplayBuffer,
    SilenceTracker,
    TimelineRebaser,
)

log = logging.getLogger("actors.runtime.timeline")

#: What :meth:`StreamTimeline.append` returns when the audio went to the backlog (no replay buffer).
NO_POSITION = -1


@attrs.frozen
class ReplayStart:
    """What a new connection gets first, in order: ``header``, then either the replay buffer's audio
    from ``start`` (a stream with a timeline) or ``backlog`` (one without), each control message of
    ``controls`` after the audio up to its position."""

    header: bytes
    start: int
    start_seconds: float
    replay_seconds: float
    backlog: bytes
    controls: list[ControlEntry]


class StreamTimeline:
    """Audio positions, replay buffer, control log and message stitching of one logical stream.

    ``rules`` is the API's replay rules (None: the API is never replayed and its messages pass
    untouched). ``fmt`` is the audio format the options declare (None: sniffed from a WAV header
    when ``timeline`` is on). ``timeline`` turns on the replay buffer and rebasing; ``lossless``
    keeps the uncovered audio for a replay (else sent audio is forgotten). ``lossless_required``:
    audio that turns out not to be replayable raises instead of turning lossless off.
    """

    def __init__(
        self,
        rules: ReplayRules | None,
        fmt: AudioFormat | None,
        *,
        timeline: bool,
        lossless: bool,
        lossless_required: bool = True,
        replay_max_seconds: float = 60.0,
        stream_id: str = "",
    ) -> None:
        self.rules = rules
        self.lossless = lossless
        self.stream_id = stream_id
        self._lossless_required = lossless_required
        #: The replay buffer (streams with a timeline), else None.
        self.buffer: ReplayBuffer | None = (
            ReplayBuffer(fmt, max_seconds=replay_max_seconds) if timeline and rules is not None else None
        )
        #: Streams without a timeline: audio waiting for a connection.
        self.backlog: list[bytes] = []
        self._audio_bytes = 0  # without a replay buffer (the buffer counts its own)
        self.controls = ControlLog()
        self.final_count = 0
        active = rules if self.buffer is not None else None
        self._rebaser = TimelineRebaser(active) if active is not None else None
        self._dedup = FinalDeduplicator(active) if active is not None else None
        self._silence = (
            SilenceTracker(active)
            if active is not None and active.silence_guard_seconds is not None
            else None
        )

    @property
    def audio_bytes(self) -> int:
        """Bytes of audio sent on the stream so far (container header included)."""
        buffer = self.buffer
        return buffer.total_bytes if buffer is not None else self._audio_bytes

    @property
    def live_buffer(self) -> ReplayBuffer | None:
        """The replay buffer once its format is known (appends to it cannot fail), else None."""
        buffer = self.buffer
        return buffer if buffer is not None and buffer.format is not None else None

    @property
    def rebases(self) -> bool:
        """Whether messages are rebased and de-duplicated (the stream has a timeline)."""
        return self.buffer is not None

    # -- audio ------------------------------------------------------------------------------

    def append(self, data: bytes) -> int:
        """Take one chunk of audio sent on the stream; return the new audio end position, or
        :data:`NO_POSITION` when it went to the backlog.

        Raises :class:`OptionsError` when the stream's first bytes are not a replayable WAV header
        and lossless was asked for; when lossless was only a default, it is turned off instead.
        """
        buffer = self.buffer
        if buffer is None:
            self._audio_bytes += len(data)
            self.backlog.append(data)
            return NO_POSITION
        try:
            return buffer.append(data)
        except OptionsError:
            if self._lossless_required:
                raise
            # lossless was only a default and the audio is not WAV: carry on without replay
            log.info("stream %s: audio is not replayable; lossless reconnect is off", self.stream_id)
            self.lossless = False
            self._audio_bytes = buffer.total_bytes
            self.backlog.append(buffer.replay_header)
            self.buffer = None
            self._rebaser = self._dedup = self._silence = None
            return NO_POSITION

    def sent_live(self, end: int) -> None:
        """Audio up to ``end`` (from :meth:`append`) went straight to the current connection."""
        if end == NO_POSITION:
            self.backlog.clear()
        elif not self.lossless and self.buffer is not None:
            self.buffer.discard_all()

    def forget_sent(self, position: int) -> None:
        """Audio before ``position`` was sent and, without lossless replay, is never needed again."""
        if not self.lossless and self.buffer is not None:
            self.buffer.ack_position(position)

    def position(self) -> int:
        """The stream's audio position now (replay-buffer bytes, or all audio bytes without one)."""
        return self.buffer.end if self.buffer is not None else self.audio_bytes

    def has_uncovered_audio(self) -> bool:
        """Whether some sent audio is not yet covered by a final result (or still backlogged)."""
        if self.buffer is None:
            return bool(self.backlog)
        return self.buffer.buffered_bytes > 0

    def start_connection(self) -> ReplayStart:
        """A new connection starts: what it must get first. Its messages are rebased from now on."""
        buffer = self.buffer
        if buffer is None:
            backlog = b"".join(self.backlog)
            self.backlog.clear()
            start = self.audio_bytes - len(backlog)
            return ReplayStart(b"", start, 0.0, 0.0, backlog, self.controls.plan(start))
        start, start_seconds = buffer.start, buffer.start_seconds
        if self._rebaser is not None:
            self._rebaser.start_connection(start_seconds)
        if self._silence is not None:
            self._silence.start_connection()
        fmt = buffer.format
        replayed = fmt.seconds(buffer.buffered_bytes) if fmt is not None and self.lossless else 0.0
        return ReplayStart(
            buffer.replay_header, start, start_seconds, replayed, b"", self.controls.plan(start)
        )

    # -- control messages ---------------------------------------------------------------------

    def record_control(self, frame: str, tag: str | None) -> ControlEntry:
        """Remember a control message sent (or to send) after the audio up to now."""
        return self.controls.record(self.position(), frame, tag)

    def control_sent(self, entry: ControlEntry) -> None:
        """``entry`` went out on a connection; without replay only sticky messages are kept."""
        if not self.lossless and not entry.sticky:
            self.controls.forget(entry)

    # -- messages ------------------------------------------------------------------------------

    def process(self, msg: object, *, first_connection: bool, finishing: bool) -> tuple[object, bool] | None:
        """One message of the current connection: ``(message to deliver, is it a final)``, or None
        to drop it (a later connection's greeting, a summary of a connection that is not the
        finishing one, a duplicate final)."""
        rules = self.rules
        if rules is None:
            return msg, False
        if not first_connection and rules.is_greeting(msg):
            return None
        if not finishing and rules.is_summary(msg):
            return None
        rebaser, dedup = self._rebaser, self._dedup
        if rebaser is not None and dedup is not None:
            msg = rebaser.rebase(msg)
            # Seen before de-duplication: a replayed turn's dropped EndOfTurn still closes it.
            silent = self._silence.observe(msg) if self._silence is not None else 0.0
            span = rules.final_span(msg)
            kept: object | None = msg
            if span is not None:
                kept = dedup.process_final(msg, span.channel, span.channels, span.start, span.end)
            buffer = self.buffer
            if (span is not None or silent > 0.0) and buffer is not None and self.lossless:
                buffer.ack(max(dedup.covered_until(), silent))
                self.controls.ack(buffer.start)
            if kept is None:
                return None
            final = span is not None
        else:
            kept, final = msg, rules.final_span(msg) is not None
        if final:
            self.final_count += 1
        return kept, final

    # -- metrics ---------------------------------------------------------------------------------

    @property
    def audio_seconds(self) -> float:
        """Seconds of audio sent on the stream (0 when its format is unknown)."""
        buffer = self.buffer
        fmt = buffer.format if buffer is not None else None
        return fmt.seconds(self.audio_bytes - len(buffer.header)) if buffer is not None and fmt else 0.0

    @property
    def buffered_seconds(self) -> float:
        """Seconds of audio held for a replay now."""
        return self.buffer.buffered_seconds if self.buffer is not None else 0.0

    @property
    def dropped_seconds(self) -> float:
        """Seconds of audio the replay buffer dropped because it was full."""
        return self.buffer.dropped_seconds if self.buffer is not None else 0.0

    @property
    def duplicates_dropped(self) -> int:
        """Finals dropped because an earlier connection had delivered them."""
        return self._dedup.dropped if self._dedup is not None else 0


__all__ = ["NO_POSITION", "ReplayStart", "StreamTimeline"]
