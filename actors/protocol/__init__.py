"""The wire protocol of Deepgram's WebSocket APIs: message classes, codec, options, auth.

Pure data and functions: no sockets, no threads. See ARCHITECTURE.md section 1.
"""

from actors.protocol.auth import Auth
from actors.protocol.base import DecodeError, Message, UnknownMessage, WireObject
from actors.protocol.codec import Codec

__all__ = ["Auth", "Codec", "DecodeError", "Message", "UnknownMessage", "WireObject"]
