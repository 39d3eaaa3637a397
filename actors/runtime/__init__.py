"""The runtime: one pykka actor per live WebSocket connection, plus supervision on top.

Public names::

    from actors.runtime import Connection, ConnectionConfig, SendBufferPolicy, FinishResult, events
    from actors.runtime import Supervisor, RestartPolicy, Backoff, StreamHandle, StreamResult
    from actors.runtime import Offload   # run a slow subscriber on the shared dispatcher pool

They are resolved lazily (module ``__getattr__``): opening one ``Connection`` does not import the
supervisor, its streams, replay or policy modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from actors._lazy import lazy_exports

if TYPE_CHECKING:
    from actors.runtime import events
    from actors.runtime.backpressure import SendBufferPolicy
    from actors.runtime.classify import (
        ConnectionState,
        Outcome,
        classify_close,
        classify_error,
        classify_status,
    )
    from actors.runtime.config import ConnectionConfig
    from actors.runtime.connection import Connection, ConnectionActor, FinishResult
    from actors.runtime.keepalive import KeepalivePlan
    from actors.runtime.metrics import MetricsSnapshot
    from actors.runtime.policy import Backoff, RestartPolicy
    from actors.runtime.stream import StreamHandle, StreamMetrics, StreamResult, StreamState
    from actors.runtime.subscribers import Offload
    from actors.runtime.supervisor import Supervisor

#: Public name -> module defining it (``events`` is the module itself).
_EXPORTS = {
    "Backoff": "actors.runtime.policy",
    "Connection": "actors.runtime.connection",
    "ConnectionActor": "actors.runtime.connection",
    "ConnectionConfig": "actors.runtime.config",
    "ConnectionState": "actors.runtime.classify",
    "FinishResult": "actors.runtime.connection",
    "KeepalivePlan": "actors.runtime.keepalive",
    "MetricsSnapshot": "actors.runtime.metrics",
    "Offload": "actors.runtime.subscribers",
    "Outcome": "actors.runtime.classify",
    "RestartPolicy": "actors.runtime.policy",
    "SendBufferPolicy": "actors.runtime.backpressure",
    "StreamHandle": "actors.runtime.stream",
    "StreamMetrics": "actors.runtime.stream",
    "StreamResult": "actors.runtime.stream",
    "StreamState": "actors.runtime.stream",
    "Supervisor": "actors.runtime.supervisor",
    "classify_close": "actors.runtime.classify",
    "classify_error": "actors.runtime.classify",
    "classify_status": "actors.runtime.classify",
}

__all__ = [
    "Backoff",
    "Connection",
    "ConnectionActor",
    "ConnectionConfig",
    "ConnectionState",
    "FinishResult",
    "KeepalivePlan",
    "MetricsSnapshot",
    "Offload",
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


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS, submodules=("events",))
