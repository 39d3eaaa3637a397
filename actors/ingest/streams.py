"""Where the service's Deepgram streams run: a `StreamHost` -- this process's `Supervisor`, or a Ray cluster.

A :class:`~actors.ingest.call.CallPipeline` needs little of the runtime: open a supervised stream
(`StreamHost.open_stream`), stop one, list the running ones with their state, the concurrency limit,
and per stream the handle's `CallStream` surface (send audio and control messages, finish, request
ids, metrics). Two hosts offer it:

* :class:`~actors.runtime.supervisor.Supervisor` (the default): every stream in this process;
* :class:`ClusterStreamHost` (``ingest --ray``): every stream on a
  :class:`~actors.cluster.ClusterPool` worker of a Ray cluster, the pool's cluster-wide limit being
  the service's Deepgram concurrency limit. Only the Deepgram sockets move: the platform sockets,
  admission, the store and its commit-before-report, metrics and drain stay in the service's process.
  Subscribers run on the pool's reader thread of each worker, as they run on the runtime's threads
  locally. A worker that dies ends its streams with an error (not replayed elsewhere): the call then
  fails exactly as a local stream that gave up does.

TLS with ``--ray``: an ``ssl.SSLContext`` cannot travel to a worker, so a service on a cluster takes
no ``deepgram_ssl`` (refused with a clear error); the nodes verify ``wss://`` with their own trust
store (``SSL_CERT_FILE``). The embedded Deepgram-compatible server (no ``DEEPGRAM_API_KEY``) listens
on this machine's loopback: :func:`check_nodes_reach` refuses a cluster with nodes on other machines.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from actors.errors import ActorsError
from actors.runtime import ConnectionConfig
from actors.runtime.policy import RestartPolicy
from actors.runtime.stream import StreamMetrics, StreamState
from actors.runtime.supervisor import Supervisor

if TYPE_CHECKING:
    from actors.cluster.pool import ClusterPool, RemoteStream


class StreamEnd(Protocol):
    """How a stream finished: ``error`` is None when it finished cleanly (an exception or a text
    describing the failure otherwise)."""

    @property
    def error(self) -> object:
        """None when the stream finished cleanly, else what went wrong."""


class CallStream(Protocol):
    """What a call uses of one supervised stream's handle (a `StreamHandle` or a `RemoteStream`).

    `send_audio` and `send` raise an :class:`~actors.errors.ActorsError` once the stream ended or is
    finishing; `finish` returns an error result rather than raising.
    """

    @property
    def stream_id(self) -> str:
        """The stream's name (the call id, with a suffix for a language switch or a channel)."""

    @property
    def state(self) -> StreamState:
        """``QUEUED`` while it waits for a connection slot (or its first handshake), then on."""

    @property
    def request_ids(self) -> tuple[str, ...]:
        """The ``dg-request-id`` of each connection so far."""

    @property
    def metrics(self) -> StreamMetrics:
        """The stream's counters (final once it ended)."""

    def send_audio(self, data: bytes | bytearray | memoryview) -> None:
        """Queue audio for the stream."""

    def send(self, message: object) -> None:
        """Send a control message (e.g. Finalize) in order with the audio sent before it."""

    def finish(self, timeout: float = 10.0) -> StreamEnd:
        """Finish gracefully (its last results are delivered first) and say how it ended."""

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Wait until the stream ended; False on timeout."""


class StreamHost(Protocol):
    """Runs the service's supervised streams (see the module docstring)."""

    @property
    def max_connections(self) -> int | None:
        """The concurrency limit the streams share (None: none)."""

    def open_stream(
        self,
        config: ConnectionConfig,
        subscribers: Sequence[object] = (),
        *,
        restart: RestartPolicy | None = None,
        lossless: bool | None = None,
        stream_id: str | None = None,
    ) -> CallStream:
        """Start a supervised stream (it queues under the limit) and return its handle at once."""

    def stop_stream(self, stream_id: str) -> None:
        """Stop a running stream now, without a graceful finish."""

    def streams(self) -> Sequence[CallStream]:
        """The streams not yet ended."""

    def stop(self) -> None:
        """Stop every stream and release what the host holds (threads, workers)."""


class ClusterStreamHost:
    """A `StreamHost` whose streams run on a started `ClusterPool` (create it with `open_cluster_host`).

    `stop` closes the pool (its workers stop; streams still running end) and leaves the cluster if
    `open_cluster_host` joined it.
    """

    def __init__(self, pool: ClusterPool) -> None:
        self.pool = pool

    def __repr__(self) -> str:
        return f"<ClusterStreamHost pool {self.pool.pool_id}, max {self.pool.max_connections} connections>"

    @property
    def max_connections(self) -> int | None:
        """The pool's cluster-wide connection limit."""
        return self.pool.max_connections

    def open_stream(
        self,
        config: ConnectionConfig,
        subscribers: Sequence[object] = (),
        *,
        restart: RestartPolicy | None = None,
        lossless: bool | None = None,
        stream_id: str | None = None,
    ) -> RemoteStream:
        """Start the stream on the least loaded worker (see `ClusterPool.open_stream`)."""
        return self.pool.open_stream(
            config, subscribers, stream_id=stream_id, restart=restart, lossless=lossless
        )

    def stop_stream(self, stream_id: str) -> None:
        """Stop a running stream now (`ClusterPool.stop_stream`)."""
        self.pool.stop_stream(stream_id)

    def streams(self) -> list[RemoteStream]:
        """The pool's streams not yet ended."""
        return self.pool.streams()

    def stop(self) -> None:
        """Close the pool, then leave the cluster if this process joined it for the service."""
        from actors.cluster.connect import leave_cluster

        try:
            self.pool.close()
        finally:
            leave_cluster()


def check_nodes_reach(deepgram_url: str) -> None:
    """Raise `ActorsError` when the joined cluster has nodes on other machines and ``deepgram_url``
    is this machine's loopback (the embedded server, started when no ``DEEPGRAM_API_KEY`` is set)."""
    from actors.cluster.connect import driver_address, node_addresses, unreachable_nodes

    others = unreachable_nodes(deepgram_url, node_addresses(), driver_address())
    if others:
        parts = urlsplit(deepgram_url)
        raise ActorsError(
            f"--ray: the Deepgram server at {parts.hostname}:{parts.port} listens on this machine only "
            "(the embedded server, when DEEPGRAM_API_KEY is not set), and the cluster has nodes on "
            f"{', '.join(sorted(others))}: set DEEPGRAM_API_KEY, or pass --url with a server the nodes reach"
        )


def open_cluster_host(
    address: str, *, workers: int | None, max_connections: int, deepgram_url: str
) -> ClusterStreamHost:
    """Join the Ray cluster ``address`` names (``auto``, ``local``, ``HOST:PORT``; a connection this
    process already has is used as it is), check its nodes reach ``deepgram_url`` and start a
    `ClusterPool` of ``workers`` workers (None: one per cluster CPU) whose cluster-wide limit is
    ``max_connections``. Raises `ActorsError` (a `ClusterError` for the cluster's own failures);
    nothing is left running then."""
    from actors.cluster.connect import join_cluster, leave_cluster
    from actors.cluster.pool import ClusterPool

    join_cluster(address)
    try:
        check_nodes_reach(deepgram_url)
        pool = ClusterPool(workers, max_connections=max_connections).start()
    except BaseException:
        leave_cluster()
        raise
    return ClusterStreamHost(pool)


def open_stream_host(
    ray: str | None, *, workers: int | None, max_connections: int, deepgram_url: str
) -> StreamHost:
    """The service's `StreamHost`, started: a local `Supervisor` capped at ``max_connections``
    when ``ray`` is None, else `open_cluster_host`."""
    if ray is None:
        return Supervisor(max_connections=max_connections).start()
    return open_cluster_host(ray, workers=workers, max_connections=max_connections, deepgram_url=deepgram_url)


__all__ = [
    "CallStream",
    "ClusterStreamHost",
    "StreamEnd",
    "StreamHost",
    "check_nodes_reach",
    "open_cluster_host",
    "open_stream_host",
]
