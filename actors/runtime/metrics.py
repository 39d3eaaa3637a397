"""Per-stream metrics: latency to the first result, finalize latency, audio lag and volumes.

:class:`MetricsRecorder` is written without locks of its own: the send-side fields are written
only while the connection's socket write lock is held (by whichever thread writes: the actor,
the caller of ``send_audio`` or the audio flusher), the receive-side fields only by the reader
thread, so each field has one writer at a time. :meth:`MetricsRecorder.snapshot` gives an
immutable :class:`MetricsSnapshot`.
"""

from __future__ import annotations

import time

import attrs

from actors._lean_attrs import LeanFrozen


@attrs.frozen(repr=False, eq=False)
class MetricsSnapshot(LeanFrozen):
    """Metrics of one stream at one moment. Times are seconds; None = not happened (yet).

    * ``time_to_first_result`` -- from the first data frame sent to the first result received
      (Listen ``Results``, Flux ``TurnInfo``, the first audio for Speak/Agent).
    * ``finalize_latency`` -- from the finish request to the ``from_finalize`` result (finish
      mode ``finalize``) or to the server's close (mode ``close``).
    * ``audio_lag`` / ``max_audio_lag`` -- how long the last / slowest batch of audio waited
      between ``send_audio`` and the socket write.
    * ``bytes_sent`` / ``audio_seconds_sent`` -- audio written to the socket (seconds need a known
      byte rate, else None); ``bytes_dropped`` -- audio discarded by ``drop_oldest``.
    * ``reconnects`` / ``seconds_replayed`` -- filled in by the supervisor for supervised streams.
    * ``results_audio_end`` -- the latest audio time a result reached (Listen ``Results``
      ``start + duration``, Flux ``TurnInfo`` ``audio_window_end``; interim results count);
      ``audio_seconds_owed`` -- audio sent but not yet covered by a result
      (``audio_seconds_sent - results_audio_end``, at least 0; None without a known byte rate).
    """

    bytes_sent: int = 0
    audio_seconds_sent: float | None = None
    frames_sent: int = 0
    control_messages_sent: int = 0
    keepalives_sent: int = 0
    bytes_dropped: int = 0
    messages_received: int = 0
    audio_bytes_received: int = 0
    time_to_first_result: float | None = None
    finalize_latency: float | None = None
    audio_lag: float | None = None
    max_audio_lag: float | None = None
    events_dropped: int = 0
    subscriber_errors: int = 0
    reconnects: int = 0
    seconds_replayed: float = 0.0
    connected_seconds: float | None = None
    results_audio_end: float = 0.0
    audio_seconds_owed: float | None = None


def result_audio_end(message: object) -> float | None:
    """The audio time (seconds from the connection's start) up to which ``message`` reports results.

    Listen V1 ``Results``: ``start + duration``; Flux ``TurnInfo``: ``audio_window_end``; None for
    anything else (duck-typed, so this module needs no protocol import).
    """
    end = getattr(message, "audio_window_end", None)
    if isinstance(end, (int, float)):
        return float(end)
    start, duration = getattr(message, "start", None), getattr(message, "duration", None)
    if isinstance(start, (int, float)) and isinstance(duration, (int, float)):
        return float(start) + float(duration)
    return None


class MetricsRecorder:
    """Mutable counters of one connection; see :class:`MetricsSnapshot` for the meanings."""

    def __init__(self, bytes_per_second: float | None) -> None:
        self.bytes_per_second = bytes_per_second
        # Send side (actor thread).
        self.bytes_sent = 0
        self.frames_sent = 0
        self.control_messages_sent = 0
        self.keepalives_sent = 0
        self.bytes_dropped = 0
        self.first_send_at: float | None = None
        self.finish_requested_at: float | None = None
        self.audio_lag: float | None = None
        self.max_audio_lag: float | None = None
        self.opened_at: float | None = None
        self.closed_at: float | None = None
        # Receive side (the connection's actor).
        self.messages_received = 0
        self.audio_bytes_received = 0
        self.first_result_at: float | None = None
        self.results_audio_end = 0.0
        self.finalized_at: float | None = None
        self.events_dropped = 0
        self.subscriber_errors = 0
        # Supervisor side.
        self.reconnects = 0
        self.seconds_replayed = 0.0

    def record_batch_sent(
        self, audio_bytes: int, audio_frames: int, control_frames: int, queued_at: float, now: float
    ) -> None:
        """Account one write of several frames; its oldest audio was queued at ``queued_at``."""
        self.bytes_sent += audio_bytes
        self.frames_sent += audio_frames + control_frames
        self.control_messages_sent += control_frames
        if self.first_send_at is None:
            self.first_send_at = now
        if audio_frames:
            lag = now - queued_at if now > queued_at else 0.0
            self.audio_lag = lag
            if self.max_audio_lag is None or lag > self.max_audio_lag:
                self.max_audio_lag = lag

    def record_audio_sent(self, audio_bytes: int, now: float) -> None:
        """Account one audio frame written at once (queued and written at ``now``: no lag)."""
        self.bytes_sent += audio_bytes
        self.frames_sent += 1
        if self.first_send_at is None:
            self.first_send_at = now
        if self.max_audio_lag is None:
            self.max_audio_lag = 0.0
        self.audio_lag = 0.0

    def record_control_sent(self, now: float) -> None:
        """Account one control frame (not a keepalive) written at ``now``."""
        self.control_messages_sent += 1
        self.frames_sent += 1
        if self.first_send_at is None:
            self.first_send_at = now

    def record_result(self, now: float, from_finalize: bool, audio_end: float | None = None) -> None:
        """Account a result message (or first audio) received at ``now``, reaching ``audio_end`` s."""
        if audio_end is not None and audio_end > self.results_audio_end:
            self.results_audio_end = audio_end
        if self.first_result_at is None:
            self.first_result_at = now
        if from_finalize and self.finalized_at is None:
            self.finalized_at = now

    def audio_seconds_owed(self) -> float | None:
        """Seconds of audio sent but not yet covered by a result (None without a known byte rate).

        Read from any thread: both inputs are single numbers, each with one writer.
        """
        if not self.bytes_per_second:
            return None
        return max(0.0, self.bytes_sent / self.bytes_per_second - self.results_audio_end)

    def progress_mark(self) -> tuple[int, int]:
        """Changes whenever the server sent something (a message or audio): for progress checks."""
        return self.messages_received, self.audio_bytes_received

    def snapshot(self) -> MetricsSnapshot:
        """An immutable copy of the current values."""
        ttfr = None
        if self.first_result_at is not None and self.first_send_at is not None:
            ttfr = max(0.0, self.first_result_at - self.first_send_at)
        finalize = None
        if self.finish_requested_at is not None:
            end = self.finalized_at or self.closed_at
            if end is not None:
                finalize = max(0.0, end - self.finish_requested_at)
        seconds = self.bytes_sent / self.bytes_per_second if self.bytes_per_second else None
        connected = None
        if self.opened_at is not None:
            connected = (self.closed_at or time.monotonic()) - self.opened_at
        return MetricsSnapshot(
            bytes_sent=self.bytes_sent,
            audio_seconds_sent=seconds,
            frames_sent=self.frames_sent,
            control_messages_sent=self.control_messages_sent,
            keepalives_sent=self.keepalives_sent,
            bytes_dropped=self.bytes_dropped,
            messages_received=self.messages_received,
            audio_bytes_received=self.audio_bytes_received,
            time_to_first_result=ttfr,
            finalize_latency=finalize,
            audio_lag=self.audio_lag,
            max_audio_lag=self.max_audio_lag,
            events_dropped=self.events_dropped,
            subscriber_errors=self.subscriber_errors,
            reconnects=self.reconnects,
            seconds_replayed=self.seconds_replayed,
            connected_seconds=connected,
            results_audio_end=self.results_audio_end,
            audio_seconds_owed=self.audio_seconds_owed(),
        )


__all__ = ["MetricsRecorder", "MetricsSnapshot", "result_audio_end"]
