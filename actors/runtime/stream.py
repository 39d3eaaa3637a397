"""`StreamHandle`: the caller's handle on one supervised, logical stream.

A logical stream outlives its connections: the supervisor opens a new connection after a
failure, and the handle stitches them into one stream. The handle is what users hold; the work
is done by its :class:`~actors.runtime.supervised_stream.SupervisedStream`:

* the audio hot path: :meth:`StreamHandle.send_audio` appends to the replay buffer and writes
  straight to the current connection under the stream lock -- no supervisor hop per chunk;
* per-connection events (called on the connection's thread): rebase timestamps, drop duplicate
  finals, trim the replay buffer (to the finals, and on Flux to the silence its empty
  between-turn Updates show) -- :mod:`actors.runtime.timeline` -- forward to the caller's
  subscribers, and report the end of a connection to the supervisor;
* :meth:`StreamHandle.finish`: drive the graceful finish from the caller's thread, across
  reconnects, and return a :class:`StreamResult`;
* control messages (:meth:`StreamHandle.send`) are kept in order with the audio across
  reconnects (:mod:`actors.runtime.controls`): queued while no connection is open, re-sent at
  their place in a lossless replay, ``Configure`` re-sent on every new connection, ``KeepAlive``
  dropped while disconnected;
* replay pacing: with ``replay_speed`` set, the replay (and audio sent meanwhile) goes to the new
  connection at that multiple of real time from the supervisor's timer thread
  (:mod:`actors.runtime.replay_scheduler`, :mod:`actors.runtime.pacing`); live audio queues
  behind it until it has caught up.

Subscribers see one continuous stream: ``Opened`` once, protocol messages with rebased
timestamps, ``Reconnecting``/``Reconnected`` between connections, and exactly one ``Closed`` last,
preceded by ``ConnectionFailed(StreamFailed)`` when the stream gave up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actors.errors import ActorsError
from actors.runtime.stream_port import StreamOwner
from actors.runtime.stream_result import (
    KeepFinals,
    StreamMetrics,
    StreamResult,
    StreamState,
    check_keep_finals,
)
from actors.runtime.supervised_stream import SupervisedStream

if TYPE_CHECKING:
    from actors.runtime.config import ConnectionConfig
    from actors.runtime.policy import RestartPolicy


class StreamHandle:
    """The caller's handle on one logical stream run by a :class:`~actors.runtime.supervisor.Supervisor`.

    Create it with ``Supervisor.open_stream``. ``send_audio`` may be called at once: audio sent
    before the first connection (or between connections) is buffered and sent when one opens.
    All methods are thread-safe.
    """

    def __init__(self, stream: SupervisedStream) -> None:
        self._stream = stream
        self.stream_id: str = stream.stream_id
        #: What this stream keeps of its finals for its result (see :class:`StreamResult`).
        self.keep_finals: KeepFinals = stream.keep_finals
        self.config: ConnectionConfig = stream.config
        self.restart: RestartPolicy = stream.restart
        #: Replay pacing in times real time (None: as fast as the socket takes it).
        self.replay_speed: float | None = stream.replay_speed

    @property
    def lossless(self) -> bool:
        """Whether audio not yet covered by finals is replayed into a new connection."""
        return self._stream.lossless

    @property
    def state(self) -> StreamState:
        """The stream's current state."""
        return self._stream.state

    @property
    def request_ids(self) -> tuple[str, ...]:
        """The ``dg-request-id`` of every connection of this stream, in order."""
        return self._stream.request_ids

    @property
    def done(self) -> bool:
        """True once the stream has ended (finished, stopped or failed)."""
        return self._stream.done

    @property
    def error(self) -> ActorsError | None:
        """Why the stream failed, or None."""
        return self._stream.error

    @property
    def metrics(self) -> StreamMetrics:
        """A snapshot of the stream's counters."""
        return self._stream.metrics

    @property
    def wire_bytes_sent(self) -> int:
        """Audio bytes the current connection has written to its socket (0 while none is open).

        A plain counter read without the stream lock, for polling often (progress, audio lag);
        :attr:`metrics` gives the whole, consistent picture.
        """
        return self._stream.wire_bytes_sent

    def subscribe(self, subscriber: object) -> None:
        """Add a subscriber (callable, ``queue.Queue`` or ``pykka.ActorRef``); it gets events from now on."""
        self._stream.subscribe(subscriber)

    def send_audio(self, data: bytes | bytearray | memoryview) -> None:
        """Send audio on the stream (buffered while no connection is open).

        Raises :class:`StreamFailed` if the stream failed, :class:`OptionsError` if it is finishing
        or closed, and ``TypeError`` for anything but bytes.
        """
        self._stream.send_audio(data)

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
        self._stream.send(message)

    def wait_open(self, timeout: float | None = None) -> bool:
        """Block until the stream has had a connection; False on timeout.

        Raises the stream's error (:class:`StreamFailed`) if it ended in failure first.
        """
        return self._stream.wait_open(timeout)

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Block until the stream has ended; False on timeout."""
        return self._stream.wait_closed(timeout)

    def finish(self, timeout: float = 10.0) -> StreamResult:
        """Finish the stream gracefully and return its result; reconnects and replays if needed.

        Asks the current connection to finish (CloseStream) and waits for the last results; if the
        connection fails meanwhile, the supervisor reconnects, replays the uncovered audio and
        the finish goes on over the new connection. After ``timeout`` the stream is stopped and
        the result's ``error`` is a :class:`FinishTimeout`. Stream failures do not raise: they
        are in ``result.error``.
        """
        return self._stream.finish(timeout)

    def result(self) -> StreamResult:
        """The stream's result so far (final once :attr:`done`)."""
        return self._stream.result()

    def __repr__(self) -> str:
        return f"<StreamHandle {self.stream_id} {self._stream.state.value}>"


__all__ = [
    "KeepFinals",
    "StreamHandle",
    "StreamMetrics",
    "StreamOwner",
    "StreamResult",
    "StreamState",
    "check_keep_finals",
]
