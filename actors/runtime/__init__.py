"""The runtime: one pykka actor per live WebSocket connection, plus supervision on top.

Public names::

    from actors.runtime import Connection, ConnectionConfig, SendBufferPolicy, FinishResult, events
    from actors.runtime import Supervisor, RestartPolicy, Backoff, StreamHandle, StreamResult
"""

from actors.runtime import events
from actors.runtime.backpressure import SendBufferPolicy
from actors.runtime.classify import ConnectionState, Outcome, classify_close, classify_error, classify_status
from actors.runtime.config import ConnectionConfig
from actors.runtime.connection import Connection, ConnectionActor, FinishResult
from actors.runtime.keepalive import KeepalivePlan
from actors.runtime.metrics import MetricsSnapshot
from actors.runtime.policy import Backoff, RestartPolicy
from actors.runtime.stream import StreamHandle, StreamMetrics, StreamResult, StreamState
from actors.runtime.supervisor import Supervisor

__all__ = [
    "Backoff",
    "Connection",
    "ConnectionActor",
    "ConnectionConfig",
    "ConnectionState",
    "FinishResult",
    "KeepalivePlan",
    "MetricsSnapshot",
    "Outcome",
    "RestartPolicy",
    "SendBufferPolicy",
    "StreamHandle",
    "StreamMetrics",
    "StreamResult",
    "StreamState",
    "Supervisor",
    "classify_close",
    "classify_error",
    "classify_status",
    "events",
]
