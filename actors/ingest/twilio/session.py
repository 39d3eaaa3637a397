"""The Twilio Media Streams session: Twilio's frames in, call-model events out (sans-I/O).

Feed every text frame to :meth:`TwilioSession.receive`; when the socket closes without a ``stop``,
call :meth:`TwilioSession.connection_lost`. Nothing here reads a clock or touches a socket.

**Events.** ``start`` gives one :class:`~actors.ingest.calls.CallStart` (``platform="twilio"``,
``call_id`` = the ``callSid``, ``platform_ids`` = ``callSid``/``streamSid``/``accountSid``, μ-law 8 kHz,
``metadata`` = ``customParameters``, ``language`` from the custom parameter named by
``TwilioSessionConfig.language_parameter``). Then :class:`~actors.ingest.calls.CallAudio`; ``dtmf`` and
``mark`` pass through as :class:`DtmfReceived` / :class:`MarkReceived` (the call model has no such events);
``stop`` ends with ``CallEnd("completed")``, a vanished client with ``CallEnd("disconnected")``, a protocol
error with ``CallEnd("error")`` (carried on the raised :class:`TwilioProtocolError`).

**Channels** (Twilio's docs). One track -> a mono stream labelled with the track. Both tracks -> a stereo
stream, channel 0 = ``inbound`` (the caller), 1 = ``outbound``. Each payload is placed on the call timeline
by its ``timestamp`` (ms x 8 = sample index), never by arrival order. Audio is released up to the point
where every track is contiguous, or else up to ``jitter_ms`` behind the newest audio seen; whatever is still
missing there -- a gap, a lost chunk, a silent track -- is filled with μ-law silence (``0xFF``), so both
channels always advance together and the buffer never holds more than ``jitter_ms`` plus one chunk. A chunk
that arrives after its time was released is dropped (counted in :attr:`TwilioSession.stats`). A timestamp
jump beyond ``max_gap_ms`` is not filled: it becomes ``CallPaused`` + ``CallResumed(discarded=gap)``, so the
call timeline stays true without buffering a long silence.

**Sequence numbers** count every message after ``connected``. A number already seen is a duplicate: the
message is dropped. A number that skips ahead (a gap) or goes back (out of order) is counted and the message
processed anyway -- media placement is by ``timestamp``, so neither corrupts the audio.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import attrs

from actors.ingest.audio import MULAW_SILENCE, interleave
from actors.ingest.calls import CallAudio, CallEnd, CallEvent, CallPaused, CallResumed, CallStart
from actors.ingest.twilio.messages import (
    CLOSE_POLICY,
    CLOSE_UNSUPPORTED,
    TRACKS,
    Connected,
    Dtmf,
    Mark,
    Media,
    Start,
    Stop,
    Track,
    TwilioMessage,
    TwilioProtocolError,
    parse_message,
)

SAMPLE_RATE = 8000
_SAMPLES_PER_MS = SAMPLE_RATE // 1000
#: How many recent sequence numbers are remembered to recognise duplicates.
_SEQUENCE_WINDOW = 1024


@attrs.frozen
class DtmfReceived:
    """The caller pressed ``digit`` (Twilio ``dtmf``) at about ``position`` s on the call timeline."""

    digit: str
    position: float
    track: str = "inbound_track"


@attrs.frozen
class MarkReceived:
    """Twilio echoed our mark ``name`` at about ``position`` s on the call timeline."""

    name: str
    position: float


TwilioEvent = CallEvent | DtmfReceived | MarkReceived


@attrs.frozen
class TwilioSessionConfig:
    """Tunables: jitter held back before filling holes, the largest gap filled, the language parameter."""

    jitter_ms: int = 40
    max_gap_ms: int = 2000
    language_parameter: str | None = "language"

    def __attrs_post_init__(self) -> None:
        if self.jitter_ms < 0 or self.max_gap_ms < 0:
            raise ValueError(
                f"jitter_ms and max_gap_ms must be >= 0, got {self.jitter_ms}, {self.max_gap_ms}"
            )


@attrs.define
class TwilioStreamStats:
    """What the session had to repair, for logs and metrics (sample counts are per channel)."""

    duplicates_dropped: int = 0
    sequence_gaps: int = 0
    out_of_order: int = 0
    silence_samples: int = 0
    late_samples: int = 0
    discarded_samples: int = 0


class _Aligner:
    """Places per-track payloads on one sample timeline and releases aligned, interleaved audio."""

    def __init__(
        self, tracks: tuple[Track, ...], jitter: int, max_gap: int, stats: TwilioStreamStats
    ) -> None:
        self.tracks = tracks
        self.jitter = jitter
        self.max_gap = max_gap
        self.stats = stats
        self.base = 0  # sample index of the first unreleased sample (= samples released + discarded)
        self.high = 0  # end of the newest audio seen on any track
        self.data = {track: bytearray() for track in tracks}
        self.filled = {track: bytearray() for track in tracks}

    @property
    def position(self) -> float:
        return self.base / SAMPLE_RATE

    def place(self, track: Track, start: int, payload: bytes) -> list[CallEvent]:
        events: list[CallEvent] = []
        if start > max(self.high, self.base) + self.max_gap:
            events.extend(self.release(self.high))
            gap = start - self.base
            events.append(CallPaused(position=self.position))
            self.base = self.high = start
            self.stats.discarded_samples += gap
            events.append(CallResumed(position=self.position, discarded=gap / SAMPLE_RATE))
        end = start + len(payload)
        if end <= self.base:
            self.stats.late_samples += len(payload)
            return events
        if start < self.base:
            self.stats.late_samples += self.base - start
            payload = payload[self.base - start :]
            start = self.base
        offset = start - self.base
        data, filled = self.data[track], self.filled[track]
        if len(data) < offset + len(payload):
            missing = offset + len(payload) - len(data)
            data.extend(bytes([MULAW_SILENCE]) * missing)
            filled.extend(bytes(missing))
        data[offset : offset + len(payload)] = payload
        filled[offset : offset + len(payload)] = b"\x01" * len(payload)
        self.high = max(self.high, end)
        contiguous = min(self._contiguous_end(t) for t in self.tracks)
        events.extend(self.release(max(contiguous, self.high - self.jitter)))
        return events

    def _contiguous_end(self, track: Track) -> int:
        hole = self.filled[track].find(0)
        return self.base + (len(self.filled[track]) if hole < 0 else hole)

    def release(self, frontier: int) -> list[CallEvent]:
        count = frontier - self.base
        if count <= 0:
            return []
        channels = []
        for track in self.tracks:
            data, filled = self.data[track], self.filled[track]
            have = min(count, len(data))
            self.stats.silence_samples += count - filled[:have].count(1)
            channels.append(bytes(data[:have]) + bytes([MULAW_SILENCE]) * (count - have))
            del data[:have], filled[:have]
        audio = CallAudio(audio=interleave(channels), position=self.position)
        self.base = frontier
        return [audio]


State = Literal["new", "streaming", "ended"]


class TwilioSession:
    """One Twilio Media Stream (one WebSocket) as a sans-I/O state machine; see the module docstring."""

    def __init__(self, config: TwilioSessionConfig | None = None) -> None:
        self.config = config or TwilioSessionConfig()
        self.stats = TwilioStreamStats()
        self.state: State = "new"
        self.start: Start | None = None
        self._connected = False
        self._last_sequence = 0
        self._seen: set[int] = set()
        self._aligner: _Aligner | None = None

    def receive(self, frame: str | bytes) -> list[TwilioEvent]:
        """Process one frame from Twilio and return the events it completes (possibly none).

        Raises :class:`TwilioProtocolError` (with ``close_code`` and the call's final ``events``) on bad
        input; the session is then ended and the driver closes the socket.
        """
        if self.state == "ended":
            raise TwilioProtocolError("message after the stream ended", CLOSE_POLICY)
        try:
            return self._receive(parse_message(frame))
        except TwilioProtocolError as error:
            error.events = tuple(self._finish("error", str(error)))
            raise

    def connection_lost(self) -> list[TwilioEvent]:
        """The socket closed without ``stop``: release buffered audio and end with ``"disconnected"``.

        Returns nothing if no call had started or it already ended.
        """
        return list(self._finish("disconnected", None))

    def _finish(
        self, reason: Literal["completed", "disconnected", "error"], detail: str | None
    ) -> list[CallEvent]:
        aligner = self._aligner
        was_streaming = self.state == "streaming"
        self.state = "ended"
        if not was_streaming or aligner is None:
            return []
        events = aligner.release(aligner.high)
        events.append(CallEnd(reason=reason, position=aligner.position, detail=detail))
        return events

    def _receive(self, message: TwilioMessage) -> list[TwilioEvent]:
        if isinstance(message, Connected):
            if self._connected or self.state != "new":
                raise TwilioProtocolError("connected must be the first message, and come once", CLOSE_POLICY)
            self._connected = True
            return []
        if isinstance(message, Start):
            if self.state != "new":
                raise TwilioProtocolError("a second start message on one stream", CLOSE_POLICY)
            return [self._begin(message)]
        if self.start is None:
            raise TwilioProtocolError(f"{_event_name(message)} before start", CLOSE_POLICY)
        if message.stream_sid != self.start.stream_sid:
            raise TwilioProtocolError(
                f"{_event_name(message)}.streamSid {message.stream_sid!r} is not this stream's "
                f"{self.start.stream_sid!r}",
                CLOSE_POLICY,
            )
        if not self._accept_sequence(message.sequence_number):
            return []
        aligner = self._aligner
        assert aligner is not None
        if isinstance(message, Media):
            if message.track not in aligner.tracks:
                raise TwilioProtocolError(
                    f"media.media.track {message.track!r} is not in start.tracks {list(self.start.tracks)}",
                    CLOSE_POLICY,
                )
            return list(aligner.place(message.track, message.timestamp * _SAMPLES_PER_MS, message.payload))
        if isinstance(message, Dtmf):
            return [
                DtmfReceived(digit=message.digit, position=aligner.high / SAMPLE_RATE, track=message.track)
            ]
        if isinstance(message, Mark):
            return [MarkReceived(name=message.name, position=aligner.high / SAMPLE_RATE)]
        if message.call_sid != self.start.call_sid:
            raise TwilioProtocolError(
                f"stop.stop.callSid {message.call_sid!r} is not this stream's {self.start.call_sid!r}",
                CLOSE_POLICY,
            )
        return list(self._finish("completed", None))

    def _begin(self, start: Start) -> CallStart:
        fmt = start.media_format
        if (fmt.encoding, fmt.sample_rate, fmt.channels) != ("audio/x-mulaw", SAMPLE_RATE, 1):
            raise TwilioProtocolError(
                f"start.start.mediaFormat {fmt.encoding}/{fmt.sample_rate}/{fmt.channels} channel(s) is not "
                "supported (expected audio/x-mulaw/8000/1)",
                CLOSE_UNSUPPORTED,
            )
        tracks = tuple(track for track in TRACKS if track in start.tracks)
        self.start = start
        self.state = "streaming"
        self._accept_sequence(start.sequence_number)
        self._aligner = _Aligner(
            tracks,
            jitter=self.config.jitter_ms * _SAMPLES_PER_MS,
            max_gap=self.config.max_gap_ms * _SAMPLES_PER_MS,
            stats=self.stats,
        )
        params: Mapping[str, str] = start.custom_parameters
        language = params.get(self.config.language_parameter) if self.config.language_parameter else None
        return CallStart(
            platform="twilio",
            call_id=start.call_sid,
            encoding="mulaw",
            sample_rate=SAMPLE_RATE,
            channels=tracks,
            platform_ids={
                "callSid": start.call_sid,
                "streamSid": start.stream_sid,
                "accountSid": start.account_sid,
            },
            language=language or None,
            metadata=params,
        )

    def _accept_sequence(self, number: int) -> bool:
        """Record ``number``; False if it is a duplicate (the message must be dropped)."""
        if number in self._seen or number <= self._last_sequence - _SEQUENCE_WINDOW:
            self.stats.duplicates_dropped += 1
            return False
        if self._last_sequence and number > self._last_sequence + 1:
            self.stats.sequence_gaps += 1
        elif number < self._last_sequence:
            self.stats.out_of_order += 1
        self._seen.add(number)
        if number > self._last_sequence:
            self._last_sequence = number
            if len(self._seen) > 2 * _SEQUENCE_WINDOW:
                floor = number - _SEQUENCE_WINDOW
                self._seen = {n for n in self._seen if n > floor}
        return True


def _event_name(message: Dtmf | Mark | Media | Stop) -> str:
    return type(message).__name__.lower()


__all__ = [
    "DtmfReceived",
    "MarkReceived",
    "TwilioEvent",
    "TwilioSession",
    "TwilioSessionConfig",
    "TwilioStreamStats",
]
