"""The seam between the supervisor and its streams, both directions, typed.

* :class:`StreamPort` -- what the supervisor may ask of a supervised stream (implemented by
  :class:`~actors.runtime.supervised_stream.SupervisedStream`). The supervisor never touches a
  stream otherwise, and never the user's :class:`~actors.runtime.stream.StreamHandle`'s insides.
* :class:`StreamOwner` -- what a stream reports to its supervisor (implemented by
  :class:`~actors.runtime.supervisor.Supervisor`; every call returns at once).
* :class:`ConnectionAttempt` -- one connection attempt of a stream: the subscriber given to that
  connection, numbered by its ``generation`` so late events of an older connection are told apart.

Threads: the supervisor actor calls the port's state changes; its connector threads call
:meth:`StreamPort.new_attempt`'s result into :meth:`StreamPort.attach`. Every port method is
thread-safe and none blocks on the network (connections are killed with ``abort(wait=False)``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from actors.errors import ActorsError
from actors.runtime.policy import RestartPolicy

if TYPE_CHECKING:
    from actors.runtime.config import ConnectionConfig
    from actors.runtime.connection import Connection
    from actors.runtime.stream_result import StreamState

__all__ = ["ConnectionAttempt", "StreamOwner", "StreamPort"]


class ConnectionAttempt:
    """Connection attempt number ``generation`` of one stream; called with each of its events.

    The stream owns the other fields: whether it has installed the connection (``attached``),
    the messages that came before that (``early``), whether the connection ended, and the first
    failure it reported.
    """

    __slots__ = ("_deliver", "attached", "early", "ended", "failure", "generation", "label")

    def __init__(
        self, generation: int, deliver: Callable[[ConnectionAttempt, object], None], label: str = ""
    ) -> None:
        self.generation = generation
        self.label = label
        self.attached = False
        self.early: list[object] = []
        self.ended = False
        self.failure: BaseException | None = None
        self._deliver = deliver

    def __call__(self, event: object) -> None:
        """One event of this attempt's connection (on that connection's own thread)."""
        self._deliver(self, event)

    def __repr__(self) -> str:
        return f"<stream {self.label} connection {self.generation}>"


class StreamOwner(Protocol):
    """What a stream reports to its supervisor (implemented by ``Supervisor``; calls never block)."""

    def report_end(
        self, stream_id: str, generation: int, error: BaseException | None, code: int, reason: str
    ) -> None:
        """Connection attempt ``generation`` of the stream ended (``error`` None: a normal close)."""

    def report_stop(self, stream_id: str, reason: str, error: ActorsError | None) -> None:
        """End the stream now, with ``error`` as its result's error (None: ended normally)."""

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` (quick, non-blocking) on the owner's timer thread after ``delay`` s."""


class StreamPort(Protocol):
    """What the supervisor may ask of one supervised stream."""

    @property
    def stream_id(self) -> str:
        """The stream's id (unique within its supervisor)."""

    @property
    def config(self) -> ConnectionConfig:
        """The configuration every connection of the stream is opened with."""

    @property
    def restart(self) -> RestartPolicy:
        """The stream's restart policy."""

    @property
    def lossless(self) -> bool:
        """Whether uncovered audio is replayed into a new connection."""

    @property
    def state(self) -> StreamState:
        """Where the stream is in its life."""

    @property
    def done(self) -> bool:
        """True once the stream has ended for good."""

    @property
    def finishing(self) -> bool:
        """True once the caller asked the stream to finish."""

    @property
    def generation(self) -> int:
        """The number of the stream's latest connection attempt (0 before the first)."""

    @property
    def ends_only_on_finish(self) -> bool:
        """Whether the API's sessions end only when the client finishes them, so a normal close the
        client did not ask for is an early end (Listen V1, Flux: APIs with replay rules)."""

    def new_attempt(self) -> ConnectionAttempt:
        """Start the next connection attempt: the stream is connecting; subscribe the result to it."""

    def attach(self, conn: Connection, attempt: ConnectionAttempt) -> bool:
        """Install ``attempt``'s freshly opened connection and send it the replay.

        Returns False (installing nothing) when the stream was stopped meanwhile, a newer attempt
        started or the connection already ended; the caller then closes the connection.
        """

    def finish_requested_on(self, generation: int) -> bool:
        """Whether the finish was sent on attempt ``generation`` (so its close was asked for)."""

    def has_uncovered_audio(self) -> bool:
        """Whether some sent audio is not yet covered by a final result."""

    def set_reconnecting(self, attempt: int, delay: float, cause: BaseException | None) -> None:
        """The stream waits ``delay`` s before reconnect ``attempt``; subscribers get ``Reconnecting``."""

    def set_queued(self) -> None:
        """The stream waits for an admission slot."""

    def mark_stopping(self) -> None:
        """The stream is being stopped: a connection opened from now on is not attached."""

    def abort_connection(self, cause: BaseException | None) -> None:
        """Kill the current connection now; ``cause`` becomes its failure (None: a requested stop)."""

    def complete(self, error: ActorsError | None, code: int, reason: str) -> None:
        """End the stream for good: ``ConnectionFailed(error)`` if failed, then one ``Closed``."""

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Block until the stream has ended; False on timeout."""
