"""The opening handshake of the local server: routing, auth, query validation, rejections.

Every response (101 or refusal) carries ``dg-request-id``. A refusal also carries ``dg-error``
and a JSON body ``{"err_code", "err_msg", "request_id"}``, as Deepgram does.
"""

from __future__ import annotations

import email.utils
import http
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import attrs
import orjson
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from actors.errors import OptionsError
from actors.protocol.models import model_refusal
from actors.server.faults import FAULT_HEADER, FaultRegistry, FaultRule
from actors.server.session import Endpoint

INVALID_CREDENTIALS = "Invalid credentials."
_Number = TypeVar("_Number", int, float)

#: err_code and message for each status a refusal may carry.
_STATUS_ERRORS: dict[int, tuple[str, str]] = {
    400: ("INVALID_QUERY_PARAMETER", "Invalid query string."),
    401: ("INVALID_AUTH", INVALID_CREDENTIALS),
    402: ("ASR_PAYMENT_REQUIRED", "Project does not have enough credits."),
    403: ("INSUFFICIENT_PERMISSIONS", "Project does not have access to the requested model."),
    404: ("NOT_FOUND", "Not found."),
    429: ("TOO_MANY_REQUESTS", "Too many requests. Please try again later"),
    500: ("INTERNAL_SERVER_ERROR", "Internal server error."),
    503: ("SERVICE_UNAVAILABLE", "Service unavailable. Please try again later"),
}


@attrs.frozen
class Credential:
    """The credential a client presented: ``scheme`` is "token" or "bearer"; ``via`` header or subprotocol."""

    scheme: str
    secret: str = attrs.field(repr=False)
    via: str

    def __repr__(self) -> str:
        return f"Credential(scheme={self.scheme!r}, via={self.via!r})"


@attrs.frozen
class Accepted:
    """A handshake that passed: what the endpoint needs to start."""

    request_id: str
    endpoint: type[Endpoint]
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    options: Any
    credential: Credential
    fault: FaultRule | None


class Rejected(Exception):
    """Raised inside the handshake to refuse the upgrade with ``status`` and a user-facing message."""

    def __init__(self, status: int, message: str | None = None, err_code: str | None = None) -> None:
        default_code, default_message = _STATUS_ERRORS.get(status, ("ERROR", _phrase(status)))
        self.status = status
        self.message = message or default_message
        self.err_code = err_code or default_code
        super().__init__(f"{status} {self.err_code}: {self.message}")


def new_request_id() -> str:
    """A fresh request id (a UUID4 string, like Deepgram's)."""
    return str(uuid.uuid4())


def find_credential(headers: Mapping[str, str], subprotocols: Sequence[str]) -> Credential | None:
    """The credential from ``Authorization`` (``Token k`` / ``Bearer jwt``, any case) or the
    ``token, k`` / ``bearer, jwt`` subprotocol pair; None when neither is present."""
    auth = headers.get("authorization")
    if auth:
        scheme, _, secret = auth.strip().partition(" ")
        scheme = scheme.lower()
        if scheme in ("token", "bearer") and secret.strip():
            return Credential(scheme, secret.strip(), "header")
        return None
    lowered = [p.strip() for p in subprotocols]
    for index, proto in enumerate(lowered[:-1]):
        if proto.lower() in ("token", "bearer") and lowered[index + 1]:
            return Credential(proto.lower(), lowered[index + 1], "subprotocol")
    return None


def offered_subprotocols(headers: Headers) -> list[str]:
    """Every subprotocol the client offered, in order."""
    return [p.strip() for value in headers.get_all("Sec-WebSocket-Protocol") for p in value.split(",")]


def check_credential(credential: Credential | None, api_keys: Collection[str] | None) -> Credential:
    """Return the credential if it is acceptable; raise :class:`Rejected` (401) otherwise.

    ``api_keys=None`` accepts any non-empty key or token; a collection restricts both to it.
    """
    if credential is None:
        raise Rejected(401, INVALID_CREDENTIALS)
    if api_keys is not None and credential.secret not in api_keys:
        raise Rejected(401, INVALID_CREDENTIALS)
    return credential


def choose_fault(
    faults: FaultRegistry, path: str, query: Sequence[tuple[str, str]], headers: Mapping[str, str]
) -> FaultRule | None:
    """The fault for this connection: the ``x-actors-fault`` header first, then a registry rule by tag."""
    header = headers.get(FAULT_HEADER)
    if header:
        try:
            return FaultRule.from_header(header)
        except OptionsError as exc:
            raise Rejected(400, f"bad {FAULT_HEADER} header: {exc}") from None
    tags = [value for name, value in query if name == "tag"]
    return faults.take(path, tags)


def check_model(path: str, query: Sequence[tuple[str, str]]) -> None:
    """Refuse (:class:`Rejected`, 400) a ``model`` the API at ``path`` does not serve, as Deepgram does.

    The known models and the refusals are ``actors.protocol.models``; the last ``model`` wins.
    """
    model = next((value for name, value in reversed(query) if name == "model"), None)
    refusal = model_refusal(path, model)
    if refusal is not None:
        raise Rejected(refusal.status, refusal.err_msg, refusal.err_code)


def evaluate(
    request: Request,
    endpoints: Mapping[str, type[Endpoint]],
    api_keys: Collection[str] | None,
    faults: FaultRegistry,
    request_id: str,
) -> Accepted:
    """Decide the fate of a handshake; raise :class:`Rejected` to refuse it."""
    url = urlsplit(request.path)
    path = url.path.rstrip("/") or "/"
    endpoint = endpoints.get(path)
    if endpoint is None:
        raise Rejected(404, f"No endpoint at {path}; expected one of {', '.join(sorted(endpoints))}.")
    headers = {name.lower(): value for name, value in request.headers.raw_items()}
    try:
        query = parse_qsl(url.query, keep_blank_values=True, strict_parsing=False)
    except ValueError as exc:
        raise Rejected(400, f"Failed to deserialize query parameters: {exc}") from None
    fault = choose_fault(faults, path, query, headers)
    if fault is not None and fault.kind == "reject":
        raise Rejected(fault.status, fault.reason or None)
    credential = check_credential(find_credential(headers, offered_subprotocols(request.headers)), api_keys)
    check_model(path, query)
    try:
        options = endpoint.parse_query(query)
    except OptionsError as exc:
        raise Rejected(400, str(exc)) from None
    return Accepted(request_id, endpoint, path, query, headers, options, credential, fault)


def rejection_response(rejected: Rejected, request_id: str) -> Response:
    """The HTTP response for a refused handshake: status, ``dg-error``, ``dg-request-id``, JSON body."""
    body = orjson.dumps(
        {"err_code": rejected.err_code, "err_msg": rejected.message, "request_id": request_id}
    )
    headers = Headers(
        [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Connection", "close"),
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("dg-request-id", request_id),
            ("dg-error", header_text(rejected.message)),
        ]
    )
    return Response(rejected.status, _phrase(rejected.status), headers, body)


def header_text(message: str) -> str:
    """``message`` as a header value: one line of ASCII (other characters as ``\\x..`` escapes).

    A refusal may quote a client's value (``model: 'é' ...``); websockets writes headers as
    latin-1, which clients reading UTF-8 headers cannot parse. The JSON body keeps the text as is.
    """
    return " ".join(message.splitlines()).encode("ascii", "backslashreplace").decode("ascii")


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class QueryReader:
    """Typed access to query parameters; every bad value raises ``OptionsError`` naming it."""

    def __init__(self, query: Sequence[tuple[str, str]]) -> None:
        self.pairs = list(query)
        self._last = {name: value for name, value in self.pairs}

    def get_all(self, name: str) -> list[str]:
        """Every value of a repeatable parameter, in order."""
        return [value for key, value in self.pairs if key == name]

    def text(
        self, name: str, default: str | None = None, choices: Collection[str] | None = None
    ) -> str | None:
        """A string parameter (the last one if repeated), optionally restricted to ``choices``."""
        value = self._last.get(name)
        if value is None:
            return default
        if choices is not None and value not in choices:
            raise OptionsError(name, f"expected one of {', '.join(sorted(choices))}, got {value!r}", value)
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean parameter: ``true`` or ``false``."""
        value = self._last.get(name)
        if value is None:
            return default
        if value.lower() not in ("true", "false"):
            raise OptionsError(name, f"expected true or false, got {value!r}", value)
        return value.lower() == "true"

    def integer(
        self, name: str, default: int | None = None, low: int | None = None, high: int | None = None
    ) -> int | None:
        """An integer parameter within ``[low, high]``."""
        return self._converted(name, int, "an integer", default, low, high)

    def number(
        self, name: str, default: float | None = None, low: float | None = None, high: float | None = None
    ) -> float | None:
        """A numeric parameter within ``[low, high]``."""
        return self._converted(name, float, "a number", default, low, high)

    def _converted(
        self,
        name: str,
        convert: Callable[[str], _Number],
        expected: str,
        default: _Number | None,
        low: float | None,
        high: float | None,
    ) -> _Number | None:
        """The last value of ``name`` through ``convert`` (``default`` when absent), within
        ``[low, high]``; an :class:`OptionsError` saying it expected ``expected`` when it does not convert."""
        value = self._last.get(name)
        if value is None:
            return default
        try:
            number = convert(value)
        except ValueError:
            raise OptionsError(name, f"expected {expected}, got {value!r}", value) from None
        _check_range(name, number, low, high)
        return number


def _check_range(name: str, number: float, low: float | None, high: float | None) -> None:
    if (low is not None and number < low) or (high is not None and number > high):
        raise OptionsError(name, f"must be between {low} and {high}, got {number}", number)
