"""`SupervisedStream`: one logical stream across its connections (the state behind a `StreamHandle`).

A logical stream outlives its connections: the supervisor opens a new connection after a
failure, and the stream stitches them into one. Its jobs, each delegated where it can be:

* the audio hot path: :meth:`SupervisedStream.send_audio` appends to the timeline's replay buffer
  and writes straight to the current connection under the stream lock -- no supervisor hop;
* what a new connection gets first (header, replay, due control messages, pacing):
  :class:`~actors.runtime.replay_scheduler.ReplayScheduler`;
* rebasing, de-duplication and acknowledgements of each connection's messages:
  :class:`~actors.runtime.timeline.StreamTimeline` (pure);
* the connection lifecycle: :class:`~actors.runtime.stream_port.StreamPort`, the typed seam the
  supervisor drives it through; connection ends are reported with :class:`StreamOwner` calls;
* :meth:`SupervisedStream.finish`: the graceful finish from the caller's thread, across reconnects.

Subscribers see one continuous stream: ``Opened`` once, protocol messages with rebased
timestamps, ``Reconnecting``/``Reconnected`` between connections, and exactly one ``Closed`` last,
preceded by ``ConnectionFailed(StreamFailed)`` when the stream gave up.

Every method is thread-safe (one re-entrant lock per stream: subscribers run under it and may call
back into the stream).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING

from actors.errors import ActorsError, FinishTimeout, OptionsError, StreamFailed
from actors.protocol.base import Message, UnknownMessage
from actors.runtime import events
from actors.runtime.controls import DROPPED_WHILE_DISCONNECTED, FINISH_TYPES, STICKY_TYPES
from actors.runtime.policy import RestartPolicy
from actors.runtime.replay import AudioFormat
from actors.runtime.replay_scheduler import ReplayScheduler
from actors.runtime.stream_port import ConnectionAttempt, StreamOwner
from actors.runtime.stream_result import (
    KeepFinals,
    StreamMetrics,
    StreamResult,
    StreamState,
    check_keep_finals,
)
from actors.runtime.subscribers import SubscriberSet
from actors.runtime.timeline import StreamTimeline

if TYPE_CHECKING:
    from actors.runtime.config import ConnectionConfig
    from actors.runtime.connection import Connection

log = logging.getLogger("actors.runtime.stream")
_CLOSED = StreamState.CLOSED


def audio_format_for(config: ConnectionConfig, lossless: bool) -> AudioFormat | None:
    """The fixed-size audio format a stream's options declare, None for containers (WAV is sniffed).

    Raises :class:`OptionsError` when ``lossless`` is asked for an API without replay rules
    (``ApiSpec.replay``) or an encoding that cannot be replayed exactly.
    """
    rules = config.api.replay
    if rules is None:
        if lossless:
            raise OptionsError(
                "lossless", f"lossless reconnect is for Listen V1 and Flux, not {config.api.name}", True
            )
        return None
    declared = rules.declared_audio(config.options)
    if declared is None or declared.encoding is None:
        return None
    try:
        return AudioFormat.from_encoding(declared.encoding, declared.sample_rate, declared.channels)
    except OptionsError:
        if lossless:
            raise
        return None


def lossless_possible(config: ConnectionConfig) -> bool:
    """Whether a stream of ``config`` can be replayed losslessly (the default for ``lossless=None``)."""
    if config.api.replay is None:
        return False
    try:
        audio_format_for(config, lossless=True)
    except OptionsError:
        return False
    return True


def _tag_of(message: object) -> str | None:
    tag = message.type if isinstance(message, Message | UnknownMessage) else None
    return tag if isinstance(tag, str) else None


class SupervisedStream:
    """The state and behaviour of one logical stream run by a supervisor (see the module docstring).

    Implements :class:`~actors.runtime.stream_port.StreamPort` for the supervisor; the caller
    holds it through a :class:`~actors.runtime.stream.StreamHandle`.
    """

    def __init__(
        self,
        stream_id: str,
        config: ConnectionConfig,
        subscribers: Sequence[object],
        restart: RestartPolicy,
        lossless: bool,
        owner: StreamOwner,
        replay_max_seconds: float = 60.0,
        lossless_required: bool = True,
        replay_speed: float | None = None,
        keep_finals: KeepFinals = False,
    ) -> None:
        self._stream_id = stream_id
        self.keep_finals = check_keep_finals(keep_finals)
        self._config = config
        self._restart = restart
        self.replay_speed = replay_speed
        self._owner = owner
        self._rules = config.api.replay
        fmt = audio_format_for(config, lossless and lossless_required)
        self._timeline = StreamTimeline(
            self._rules,
            fmt,
            # With a timeline (fixed-size audio, or WAV sniffed for lossless) timestamps are rebased.
            timeline=lossless or fmt is not None,
            lossless=lossless,
            lossless_required=lossless_required,
            replay_max_seconds=replay_max_seconds,
            stream_id=stream_id,
        )
        self._scheduler = ReplayScheduler(self._timeline, replay_speed, stream_id)
        self._catching_up = False  # a paced replay is behind: live audio waits in the buffer
        # The hot path's view of the timeline: its buffer once appends cannot fail, and whether
        # audio sent live is forgotten at once (no lossless replay; fixed for that buffer's life).
        self._live_buffer = self._timeline.live_buffer
        self._forget_live = not lossless
        self._subscribers = SubscriberSet(subscribers, config.queue_put_timeout)
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._state = StreamState.QUEUED
        self._conn: Connection | None = None
        self._attempt: ConnectionAttempt | None = None
        self._finish_sent_on: ConnectionAttempt | None = None
        self._generation = 0
        self._connections = 0
        self._reconnects = 0
        self._reconnect_attempt = 0
        self._replayed_seconds = 0.0
        self._finals: deque[object] = deque(maxlen=None if keep_finals is True else int(keep_finals))
        self._request_ids: list[str] = []
        self._finishing = False
        self._stopping = False
        self._error: ActorsError | None = None
        self._close: tuple[int, str] | None = None

    # -- what the caller's handle shows ------------------------------------------------------

    @property
    def stream_id(self) -> str:
        """The stream's id."""
        return self._stream_id

    @property
    def config(self) -> ConnectionConfig:
        """The configuration every connection of the stream is opened with."""
        return self._config

    @property
    def restart(self) -> RestartPolicy:
        """The stream's restart policy."""
        return self._restart

    @property
    def lossless(self) -> bool:
        """Whether uncovered audio is replayed (turned off when the audio proved not replayable)."""
        return self._timeline.lossless

    @property
    def state(self) -> StreamState:
        """The stream's current state."""
        return self._state

    @property
    def done(self) -> bool:
        """True once the stream has ended (finished, stopped or failed)."""
        return self._state is StreamState.CLOSED

    @property
    def error(self) -> ActorsError | None:
        """Why the stream failed, or None."""
        return self._error

    @property
    def request_ids(self) -> tuple[str, ...]:
        """The ``dg-request-id`` of every connection of this stream, in order."""
        with self._lock:
            return tuple(self._request_ids)

    @property
    def metrics(self) -> StreamMetrics:
        """A snapshot of the stream's counters."""
        with self._lock:
            timeline = self._timeline
            return StreamMetrics(
                stream_id=self._stream_id,
                state=self._state.value,
                connections=self._connections,
                reconnects=self._reconnects,
                replayed_seconds=round(self._replayed_seconds, 6),
                replay_dropped_seconds=timeline.dropped_seconds,
                audio_seconds=timeline.audio_seconds,
                finals=timeline.final_count,
                duplicate_finals_dropped=timeline.duplicates_dropped,
                request_ids=tuple(self._request_ids),
                replay_buffered_seconds=round(timeline.buffered_seconds, 6),
                connection=self._conn.metrics if self._conn is not None else None,
            )

    @property
    def wire_bytes_sent(self) -> int:
        """Audio bytes the current connection has written to its socket (0 while none is open)."""
        conn = self._conn  # one read, no lock: a counter for frequent polling
        return conn.metrics_recorder.bytes_sent if conn is not None else 0

    def result(self) -> StreamResult:
        """The stream's result so far (final once :attr:`done`)."""
        with self._lock:
            code, reason = self._close if self._close else (None, "")
            return StreamResult(
                stream_id=self._stream_id,
                finals=tuple(self._finals),
                request_ids=tuple(self._request_ids),
                metrics=self.metrics,
                error=self._error,
                close_code=code,
                close_reason=reason,
                keep_finals=self.keep_finals,
            )

    # -- the caller's operations ------------------------------------------------------------------

    def subscribe(self, subscriber: object) -> None:
        """Add a subscriber; it gets events from now on."""
        self._subscribers.add(subscriber)

    def send_audio(self, data: bytes | bytearray | memoryview) -> None:
        """Send audio (see :meth:`actors.runtime.stream.StreamHandle.send_audio`)."""
        # The hot path (one call per 20 ms chunk per stream, 50,000/s for 1,000 streams): one
        # lock, one copy into the replay buffer, one put into the connection's send buffer.
        if type(data) is not bytes:
            if not isinstance(data, bytearray | memoryview):
                raise TypeError(f"send_audio needs bytes, got {type(data).__name__}")
            data = bytes(data)
        if not data:
            return  # an empty frame would end a Listen stream: use finish()
        with self._lock:
            if self._finishing or self._state is _CLOSED:
                self._check_can_send("send_audio")
            buffer = self._live_buffer
            if buffer is not None:
                buffer.append(data)  # cannot fail: the format is known
                conn = self._conn
                if conn is None or self._catching_up:
                    return  # kept for the next connection, or the scheduler sends it after the replay
                try:
                    conn.send_audio(data)
                except Exception as exc:  # the connection is dying: its Closed event drives the restart
                    log.debug("stream %s: send on a dying connection: %r", self._stream_id, exc)
                    return
                if self._forget_live:
                    buffer.discard_all()  # sent and never replayed
                return
            self._send_audio_slow(data)

    def _send_audio_slow(self, data: bytes) -> None:
        """:meth:`send_audio` while the format is unknown (WAV header) or without a buffer (lock held)."""
        timeline = self._timeline
        end = timeline.append(data)
        self._live_buffer = timeline.live_buffer
        conn = self._conn
        if conn is None or self._catching_up:
            return
        try:
            conn.send_audio(data)
        except Exception as exc:  # the connection is dying: its Closed event drives the restart
            log.debug("stream %s: send on a dying connection: %r", self._stream_id, exc)
            return
        timeline.sent_live(end)

    def send(self, message: Message | UnknownMessage) -> None:
        """Send a control message in order with the audio (see ``StreamHandle.send``)."""
        tag = _tag_of(message)
        if tag in FINISH_TYPES:
            raise OptionsError(
                "send", f"{tag} ends the connection; call finish() to end a supervised stream", tag
            )
        frame = self._config.api.client_codec.encode(message)
        with self._lock:
            self._check_can_send("send")
            conn = self._conn
            scheduler = self._scheduler
            if tag in DROPPED_WHILE_DISCONNECTED:
                if conn is not None:  # no order to keep: it only resets the server's idle timer
                    scheduler.send_control(conn, frame)
                return
            catching_up = self._catching_up
            sent = conn is not None and not catching_up and scheduler.send_control(conn, frame)
            if sent and not self.lossless and tag not in STICKY_TYPES:
                return  # nothing will be replayed, so nothing to remember
            entry = self._timeline.record_control(frame, tag)
            if catching_up and conn is not None:
                scheduler.outbox.append(entry)

    def wait_open(self, timeout: float | None = None) -> bool:
        """Block until the stream has had a connection; False on timeout; raises its error if it failed."""
        with self._changed:
            ok = self._changed.wait_for(lambda: self._connections > 0 or self.done, timeout)
            if self.done and self._error is not None:
                raise self._error
            return bool(ok) and self._connections > 0

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Block until the stream has ended; False on timeout."""
        with self._changed:
            return bool(self._changed.wait_for(lambda: self.done, timeout))

    def finish(self, timeout: float = 10.0) -> StreamResult:
        """Finish gracefully across reconnects and return the result (see ``StreamHandle.finish``)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            if not self._finishing and not self.done:
                self._finishing = True
                if (
                    self._state is StreamState.QUEUED
                    and self._timeline.audio_bytes == 0
                    and self._connections == 0
                ):
                    self._owner.report_stop(self._stream_id, "finished before any audio was sent", None)
        while not self.done and time.monotonic() < deadline:
            with self._changed:
                # A paced replay must have caught up: the finish frames go after all the audio.
                self._changed.wait_for(
                    lambda: self.done or (not self._catching_up and self._finish_due()),
                    max(0.0, deadline - time.monotonic()),
                )
                conn, attempt = self._conn, self._attempt
                if self.done or self._catching_up or conn is None or attempt is None:
                    continue
                if attempt is self._finish_sent_on:
                    continue
                self._finish_sent_on = attempt
            try:
                conn.finish(timeout=max(0.1, deadline - time.monotonic()))
            except Exception as exc:  # also reported through the connection's own events
                log.debug("stream %s: finish on connection %d: %r", self._stream_id, attempt.generation, exc)
        if not self.done:
            self._owner.report_stop(
                self._stream_id,
                "finish timed out",
                FinishTimeout(f"stream {self._stream_id}: finish did not complete within {timeout:g} s"),
            )
            self.wait_closed(timeout=5.0)
        return self.result()

    def _finish_due(self) -> bool:
        return self._attempt is not None and self._attempt is not self._finish_sent_on

    def _check_can_send(self, what: str) -> None:
        if self.done:
            if self._error is not None:
                raise StreamFailed(
                    self._stream_id, self._error, f"{what} after the stream ended: {self._error}"
                )
            raise OptionsError(what, f"stream {self._stream_id} is closed")
        if self._finishing:
            raise OptionsError(what, f"stream {self._stream_id} is finishing; nothing more can be sent")

    # -- the supervisor's port (StreamPort) -----------------------------------------------------

    @property
    def finishing(self) -> bool:
        """True once the caller asked the stream to finish."""
        return self._finishing

    @property
    def generation(self) -> int:
        """The number of the stream's latest connection attempt."""
        return self._generation

    @property
    def ends_only_on_finish(self) -> bool:
        """Whether a normal close the client did not ask for is an early end (APIs with replay rules)."""
        return self._rules is not None

    def new_attempt(self) -> ConnectionAttempt:
        """Start the next connection attempt."""
        with self._lock:
            self._generation += 1
            self._state = StreamState.CONNECTING
            return ConnectionAttempt(self._generation, self._on_connection_event, self._stream_id)

    def attach(self, conn: Connection, attempt: ConnectionAttempt) -> bool:
        """Install a freshly opened connection: replay header and uncovered audio into it.

        Runs on a connector thread. Returns False (installing nothing) when the stream was
        stopped meanwhile or the connection already ended; the caller then closes it.
        """
        with self._lock:
            if attempt.ended or self._stopping or self.done or attempt.generation != self._generation:
                return False
            request_id = conn.request_id
            if request_id:
                self._request_ids.append(request_id)
            self._conn, self._attempt = conn, attempt
            replayed = self._start_replay(conn, attempt)
            self._connections += 1
            if self._connections > 1:
                self._reconnects += 1
                self._replayed_seconds += replayed
            recorder = conn.metrics_recorder  # the connection's own metrics carry the stream's totals
            recorder.reconnects = self._reconnects
            recorder.seconds_replayed = round(self._replayed_seconds, 6)
            self._state = StreamState.OPEN
            if self._connections == 1:
                self._emit(
                    events.Opened(
                        request_id=request_id, url_path=self._config.api.path, stream_id=self._stream_id
                    )
                )
            else:
                self._emit(
                    events.Reconnected(
                        stream_id=self._stream_id,
                        attempt=self._reconnect_attempt,
                        request_id=request_id,
                        replayed_seconds=round(replayed, 6),
                    )
                )
            attempt.attached = True
            for early in attempt.early:
                self._process_message(early)
            attempt.early.clear()
            self._changed.notify_all()
            return True

    def finish_requested_on(self, generation: int) -> bool:
        """Whether finish() was sent on connection attempt ``generation``."""
        with self._lock:
            sent_on = self._finish_sent_on
            return sent_on is not None and sent_on.generation == generation

    def has_uncovered_audio(self) -> bool:
        """Whether some sent audio is not yet covered by a final result."""
        with self._lock:
            return self._timeline.has_uncovered_audio()

    def set_reconnecting(self, attempt: int, delay: float, cause: BaseException | None) -> None:
        """Between connections: emit ``Reconnecting`` for reconnect ``attempt`` after ``delay`` s."""
        with self._lock:
            self._state = StreamState.RECONNECTING
            self._reconnect_attempt = attempt
            self._emit(
                events.Reconnecting(stream_id=self._stream_id, attempt=attempt, delay=delay, cause=cause)
            )
            self._changed.notify_all()

    def set_queued(self) -> None:
        """Waiting for an admission slot."""
        with self._lock:
            if not self.done:
                self._state = StreamState.QUEUED

    def mark_stopping(self) -> None:
        """Being stopped: connections opened from now on are not attached."""
        with self._lock:
            self._stopping = True

    def abort_connection(self, cause: BaseException | None) -> None:
        """Kill the current connection at once (``Connection.abort(wait=False)``: never blocks)."""
        with self._lock:
            conn, attempt = self._conn, self._attempt
            if attempt is not None and cause is not None and attempt.failure is None:
                attempt.failure = cause
        if conn is not None:
            conn.abort(cause, wait=False)

    def complete(self, error: ActorsError | None, code: int, reason: str) -> None:
        """End the stream for good: emit ``ConnectionFailed(error)`` if failed, then one ``Closed``."""
        with self._lock:
            if self.done:
                return
            self._state = StreamState.CLOSED
            self._error = error
            self._close = (code, reason)
            conn, self._conn, self._attempt = self._conn, None, None
            if error is not None:
                self._emit(events.ConnectionFailed(error=error))
            self._emit(events.Closed(code=code, reason=reason))
            self._changed.notify_all()
        if conn is not None:
            conn.abort(None, wait=False)  # runs on the supervisor actor: never wait for the server

    # -- connection side (connector threads and the connections' event threads) ------------------

    def _emit(self, event: object) -> None:
        self._subscribers.broadcast(event)

    def _start_replay(self, conn: Connection, attempt: ConnectionAttempt) -> float:
        """Send the new connection its replay; schedule the paced steps. Returns seconds replayed."""
        plan = self._timeline.start_connection()
        replayed, delay = self._scheduler.start(conn, plan, time.monotonic())
        self._catching_up = delay is not None
        if delay is not None:
            self._schedule_step(attempt.generation, delay)
        return replayed

    def _schedule_step(self, generation: int, delay: float) -> None:
        self._owner.call_later(delay, lambda: self._pace(generation))

    def _pace(self, generation: int) -> None:
        """One step of a paced replay (the owner's timer thread)."""
        with self._lock:
            conn, attempt = self._conn, self._attempt
            if attempt is None or attempt.generation != generation or conn is None or not self._catching_up:
                return  # that connection is gone; a new one starts its own replay
            delay = self._scheduler.step(conn, time.monotonic())
            if delay is None:
                self._catching_up = False  # caught up: live audio goes straight to the socket again
                self._changed.notify_all()
                return
        self._schedule_step(generation, delay)

    def _on_connection_event(self, attempt: ConnectionAttempt, event: object) -> None:
        """One event of one connection (its event thread, or its opener for handshake failures)."""
        with self._lock:
            if isinstance(event, events.ConnectionFailed):
                if attempt.failure is None:
                    attempt.failure = event.error
                return
            if isinstance(event, events.Closed):
                self._connection_closed(attempt, event)
                return
            if attempt.ended or attempt.generation != self._generation or isinstance(event, events.Opened):
                return  # stale, or Opened (the stream emits Opened/Reconnected itself)
            if not attempt.attached:
                attempt.early.append(event)  # its timeline offset is set when the stream attaches it
                return
            self._process_message(event)

    def _process_message(self, event: object) -> None:
        """Rebase, de-duplicate and deliver one message of the current connection (lock held)."""
        kept = self._timeline.process(
            event, first_connection=self._connections <= 1, finishing=self._finishing
        )
        if kept is None:
            return
        message, final = kept
        if final and self.keep_finals is not False:
            self._finals.append(message)
        self._emit(message)

    def _connection_closed(self, attempt: ConnectionAttempt, event: events.Closed) -> None:
        if attempt.ended:
            return
        attempt.ended = True
        if self._attempt is attempt:
            self._conn = self._attempt = None
            self._scheduler.reset()
            self._catching_up = False
            if self._state is StreamState.OPEN:
                self._state = StreamState.RECONNECTING
            self._changed.notify_all()
        self._owner.report_end(self._stream_id, attempt.generation, attempt.failure, event.code, event.reason)

    def __repr__(self) -> str:
        return f"<SupervisedStream {self._stream_id} {self._state.value}>"


__all__ = ["SupervisedStream", "audio_format_for", "lossless_possible"]
