"""The wire protocol of Deepgram's WebSocket APIs: message classes, codec, options, auth.

Pure data and functions: no sockets, no threads. See ARCHITECTURE.md. The names below
are resolved lazily (module ``__getattr__``), so importing one API's modules (e.g.
``actors.protocol.apis``) does not import the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from actors._lazy import lazy_exports

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


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
