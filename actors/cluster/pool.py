"""`ClusterPool`: supervised streams spread over Ray workers, one `Supervisor` per worker process.

Ray places the workers (one per cluster CPU by default, spread over the nodes), restarts a worker
whose process dies (``max_restarts=-1``: on another node when its node is gone) and carries every
byte. The pool adds what Ray does not know about streams:

* **placement**: each call or stream goes to the live worker with the fewest running;
* **results back**: one reader thread per worker consumes that worker's `SupervisorWorker.events`
  generator and hands each event to the call or stream it belongs to, in order;
* **re-runs**: when a worker dies (its generator fails, or it greets the pool as a new
  incarnation), each batch call it ran is started again from its beginning on a live worker, up to
  ``max_reruns`` times; the call's sink is told first (`CallSink.restart`) so it can drop what the
  lost attempt produced. A live stream on a lost worker ends with an error (its audio is the
  caller's, already sent: it is not replayed);
* **a cluster-wide limit** (``max_connections``): one named `AdmissionLimiter` actor leases
  connection slots to every worker, so together they never exceed Deepgram's concurrency limit.

Threads: the readers (``actors-cluster-reader-<worker>``) and the audio flusher
(``actors-cluster-flusher``) are the pool's; `close` stops and joins them.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from typing import Any, Protocol

import attrs

from actors.cli.calljob import StreamSettings, describe_error
from actors.cli.summary import CallOutcome
from actors.cli.target import Target
from actors.cluster.connect import ClusterError, require_ray
from actors.cluster.leases import LeaseStats
from actors.cluster.limiter import AdmissionLimiter
from actors.cluster.wire import (
    CallDone,
    CallMessage,
    CallProgress,
    CallSpec,
    FinishStream,
    Hello,
    OpenStream,
    SendAudio,
    SendMessage,
    StopStream,
    StreamEnded,
    StreamEvent,
    StreamOperation,
    WorkerEvent,
)
from actors.cluster.worker import SupervisorWorker
from actors.errors import ActorsError, OptionsError
from actors.runtime import events
from actors.runtime.policy import RestartPolicy
from actors.runtime.stream import StreamMetrics, StreamState
from actors.runtime.subscribers import SubscriberSet

#: The supervisor cap of each worker: the cluster-wide limit (if any) is what really bounds it.
DEFAULT_WORKER_STREAMS = 2000
#: Concurrent method calls of a worker actor (batch calls and live streams run on the worker's own
#: threads; these only carry commands and the event stream).
WORKER_METHOD_THREADS = 16


class CallSink(Protocol):
    """Where a batch call's results go on the driver, as the worker produces them."""

    def message(self, message: Mapping[str, Any]) -> None:
        """One server message (the dict a JSONL line is made of), in arrival order."""

    def progress(self, sent: float | None, heard: str | None, state: str | None) -> None:
        """A progress update of the call (audio seconds sent, latest words, a state)."""

    def restart(self, reason: str) -> None:
        """The attempt so far is lost (its worker died): the call runs again from its start."""


@attrs.frozen
class ClusterCallResult:
    """How a batch call ended: the worker's outcome, the worker that ran it to the end, and one
    line per lost attempt (the call was re-run after each)."""

    outcome: CallOutcome
    worker: str
    reruns: tuple[str, ...] = ()


@attrs.frozen
class WorkerStatus:
    """One worker as the pool sees it: alive (greeted and not lost since), where, how loaded."""

    name: str
    alive: bool
    incarnation: str | None
    node_ip: str | None
    pid: int | None
    running: int
    restarts: int


@attrs.frozen
class RemoteStreamResult:
    """How a live stream on the pool ended (``error`` None if it finished cleanly)."""

    stream_id: str
    worker: str
    request_ids: tuple[str, ...]
    error: str | None
    close_code: int | None = None
    close_reason: str = ""
    finals: int = 0

    @property
    def ok(self) -> bool:
        """True when the stream finished without an error."""
        return self.error is None


class _Slot:
    """The pool's view of one worker actor."""

    def __init__(self, name: str, actor: Any) -> None:
        self.name = name
        self.actor = actor
        self.hello: Hello | None = None
        self.alive = False
        self.gone = False  # dead for good (killed, or Ray gave up restarting it)
        self.restarts = 0
        self.calls: set[str] = set()  # attempt ids running there
        self.streams: set[str] = set()
        self.seq = 0
        self.lock = threading.Lock()  # orders the live-stream operations sent to it
        self.reader: threading.Thread | None = None

    @property
    def running(self) -> int:
        return len(self.calls) + len(self.streams)


class _Call:
    """A batch call on the driver: its spec, audio (in Ray's object store), sink and attempts."""

    def __init__(self, spec: CallSpec, audio: Any, sink: CallSink) -> None:
        self.spec = spec
        self.audio = audio
        self.sink = sink
        self.future: Future[ClusterCallResult] = Future()
        self.attempt = 0
        self.attempt_id = ""
        self.slot: _Slot | None = None
        self.reruns: list[str] = []


class ClusterPool:
    """Supervised streams on a Ray cluster; see the module docstring.

    Join the cluster first (`actors.cluster.join_cluster`, or ``ray.init``). ``workers`` is how
    many `SupervisorWorker` actors to start (default: one per CPU of the cluster), each reserving
    ``worker_cpus`` CPUs. ``max_connections`` is the cluster-wide connection limit (None: none
    beyond each worker's ``worker_streams``). ``max_reruns`` bounds how often one batch call is
    re-run after losing its worker. ``audio_flush_interval`` is how long live-stream audio is
    gathered before it goes to its worker in one batch (0: each chunk at once). ``worker_class``
    is the Ray actor class each worker runs: `SupervisorWorker`, or a subclass of it that adds its
    own methods next to the worker's `SupervisorWorker.supervisor` (call them on the handle
    ``ray.get_actor(status.name, namespace=pool.namespace)`` of a `workers` entry).

    Use as a context manager, or call `start` and `close`. Thread-safe.
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        max_connections: int | None = None,
        worker_cpus: float = 1.0,
        worker_streams: int = DEFAULT_WORKER_STREAMS,
        max_reruns: int = 2,
        audio_flush_interval: float = 0.05,
        namespace: str | None = None,
        worker_class: type[SupervisorWorker] = SupervisorWorker,
    ) -> None:
        if not (isinstance(worker_class, type) and issubclass(worker_class, SupervisorWorker)):
            raise OptionsError("worker_class", "must be SupervisorWorker or a subclass of it", worker_class)
        if workers is not None and workers < 1:
            raise OptionsError("workers", f"must be at least 1, got {workers!r}", workers)
        if max_connections is not None and max_connections < 1:
            raise OptionsError(
                "max_connections", f"must be at least 1, got {max_connections!r}", max_connections
            )
        if max_reruns < 0:
            raise OptionsError("max_reruns", f"must be 0 or more, got {max_reruns!r}", max_reruns)
        if audio_flush_interval < 0:
            raise OptionsError("audio_flush_interval", "must be 0 or more", audio_flush_interval)
        self.pool_id = uuid.uuid4().hex[:8]
        self._requested_workers = workers
        self.max_connections = max_connections
        self.worker_cpus = worker_cpus
        self.worker_streams = worker_streams
        self.max_reruns = max_reruns
        self.audio_flush_interval = audio_flush_interval
        self.namespace = namespace
        self.worker_class = worker_class
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # a worker greeted or was lost
        self._slots: list[_Slot] = []
        self._calls: dict[str, _Call] = {}  # attempt id -> call
        self._unplaced: list[_Call] = []
        self._streams: dict[str, RemoteStream] = {}
        self._limiter: Any = None
        self._limiter_name: str | None = None
        self._closing = False
        self._started = False
        self._jobs = itertools.count(1)
        self._audio: dict[_Slot, list[tuple[str, bytes]]] = {}
        self._audio_ready = threading.Condition()
        self._flusher: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, *, ready_timeout: float = 120.0) -> ClusterPool:
        """Create the limiter and the workers and wait until every worker greeted the pool.

        Raises `ClusterError` when Ray is not connected or the workers do not start in time.
        """
        require_ray()
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        if not ray.is_initialized():
            raise ClusterError("not connected to a Ray cluster: call actors.cluster.join_cluster(...) first")
        namespace = self.namespace or ray.get_runtime_context().namespace
        self.namespace = namespace
        count = self._requested_workers or max(
            1, int(ray.cluster_resources().get("CPU", 1) // self.worker_cpus)
        )
        if self.max_connections is not None:
            self._limiter_name = f"actors-limiter-{self.pool_id}"
            # On this process's node: a node that goes away takes its actors' state with it, and the
            # limiter's leases must outlive any worker node (this node going takes the pool anyway).
            here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
            self._limiter = (
                ray.remote(AdmissionLimiter)
                .options(
                    name=self._limiter_name,
                    namespace=namespace,
                    num_cpus=0,
                    max_restarts=-1,
                    scheduling_strategy=here,
                )
                .remote(self.max_connections, namespace)
            )
            ray.get(self._limiter.stats.remote())
        remote_worker = ray.remote(self.worker_class)
        for index in range(count):
            name = f"actors-worker-{self.pool_id}-{index}"
            actor = remote_worker.options(
                name=name,
                namespace=namespace,
                num_cpus=self.worker_cpus,
                max_concurrency=WORKER_METHOD_THREADS,
                max_restarts=-1,
                scheduling_strategy="SPREAD",
            ).remote(name, namespace, self._limiter_name, self.worker_streams)
            self._slots.append(_Slot(name, actor))
        self._started = True
        for slot in self._slots:
            slot.reader = threading.Thread(
                target=self._read, args=(slot,), name=f"actors-cluster-reader-{slot.name}"
            )
            slot.reader.start()
        self._flusher = threading.Thread(target=self._flush_loop, name="actors-cluster-flusher")
        self._flusher.start()
        deadline = time.monotonic() + ready_timeout
        with self._changed:
            while not all(s.alive for s in self._slots):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            ready = sum(s.alive for s in self._slots)
        if ready < count:
            self.close()
            raise ClusterError(f"only {ready} of {count} Ray workers started within {ready_timeout:.0f} s")
        return self

    def __enter__(self) -> ClusterPool:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stop(self, timeout: float = 30.0) -> None:
        """`close`, under the name a `Supervisor` uses."""
        self.close(timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Stop every worker gracefully (their calls end interrupted), join the pool's threads and
        remove the limiter. Calls not finished are reported interrupted. Idempotent."""
        import ray

        with self._lock:
            if self._closing:
                return
            self._closing = True
            slots = list(self._slots)
            pending = list(self._calls.values()) + self._unplaced
            self._unplaced = []
        with self._audio_ready:
            self._audio_ready.notify_all()
        if self._flusher is not None:
            self._flusher.join()
        for slot in slots:
            if not slot.alive:  # restarting (perhaps waiting for a node) or gone: nothing to drain
                ray.kill(slot.actor, no_restart=True)
                continue
            try:
                ray.get(slot.actor.__ray_terminate__.remote(), timeout=timeout)
            except Exception:  # died meanwhile, or stuck: make sure it is gone
                ray.kill(slot.actor, no_restart=True)
        for slot in slots:
            if slot.reader is not None and slot.reader is not threading.current_thread():
                slot.reader.join(timeout)
                if slot.reader.is_alive():
                    ray.kill(slot.actor, no_restart=True)
                    slot.reader.join()
        for call in pending:
            self._settle(call, call.spec.outcome("the pool was closed", "interrupted"), call.slot)
        for stream in list(self._streams.values()):
            stream._ended(None, "the pool was closed")
        if self._limiter is not None:
            ray.kill(self._limiter)

    # -- what runs where ---------------------------------------------------------------------

    def workers(self) -> list[WorkerStatus]:
        """Every worker as the pool sees it now."""
        with self._lock:
            return [
                WorkerStatus(
                    s.name,
                    s.alive,
                    s.hello.incarnation if s.hello else None,
                    s.hello.node_ip if s.hello else None,
                    s.hello.pid if s.hello else None,
                    s.running,
                    s.restarts,
                )
                for s in self._slots
            ]

    def admission(self) -> LeaseStats | None:
        """The cluster-wide limit's figures (None without ``max_connections``)."""
        if self._limiter is None:
            return None
        import ray

        stats = ray.get(self._limiter.stats.remote())
        assert isinstance(stats, LeaseStats)
        return stats

    def _least_loaded(self) -> _Slot | None:
        live = [s for s in self._slots if s.alive]
        return min(live, key=lambda s: s.running) if live else None

    # -- batch calls -----------------------------------------------------------------------

    def run_call(
        self,
        name: str,
        stem: str,
        suffix: str,
        audio: bytes,
        settings: StreamSettings,
        target: Target,
        sink: CallSink,
    ) -> Future[ClusterCallResult]:
        """Run a recorded call (``audio``: its file's bytes, ``suffix`` its extension) on the least
        loaded worker; the future's result says how it went (it never raises for the call's own
        failure). Messages and progress reach ``sink`` as they arrive."""
        import ray

        spec = CallSpec(f"c{next(self._jobs)}", name, stem, suffix, settings, target)
        call = _Call(spec, ray.put(audio), sink)
        with self._lock:
            if self._closing or not self._started:
                raise ActorsError("the cluster pool is not running")
            self._place(call)
        return call.future

    def stop_calls(self) -> None:
        """Stop sending audio of every batch call (Ctrl-C): each ends ``interrupted`` with what it sent."""
        with self._lock:
            slots = list(self._slots)
        for slot in slots:
            slot.actor.stop_calls.remote(None)

    def _place(self, call: _Call) -> None:
        """Start ``call``'s next attempt on the least loaded live worker (lock held)."""
        slot = self._least_loaded()
        if slot is None:
            self._unplaced.append(call)
            return
        call.attempt += 1
        call.attempt_id = f"{call.spec.job}.{call.attempt}"
        call.slot = slot
        self._calls[call.attempt_id] = call
        slot.calls.add(call.attempt_id)
        ref = slot.actor.run_call.remote(attrs.evolve(call.spec, job=call.attempt_id), call.audio)
        attempt_id = call.attempt_id
        ref.future().add_done_callback(lambda future: self._submitted(slot, attempt_id, future))

    def _submitted(self, slot: _Slot, attempt_id: str, future: Future[None]) -> None:
        error = future.exception()
        if error is not None:  # the worker died before it took the call
            self._lose_calls(slot, [attempt_id], f"{slot.name} lost: {describe_error(error)}")

    def _on_call_event(self, slot: _Slot, event: CallMessage | CallProgress | CallDone) -> None:
        with self._lock:
            call = self._calls.get(event.job)
            if call is None or call.attempt_id != event.job:
                return  # an attempt given up on (its worker was lost)
            if isinstance(event, CallDone):
                del self._calls[event.job]
                slot.calls.discard(event.job)
        try:
            if isinstance(event, CallMessage):
                call.sink.message(event.message)
            elif isinstance(event, CallProgress):
                call.sink.progress(event.sent, event.heard, event.state)
        except Exception as exc:  # e.g. the outputs' disk is full: this call cannot be recorded
            with self._lock:
                self._calls.pop(event.job, None)
                slot.calls.discard(event.job)
            slot.actor.stop_calls.remote([event.job])
            reason = f"could not record the call here: {describe_error(exc)}"
            self._settle(call, call.spec.outcome(reason, "failed"), slot)
            return
        if isinstance(event, CallDone):
            self._settle(call, event.outcome, slot)

    def _settle(self, call: _Call, outcome: CallOutcome, slot: _Slot | None) -> None:
        if not call.future.done():
            call.future.set_result(ClusterCallResult(outcome, slot.name if slot else "", tuple(call.reruns)))

    def _lose_calls(self, slot: _Slot, attempt_ids: Sequence[str], reason: str) -> None:
        """The attempts ``attempt_ids`` on ``slot`` are lost: re-run each call, or fail it."""
        rerun: list[_Call] = []
        failed: list[_Call] = []
        with self._lock:
            for attempt_id in attempt_ids:
                slot.calls.discard(attempt_id)
                call = self._calls.pop(attempt_id, None)
                if call is None or call.attempt_id != attempt_id:
                    continue
                call.reruns.append(reason)
                if self._closing:
                    failed.append(call)
                elif len(call.reruns) <= self.max_reruns:
                    rerun.append(call)
                else:
                    failed.append(call)
        for call in failed:
            self._settle(
                call, call.spec.outcome(f"{reason} (re-run {len(call.reruns) - 1} times)", "failed"), slot
            )
        for call in rerun:
            call.sink.restart(reason)
            with self._lock:
                self._place(call)
        if attempt_ids:  # the worker may still be running them (a transient error): stop it wasting audio
            slot.actor.stop_calls.remote(list(attempt_ids))

    # -- live streams ----------------------------------------------------------------------

    def open_stream(
        self,
        config: Any,
        subscribers: Sequence[object] = (),
        *,
        stream_id: str | None = None,
        restart: RestartPolicy | None = None,
        lossless: bool | None = None,
    ) -> RemoteStream:
        """Start a supervised live stream on the least loaded worker and return its handle at once.

        ``config`` is a `ConnectionConfig` (it travels to the worker, so it may not carry an
        ``ssl_context``: give the nodes ``SSL_CERT_FILE`` instead). Subscribers (callables,
        queues, pykka actors, as for a local stream) get its messages and lifecycle events on
        the pool's reader thread of that worker, in order.
        """
        if getattr(config, "ssl_context", None) is not None:
            raise OptionsError(
                "ssl_context", "an SSLContext cannot travel to a Ray worker; set SSL_CERT_FILE on the nodes"
            )
        stream_id = stream_id or f"stream-{uuid.uuid4().hex[:12]}"
        with self._lock:
            if self._closing or not self._started:
                raise ActorsError("the cluster pool is not running")
            if stream_id in self._streams:
                raise OptionsError("stream_id", f"a stream named {stream_id!r} is already running", stream_id)
            slot = self._least_loaded()
            if slot is None:
                raise ActorsError("no Ray worker of the pool is alive")
            stream = RemoteStream(self, slot, stream_id, SubscriberSet(subscribers))
            self._streams[stream_id] = stream
            slot.streams.add(stream_id)
        self._control(slot, OpenStream(stream_id, config, restart, lossless))
        return stream

    def streams(self) -> list[RemoteStream]:
        """The live streams not yet ended."""
        with self._lock:
            return list(self._streams.values())

    def stop_stream(self, stream_id: str) -> None:
        """Stop a live stream now, without a graceful finish (its subscribers get ``Closed``).

        Raises `OptionsError` when no stream of that name is running.
        """
        with self._lock:
            stream = self._streams.get(stream_id)
        if stream is None:
            raise OptionsError("stream_id", f"no stream named {stream_id!r} is running", stream_id)
        self._flush_slot(stream.slot)
        self._control(stream.slot, StopStream(stream_id))

    def _control(self, slot: _Slot, operation: StreamOperation) -> None:
        """Send a live-stream operation to ``slot``'s worker, numbered in sending order."""
        with slot.lock:
            hello = slot.hello
            if hello is None:
                return
            seq = slot.seq
            slot.seq += 1
            slot.actor.control.remote(hello.incarnation, seq, operation)

    def _queue_audio(self, slot: _Slot, stream_id: str, chunk: bytes) -> None:
        if self.audio_flush_interval == 0:
            self._control(slot, SendAudio(((stream_id, chunk),)))
            return
        with self._audio_ready:
            batch = self._audio.setdefault(slot, [])
            batch.append((stream_id, chunk))
            if len(batch) == 1:
                self._audio_ready.notify()

    def _flush_slot(self, slot: _Slot) -> None:
        """Send ``slot``'s gathered audio now (before an operation that must come after it)."""
        with self._audio_ready:
            batch = self._audio.pop(slot, None)
            if batch:
                self._control(slot, SendAudio(tuple(batch)))

    def _flush_loop(self) -> None:
        while True:
            with self._audio_ready:
                while not self._audio and not self._closing:
                    self._audio_ready.wait()
                if self._closing:
                    return
                # Gather for one flush window, then send each worker's audio as one batch.
                self._audio_ready.wait(self.audio_flush_interval)
                batches, self._audio = self._audio, {}
                for slot, batch in batches.items():
                    self._control(slot, SendAudio(tuple(batch)))

    def _on_stream_event(self, event: StreamEvent | StreamEnded) -> None:
        with self._lock:
            stream = self._streams.get(event.stream_id)
        if stream is None:
            return
        if isinstance(event, StreamEvent):
            stream._deliver(event.event)
        else:
            stream._ended(event, None)

    def _forget_stream(self, stream: RemoteStream) -> None:
        with self._lock:
            if self._streams.get(stream.stream_id) is stream:
                del self._streams[stream.stream_id]
            stream.slot.streams.discard(stream.stream_id)

    # -- reading the workers -----------------------------------------------------------------

    def _read(self, slot: _Slot) -> None:
        """Consume ``slot``'s event stream until the pool closes; after a failure, start again
        (Ray queues the call until the restarted worker is up)."""
        import ray
        from ray.exceptions import ActorDiedError, RayActorError

        while True:
            try:
                for ref in slot.actor.events.remote():
                    batch = ray.get(ref)
                    for event in batch:
                        self._on_event(slot, event)
                if self._closing:
                    return
                self._lost(slot, f"{slot.name} stopped")
            except Exception as exc:  # the worker died (RayActorError), or its event stream broke
                self._lost(slot, f"{slot.name} lost: {type(exc).__name__}")
                if self._closing:
                    return
                if isinstance(exc, ActorDiedError):
                    try:  # restarting: this waits for the new process; gone for good: raises at once
                        ray.get(slot.actor.hello.remote())
                    except RayActorError:
                        self._gone(slot)
                        return

    def _on_event(self, slot: _Slot, event: WorkerEvent) -> None:
        if isinstance(event, Hello):
            self._greeted(slot, event)
        elif isinstance(event, (CallMessage, CallProgress, CallDone)):
            self._on_call_event(slot, event)
        else:
            self._on_stream_event(event)

    def _greeted(self, slot: _Slot, hello: Hello) -> None:
        previous = slot.hello
        if previous is not None and previous.incarnation != hello.incarnation:
            self._lost(slot, f"{slot.name} restarted")
            slot.restarts += 1
        with slot.lock:
            if previous is None or previous.incarnation != hello.incarnation:
                slot.seq = 0
            slot.hello = hello
        with self._changed:
            slot.alive = True
            unplaced, self._unplaced = self._unplaced, []
            for call in unplaced:
                self._place(call)
            self._changed.notify_all()

    def _gone(self, slot: _Slot) -> None:
        """``slot``'s worker will not come back; with no worker left, calls still waiting fail."""
        with self._changed:
            slot.gone = True
            stranded: list[_Call] = []
            if all(s.gone for s in self._slots):
                stranded, self._unplaced = self._unplaced, []
            self._changed.notify_all()
        for call in stranded:
            self._settle(call, call.spec.outcome("no Ray worker of the pool is left", "failed"), None)

    def _lost(self, slot: _Slot, reason: str) -> None:
        """``slot``'s worker died or restarted: its calls are re-run elsewhere, its streams end."""
        with self._changed:
            slot.alive = False
            attempts = list(slot.calls)
            streams = [self._streams[s] for s in slot.streams if s in self._streams]
            self._changed.notify_all()
        self._lose_calls(slot, attempts, reason)
        for stream in streams:
            stream._ended(None, reason)
            self._control(slot, StopStream(stream.stream_id))  # in case the worker lives on: free it


class RemoteStream:
    """The caller's handle on a live stream run by a `ClusterPool` worker (see `ClusterPool.open_stream`).

    `send_audio` queues audio (it reaches the worker in the pool's next batch); `finish` ends the
    stream gracefully and returns how it went. Thread-safe.
    """

    def __init__(self, pool: ClusterPool, slot: _Slot, stream_id: str, subscribers: SubscriberSet) -> None:
        self._pool = pool
        self.slot = slot
        self.stream_id = stream_id
        self.worker = slot.name
        self._subscribers = subscribers
        self._deliver_lock = threading.Lock()
        self._done = threading.Event()
        self._opened = threading.Event()
        self._result: RemoteStreamResult | None = None
        self._finishing = False
        self._state = StreamState.QUEUED
        self._request_ids: list[str] = []
        self._metrics: StreamMetrics | None = None

    def __repr__(self) -> str:
        return f"RemoteStream({self.stream_id!r}, worker={self.worker!r})"

    @property
    def done(self) -> bool:
        """True once the stream ended (finished, failed, or its worker was lost)."""
        return self._done.is_set()

    @property
    def state(self) -> StreamState:
        """``QUEUED`` until the first connection opened (waiting for a lease or a handshake), then
        ``OPEN`` / ``RECONNECTING``, and ``CLOSED`` once it ended."""
        return self._state

    @property
    def request_ids(self) -> tuple[str, ...]:
        """The ``dg-request-id`` of each connection so far."""
        with self._deliver_lock:
            return tuple(self._request_ids)

    @property
    def metrics(self) -> StreamMetrics:
        """The stream's counters: final once it ended, else asked of its worker now (zeros while it
        waits for its first connection or when the worker cannot answer)."""
        if self._metrics is not None:
            return self._metrics
        if self._done.is_set():  # ended without its worker's figures (the worker was lost)
            return self._known_metrics()
        import ray

        try:
            live = ray.get(self.slot.actor.stream_metrics.remote(self.stream_id), timeout=10.0)
        except Exception:  # the worker is gone or busy: report what is known here
            live = None
        return live if isinstance(live, StreamMetrics) else self._known_metrics()

    def _known_metrics(self) -> StreamMetrics:
        """What this process knows of the stream's counters: its state and request ids, zeros else."""
        return StreamMetrics(self.stream_id, self._state.value, 0, 0, 0.0, 0.0, 0.0, 0, 0, self.request_ids)

    def send(self, message: object) -> None:
        """Send a control message (Finalize, KeepAlive, Configure...) in order with the audio sent
        before it. Raises `ActorsError` once the stream ended or is finishing."""
        if self._done.is_set() or self._finishing:
            raise ActorsError(
                f"stream {self.stream_id}: {self._result.error if self._result else 'finishing'}"
            )
        self._pool._flush_slot(self.slot)
        self._pool._control(self.slot, SendMessage(self.stream_id, message))

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Wait until the stream ended; False on timeout."""
        return self._done.wait(timeout)

    def subscribe(self, subscriber: object) -> None:
        """Add a subscriber for the events from now on."""
        self._subscribers.add(subscriber)

    def send_audio(self, data: bytes | bytearray | memoryview) -> None:
        """Queue ``data`` for the stream. Raises `ActorsError` once the stream ended or is finishing."""
        if self._done.is_set() or self._finishing:
            raise ActorsError(
                f"stream {self.stream_id}: {self._result.error if self._result else 'finishing'}"
            )
        self._pool._queue_audio(self.slot, self.stream_id, bytes(data))

    def wait_open(self, timeout: float | None = None) -> bool:
        """Wait until the stream's first connection opened; False on timeout or if it ended first."""
        self._opened.wait(timeout)
        return self._opened.is_set() and not (self._done.is_set() and self._result and self._result.error)

    def finish(self, timeout: float = 10.0) -> RemoteStreamResult:
        """Send the queued audio, finish the stream gracefully (its last results are delivered
        first) and return how it ended; an error result, not an exception, when it failed."""
        if not self._done.is_set() and not self._finishing:
            self._finishing = True
            self._pool._flush_slot(self.slot)
            self._pool._control(self.slot, FinishStream(self.stream_id, timeout))
        if not self._done.wait(timeout + 10.0):
            self._ended(None, f"no answer from {self.worker} within {timeout + 10.0:.0f} s")
        assert self._result is not None
        return self._result

    def _deliver(self, event: object) -> None:
        if isinstance(event, events.Opened):
            self._opened.set()
            self._state = StreamState.OPEN
            if event.request_id:
                with self._deliver_lock:
                    self._request_ids.append(event.request_id)
        elif isinstance(event, events.Reconnecting):
            self._state = StreamState.RECONNECTING
        self._subscribers.broadcast(event)  # never raises; a failing subscriber is reported to all

    def _ended(self, ended: StreamEnded | None, error: str | None) -> None:
        with self._deliver_lock:
            if self._done.is_set():
                return
            self._state = StreamState.CLOSED
            if ended is not None:
                self._metrics = ended.metrics
                self._request_ids = list(ended.request_ids) or self._request_ids
                self._result = RemoteStreamResult(
                    self.stream_id,
                    self.worker,
                    ended.request_ids,
                    ended.error,
                    ended.close_code,
                    ended.close_reason,
                    ended.finals,
                )
            else:
                self._result = RemoteStreamResult(self.stream_id, self.worker, (), error or "ended")
        if ended is None:  # the worker is gone: the subscribers hear it the way a failed stream says so
            failure = ActorsError(f"stream {self.stream_id}: {error}")
            self._deliver(events.ConnectionFailed(failure))
            self._deliver(events.Closed(1006, error or ""))
        self._done.set()
        self._pool._forget_stream(self)
