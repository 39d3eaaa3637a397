"""`Supervisor`: runs many logical streams, restarting their connections by policy.

Threads (all named, all joined by :meth:`Supervisor.stop`) -- a fixed ``2 + connectors`` per
supervisor, plus the process-wide audio flusher when streams use a flush window
(:meth:`Supervisor.thread_budget`), however many streams it runs; each live stream adds its
connection's one actor thread (``actors-conn-<id>``):

* ``actors-supervisor``: one pykka actor, ``SupervisorActor``, the only owner of restart and
  admission state; it is told (never asked) about every change;
* ``actors-supervisor-timer``: a timer thread that tells the actor when a backoff ends and when a
  429 pause ends; it also paces replays;
* ``actors-connector-N``: a few threads that open connections (handshakes block), so a slow
  handshake never stalls the actor;
* ``actors-audio-flusher`` (:mod:`actors.runtime.flusher`): writes every stream's queued audio
  once per ``audio_flush_interval``; started by the first flushing connection, joined when the
  last one ends;
* ``actors-read-N`` (:mod:`actors.runtime.read_pool`): the process-wide read pool that reads
  every connection's socket; started by the first connection, joined when the last one ends.

Connections are killed with ``Connection.abort`` (no close handshake, never blocks), so stops are
handled on the actor itself.

Liveness: a stream is never restarted for a lack of *results* -- Deepgram may legitimately send
nothing for a while (a long silence, hold music), and an idle stream gets nothing back at all.
A dead or black-holed server is noticed by its connection instead (``ConnectionConfig``
``ping_interval`` / ``ping_timeout``, set from ``stall_timeout``): when the server has sent nothing
(no message, no pong) for half of ``stall_timeout`` a WebSocket ping goes out, and if nothing at
all comes back within the other half the connection fails (1006) and is restarted like a drop.
A server that answers pings but never sends results keeps its stream: audio goes on being sent,
and lossless replay keeps at most ``replay_max_seconds`` of it (older audio is dropped and counted
in ``replay_dropped_seconds``).

Audio never goes through an actor: :class:`~actors.runtime.stream.StreamHandle` hands it straight
to the current connection (queued for the flusher, or written at once with a window of 0).
Connections report their end through the stream (`StreamOwner.report_end`, a tell).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Protocol

import attrs
import pykka

from actors.errors import ActorsError, ConnectionClosedError, OptionsError, StreamFailed
from actors.runtime.admission import DEFAULT_RATE_LIMIT_BACKOFF, Admission
from actors.runtime.classify import NORMAL_CLOSE_CODES
from actors.runtime.config import ConnectionConfig
from actors.runtime.pacing import ReplaySpeed, check_replay_speed, resolve_replay_speed
from actors.runtime.policy import (
    Backoff,
    Failure,
    FailureKind,
    RestartPolicy,
    RestartWindow,
    classify_failure,
)
from actors.runtime.read_pool import shared_read_pool
from actors.runtime.stream import StreamHandle
from actors.runtime.stream_port import ConnectionAttempt, StreamPort
from actors.runtime.stream_result import KeepFinals, StreamState, check_keep_finals
from actors.runtime.supervised_stream import SupervisedStream, lossless_possible

if TYPE_CHECKING:
    from actors.runtime.connection import Connection

log = logging.getLogger("actors.runtime.supervisor")


class ConnectionOpener(Protocol):
    """Opens one connection of a supervised stream and returns it open (``Connection.open``'s shape)."""

    def __call__(
        self, config: ConnectionConfig, *, subscribers: Sequence[object], stream_id: str
    ) -> Connection:
        """Open a connection with ``config`` delivering its events to ``subscribers``; raise if it fails."""


#: Supervised streams' default coalescing window (``ConnectionConfig.audio_flush_interval``).
#: 50 ms turns 20 ms chunks into 40-60 ms frames (Deepgram asks for 20-250 ms): about half the
#: frames, so less CPU on both ends, for at most 50 ms of added latency -- fine for ingestion.
DEFAULT_AUDIO_FLUSH_INTERVAL = 0.05
#: Ended streams stay reachable by ``Supervisor.stream(id)`` until this many handles are kept.
_PRUNE_AT = 4096


# -- actor messages (all tells) ---------------------------------------------------------------


@attrs.frozen
class _Submit:
    stream: StreamPort


@attrs.frozen
class _Connected:
    stream_id: str
    generation: int


@attrs.frozen
class _Ended:
    """A connection attempt is over: the handshake failed, or the connection closed."""

    stream_id: str
    generation: int
    error: BaseException | None
    code: int = 1006
    reason: str = ""


@attrs.frozen
class _RestartDue:
    stream_id: str
    generation: int


@attrs.frozen
class _Wake:
    pass


@attrs.frozen
class _StopStream:
    stream_id: str
    reason: str
    error: ActorsError | None = None


@attrs.frozen
class _StopAll:
    pass


# -- helper threads -----------------------------------------------------------------------------


class _Timer:
    """One thread running callbacks at given times; callbacks must be quick (they tell the actor)."""

    def __init__(self, name: str) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def call_at(self, when: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the timer thread at monotonic time ``when``."""
        with self._cond:
            heapq.heappush(self._heap, (when, next(self._seq), callback))
            self._cond.notify()

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the timer thread after ``delay`` seconds."""
        self.call_at(time.monotonic() + delay, callback)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                if self._stopping:
                    return
                _, _, callback = heapq.heappop(self._heap)
            try:
                callback()
            except Exception:
                log.exception("supervisor timer callback failed")

    def stop(self, timeout: float | None = None) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)


class _Connectors:
    """A small pool of threads that run blocking connection opens."""

    def __init__(self, count: int, name: str) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._run, name=f"{name}-{i}", daemon=True) for i in range(max(1, count))
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def submit(self, job: Callable[[], None]) -> None:
        self._jobs.put(job)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                job()
            except Exception:
                log.exception("connector job failed")

    def stop(self, timeout: float | None = None) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout)


# -- the actor ------------------------------------------------------------------------------------


@attrs.define
class _Supervised:
    """The actor's record of one stream."""

    stream: StreamPort
    window: RestartWindow
    attempt: int = 0  # consecutive failed attempts, for the backoff
    handled_generation: int = 0  # the last attempt whose end was handled
    stopping: bool = False
    stop_reason: str = ""
    stop_error: ActorsError | None = None


class SupervisorActor(pykka.ThreadingActor):
    """Owns restart and admission state of every stream; driven only by tells."""

    def __init__(self, supervisor: Supervisor) -> None:
        super().__init__()
        self._sup = supervisor
        self._streams: dict[str, _Supervised] = {}
        self._admission = Admission(supervisor.max_connections, supervisor.rate_limit_backoff)
        self._wake_at: float | None = None

    def on_start(self) -> None:
        """Name the actor's thread so thread dumps and the thread budget are readable."""
        threading.current_thread().name = "actors-supervisor"

    # dispatch

    def on_receive(self, message: Any) -> Any:
        """Handle one tell; a bug here is logged and never kills the supervisor."""
        try:
            self._dispatch(message)
        except Exception:
            log.exception("supervisor failed handling %r", message)
        return None

    def _dispatch(self, message: object) -> None:
        if isinstance(message, _Submit):
            self._submit(message.stream)
        elif isinstance(message, _Ended):
            self._ended(message)
        elif isinstance(message, _Connected):
            self._connected(message)
        elif isinstance(message, _RestartDue):
            self._restart_due(message)
        elif isinstance(message, _Wake):
            self._wake_at = None
            self._pump()
        elif isinstance(message, _StopStream):
            self._stop_stream(message)
        elif isinstance(message, _StopAll):
            for stream_id in list(self._streams):
                self._stop_stream(_StopStream(stream_id, "supervisor stopped"))

    # admission

    def _submit(self, stream: StreamPort) -> None:
        self._streams[stream.stream_id] = _Supervised(stream, stream.restart.new_window())
        self._admission.request(stream.stream_id)
        self._pump()

    def _pump(self) -> None:
        admitted, wake_at = self._admission.admit(time.monotonic())
        for stream_id in admitted:
            self._start_connect(str(stream_id))
        if wake_at is not None and (self._wake_at is None or wake_at < self._wake_at):
            self._wake_at = wake_at
            self._sup._timer.call_at(wake_at, lambda: self._sup._tell(_Wake()))

    def _start_connect(self, stream_id: str) -> None:
        record = self._streams.get(stream_id)
        if record is None or record.stream.done or record.stopping:
            self._admission.release(stream_id)
            return
        stream = record.stream
        attempt = stream.new_attempt()
        self._sup._connectors.submit(lambda: self._sup._connect(stream, attempt))

    def _connected(self, message: _Connected) -> None:
        self._admission.connected()
        record = self._streams.get(message.stream_id)
        if record is not None and message.generation == record.stream.generation:
            record.attempt = 0

    # ends and restarts

    def _ended(self, message: _Ended) -> None:
        record = self._streams.get(message.stream_id)
        if record is None or message.generation <= record.handled_generation:
            return  # the second report of an attempt already handled (handshake error + Closed)
        record.handled_generation = message.generation
        self._admission.release(message.stream_id)
        try:
            self._decide(record, message)
        finally:
            if record.stream.done:
                self._streams.pop(message.stream_id, None)
            self._pump()

    def _decide(self, record: _Supervised, message: _Ended) -> None:
        stream = record.stream
        if stream.done:
            return
        if record.stopping:
            self._complete_stopped(record)
            return
        failure = self._failure_of(record, message)
        if failure is not None and failure.kind is FailureKind.RATE_LIMITED:
            self._admission.rate_limited(time.monotonic())
        if failure is None and (stream.finishing or not stream.restart.wants_restart(None)):
            stream.complete(None, message.code, message.reason)
            return
        if failure is not None and stream.finishing and stream.lossless and not stream.has_uncovered_audio():
            stream.complete(None, message.code, message.reason)  # every word is in; nothing to replay
            return
        if failure is not None and failure.fatal:
            fatal = failure.error
            stream.complete(
                StreamFailed(stream.stream_id, fatal, f"fatal failure, not retried: {fatal}"),
                message.code,
                message.reason,
            )
            return
        if not stream.restart.wants_restart(failure):
            error = failure.error if failure else None
            stream.complete(
                StreamFailed(
                    stream.stream_id, error, f"connection ended and the restart policy is 'never': {error}"
                ),
                message.code,
                message.reason,
            )
            return
        now = time.monotonic()
        cause = failure.error if failure else ConnectionClosedError(message.code, message.reason)
        if not record.window.try_record(now):
            policy = stream.restart
            stream.complete(
                StreamFailed(
                    stream.stream_id,
                    cause,
                    f"gave up after {policy.max_restarts} restarts within {policy.within:g} s "
                    f"(restart budget spent); last failure: {cause}",
                ),
                message.code,
                message.reason,
            )
            return
        record.attempt += 1
        delay = stream.restart.backoff.delay(record.attempt)
        stream.set_reconnecting(record.attempt, delay, cause)
        generation = message.generation
        self._sup._timer.call_later(delay, lambda: self._sup._tell(_RestartDue(stream.stream_id, generation)))

    @staticmethod
    def _failure_of(record: _Supervised, message: _Ended) -> Failure | None:
        """The failure that ended a connection, None for a normal end the caller asked for.

        A normal close (1000/1005) of a Listen V1/Flux connection that was never asked to finish
        is a failure: the server ended the session early and the audio after that point would
        never be transcribed, so it is retried (reconnect and replay) like a drop.
        """
        if message.error is not None:
            return classify_failure(message.error)
        if message.code in NORMAL_CLOSE_CODES:
            stream = record.stream
            if not stream.ends_only_on_finish or stream.finish_requested_on(message.generation):
                return None
            reason = message.reason or "no reason given"
            return classify_failure(
                ConnectionClosedError(
                    message.code, f"the server ended the stream before finish() was called ({reason})"
                )
            )
        return classify_failure(ConnectionClosedError(message.code, message.reason))

    def _restart_due(self, message: _RestartDue) -> None:
        record = self._streams.get(message.stream_id)
        if record is None or record.stream.done or record.stopping:
            return
        if record.stream.generation != message.generation:
            return
        record.stream.set_queued()
        self._admission.request(message.stream_id, priority=True)
        self._pump()

    # stops

    def _stop_stream(self, message: _StopStream) -> None:
        record = self._streams.get(message.stream_id)
        if record is None or record.stream.done:
            return
        record.stopping = True
        record.stop_reason = message.reason
        record.stop_error = message.error
        stream = record.stream
        stream.mark_stopping()
        if self._admission.is_waiting(message.stream_id) or stream.state is StreamState.RECONNECTING:
            self._admission.cancel(message.stream_id)
            self._complete_stopped(record)
        elif stream.state is StreamState.OPEN:
            stream.abort_connection(None)  # its Closed completes the stop
        # CONNECTING: the connector sees the abort, closes the new connection, and its end completes it

    def _complete_stopped(self, record: _Supervised) -> None:
        record.stream.complete(record.stop_error, 1000, record.stop_reason)
        self._streams.pop(record.stream.stream_id, None)


# -- the public object -----------------------------------------------------------------------------


class Supervisor:
    """Runs many supervised streams: admission, restarts with backoff, lossless reconnect.

    ``max_connections`` caps concurrent connections (new streams queue beyond it; a 429 pauses
    admission with ``rate_limit_backoff``). ``stall_timeout`` bounds how long a dead or
    black-holed server goes unnoticed: each stream's connection pings the server after
    ``stall_timeout / 2`` s without hearing anything from it, and fails (and is restarted) when
    nothing comes back within another ``stall_timeout / 2`` s (configs that set ``ping_interval`` /
    ``ping_timeout`` keep theirs; None turns the pings off). A server that is alive but sends no
    results -- silence, hold music, a slow transcriber -- answers the pings and keeps its stream.
    ``connectors`` is how many handshakes may run at once. ``opener`` opens one connection
    (defaults to ``Connection.open``; tests may wrap it). ``replay_speed`` paces the audio
    replayed to a new connection: a multiple of real time, None for no pacing, or ``"auto"``
    (default: none for a loopback URL, Deepgram's 1.25x cap otherwise; see
    :mod:`actors.runtime.pacing`); ``open_stream`` may override it per stream.

    ``audio_flush_interval`` is the coalescing window of streams whose config leaves
    ``ConnectionConfig.audio_flush_interval`` at None: ``t > 0`` (default 0.05) queues audio and
    writes it as one frame per stream once per window of ``t`` seconds from the one shared flusher
    thread -- fewer frames, less CPU on both ends (about half the server's CPU at 20 ms chunks),
    at up to ``t`` of added latency (none for a chunk of ``t`` or more: AudioHook's 200 ms frames
    go out at once); 0 writes each chunk at once on the caller's thread.

    ``keep_finals`` is what each stream keeps of its finals for ``StreamResult.finals`` (False:
    none, the default -- a long call must not grow in memory; True: all; N: the last N);
    ``open_stream`` may override it.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.

    Thread safety: one supervisor may be shared by any number of threads -- ``open_stream``,
    ``streams``, ``stream``, ``stop_stream`` take its lock or tell its actor; ``stop`` may be called
    from any thread (once the others stopped opening streams). Each
    :class:`~actors.runtime.stream.StreamHandle` is thread-safe too; audio sent to one stream from
    several threads at once is interleaved chunk by chunk, in no defined order.
    """

    def __init__(
        self,
        max_connections: int = 100,
        *,
        connectors: int = 8,
        stall_timeout: float | None = 10.0,
        rate_limit_backoff: Backoff = DEFAULT_RATE_LIMIT_BACKOFF,
        replay_max_seconds: float = 60.0,
        replay_speed: ReplaySpeed = "auto",
        opener: ConnectionOpener | None = None,
        audio_flush_interval: float = DEFAULT_AUDIO_FLUSH_INTERVAL,
        keep_finals: KeepFinals = False,
    ) -> None:
        if max_connections < 1:
            raise OptionsError("max_connections", f"must be >= 1, got {max_connections!r}", max_connections)
        if connectors < 1:
            raise OptionsError("connectors", f"must be >= 1, got {connectors!r}", connectors)
        if stall_timeout is not None and stall_timeout <= 0:
            raise OptionsError(
                "stall_timeout", f"must be > 0 seconds or None, got {stall_timeout!r}", stall_timeout
            )
        if not (isinstance(audio_flush_interval, int | float) and 0 <= audio_flush_interval <= 1.0):
            raise OptionsError(
                "audio_flush_interval",
                f"must be 0..1 seconds (0 = write each chunk at once), got {audio_flush_interval!r}",
                audio_flush_interval,
            )
        if replay_max_seconds <= 0:
            raise OptionsError(
                "replay_max_seconds", f"must be > 0, got {replay_max_seconds!r}", replay_max_seconds
            )
        self.max_connections = max_connections
        self.stall_timeout = stall_timeout
        self.rate_limit_backoff = rate_limit_backoff
        self.replay_max_seconds = replay_max_seconds
        self.replay_speed = check_replay_speed(replay_speed)
        self.connectors = connectors
        self.audio_flush_interval = float(audio_flush_interval)
        self.keep_finals = check_keep_finals(keep_finals)
        self._opener = opener
        self._timer = _Timer("actors-supervisor-timer")
        self._connectors = _Connectors(connectors, "actors-connector")
        self._handles: dict[str, StreamHandle] = {}
        self._lock = threading.Lock()
        self._ref: pykka.ActorRef[SupervisorActor] | None = None
        self._stopped = False

    # lifecycle

    def start(self) -> Supervisor:
        """Start the actor and its threads; returns self."""
        with self._lock:
            if self._ref is not None:
                return self
            if self._stopped:
                raise OptionsError(
                    "supervisor", "a stopped Supervisor cannot be started again; create a new one"
                )
            self._ref = SupervisorActor.start(self)
        self._timer.start()
        self._connectors.start()
        return self

    def __enter__(self) -> Supervisor:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every stream (without a graceful finish), then the actor and threads; joins them all."""
        with self._lock:
            ref = self._ref
            if ref is None or self._stopped:
                self._stopped = True
                return
            self._stopped = True  # no new streams from now on; the actor keeps running until below
            handles = list(self._handles.values())
        deadline = time.monotonic() + timeout
        with contextlib.suppress(pykka.ActorDeadError):
            ref.tell(_StopAll())
        for handle in handles:
            handle.wait_closed(max(0.0, deadline - time.monotonic()))
        try:
            ref.stop(block=True, timeout=max(0.1, deadline - time.monotonic()))
        except pykka.Timeout:
            log.warning("supervisor actor did not stop within %.1f s", timeout)
        with self._lock:
            self._ref = None
        self._timer.stop(timeout=max(0.1, deadline - time.monotonic()))
        self._connectors.stop(timeout=max(0.1, deadline - time.monotonic()))

    def thread_budget(self) -> int:
        """The fixed threads of this supervisor: its actor, its timer, its connectors, the
        process-wide read pool and (with a flush window) the process-wide audio flusher, both
        shared with every other connection.

        Each live stream adds one more (its connection's actor thread).
        """
        flusher = 1 if self.audio_flush_interval > 0 else 0
        return 2 + self.connectors + flusher + shared_read_pool().size

    # streams

    def open_stream(
        self,
        config: ConnectionConfig,
        subscribers: Sequence[object] = (),
        *,
        restart: RestartPolicy | None = None,
        lossless: bool | None = None,
        stream_id: str | None = None,
        replay_speed: ReplaySpeed | Literal["inherit"] = "inherit",
        keep_finals: KeepFinals | None = None,
    ) -> StreamHandle:
        """Start a supervised stream and return its handle at once (it queues under admission).

        ``lossless=None`` turns lossless reconnect on for Listen V1/Flux when the audio format
        allows it. ``replay_speed`` overrides the supervisor's (a multiple of real time, None
        or ``"auto"``). Raises :class:`OptionsError` for a duplicate ``stream_id``, a stopped
        supervisor, a bad ``replay_speed``, ``lossless=True`` with an API or encoding that
        cannot be replayed, or a bad ``keep_finals`` (True, False or a count; None = the
        supervisor's). A config whose ``audio_flush_interval`` is None gets the supervisor's.
        """
        if isinstance(config, ConnectionConfig):
            config = self._supervised_config(config)
        speed_setting = self.replay_speed if replay_speed == "inherit" else replay_speed
        speed = resolve_replay_speed(speed_setting, config.base_url)
        explicit = lossless is not None
        if lossless is None:
            lossless = lossless_possible(config)
        stream = SupervisedStream(
            stream_id or f"stream-{uuid.uuid4().hex[:12]}",
            config,
            subscribers,
            restart or RestartPolicy.on_failure(),
            lossless,
            self,
            replay_max_seconds=self.replay_max_seconds,
            lossless_required=explicit,
            replay_speed=speed,
            keep_finals=self.keep_finals if keep_finals is None else keep_finals,
        )
        handle = StreamHandle(stream)
        with self._lock:
            if self._ref is None or self._stopped:
                raise OptionsError(
                    "supervisor", "not running: use `with Supervisor(...)` or call start() first"
                )
            if handle.stream_id in self._handles and not self._handles[handle.stream_id].done:
                raise OptionsError(
                    "stream_id", f"a stream named {handle.stream_id!r} is already running", handle.stream_id
                )
            if len(self._handles) >= _PRUNE_AT:  # forget ended streams so a long run does not grow
                self._handles = {k: h for k, h in self._handles.items() if not h.done}
            self._handles[handle.stream_id] = handle
            ref = self._ref
        ref.tell(_Submit(stream))
        return handle

    def _supervised_config(self, config: ConnectionConfig) -> ConnectionConfig:
        """Fill in what the config leaves to the runtime: flush window and liveness pings."""
        stall = self.stall_timeout
        flush = config.audio_flush_interval
        ping_interval = config.ping_interval
        ping_timeout = config.ping_timeout
        if ping_interval is None:
            ping_interval = 0.0 if stall is None else stall / 2
        if ping_timeout is None and stall is not None:
            ping_timeout = stall / 2
        return attrs.evolve(
            config,
            audio_flush_interval=self.audio_flush_interval if flush is None else flush,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
        )

    def streams(self) -> list[StreamHandle]:
        """The handles of streams not yet ended."""
        with self._lock:
            return [h for h in self._handles.values() if not h.done]

    def stream(self, stream_id: str) -> StreamHandle:
        """The handle of ``stream_id``; raises ``KeyError`` naming it if unknown."""
        with self._lock:
            try:
                return self._handles[stream_id]
            except KeyError:
                raise KeyError(f"no stream named {stream_id!r}") from None

    def stop_stream(self, stream_id: str) -> None:
        """Stop one stream now (no graceful finish); its subscribers get ``Closed``."""
        self.stream(stream_id)
        self._tell(_StopStream(stream_id, "stopped by the caller"))

    # internals used by the actor, handles and helper threads

    def _tell(self, message: object) -> None:
        ref = self._ref
        if ref is None:
            return
        with contextlib.suppress(pykka.ActorDeadError):
            ref.tell(message)

    def _connect(self, stream: StreamPort, attempt: ConnectionAttempt) -> None:
        """Open one connection for ``stream`` (connector thread) and hand it over."""
        try:
            opener = self._opener or _default_opener()
            conn = opener(stream.config, subscribers=[attempt], stream_id=stream.stream_id)
        except Exception as exc:
            self._tell(_Ended(stream.stream_id, attempt.generation, exc))
            return
        if not stream.attach(conn, attempt):
            conn.close()  # stopped meanwhile, or already dead: its Closed event reports the end
            return
        self._tell(_Connected(stream.stream_id, attempt.generation))

    def report_end(
        self, stream_id: str, generation: int, error: BaseException | None, code: int, reason: str
    ) -> None:
        """A stream's connection attempt ended (called from its reader or opener thread)."""
        self._tell(_Ended(stream_id, generation, error, code, reason))

    def report_stop(self, stream_id: str, reason: str, error: ActorsError | None) -> None:
        """End a stream now with ``error`` (None: normally), e.g. a finish that timed out."""
        self._tell(_StopStream(stream_id, reason, error))

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the timer thread after ``delay`` s (it must be quick; used for pacing)."""
        self._timer.call_later(delay, callback)


def _default_opener() -> ConnectionOpener:
    from actors.runtime.connection import Connection

    opener: ConnectionOpener = Connection.open
    return opener


__all__ = ["Supervisor", "SupervisorActor"]
