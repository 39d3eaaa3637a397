"""Supervised streams beyond one process: a pool of Ray workers, each hosting one `Supervisor`.

Needs the ``ray`` extra (``pip install 'actors-deepgram[ray]'``). Join a cluster with
`join_cluster` (``"auto"``, ``"local"`` or ``"HOST:PORT"``), then run batch calls and live streams
on a `ClusterPool`::

    from actors.cluster import ClusterPool, join_cluster

    join_cluster("auto")
    with ClusterPool(max_connections=100) as pool:      # one worker per cluster CPU
        stream = pool.open_stream(config, subscribers=[print])
        stream.send_audio(chunk)
        result = stream.finish()

``python -m actors transcribe --ray auto CALL...`` spreads a batch of recorded calls the same way.
"""

from actors.cluster.connect import ClusterError, join_cluster, parse_address
from actors.cluster.leases import LeaseBook, LeaseStats
from actors.cluster.pool import (
    CallSink,
    ClusterCallResult,
    ClusterPool,
    RemoteStream,
    RemoteStreamResult,
    WorkerStatus,
)

__all__ = [
    "CallSink",
    "ClusterCallResult",
    "ClusterError",
    "ClusterPool",
    "LeaseBook",
    "LeaseStats",
    "RemoteStream",
    "RemoteStreamResult",
    "WorkerStatus",
    "join_cluster",
    "parse_address",
]
