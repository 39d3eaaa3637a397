"""`StreamHandle`: the caller's handle on one supervised, logical stream.

A logical stream outlives its connections: the supervisor opens a new connection after a
failure, and the handle stitches them into one stream. Its jobs:

* the audio hot path: :meth:`StreamHandle.send_audio` appends to the replay buffer and writes
  straight to the current connection under the stream lock -- no supervisor hop per chunk;
* per-connection events (called on the connection's reader thread): rebase timestamps, drop
  duplicate finals, trim the replay buffer (to the finals, and on Flux to the silence its empty
  between-turn Updates show), forward to the caller's subscribers, and report the
  end of a connection to the supervisor with a tell;
* :meth:`StreamHandle.finish`: drive the graceful finish from the caller's thread, across
  reconnects, and return a :class:`StreamResult`;
* control messages (:meth:`StreamHandle.send`) are kept in order with the audio across
  reconnects (:mod:`actors.runtime.controls`): queued while no connection is open, re-sent at
  their place in a lossless replay, ``Configure`` re-sent on every new connection, ``KeepAlive``
  dropped while disconnected;
* replay pacing: with ``replay_speed`` set, the replay (and audio sent meanwhile) goes to the new
  connection at that multiple of real time from the supervisor's timer thread
  (:mod:`actors.runtime.pacing`); live audio queues behind it until it has caught up.

Subscribers see one continuous stream: ``Opened`` once, protocol messages with rebased
timestamps, ``Reconnecting``/``Reconnected`` between connections, and exactly one ``Closed`` last,
preceded by ``ConnectionFailed(StreamFailed)`` when the stream gave up.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from actors.errors import ActorsError, FinishTimeout, OptionsError, StreamFailed
from actors.runtime import events
from actors.runtime.controls import (
    DROPPED_WHILE_DISCONNECTED,
    FINISH_TYPES,
    STICKY_TYPES,
    ControlEntry,
    ControlLog,
)
from actors.runtime.pacing import ReplayPacer
from actors.runtime.policy import RestartPolicy
from actors.runtime.replay import (
    AudioFormat,
    FinalDeduplicator,
    FluxSilenceTracker,
    ReplayBuffer,
    TimelineRebaser,
    is_final,
    message_type,
)
from actors.runtime.subscribers import SubscriberSet

if TYPE_CHECKING:
    from actors.runtime.connection import Connection

log = logging.getLogger("actors.runtime.stream")

LOSSLESS_APIS = ("listen.v1", "listen.v2")
#: Replayed audio goes out in frames of at most this many seconds (Deepgram: 20-250 ms per message).
REPLAY_FRAME_SECONDS = 0.25
#: Flux's greeting: forwarded from the first connection only (Reconnected announces later ones).
_GREETING_TYPES = frozenset({"Connected"})
#: Listen V1's end-of-session summary: forwarded only from the connection that finishes the stream.
_SUMMARY_TYPES = frozenset({"Metadata"})


class StreamState(enum.Enum):
    """Where a logical stream is in its life."""

    QUEUED = "queued"  # waiting for an admission slot
    CONNECTING = "connecting"
    OPEN = "open"
    RECONNECTING = "reconnecting"  # between connections: backoff, then queued again
    CLOSED = "closed"


@attrs.frozen
class StreamMetrics:
    """Counters of one logical stream (the connection actor's own metrics are in ``connection``)."""

    stream_id: str
    state: str
    connections: int
    reconnects: int
    replayed_seconds: float
    replay_dropped_seconds: float
    audio_seconds: float
    finals: int
    duplicate_finals_dropped: int
    request_ids: tuple[str, ...]
    #: Seconds of audio held for a lossless replay now (not yet covered by finals or silence).
    replay_buffered_seconds: float = 0.0
    connection: Any = None


#: What a stream keeps of its finals for :class:`StreamResult`: all (True), none (False), the last N.
KeepFinals = bool | int


def check_keep_finals(value: object) -> KeepFinals:
    """Validate a ``keep_finals`` setting; ``OptionsError`` names what was wrong."""
    if isinstance(value, bool) or (isinstance(value, int) and value >= 0):
        return value
    raise OptionsError(
        "keep_finals", f"must be True (all), False (none) or a count >= 0 (the last N), got {value!r}", value
    )


@attrs.frozen
class StreamResult:
    """How a supervised stream ended: its final results, request ids, metrics and error (None if ok).

    ``finals`` holds what the stream was told to keep (``open_stream(keep_finals=...)``): every
    final (True), none (False, the default for supervised streams: a long call would otherwise
    grow without bound -- subscribers see every final as it arrives), or the last N.
    ``metrics.finals`` always counts them all.
    """

    stream_id: str
    finals: tuple[Any, ...]
    request_ids: tuple[str, ...]
    metrics: StreamMetrics
    error: ActorsError | None = None
    close_code: int | None = None
    close_reason: str = ""
    keep_finals: KeepFinals = True

    @property
    def ok(self) -> bool:
        """True when the stream finished without an error."""
        return self.error is None

    @property
    def transcript(self) -> str:
        """The final transcripts joined with spaces (Listen V1 channel 0 alternative 0, or Flux turns).

        Raises :class:`ActorsError` when the stream kept no finals (``keep_finals=False``); with
        ``keep_finals=N`` it is the transcript of the last N finals.
        """
        if not self.keep_finals:
            raise ActorsError(
                f"stream {self.stream_id} kept no finals, so it has no transcript: open the stream with "
                "open_stream(..., keep_finals=True), or collect the finals in a subscriber"
            )
        parts = [text for text in (_transcript_of(m) for m in self.finals) if text]
        return " ".join(parts)

    def raise_for_error(self) -> StreamResult:
        """Raise :attr:`error` if there is one, else return self."""
        if self.error is not None:
            raise self.error
        return self


def _transcript_of(msg: Any) -> str:
    if message_type(msg) == "TurnInfo":
        return str(msg.transcript or "")
    channel_index = getattr(msg, "channel_index", None) or [0]
    if channel_index[0] != 0 or not msg.channel.alternatives:
        return ""
    return str(msg.channel.alternatives[0].transcript or "")


def audio_format_for(config: Any, lossless: bool) -> AudioFormat | None:
    """The fixed-size audio format a stream's options declare, None for containers (WAV is sniffed).

    Raises :class:`OptionsError` when ``lossless`` is asked for an API or encoding that cannot
    be replayed exactly.
    """
    api_name = getattr(config.api, "name", str(config.api))
    if lossless and api_name not in LOSSLESS_APIS:
        raise OptionsError("lossless", f"lossless reconnect is for Listen V1 and Flux, not {api_name}", True)
    options = config.options
    encoding = getattr(options, "encoding", None)
    if encoding is None:
        return None
    encoding = getattr(encoding, "value", encoding)
    channels = getattr(options, "channels", None) or 1
    if not lossless:
        try:
            return AudioFormat.from_encoding(str(encoding), getattr(options, "sample_rate", None), channels)
        except OptionsError:
            return None
    return AudioFormat.from_encoding(str(encoding), getattr(options, "sample_rate", None), channels)


class StreamOwner(Protocol):
    """What a handle reports to its supervisor (implemented by ``Supervisor``; calls never block)."""

    def report_end(
        self, stream_id: str, generation: int, error: BaseException | None, code: int, reason: str
    ) -> None:
        """Connection attempt ``generation`` of the stream ended (``error`` None: a normal close)."""

    def report_stop(self, stream_id: str, reason: str, error: ActorsError | None) -> None:
        """End the stream now, with ``error`` as its result's error (None: ended normally)."""

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` (quick, non-blocking) on the owner's timer thread after ``delay`` s."""


class _Sink:
    """The subscriber given to one connection: forwards its events to the stream with its number."""

    __slots__ = ("attached", "early", "ended", "failure", "generation", "stream")

    def __init__(self, stream: StreamHandle, generation: int) -> None:
        self.stream = stream
        self.generation = generation
        self.attached = False  # the stream has installed this connection (offsets are set)
        self.early: list[Any] = []  # messages that arrived before that, processed on attach
        self.ended = False
        self.failure: BaseException | None = None

    def __call__(self, event: Any) -> None:
        self.stream._on_connection_event(self, event)

    def __repr__(self) -> str:
        return f"<stream {self.stream.stream_id} connection {self.generation}>"


class StreamHandle:
    """The caller's handle on one logical stream run by a :class:`~actors.runtime.supervisor.Supervisor`.

    Create it with ``Supervisor.open_stream``. ``send_audio`` may be called at once: audio sent
    before the first connection (or between connections) is buffered and sent when one opens.
    All methods are thread-safe.
    """

    def __init__(
        self,
        stream_id: str,
        config: Any,
        subscribers: Sequence[object],
        restart: RestartPolicy,
        lossless: bool,
        owner: StreamOwner,
        replay_max_seconds: float = 60.0,
        lossless_required: bool = True,
        replay_speed: float | None = None,
        keep_finals: KeepFinals = False,
    ) -> None:
        self.stream_id = stream_id
        #: What this stream keeps of its finals for its result (see :class:`StreamResult`).
        self.keep_finals = check_keep_finals(keep_finals)
        self.config = config
        self.restart = restart
        self.lossless = lossless
        #: Replay pacing in times real time (None: as fast as the socket takes it).
        self.replay_speed = replay_speed
        self._owner = owner
        api_name = getattr(config.api, "name", str(config.api))
        self._is_listen = api_name in LOSSLESS_APIS
        self._lossless_required = lossless_required
        fmt = audio_format_for(config, lossless and lossless_required)
        # With a timeline (fixed-size audio, or WAV sniffed for lossless) timestamps are rebased.
        self._timeline = lossless or fmt is not None
        self._buffer = ReplayBuffer(fmt, max_seconds=replay_max_seconds) if self._timeline else None
        self._pending: list[bytes] = []  # streams without a timeline: audio waiting for a connection
        self._controls = ControlLog()
        self._outbox: deque[ControlEntry] = deque()  # controls due on the current connection
        self._cursor: int | None = None  # audio position handed to the current connection
        self._pacer: ReplayPacer | None = None  # set while a paced replay catches up
        self._pace_base = 0  # the cursor when the paced replay started
        self._rebaser = TimelineRebaser(sequence_ids=api_name == "listen.v2")
        self._dedup = FinalDeduplicator()
        # Flux sends no final during silence: its empty between-turn Updates trim the replay.
        self._silence = FluxSilenceTracker() if api_name == "listen.v2" else None
        self._subscribers = SubscriberSet(subscribers, getattr(config, "queue_put_timeout", 5.0))
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._state = StreamState.QUEUED
        self._conn: Connection | None = None
        self._sink: _Sink | None = None
        self._finish_sent_on: _Sink | None = None
        self._generation = 0
        self._connections = 0
        self._reconnects = 0
        self._reconnect_attempt = 0
        self._replayed_seconds = 0.0
        self._audio_bytes = 0
        self._finals: deque[Any] = deque(maxlen=None if keep_finals is True else int(keep_finals))
        self._final_count = 0
        self._request_ids: list[str] = []
        self._finishing = False
        self._aborted = False
        self._error: ActorsError | None = None
        self._close: tuple[int, str] | None = None

    # -- the caller's API -------------------------------------------------------------------

    @property
    def state(self) -> StreamState:
        """The stream's current state."""
        return self._state

    @property
    def request_ids(self) -> tuple[str, ...]:
        """The ``dg-request-id`` of every connection of this stream, in order."""
        with self._lock:
            return tuple(self._request_ids)

    @property
    def done(self) -> bool:
        """True once the stream has ended (finished, stopped or failed)."""
        return self._state is StreamState.CLOSED

    @property
    def error(self) -> ActorsError | None:
        """Why the stream failed, or None."""
        return self._error

    @property
    def metrics(self) -> StreamMetrics:
        """A snapshot of the stream's counters."""
        with self._lock:
            conn_metrics = getattr(self._conn, "metrics", None) if self._conn is not None else None
            buffer = self._buffer
            fmt = buffer.format if buffer is not None else None
            return StreamMetrics(
                stream_id=self.stream_id,
                state=self._state.value,
                connections=self._connections,
                reconnects=self._reconnects,
                replayed_seconds=round(self._replayed_seconds, 6),
                replay_dropped_seconds=buffer.dropped_seconds if buffer is not None else 0.0,
                audio_seconds=fmt.seconds(self._audio_bytes - len(buffer.header)) if buffer and fmt else 0.0,
                finals=self._final_count,
                duplicate_finals_dropped=self._dedup.dropped,
                request_ids=tuple(self._request_ids),
                replay_buffered_seconds=round(buffer.buffered_seconds, 6) if buffer is not None else 0.0,
                connection=conn_metrics,
            )

    def subscribe(self, subscriber: object) -> None:
        """Add a subscriber (callable, ``queue.Queue`` or ``pykka.ActorRef``); it gets events from now on."""
        self._subscribers.add(subscriber)

    def send_audio(self, data: bytes | bytearray | memoryview) -> None:
        """Send audio on the stream (buffered while no connection is open).

        Raises :class:`StreamFailed` if the stream failed, :class:`OptionsError` if it is finishing
        or closed, and ``TypeError`` for anything but bytes.
        """
        # The hot path (one call per 20 ms chunk per stream, 50,000/s for 1,000 streams): one
        # lock, one copy into the replay buffer, one put into the connection's send buffer.
        if type(data) is not bytes:
            if not isinstance(data, bytearray | memoryview):
                raise TypeError(f"send_audio needs bytes, got {type(data).__name__}")
            data = bytes(data)
        if not data:
            return  # an empty frame would end a Listen stream: use finish()
        with self._lock:
            if self._finishing or self._state is StreamState.CLOSED:
                self._check_can_send("send_audio")
            self._audio_bytes += len(data)
            buffer = self._buffer
            if buffer is not None and buffer.format is not None:
                end = buffer.append(data)  # cannot fail: the format is known
            else:
                end = self._buffer_audio(data)
            conn = self._conn
            if conn is None or self._pacer is not None:
                return  # kept for the next connection, or the pacer sends it after the replay
            try:
                conn.send_audio(data)
            except Exception as exc:  # the connection is dying: its Closed event drives the restart
                log.debug("stream %s: send on a dying connection: %r", self.stream_id, exc)
                return
            if end < 0:
                self._pending.clear()
                return
            self._cursor = end
            if not self.lossless and self._buffer is not None:
                self._buffer.discard_all()

    def _buffer_audio(self, chunk: bytes) -> int:
        """Keep ``chunk`` for replay; return the replay buffer's new end (-1: no replay buffer)."""
        buffer = self._buffer
        if buffer is None:
            self._pending.append(chunk)
            return -1
        try:
            return buffer.append(chunk)
        except OptionsError:
            if self._lossless_required:
                raise
            # lossless was only a default and the audio is not WAV: carry on without replay
            log.info("stream %s: audio is not replayable; lossless reconnect is off", self.stream_id)
            self.lossless = self._timeline = False
            self._pending.append(buffer.snapshot().header)
            self._buffer = None
            return -1

    def send(self, message: Any) -> None:
        """Send a control message (Finalize, Configure, ForceEndTurn, KeepAlive...) in order with the audio.

        While no connection is open (queued, reconnecting) the message is kept and sent on the
        next connection right after the audio that preceded it; ``KeepAlive`` is dropped then
        (every connection keeps itself alive). With lossless replay a message whose audio is
        replayed is sent again at its place, and ``Configure`` is re-sent on every new
        connection (the server answers it again). Raises :class:`OptionsError` for
        ``CloseStream``/``Close`` (use :meth:`finish`) and when the stream is finishing or
        closed, :class:`ProtocolError` when the message cannot be encoded.
        """
        tag = message_type(message)
        if tag in FINISH_TYPES:
            raise OptionsError(
                "send", f"{tag} ends the connection; call finish() to end a supervised stream", tag
            )
        frame = self.config.api.client_codec.encode(message)
        with self._lock:
            self._check_can_send("send")
            conn = self._conn
            if tag in DROPPED_WHILE_DISCONNECTED:
                if conn is not None:  # no order to keep: it only resets the server's idle timer
                    self._send_text_now(conn, frame)
                return
            catching_up = self._pacer is not None
            sent = conn is not None and not catching_up and self._send_text_now(conn, frame)
            if sent and not self.lossless and tag not in STICKY_TYPES:
                return  # nothing will be replayed, so nothing to remember
            entry = self._controls.record(self._position(), frame, tag)
            if catching_up and conn is not None:
                self._outbox.append(entry)

    def _send_text_now(self, conn: Connection, frame: str) -> bool:
        try:
            conn.send_text(frame)
        except Exception as exc:  # the connection is dying: its Closed event drives the restart
            log.debug("stream %s: control on a dying connection: %r", self.stream_id, exc)
            return False
        return True

    def _position(self) -> int:
        """The stream's audio position now (replay-buffer bytes, or all audio bytes without one)."""
        return self._buffer.end if self._buffer is not None else self._audio_bytes

    def wait_open(self, timeout: float | None = None) -> bool:
        """Block until the stream has had a connection; False on timeout.

        Raises the stream's error (:class:`StreamFailed`) if it ended in failure first.
        """
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
        """Finish the stream gracefully and return its result; reconnects and replays if needed.

        Asks the current connection to finish (CloseStream) and waits for the last results; if the
        connection fails meanwhile, the supervisor reconnects, replays the uncovered audio and
        the finish goes on over the new connection. After ``timeout`` the stream is stopped and
        the result's ``error`` is a :class:`FinishTimeout`. Stream failures do not raise: they
        are in ``result.error``.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            if not self._finishing and not self.done:
                self._finishing = True
                if self._state is StreamState.QUEUED and self._audio_bytes == 0 and self._connections == 0:
                    self._owner.report_stop(self.stream_id, "finished before any audio was sent", None)
        while not self.done and time.monotonic() < deadline:
            with self._changed:
                # A paced replay must have caught up: the finish frames go after all the audio.
                self._changed.wait_for(
                    lambda: self.done or (self._pacer is None and self._finish_due()),
                    max(0.0, deadline - time.monotonic()),
                )
                conn, sink = self._conn, self._sink
                if self.done or self._pacer is not None or conn is None or sink is None:
                    continue
                if sink is self._finish_sent_on:
                    continue
                self._finish_sent_on = sink
            try:
                conn.finish(timeout=max(0.1, deadline - time.monotonic()))
            except Exception as exc:  # also reported through the connection's own events
                log.debug("stream %s: finish on connection %d: %r", self.stream_id, sink.generation, exc)
        if not self.done:
            self._owner.report_stop(
                self.stream_id,
                "finish timed out",
                FinishTimeout(f"stream {self.stream_id}: finish did not complete within {timeout:g} s"),
            )
            self.wait_closed(timeout=5.0)
        return self.result()

    def _finish_due(self) -> bool:
        return self._sink is not None and self._sink is not self._finish_sent_on

    def result(self) -> StreamResult:
        """The stream's result so far (final once :attr:`done`)."""
        with self._lock:
            code, reason = self._close if self._close else (None, "")
            return StreamResult(
                stream_id=self.stream_id,
                finals=tuple(self._finals),
                request_ids=tuple(self._request_ids),
                metrics=self.metrics,
                error=self._error,
                close_code=code,
                close_reason=reason,
                keep_finals=self.keep_finals,
            )

    def __repr__(self) -> str:
        return f"<StreamHandle {self.stream_id} {self._state.value}>"

    def _check_can_send(self, what: str) -> None:
        if self.done:
            if self._error is not None:
                raise StreamFailed(
                    self.stream_id, self._error, f"{what} after the stream ended: {self._error}"
                )
            raise OptionsError(what, f"stream {self.stream_id} is closed")
        if self._finishing:
            raise OptionsError(what, f"stream {self.stream_id} is finishing; nothing more can be sent")

    # -- connection side (connector and reader threads) ---------------------------------------

    def _emit(self, event: Any) -> None:
        self._subscribers.broadcast(event)

    def _attach(self, conn: Connection, sink: _Sink) -> bool:
        """Install a freshly opened connection: replay header and uncovered audio into it.

        Runs on a connector thread. Returns False (installing nothing) when the stream was
        stopped meanwhile or the connection already ended; the caller then closes it.
        """
        with self._lock:
            if sink.ended or self._aborted or self.done or sink.generation != self._generation:
                return False
            request_id = getattr(conn, "request_id", None)
            if request_id:
                self._request_ids.append(request_id)
            self._conn, self._sink = conn, sink
            replayed = self._replay_into(conn, sink)
            self._connections += 1
            if self._connections > 1:
                self._reconnects += 1
                self._replayed_seconds += replayed
            recorder = getattr(conn, "metrics_recorder", None)
            if recorder is not None:  # the connection's own metrics carry the stream's totals
                recorder.reconnects = self._reconnects
                recorder.seconds_replayed = round(self._replayed_seconds, 6)
            self._state = StreamState.OPEN
            if self._connections == 1:
                self._emit(
                    events.Opened(
                        request_id=request_id, url_path=self.config.api.path, stream_id=self.stream_id
                    )
                )
            else:
                self._emit(
                    events.Reconnected(
                        stream_id=self.stream_id,
                        attempt=self._reconnect_attempt,
                        request_id=request_id,
                        replayed_seconds=round(replayed, 6),
                    )
                )
            sink.attached = True
            for early in sink.early:
                self._process_message(early)
            sink.early.clear()
            self._changed.notify_all()
            return True

    def _replay_into(self, conn: Connection, sink: _Sink) -> float:
        """Send the header, the uncovered audio and the due control messages to ``conn``.

        Returns the seconds of audio replayed. With ``replay_speed`` the audio is paced from the
        owner's timer thread instead (see :meth:`_pace`); what is sent now is what the pacer allows.
        """
        self._outbox.clear()
        self._pacer = None
        if self._buffer is None:
            audio = b"".join(self._pending)
            self._pending.clear()
            start = self._audio_bytes - len(audio)
            self._rebaser.start_connection(0.0)
            self._cursor = None
            self._outbox.extend(self._controls.plan(start))
            sent = start
            try:
                while self._outbox:  # each control after the audio that preceded it
                    due = min(max(self._outbox[0].position, sent), start + len(audio))
                    if due > sent:
                        conn.send_audio(audio[sent - start : due - start])
                        sent = due
                    if not self._send_due_controls(conn, due):
                        break
                if sent < start + len(audio):
                    conn.send_audio(audio[sent - start :])
            except Exception as exc:  # the connection is dying: its Closed event drives the restart
                log.debug("stream %s: backlog into a dying connection: %r", self.stream_id, exc)
            return 0.0
        snapshot = self._buffer.snapshot()
        self._rebaser.start_connection(snapshot.start_seconds)
        if self._silence is not None:
            self._silence.start_connection()
        fmt = self._buffer.format
        self._cursor = snapshot.start
        if snapshot.header:
            try:
                conn.send_audio(snapshot.header)
            except Exception as exc:  # the connection is dying: its Closed event drives the restart
                log.debug("stream %s: header into a dying connection: %r", self.stream_id, exc)
                return 0.0
        self._outbox.extend(self._controls.plan(snapshot.start))
        replayed = fmt.seconds(len(snapshot.audio)) if fmt and self.lossless else 0.0
        if self.replay_speed is None or fmt is None or not snapshot.audio:
            self._pump(conn, self._buffer.end)
        else:
            self._pace_base = snapshot.start
            self._pacer = ReplayPacer(
                self.replay_speed, fmt.bytes_per_second, fmt.frame_bytes, time.monotonic()
            )
            self._pace(sink.generation)
        return replayed

    def _send_due_controls(self, conn: Connection, upto: int | None) -> bool:
        """Send the outbox's messages due at or before ``upto`` (None: all); False if sending failed."""
        while self._outbox and (upto is None or self._outbox[0].position <= upto):
            entry = self._outbox.popleft()
            if not self._send_text_now(conn, entry.frame):
                return False
            if not self.lossless and not entry.sticky:
                self._controls.forget(entry)  # nothing is replayed, so it is never needed again
        return True

    def _pump(self, conn: Connection, upto: int) -> None:
        """Send buffered audio from the cursor up to position ``upto``, controls at their places."""
        buffer = self._buffer
        assert buffer is not None and self._cursor is not None
        fmt = buffer.format
        cursor = max(self._cursor, buffer.start)
        frame = max(1, int(REPLAY_FRAME_SECONDS * fmt.bytes_per_second)) if fmt else max(1, upto - cursor)
        try:
            while True:
                due = self._outbox[0].position if self._outbox else None
                stop = upto if due is None or due > upto else max(cursor, due)
                for at in range(cursor, stop, frame):
                    conn.send_audio(buffer.read(at, min(at + frame, stop)))
                cursor = max(cursor, stop)
                if due is None or due > upto:
                    break
                if not self._send_due_controls(conn, cursor):
                    break
        except Exception as exc:  # the connection is dying: its Closed event drives the restart
            log.debug("stream %s: replay into a dying connection: %r", self.stream_id, exc)
        self._cursor = cursor
        if not self.lossless:
            buffer.ack_position(cursor)  # sent and never replayed: forget it

    def _pace(self, generation: int) -> None:
        """One step of a paced replay: send what the pacer allows by now, then reschedule or finish."""
        with self._lock:
            conn, sink, pacer, buffer = self._conn, self._sink, self._pacer, self._buffer
            if sink is None or sink.generation != generation or conn is None or pacer is None:
                return  # that connection is gone; a new one starts its own replay
            assert buffer is not None and self._cursor is not None
            allowed = self._pace_base + pacer.allowance(time.monotonic())
            if allowed < buffer.end:  # whole replay frames while behind: no slivers of audio
                cursor = max(self._cursor, buffer.start)
                frame = max(1, int(REPLAY_FRAME_SECONDS * pacer.bytes_per_second))
                allowed = cursor + max(0, allowed - cursor) // frame * frame
            self._pump(conn, min(buffer.end, allowed))
            if self._cursor >= buffer.end and not self._outbox:
                self._pacer = None  # caught up: live audio goes straight to the socket again
                self._changed.notify_all()
                return
            frame_seconds = REPLAY_FRAME_SECONDS / pacer.speed
        self._owner.call_later(frame_seconds, lambda: self._pace(generation))

    def _on_connection_event(self, sink: _Sink, event: Any) -> None:
        """One event of one connection (its reader thread, or its opener for handshake failures)."""
        with self._lock:
            if isinstance(event, events.ConnectionFailed):
                if sink.failure is None:
                    sink.failure = event.error
                return
            if isinstance(event, events.Closed):
                self._connection_closed(sink, event)
                return
            if sink.ended or sink.generation != self._generation or isinstance(event, events.Opened):
                return  # stale, or Opened (the stream emits Opened/Reconnected itself)
            if not sink.attached:
                sink.early.append(event)  # its timeline offset is set when the stream attaches it
                return
            self._process_message(event)

    def _process_message(self, event: Any) -> None:
        """Rebase, de-duplicate and deliver one message of the current connection (lock held)."""
        tag = message_type(event)
        if tag in _GREETING_TYPES and self._connections > 1:
            return
        if tag in _SUMMARY_TYPES and not self._finishing:
            return
        if self._timeline:
            event = self._rebaser.rebase(event)
            # Seen before de-duplication: a replayed turn's dropped EndOfTurn still closes it.
            silent = self._silence.observe(event) if self._silence is not None else 0.0
            final = is_final(event)
            if final:
                event = self._dedup.process(event)
            if (final or silent > 0.0) and self._buffer is not None and self.lossless:
                self._buffer.ack(max(self._dedup.covered_until(), silent))
                self._controls.ack(self._buffer.start)
            if event is None:
                return
        if is_final(event):
            self._final_count += 1
            if self.keep_finals is not False:
                self._finals.append(event)
        self._emit(event)

    def _connection_closed(self, sink: _Sink, event: events.Closed) -> None:
        if sink.ended:
            return
        sink.ended = True
        if self._sink is sink:
            self._conn = self._sink = None
            self._pacer, self._cursor = None, None
            self._outbox.clear()
            if self._state is StreamState.OPEN:
                self._state = StreamState.RECONNECTING
            self._changed.notify_all()
        self._owner.report_end(self.stream_id, sink.generation, sink.failure, event.code, event.reason)

    # -- supervisor side (supervisor actor thread) ---------------------------------------------

    def _new_sink(self) -> _Sink:
        """Start the next connection attempt."""
        with self._lock:
            self._generation += 1
            self._state = StreamState.CONNECTING
            return _Sink(self, self._generation)

    def _has_uncovered_audio(self) -> bool:
        """Whether some sent audio is not yet covered by a final result."""
        with self._lock:
            if self._buffer is None:
                return bool(self._pending)
            return self._buffer.buffered_bytes > 0

    def _abort_connection(self, cause: BaseException | None) -> None:
        """Kill the current connection at once; ``cause`` becomes its failure (None: a requested stop).

        Never blocks (``Connection.abort(wait=False)``), so the supervisor actor calls it directly.
        """
        with self._lock:
            conn, sink = self._conn, self._sink
            if sink is not None and cause is not None and sink.failure is None:
                sink.failure = cause
        if conn is not None:
            conn.abort(cause, wait=False)

    def _finish_requested_on(self, generation: int) -> bool:
        """Whether finish() was sent on connection attempt ``generation`` (so its close was asked for)."""
        with self._lock:
            sent_on = self._finish_sent_on
            return sent_on is not None and sent_on.generation == generation

    def _set_reconnecting(self, attempt: int, delay: float, cause: BaseException | None) -> None:
        with self._lock:
            self._state = StreamState.RECONNECTING
            self._reconnect_attempt = attempt
            self._emit(
                events.Reconnecting(stream_id=self.stream_id, attempt=attempt, delay=delay, cause=cause)
            )
            self._changed.notify_all()

    def _set_queued(self) -> None:
        with self._lock:
            if not self.done:
                self._state = StreamState.QUEUED

    def _mark_aborted(self) -> None:
        with self._lock:
            self._aborted = True

    def _complete(self, error: ActorsError | None, code: int, reason: str) -> None:
        """End the stream for good: emit ``ConnectionFailed(error)`` if failed, then one ``Closed``."""
        with self._lock:
            if self.done:
                return
            self._state = StreamState.CLOSED
            self._error = error
            self._close = (code, reason)
            conn, self._conn, self._sink = self._conn, None, None
            if error is not None:
                self._emit(events.ConnectionFailed(error=error))
            self._emit(events.Closed(code=code, reason=reason))
            self._changed.notify_all()
        if conn is not None:
            conn.abort(None, wait=False)  # runs on the supervisor actor: never wait for the server


__all__ = ["StreamHandle", "StreamMetrics", "StreamOwner", "StreamResult", "StreamState"]
