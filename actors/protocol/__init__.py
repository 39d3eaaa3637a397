"""The wire protocol of Deepgram's WebSocket APIs: message classes, codec, options, auth.

Pure data and functions: no sockets, no threads. See ARCHITECTURE.md section 1. The names below
are resolved lazily (module ``__getattr__``), so importing one API's modules (e.g.
``actors.protocol.apis``) does not import the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from actors.protocol.auth import Auth
    from actors.protocol.base import DecodeError, Message, UnknownMessage, WireObject
    from actors.protocol.codec import Codec

#: Public name -> module defining it.
_EXPORTS = {
    "Auth": "actors.protocol.auth",
    "Codec": "actors.protocol.codec",
    "DecodeError": "actors.protocol.base",
    "Message": "actors.protocol.base",
    "UnknownMessage": "actors.protocol.base",
    "WireObject": "actors.protocol.base",
}

__all__ = ["Auth", "Codec", "DecodeError", "Message", "UnknownMessage", "WireObject"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
