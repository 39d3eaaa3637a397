"""Pure rules of a connection: its state machine and how its ending is classified.

No threads, no sockets: the connection actor and the supervisor both use these.

* :class:`ConnectionState` and :func:`check_transition` -- ``connecting -> open -> finishing -> closed``
  (``open -> closed`` and ``connecting -> closed`` for failures and immediate closes).
* :class:`Outcome` and :func:`classify_close` / :func:`classify_status` / :func:`classify_error` --
  whether an ending was normal, worth retrying, or fatal (retrying cannot help). This module owns
  the code and status tables; ``policy.classify_failure`` maps its outcomes onto restart decisions.
"""

from __future__ import annotations

import enum
import ssl

import websocket

from actors.errors import (
    ActorsError,
    BackpressureError,
    ConnectionClosedError,
    FinishTimeout,
    HandshakeError,
    OptionsError,
    ProtocolError,
)


class ConnectionState(enum.Enum):
    """Where a connection is in its life."""

    CONNECTING = "connecting"
    OPEN = "open"
    FINISHING = "finishing"
    CLOSED = "closed"


_ALLOWED: dict[ConnectionState, frozenset[ConnectionState]] = {
    ConnectionState.CONNECTING: frozenset({ConnectionState.OPEN, ConnectionState.CLOSED}),
    ConnectionState.OPEN: frozenset({ConnectionState.FINISHING, ConnectionState.CLOSED}),
    ConnectionState.FINISHING: frozenset({ConnectionState.CLOSED}),
    ConnectionState.CLOSED: frozenset(),
}


def can_transition(current: ConnectionState, target: ConnectionState) -> bool:
    """True when a connection in ``current`` may move to ``target``."""
    return target in _ALLOWED[current]


def check_transition(current: ConnectionState, target: ConnectionState) -> ConnectionState:
    """Return ``target`` if the move is allowed, else raise ``ValueError`` naming both states."""
    if not can_transition(current, target):
        raise ValueError(f"a connection cannot go from {current.value} to {target.value}")
    return target


class Outcome(enum.Enum):
    """How a connection ended, from the point of view of whoever might restart it."""

    NORMAL = "normal"  # the stream finished as asked
    RETRYABLE = "retryable"  # a new connection may well succeed (network, server load, idle timeout)
    FATAL = "fatal"  # a new connection would fail the same way (credentials, bad data, bad options)


# The tables below are THE classification of the runtime: the connection actor (``classify_close``)
# and the supervisor's restart policy (``policy.classify_failure``) both read them from here.

#: Close codes that end a stream normally. 1005 ("no status") is how Flux ends after CloseStream.
NORMAL_CLOSE_CODES = frozenset({1000, 1005})
#: Close codes after which reconnecting would fail the same way (bad data, policy, protocol, size).
#: They also cover the client's own verdict on a server that broke RFC 6455
#: (:class:`~actors.errors.ProtocolViolation`: 1002 bad framing or close code, 1007 text that is
#: not UTF-8, 1009 too big). That is fatal on purpose: frames cannot be corrupted in transit
#: unnoticed under TLS, so a violation is the server's (or a proxy's) bug, and a new connection
#: to it -- with the lossless replay of the same audio -- would most likely break the same way;
#: retrying would only spend the restart budget and hide the bug. A server that goes silent in
#: the middle of a frame is a 1006 ``ConnectionClosedError`` instead: retryable, like a drop.
FATAL_CLOSE_CODES = frozenset({1002, 1003, 1007, 1008, 1009, 1010})
#: HTTP handshake statuses that retrying cannot fix (every other 4xx but 408/429 is fatal too).
FATAL_STATUSES = frozenset({400, 401, 402, 403, 404, 405, 413, 415})
#: HTTP handshake statuses that are worth retrying with backoff (429 also means "slow down").
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: HTTP status meaning "too many concurrent connections": retryable, and it slows admission.
RATE_LIMITED_STATUS = 429


def classify_close(code: int) -> Outcome:
    """Classify a WebSocket close code (1006 = dropped without a close frame is retryable)."""
    if code in NORMAL_CLOSE_CODES:
        return Outcome.NORMAL
    if code in FATAL_CLOSE_CODES:
        return Outcome.FATAL
    return Outcome.RETRYABLE


def classify_status(status: int) -> Outcome:
    """Classify the HTTP status of a refused handshake (unknown 4xx is fatal, 5xx retryable)."""
    if status in RETRYABLE_STATUSES:
        return Outcome.RETRYABLE
    if status in FATAL_STATUSES or 400 <= status < 500:
        return Outcome.FATAL
    return Outcome.RETRYABLE


def is_rate_limited(error: BaseException | None) -> bool:
    """True when ``error`` is a handshake refused with 429 (retry, and slow down every new connection)."""
    return isinstance(error, HandshakeError) and error.status == RATE_LIMITED_STATUS


def _is_network_error(error: BaseException) -> bool:
    # websocket-client's errors are not OSErrors; both mean the network or the peer broke.
    return isinstance(error, OSError | websocket.WebSocketException)


def classify_error(error: BaseException | None) -> Outcome:
    """Classify the error that ended a connection (None means it ended normally).

    * ``HandshakeError`` -- by its HTTP status (:func:`classify_status`).
    * ``ConnectionClosedError`` -- fatal for the codes in :data:`FATAL_CLOSE_CODES` (so every
      ``ProtocolViolation``: the server broke RFC 6455), else retryable. An *error* carrying
      1000/1005 is retryable too: a normal close code reported as a failure means the server
      ended a stream the client had not finished.
    * Bad options, a full send buffer under the ``fail`` policy, and a TLS certificate that does
      not verify (retrying would meet the same certificate) -- fatal.
    * Network errors, timeouts, finish timeouts, undecodable frames, and any ``ActorsError``
      with a true ``retryable`` attribute -- retryable.
    * Anything else (a bug, a bad argument) -- fatal, so it is reported instead of retried in a loop.
    """
    if error is None:
        return Outcome.NORMAL
    if isinstance(error, HandshakeError):
        return classify_status(error.status)
    if isinstance(error, ConnectionClosedError):
        return Outcome.FATAL if error.code in FATAL_CLOSE_CODES else Outcome.RETRYABLE
    if isinstance(error, OptionsError | BackpressureError | ssl.SSLCertVerificationError):
        return Outcome.FATAL
    if isinstance(error, FinishTimeout | ProtocolError | TimeoutError) or _is_network_error(error):
        return Outcome.RETRYABLE
    if isinstance(error, ActorsError) and getattr(error, "retryable", False):
        return Outcome.RETRYABLE
    return Outcome.FATAL


__all__ = [
    "FATAL_CLOSE_CODES",
    "FATAL_STATUSES",
    "NORMAL_CLOSE_CODES",
    "RATE_LIMITED_STATUS",
    "RETRYABLE_STATUSES",
    "ConnectionState",
    "Outcome",
    "can_transition",
    "check_transition",
    "classify_close",
    "classify_error",
    "classify_status",
    "is_rate_limited",
]
