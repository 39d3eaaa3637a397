"""What a `SupervisorWorker` sends its pool, in batches over one Ray streaming generator per worker.

Every event names the job (a call of a batch run) or stream it belongs to; events of one job arrive
in the order the worker produced them. Everything here pickles with plain values only: errors
travel as their one-line description (`portable_event`), since an exception class with its own
constructor need not survive unpickling.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from actors.cli.calljob import StreamSettings, describe_error
from actors.cli.summary import CallOutcome
from actors.cli.target import Target
from actors.errors import ActorsError
from actors.runtime import events
from actors.runtime.policy import RestartPolicy
from actors.runtime.stream import StreamMetrics


@attrs.frozen
class Hello:
    """First event of every `SupervisorWorker.events` stream: which incarnation of the worker answers.

    ``incarnation`` changes when Ray restarts the worker (a new process with fresh state).
    """

    worker: str
    incarnation: str
    pid: int
    node_id: str
    node_ip: str


@attrs.frozen
class CallSpec:
    """One call of a batch run, as a worker needs it: its name, output stem, file suffix (the audio
    itself travels beside it, as the file's bytes), stream settings and target."""

    job: str
    name: str
    stem: str
    suffix: str
    settings: StreamSettings
    target: Target

    def outcome(self, error: str, status: str) -> CallOutcome:
        """The outcome of this call when it ended before (or without) a run of its own: ``status``
        ``failed`` or ``interrupted``, ``error`` why."""
        return CallOutcome(name=self.name, error=error, status=status, stem=self.stem)


@attrs.frozen
class CallMessage:
    """A server message of a call, as the dict its JSONL line is made of."""

    job: str
    message: Mapping[str, Any]


@attrs.frozen
class CallProgress:
    """A `ProgressView.update_call` of a call (audio sent, words heard, state)."""

    job: str
    sent: float | None = None
    heard: str | None = None
    state: str | None = None


@attrs.frozen
class CallDone:
    """A call ended on the worker: how it went there (the driver commits the outputs)."""

    job: str
    outcome: CallOutcome


@attrs.frozen
class StreamEvent:
    """An event of a live stream: a protocol message or a lifecycle event (`actors.runtime.events`)."""

    stream_id: str
    event: object


@attrs.frozen
class StreamEnded:
    """A live stream finished on the worker: its request ids and how it ended (``error`` None if ok)."""

    stream_id: str
    request_ids: tuple[str, ...]
    error: str | None
    close_code: int | None
    close_reason: str
    finals: int
    metrics: StreamMetrics | None = None


@attrs.frozen
class OpenStream:
    """Open a live stream on a worker (see `actors.cluster.pool.ClusterPool.open_stream`)."""

    stream_id: str
    config: object
    restart: RestartPolicy | None = None
    lossless: bool | None = None


@attrs.frozen
class SendAudio:
    """Audio for a worker's live streams: ``(stream_id, chunk)`` pairs, in the order sent."""

    batch: tuple[tuple[str, bytes], ...]


@attrs.frozen
class FinishStream:
    """Finish a live stream gracefully, waiting at most ``timeout`` s for its last results."""

    stream_id: str
    timeout: float


@attrs.frozen
class SendMessage:
    """A control message for a live stream (Finalize, KeepAlive, Configure...), in order with its audio."""

    stream_id: str
    message: object


@attrs.frozen
class StopStream:
    """Stop a live stream now, without a graceful finish."""

    stream_id: str


StreamOperation = OpenStream | SendAudio | SendMessage | FinishStream | StopStream

WorkerEvent = Hello | CallMessage | CallProgress | CallDone | StreamEvent | StreamEnded


def portable_error(error: BaseException | None) -> ActorsError | None:
    """``error`` as a plain `ActorsError` carrying its description (None stays None)."""
    return None if error is None else ActorsError(describe_error(error))


def portable_metrics(metrics: StreamMetrics) -> StreamMetrics:
    """``metrics`` without the connection actor's own counters (they stay with the worker)."""
    return attrs.evolve(metrics, connection=None)


def portable_event(event: object) -> object:
    """``event`` with any exception it carries replaced by `portable_error` of it."""
    if isinstance(event, events.ConnectionFailed):
        return events.ConnectionFailed(portable_error(event.error) or ActorsError("failed"))
    if isinstance(event, events.Reconnecting):
        return attrs.evolve(event, cause=portable_error(event.cause))
    if isinstance(event, events.SubscriberError):
        return attrs.evolve(event, error=portable_error(event.error) or ActorsError("failed"))
    return event
