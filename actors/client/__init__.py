"""The SDK-shaped client facade: ``DeepgramClient``, ``AsyncDeepgramClient``, their sockets.

Names resolve lazily so importing the package stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from actors.client.async_client import AsyncDeepgramClient
    from actors.client.client import DeepgramClient
    from actors.client.request_options import RequestOptions

_EXPORTS = {
    "DeepgramClient": "actors.client.client",
    "AsyncDeepgramClient": "actors.client.async_client",
    "RequestOptions": "actors.client.request_options",
}

__all__ = ["AsyncDeepgramClient", "DeepgramClient", "RequestOptions"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'actors.client' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
