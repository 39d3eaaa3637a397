"""A logger for websockets' server that masks credentials in the handshake headers it logs.

websockets logs every request header at DEBUG (``< Authorization: Token <key>``); anyone running
the local server with debug logging would otherwise find their clients' keys in the log.
"""

from __future__ import annotations

import logging
from typing import Any

#: Handshake headers whose value is a credential (lower-case), masked whole.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "sec-websocket-protocol",
        "cookie",
        "x-api-key",
        "signature",
        "signature-input",
        "x-twilio-signature",
    }
)
MASK = "***"


class HeaderRedactingLogger(logging.LoggerAdapter):
    """Wraps a logger; a record logged as ``(fmt, header_name, value)`` with a credential header
    name gets ``***`` as its value. Every other record passes through unchanged."""

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__(logger, {})

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        """Log like the wrapped logger, masking the value of a credential header."""
        if len(args) == 2 and isinstance(args[0], str) and args[0].lower() in SECRET_HEADERS:
            args = (args[0], MASK)
        super().log(level, msg, *args, **kwargs)


def websockets_server_logger() -> HeaderRedactingLogger:
    """websockets' own ``websockets.server`` logger, with credential headers masked."""
    return HeaderRedactingLogger(logging.getLogger("websockets.server"))
