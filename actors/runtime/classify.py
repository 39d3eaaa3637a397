"""Pure rules of a connection: its state machine and how its ending is classified.

No threads, no sockets: the connection actor and the supervisor both use these.

* :class:`ConnectionState` and :func:`check_transition` -- ``connecting -> open -> finishing -> closed``
  (``open -> closed`` and ``connecting -> closed`` for failures and immediate closes).
* :class:`Outcome` and :func:`classify_close` / :func:`classify_status` / :func:`classify_error` --
  whether an ending was normal, worth retrying, or fatal (retrying cannot help).
"""

from __future__ import annotations

import enum

from actors.errors import BackpressureError, ConnectionClosedError, HandshakeError, OptionsError


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


#: Close codes that end a stream normally. 1005 ("no status") is how Flux ends after CloseStream.
NORMAL_CLOSE_CODES = frozenset({1000, 1005})
#: Close codes after which reconnecting would fail the same way (bad data, policy, protocol, size).
FATAL_CLOSE_CODES = frozenset({1002, 1003, 1007, 1008, 1009, 1010})
#: HTTP handshake statuses that retrying cannot fix.
FATAL_STATUSES = frozenset({400, 401, 402, 403, 404, 405, 413, 415})
#: HTTP handshake statuses that are worth retrying with backoff (429 also means "slow down").
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


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


def classify_error(error: BaseException | None) -> Outcome:
    """Classify the error that ended a connection (None means it ended normally)."""
    if error is None:
        return Outcome.NORMAL
    if isinstance(error, HandshakeError):
        return classify_status(error.status)
    if isinstance(error, ConnectionClosedError):
        return classify_close(error.code)
    if isinstance(error, OptionsError | BackpressureError):
        return Outcome.FATAL
    return Outcome.RETRYABLE


__all__ = [
    "FATAL_CLOSE_CODES",
    "FATAL_STATUSES",
    "NORMAL_CLOSE_CODES",
    "RETRYABLE_STATUSES",
    "ConnectionState",
    "Outcome",
    "can_transition",
    "check_transition",
    "classify_close",
    "classify_error",
    "classify_status",
]
