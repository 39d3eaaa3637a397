"""The exception tree of actors.

Every error carries the data a caller needs to act on it, and its message never contains a
secret (API keys and tokens are never formatted into messages or reprs)::

    ActorsError
    ├── OptionsError            a connect option or message field is invalid (names it)
    ├── ProtocolError           a frame could not be encoded or decoded
    │   └── FieldError          a field of a received object is missing or of the wrong type
    ├── ApiError                an API refused a request (status_code, body, headers; the SDK's name)
    │   └── HandshakeError      the server refused the WebSocket upgrade (status, dg-error, request id)
    ├── ConnectionClosedError   the connection ended abnormally (close code and reason)
    ├── BackpressureError       outgoing audio exceeded its bound under the "fail" policy
    │   └── SubscriberOverflow  an offloaded subscriber's event queue overflowed (events lost)
    ├── FinishTimeout           a graceful finish did not complete before its deadline
    ├── ReceiveTimeout          recv(timeout=...) got no message in time (also a TimeoutError)
    ├── StreamFailed            a supervised stream gave up (restart budget spent or fatal failure)
    └── AudioFileError          an input audio file is missing, unreadable or unsupported (CLI)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ActorsError(Exception):
    """Base class of every error raised by actors."""


class OptionsError(ActorsError, ValueError):
    """A connect option (or message field) is unknown, of the wrong type or out of range.

    ``name`` is the offending parameter, ``value`` what was given (never a credential).
    """

    def __init__(self, name: str, message: str, value: Any = None) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.value = value


class ProtocolError(ActorsError):
    """A message could not be encoded for, or decoded from, the wire."""


class FieldError(ProtocolError):
    """A received object has a missing field or a value of the wrong type; the message names its path.

    ``path`` lists the field names from the outermost object inwards (``["channel", "alternatives",
    "words", "start"]``) and ``problem`` says what was wrong; ``str(error)`` is
    ``"channel.alternatives.words.start: expected a number, got str 'x'"``. Raised by the WireObject
    hooks of a codec's cattrs converter (``codec.converter.structure``, ``codec.from_dict``);
    ``Codec.decode`` turns it into a ``DecodeError``.
    """

    def __init__(self, problem: str, path: list[str] | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.path: list[str] = path if path is not None else []

    def __str__(self) -> str:
        where = ".".join(self.path)
        return f"{where}: {self.problem}" if where else self.problem


class ApiError(ActorsError):
    """An API refused a request; shaped like Deepgram's SDK ``ApiError`` so ported code can catch it.

    ``status_code`` is the HTTP status (None when no request was made), ``body`` the response body
    and ``headers`` the response headers (never the request's credentials).
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        status_code: int | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message or f"API error (status {status_code}): {body}")
        self.status_code = status_code
        self.body = body
        self.headers = dict(headers or {})


class HandshakeError(ApiError):
    """The server refused the WebSocket upgrade.

    ``status`` is the HTTP status, ``dg_error`` Deepgram's ``dg-error`` header, ``request_id`` the
    ``dg-request-id`` header and ``body`` the response body (decoded text).
    """

    def __init__(
        self,
        status: int,
        dg_error: str | None = None,
        request_id: str | None = None,
        body: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        detail = dg_error or (body or "").strip() or "no detail"
        rid = f" (request id {request_id})" if request_id else ""
        super().__init__(f"handshake refused with HTTP {status}: {detail}{rid}")
        self.status = status
        self.status_code = status  # the name websocket-client and Deepgram's SDK use
        self.dg_error = dg_error
        self.request_id = request_id
        self.body = body
        self.headers = dict(headers or {})

    @property
    def fatal(self) -> bool:
        """True when retrying cannot help (bad credentials, payment, permissions, bad options)."""
        return self.status in (400, 401, 402, 403, 404)


class ConnectionClosedError(ActorsError):
    """The connection closed abnormally; ``code`` and ``reason`` come from the close frame.

    ``code`` is 1006 when the connection dropped without a close frame.
    """

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"connection closed with code {code}" + (f": {reason}" if reason else ""))
        self.code = code
        self.reason = reason


class BackpressureError(ActorsError):
    """Outgoing audio exceeded the stream's buffer bound and the policy is to fail."""


class SubscriberOverflow(BackpressureError):
    """An offloaded subscriber (``actors.runtime.Offload``) fell ``max_pending`` events behind.

    ``subscriber`` is its repr, ``policy`` its ``on_full`` policy, ``dropped`` how many events it
    has lost so far and ``pending`` how many are still queued for it.
    """

    def __init__(self, subscriber: str, policy: str, dropped: int, pending: int) -> None:
        action = "it was unsubscribed" if policy == "fail" else f"{dropped} event(s) lost so far"
        super().__init__(
            f"subscriber {subscriber} fell {pending} events behind (on_full={policy!r}); {action}. "
            "Make the callback faster, raise max_pending, or pick another on_full policy"
        )
        self.subscriber = subscriber
        self.policy = policy
        self.dropped = dropped
        self.pending = pending


class FinishTimeout(ActorsError):
    """A graceful finish did not complete before its deadline; results received so far are kept."""


class ReceiveTimeout(ActorsError, TimeoutError):
    """A socket's ``recv(timeout=...)`` got no server message in time; the connection stays open.

    Also a built-in ``TimeoutError``, so ``except TimeoutError`` keeps working. ``timeout`` is the
    number of seconds waited.
    """

    def __init__(self, timeout: float) -> None:
        super().__init__(
            f"no message from the server within {timeout} s; the connection is still open "
            "(call recv() again, or finish() to end it)"
        )
        self.timeout = timeout


class StreamFailed(ActorsError):
    """A supervised stream stopped for good: a fatal failure or an exhausted restart budget."""

    def __init__(self, stream_id: str, cause: BaseException | None, message: str) -> None:
        super().__init__(f"stream {stream_id}: {message}")
        self.stream_id = stream_id
        self.cause = cause


class AudioFileError(ActorsError, ValueError):
    """An input audio file is missing, unreadable or in a format actors cannot stream.

    ``path`` is the file as the user named it; the message says what to do about it.
    """

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


class ProtocolViolation(ConnectionClosedError):
    """The server broke the WebSocket protocol (RFC 6455), so the client failed the connection.

    A ``ConnectionClosedError`` whose ``code`` is the close code the *client* sent: 1002 (protocol
    error: masked or RSV-flagged frame, unknown opcode, bad control frame, bad fragment sequence,
    invalid close code), 1007 (a text message or close reason that is not UTF-8) or 1009 (a
    message over the size limit). ``reason`` says what the server did. The client does not wait for
    the server's close answer. Fatal for the supervisor: a new connection to the same server would
    most likely break the same way (``actors.runtime.classify.FATAL_CLOSE_CODES``).
    """

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(code, reason)
        self.args = (f"the server broke the WebSocket protocol: {reason}; the client closed with {code}",)
