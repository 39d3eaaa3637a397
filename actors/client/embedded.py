"""One shared local server, started in the background for clients made without any credentials.

``DeepgramClient()`` with no ``api_key``, no ``access_token`` and no ``DEEPGRAM_API_KEY`` works
offline against this server. Its engine is ``ACTORS_ENGINE`` (default ``"real"``: pocketsphinx
and espeak-ng; ``"deterministic"`` for tests and demos). The server is started once per process,
on an ephemeral port, and stopped at interpreter exit. A client with any credential never
starts it (it connects to Deepgram); :func:`running_embedded_server` tells whether it runs.
"""

from __future__ import annotations

import atexit
import os
import threading
from typing import TYPE_CHECKING

from actors.errors import OptionsError

if TYPE_CHECKING:
    from actors.server import LocalServer

ENGINE_ENV_VAR = "ACTORS_ENGINE"
DEFAULT_ENGINE = "real"
#: The credential sent to the embedded server (it accepts any key); not a secret.
EMBEDDED_API_KEY = "embedded-local-key"

_lock = threading.Lock()
_server: LocalServer | None = None


def embedded_engine() -> str:
    """The engine the embedded server uses: ``$ACTORS_ENGINE`` or ``"real"``."""
    return os.environ.get(ENGINE_ENV_VAR, "").strip() or DEFAULT_ENGINE


def embedded_server() -> LocalServer:
    """The process-wide embedded server, started on first use (thread-safe).

    Raises ``OptionsError`` when ``ACTORS_ENGINE`` names no engine, and ``ImportError`` with an
    install hint when the server extra (``pip install 'actors-deepgram[server]'``) is missing.
    """
    global _server
    with _lock:
        if _server is not None:
            return _server
        try:
            from actors.server import LocalServer
        except ImportError as exc:
            raise ImportError(
                "DeepgramClient() without an api_key starts the embedded local server, which needs "
                "`pip install 'actors-deepgram[server]'`; or pass api_key=... / set DEEPGRAM_API_KEY"
            ) from exc
        engine = embedded_engine()
        try:
            server = LocalServer(engine=engine)
        except OptionsError as exc:
            raise OptionsError(ENGINE_ENV_VAR, str(exc), engine) from None
        server.start()
        atexit.register(stop_embedded_server)
        _server = server
        return server


def running_embedded_server() -> LocalServer | None:
    """The embedded server if it is running, else None; never starts it."""
    with _lock:
        return _server


def stop_embedded_server() -> None:
    """Stop the embedded server if it is running (idempotent; a later client starts a new one)."""
    global _server
    with _lock:
        server, _server = _server, None
    if server is not None:
        server.stop()


__all__ = [
    "EMBEDDED_API_KEY",
    "embedded_engine",
    "embedded_server",
    "running_embedded_server",
    "stop_embedded_server",
]
