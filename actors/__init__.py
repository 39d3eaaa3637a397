"""actors: Deepgram's four WebSocket APIs as thread-backed pykka actors, with an SDK-shaped client.

``from actors import DeepgramClient`` works as ``from deepgram import DeepgramClient``. Public
names are resolved lazily (module ``__getattr__``), so ``import actors`` imports nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from actors._lazy import lazy_exports

__version__ = "0.1.0"

if TYPE_CHECKING:
    from actors.client.async_client import AsyncDeepgramClient
    from actors.client.client import DeepgramClient
    from actors.client.request_options import RequestOptions
    from actors.core.events import EventType
    from actors.environment import DeepgramClientEnvironment
    from actors.errors import (
        ActorsError,
        ApiError,
        ConnectionClosedError,
        FinishTimeout,
        HandshakeError,
        OptionsError,
        ReceiveTimeout,
    )

#: Public name -> module defining it.
_EXPORTS = {
    "DeepgramClient": "actors.client.client",
    "AsyncDeepgramClient": "actors.client.async_client",
    "RequestOptions": "actors.client.request_options",
    "DeepgramClientEnvironment": "actors.environment",
    "EventType": "actors.core.events",
    "ActorsError": "actors.errors",
    "ApiError": "actors.errors",
    "ConnectionClosedError": "actors.errors",
    "FinishTimeout": "actors.errors",
    "HandshakeError": "actors.errors",
    "OptionsError": "actors.errors",
    "ReceiveTimeout": "actors.errors",
}

__all__ = [
    "ActorsError",
    "ApiError",
    "AsyncDeepgramClient",
    "ConnectionClosedError",
    "DeepgramClient",
    "DeepgramClientEnvironment",
    "EventType",
    "FinishTimeout",
    "HandshakeError",
    "OptionsError",
    "ReceiveTimeout",
    "RequestOptions",
]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
