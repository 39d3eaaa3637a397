"""`SupervisorWorker`: one `Supervisor` in one Ray worker process, driven by its `ClusterPool`.

The pool creates each worker as a Ray actor (threaded, so its methods return while calls run) and
reads everything it produces from one long-lived streaming generator, `events`, in batches: one
Ray round trip carries the messages of every call and stream the worker runs. Two kinds of work:

* **batch calls** (`run_call`): a recorded call whose file's bytes come with it; the worker decodes
  it and runs the same `CallJob` as a local run, paced here, and forwards every server message
  (`CallMessage`) and progress update; the driver writes the outputs, so they are byte-equal to a
  local run's. Each call runs on its own named thread, joined when it ends or the worker stops.
* **live streams** (`open_stream`, `send_audio`, `finish_stream`): a supervised stream whose audio
  the caller sends, batched per worker; its messages and lifecycle events come back as
  `StreamEvent`, its end as `StreamEnded`.

Before a call or stream connects it takes a lease from the pool's `AdmissionLimiter` (when the
pool has a limit), and gives it back when it ends. A restarted worker (Ray's ``max_restarts``) is a
new process with fresh state: it tells the limiter to drop the leases of its previous incarnation,
and greets the pool with a new `Hello`, which is how the pool learns that the calls it ran are lost.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from actors.cli.calljob import CallJob, CallRecorder, describe_error
from actors.cli.outputs import CallFiles, Segment, final_segment
from actors.cli.progress import ProgressView
from actors.cluster.wire import (
    CallDone,
    CallMessage,
    CallProgress,
    CallSpec,
    Hello,
    OpenStream,
    SendAudio,
    SendMessage,
    StopStream,
    StreamEnded,
    StreamEvent,
    StreamOperation,
    WorkerEvent,
    portable_event,
    portable_metrics,
)
from actors.errors import ActorsError
from actors.runtime import events
from actors.runtime.policy import RestartPolicy
from actors.runtime.stream import StreamHandle, StreamMetrics
from actors.runtime.supervisor import Supervisor

#: How often a call asks the limiter for its lease when the limiter is unavailable (restarting).
ACQUIRE_ATTEMPTS = 3


class _Outbox:
    """The worker's events not yet read by the pool; one reader at a time (the newest `take` wins)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._items: list[WorkerEvent] = []
        self._reader = 0
        self._closed = False

    def put(self, event: WorkerEvent) -> None:
        with self._cond:
            self._items.append(event)
            self._cond.notify_all()

    def new_reader(self) -> int:
        with self._cond:
            self._reader += 1
            self._cond.notify_all()
            return self._reader

    def take(self, reader: int) -> list[WorkerEvent] | None:
        """Wait for events and return all of them; None once this reader is superseded, or once the
        box is closed and emptied (what was put before `close` is still taken)."""
        with self._cond:
            while not self._items and reader == self._reader and not self._closed:
                self._cond.wait()
            if reader != self._reader or not self._items:
                return None
            items, self._items = self._items, []
            return items

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class _ForwardingRecorder(CallRecorder):
    """A `CallRecorder` that sends each message to the pool (the driver writes the files)."""

    def __init__(self, job: str, outbox: _Outbox) -> None:
        self._job = job
        self._outbox = outbox
        self._lock = threading.Lock()
        self._segments: list[Segment] = []

    def add(self, message: Mapping[str, Any]) -> Segment | None:
        segment = final_segment(message)
        with self._lock:
            self._outbox.put(CallMessage(self._job, dict(message)))
            if segment is not None:
                self._segments.append(segment)
        return segment

    @property
    def segments(self) -> list[Segment]:
        with self._lock:
            return list(self._segments)

    def commit(self) -> None:
        """Nothing to write here: the driver commits once it has every message."""

    def abort(self) -> None:
        """Nothing to remove here."""


class _ForwardingProgress(ProgressView):
    """Forwards a call's progress updates to the pool; start and end are the driver's to show."""

    def __init__(self, job: str, outbox: _Outbox) -> None:
        self._job = job
        self._outbox = outbox

    def update_call(
        self, name: str, *, sent: float | None = None, heard: str | None = None, state: str | None = None
    ) -> None:
        self._outbox.put(CallProgress(self._job, sent, heard, state))


class _Sequencer:
    """Runs the pool's live-stream operations in the order it sent them.

    A threaded Ray actor runs calls out of order; the pool numbers each operation per worker
    incarnation (``seq`` from 0), and an operation that arrives early waits here for those before it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = 0
        self._early: dict[int, Callable[[], None]] = {}

    def run(self, seq: int, operation: Callable[[], None]) -> None:
        with self._lock:
            self._early[seq] = operation
            while (ready := self._early.pop(self._next, None)) is not None:
                self._next += 1
                ready()


class _PendingStream:
    """A live stream waiting for its lease: the audio sent meanwhile, and whether it was finished."""

    def __init__(self, stream_id: str, config: Any, restart: RestartPolicy | None, lossless: bool | None):
        self.stream_id = stream_id
        self.config = config
        self.restart = restart
        self.lossless = lossless
        self.queued: list[bytes | object] = []  # audio chunks and control messages, in order
        self.finish_timeout: float | None = None
        self.handle: StreamHandle | None = None
        self.finishing = False


class SupervisorWorker:
    """Hosts one `Supervisor` in a Ray worker process; see the module docstring.

    ``name`` is this worker's Ray actor name in ``namespace``; ``limiter`` the name of the pool's
    `AdmissionLimiter` (None: no cluster-wide limit); ``max_streams`` the supervisor's own cap.
    """

    def __init__(self, name: str, namespace: str, limiter: str | None, max_streams: int) -> None:
        import ray

        self.name = name
        self.incarnation = uuid.uuid4().hex[:12]
        self._outbox = _Outbox()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._calls: dict[str, tuple[threading.Thread, threading.Event]] = {}
        self._streams: dict[str, _PendingStream] = {}
        self._awaiting_lease: set[str] = set()  # calls waiting for the limiter
        self._sequencer = _Sequencer()
        self._threads: list[threading.Thread] = []
        self._tmp = Path(tempfile.mkdtemp(prefix="actors-cluster-"))
        self._limiter = ray.get_actor(limiter, namespace=namespace) if limiter else None
        if self._limiter is not None:  # leases of a previous incarnation of this worker are void
            ray.get(self._limiter.release_holder.remote(name))
        self._supervisor = Supervisor(max_connections=max_streams).start()
        context = ray.get_runtime_context()
        self._hello = Hello(
            name, self.incarnation, os.getpid(), context.get_node_id(), ray.util.get_node_ip_address()
        )

    @property
    def supervisor(self) -> Supervisor:
        """The `Supervisor` this worker hosts (started; stopped when the worker stops), for the
        methods of a subclass given as ``ClusterPool(worker_class=...)``."""
        return self._supervisor

    # -- the event stream -------------------------------------------------------------------

    def events(self) -> Iterator[list[WorkerEvent]]:
        """Everything the worker produces, in batches, starting with its `Hello`; a newer call
        ends an older one (the pool reads with one call at a time)."""
        reader = self._outbox.new_reader()
        yield [self._hello]
        while (batch := self._outbox.take(reader)) is not None:
            yield batch

    def hello(self) -> Hello:
        """Which incarnation of the worker this is, and where it runs."""
        return self._hello

    # -- batch calls -----------------------------------------------------------------------

    def run_call(self, spec: CallSpec, audio: bytes) -> None:
        """Start a recorded call (``audio`` is its file's bytes); its events follow on `events`."""
        self.reap_threads()
        stop = threading.Event()
        thread = threading.Thread(
            target=self._run_call, args=(spec, audio, stop), name=f"actors-cluster-call-{spec.job}"
        )
        with self._lock:
            if self._stopping.is_set():
                self._outbox.put(CallDone(spec.job, spec.outcome("the worker is stopping", "interrupted")))
                return
            self._calls[spec.job] = (thread, stop)
        thread.start()

    def stop_calls(self, jobs: Sequence[str] | None = None) -> None:
        """Stop sending audio of ``jobs`` (all when None): each finishes with what it sent, and is
        reported ``interrupted``."""
        with self._lock:
            stopped = [(job, stop) for job, (_, stop) in self._calls.items() if jobs is None or job in jobs]
            waiting = [job for job, _ in stopped if job in self._awaiting_lease]
        for _, stop in stopped:
            stop.set()
        if self._limiter is not None:  # a call still waiting for a slot withdraws its request
            for job in waiting:
                self._limiter.release.remote(self._lease(job))

    def _run_call(self, spec: CallSpec, audio: bytes, stop: threading.Event) -> None:
        path = self._tmp / f"{spec.job}{spec.suffix}"
        lease = self._lease(spec.job)
        leased = False
        try:
            path.write_bytes(audio)
            del audio
            from actors.cli.audiofile import read_audio

            decoded = read_audio(path)
            with self._lock:
                self._awaiting_lease.add(spec.job)
            try:
                leased = self._acquire(lease)
            finally:
                with self._lock:
                    self._awaiting_lease.discard(spec.job)
            if not leased or stop.is_set():
                outcome = spec.outcome("stopped before it could connect", "interrupted")
            else:
                job = CallJob(
                    spec.name,
                    decoded,
                    CallFiles(self._tmp, spec.stem),
                    spec.settings,
                    spec.target,
                    _ForwardingProgress(spec.job, self._outbox),
                    stop,
                    recorder=lambda _files, _multichannel: _ForwardingRecorder(spec.job, self._outbox),
                )
                outcome = job.run(self._supervisor)
        except Exception as exc:  # unreadable audio, a full disk -- or a bug: the call must still end
            outcome = spec.outcome(describe_error(exc), "failed")
        finally:
            if leased:
                self._release(lease)
            with contextlib.suppress(OSError):
                path.unlink()
        with self._lock:
            self._calls.pop(spec.job, None)
            self._threads.append(threading.current_thread())
        self._outbox.put(CallDone(spec.job, outcome))

    # -- live streams ----------------------------------------------------------------------

    def control(self, incarnation: str, seq: int, operation: StreamOperation) -> None:
        """Run a live-stream operation (`OpenStream`, `SendAudio`, `FinishStream`) in the pool's order.

        ``seq`` numbers the pool's operations for this ``incarnation`` of the worker from 0; an
        operation meant for an earlier incarnation (sent before a restart) is dropped.
        """
        if incarnation != self.incarnation:
            return
        if isinstance(operation, OpenStream):
            self._sequencer.run(seq, lambda: self._open_stream(operation))
        elif isinstance(operation, SendAudio):
            self._sequencer.run(seq, lambda: self._send_audio(operation.batch))
        elif isinstance(operation, SendMessage):
            self._sequencer.run(seq, lambda: self._send_message(operation.stream_id, operation.message))
        elif isinstance(operation, StopStream):
            self._sequencer.run(seq, lambda: self._stop_stream(operation.stream_id))
        else:
            self._sequencer.run(seq, lambda: self._finish_stream(operation.stream_id, operation.timeout))

    def _open_stream(self, operation: OpenStream) -> None:
        stream_id, config = operation.stream_id, operation.config
        restart, lossless = operation.restart, operation.lossless
        pending = _PendingStream(stream_id, config, restart, lossless)
        with self._lock:
            if stream_id in self._streams:
                self._outbox.put(
                    StreamEnded(
                        stream_id, (), f"a stream named {stream_id!r} is already running", None, "", 0
                    )
                )
                return
            self._streams[stream_id] = pending
        if self._limiter is None:
            self._admitted(pending, True)
            return
        ref: Any = self._limiter.acquire.remote(self.name, self._lease(stream_id))
        ref.future().add_done_callback(lambda future: self._admitted(pending, _granted(future)))

    def _admitted(self, pending: _PendingStream, granted: bool) -> None:
        with self._lock:
            if self._streams.get(pending.stream_id) is not pending:
                return
            if not granted:
                del self._streams[pending.stream_id]
        if not granted:
            self._outbox.put(
                StreamEnded(pending.stream_id, (), "no connection slot was granted", None, "", 0)
            )
            return

        def forward(event: object) -> None:
            self._outbox.put(StreamEvent(pending.stream_id, portable_event(event)))

        try:
            handle = self._supervisor.open_stream(
                pending.config,
                subscribers=[forward],
                restart=pending.restart,
                lossless=pending.lossless,
                stream_id=pending.stream_id,
            )
        except ActorsError as exc:
            with self._lock:
                self._streams.pop(pending.stream_id, None)
            self._release(self._lease(pending.stream_id))
            self._outbox.put(StreamEnded(pending.stream_id, (), describe_error(exc), None, "", 0))
            return
        with self._lock:  # under the lock, so audio sent meanwhile cannot overtake what waited
            pending.handle = handle
            queued, pending.queued = pending.queued, []
            finish = pending.finish_timeout
            for item in queued:
                with contextlib.suppress(ActorsError):
                    if isinstance(item, bytes):
                        handle.send_audio(item)
                    else:
                        handle.send(item)
        if finish is not None:
            self._start_finish(pending, finish)

    def _handle_or_queue(self, stream_id: str, item: bytes | object) -> StreamHandle | None:
        """The stream's handle to send ``item`` on; None when there is none to send on now: the
        stream still waits for its lease (``item`` is queued for it, in order) or is unknown."""
        with self._lock:
            pending = self._streams.get(stream_id)
            handle = pending.handle if pending is not None else None
            if pending is not None and handle is None:
                pending.queued.append(item)
        return handle

    def _send_audio(self, batch: Sequence[tuple[str, bytes]]) -> None:
        for stream_id, chunk in batch:
            handle = self._handle_or_queue(stream_id, chunk)
            if handle is not None:
                with contextlib.suppress(ActorsError):  # a failed stream says so in its events
                    handle.send_audio(chunk)

    def _send_message(self, stream_id: str, message: object) -> None:
        handle = self._handle_or_queue(stream_id, message)
        if handle is not None:
            try:
                handle.send(message)
            except ActorsError as exc:  # e.g. a message the API does not take: the caller hears why
                self._outbox.put(
                    StreamEvent(stream_id, events.SubscriberError("send", ActorsError(describe_error(exc))))
                )

    def _stop_stream(self, stream_id: str) -> None:
        with self._lock:
            pending = self._streams.get(stream_id)
            if pending is None:
                return
            if pending.handle is None:  # still waiting for its lease: it never connects
                del self._streams[stream_id]
        if pending.handle is None:
            self._release(self._lease(stream_id))
            self._outbox.put(StreamEnded(stream_id, (), "stopped by the caller", None, "", 0))
            return
        with contextlib.suppress(ActorsError):
            self._supervisor.stop_stream(stream_id)
        self._start_finish(pending, 5.0)

    def stream_metrics(self, stream_id: str) -> StreamMetrics | None:
        """The live counters of a stream (None when it is not running here or not connected yet)."""
        with self._lock:
            pending = self._streams.get(stream_id)
            handle = pending.handle if pending is not None else None
        return portable_metrics(handle.metrics) if handle is not None else None

    def _finish_stream(self, stream_id: str, timeout: float) -> None:
        with self._lock:
            pending = self._streams.get(stream_id)
            if pending is None:
                return
            if pending.handle is None:
                pending.finish_timeout = timeout
                return
        self._start_finish(pending, timeout)

    def _start_finish(self, pending: _PendingStream, timeout: float) -> None:
        self.reap_threads()
        with self._lock:
            if pending.finishing:
                return
            pending.finishing = True
        thread = threading.Thread(
            target=self._finish, args=(pending, timeout), name=f"actors-cluster-finish-{pending.stream_id}"
        )
        thread.start()

    def _finish(self, pending: _PendingStream, timeout: float) -> None:
        assert pending.handle is not None
        result = pending.handle.finish(timeout=timeout)
        self._release(self._lease(pending.stream_id))
        with self._lock:
            self._streams.pop(pending.stream_id, None)
            self._threads.append(threading.current_thread())
        error = describe_error(result.error) if result.error is not None else None
        self._outbox.put(
            StreamEnded(
                pending.stream_id,
                result.request_ids,
                error,
                result.close_code,
                result.close_reason,
                result.metrics.finals,
                portable_metrics(result.metrics),
            )
        )

    # -- admission, shutdown ---------------------------------------------------------------

    def _lease(self, key: str) -> str:
        """The limiter's name for the lease of this worker's call or stream ``key``."""
        return f"{self.name}/{key}"

    def _acquire(self, lease: str) -> bool:
        """Wait for ``lease``; a limiter that restarts meanwhile (its process died) is asked again."""
        if self._limiter is None:
            return True
        import ray
        from ray.exceptions import ActorUnavailableError

        for _ in range(ACQUIRE_ATTEMPTS - 1):
            try:
                return bool(ray.get(self._limiter.acquire.remote(self.name, lease)))
            except ActorUnavailableError:
                continue
        return bool(ray.get(self._limiter.acquire.remote(self.name, lease)))

    def _release(self, lease: str) -> None:
        """Give ``lease`` back and wait for the limiter to take it, so that a call or stream
        reported ended holds no slot any more (a lost limiter frees nothing: nothing is held)."""
        if self._limiter is None:
            return
        import ray

        with contextlib.suppress(Exception):
            ray.get(self._limiter.release.remote(lease), timeout=10.0)

    def reap_threads(self) -> None:
        """Join the threads of calls and finishes that ended (they are about to exit)."""
        with self._lock:
            threads, self._threads = self._threads, []
        for thread in threads:
            thread.join()

    def __ray_shutdown__(self) -> None:
        """Ray's graceful exit: stop every call and stream, join their threads, stop the supervisor
        (pykka's threads are not daemons, so a worker that skipped this would never exit)."""
        self._stopping.set()
        self.stop_calls()
        if self._limiter is not None:
            with contextlib.suppress(Exception):
                self._limiter.release_holder.remote(self.name)
        with self._lock:
            calls = [thread for thread, _ in self._calls.values()]
        for thread in calls:
            thread.join(timeout=30.0)
        self._supervisor.stop()
        self.reap_threads()
        self._outbox.close()
        shutil.rmtree(self._tmp, ignore_errors=True)


def _granted(future: Any) -> bool:
    try:
        return bool(future.result())
    except Exception:  # the limiter is gone: nothing may connect
        return False
