"""What an opening handshake carried, for observers of the local server (tests, debugging).

``LocalServer(on_handshake=callback)`` calls ``callback(HandshakeSeen)`` for every upgrade
request, before it is accepted or refused: the request path, its headers and, on a TLS server,
the server name the client asked for (SNI). The record's repr masks credentials; its
``headers`` hold them verbatim (the observer asked for them).

SNI is only visible to a server-side ``sni_callback``; :class:`ServerNames` installs one on the
server's ``SSLContext`` (keeping any callback already set) and remembers the name per TLS
connection until the connection is gone.
"""

from __future__ import annotations

import ssl
import threading
import weakref
from collections.abc import Callable, Mapping

import attrs

_SECRET_HEADERS = frozenset({"authorization", "sec-websocket-protocol", "cookie", "x-api-key"})

SniCallback = Callable[[ssl.SSLObject, str | None, ssl.SSLContext], int | None]


def _masked(headers: Mapping[str, str]) -> str:
    return repr({k: ("***" if k in _SECRET_HEADERS else v) for k, v in headers.items()})


@attrs.frozen
class HandshakeSeen:
    """One upgrade request as the server received it.

    ``path`` includes the query string; ``headers`` are lower-cased names to values (the last
    value of a repeated header); ``server_name`` is the TLS SNI name (None without TLS or when
    the client sent none); ``tls`` says whether the connection is TLS.
    """

    path: str
    headers: dict[str, str] = attrs.field(repr=_masked)
    server_name: str | None
    tls: bool


class ServerNames:
    """Records the SNI name of each TLS connection of a server using ``context``."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._names: weakref.WeakKeyDictionary[ssl.SSLObject, str] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self._previous: SniCallback | None = context.sni_callback  # type: ignore[assignment]
        context.sni_callback = self._on_sni

    def _on_sni(self, ssl_object: ssl.SSLObject, name: str | None, context: ssl.SSLContext) -> int | None:
        if name is not None:
            with self._lock:
                self._names[ssl_object] = name
        return self._previous(ssl_object, name, context) if self._previous is not None else None

    def name_of(self, ssl_object: object) -> str | None:
        """The SNI name the connection of ``ssl_object`` (its ``SSLObject``) asked for, if any."""
        if not isinstance(ssl_object, ssl.SSLObject):
            return None
        with self._lock:
            return self._names.get(ssl_object)


__all__ = ["HandshakeSeen", "ServerNames"]
