"""``request_options`` of ``connect(...)``: extra headers, extra query parameters and a timeout.

Accepts the SDK's ``RequestOptions`` dict. Only what applies to a WebSocket has an effect
(``additional_headers``, ``additional_query_parameters``, ``timeout``/``timeout_in_seconds``);
HTTP-only keys are accepted and ignored so ported code runs unchanged; unknown keys are an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

import attrs

from actors._lean_attrs import LeanFrozen
from actors.errors import OptionsError

#: Keys of the SDK's RequestOptions that only matter for HTTP requests.
_HTTP_ONLY_KEYS = frozenset(
    {
        "max_retries",
        "additional_body_parameters",
        "chunk_size",
        "stream_reconnection_enabled",
        "max_stream_reconnection_attempts",
    }
)
_SOCKET_KEYS = frozenset(
    {"timeout", "timeout_in_seconds", "additional_headers", "additional_query_parameters"}
)


class RequestOptions(TypedDict, total=False):
    """Per-connection settings, as in Deepgram's SDK (every key optional).

    ``timeout`` / ``timeout_in_seconds``: seconds allowed for the WebSocket handshake.
    ``additional_headers``: sent with the handshake, applied last (they override the client's).
    ``additional_query_parameters``: appended to the URL query (lists repeat the key, booleans are
    ``true``/``false``).
    """

    timeout: float
    timeout_in_seconds: int
    max_retries: int
    additional_headers: dict[str, Any]
    additional_query_parameters: dict[str, Any]
    additional_body_parameters: dict[str, Any]
    chunk_size: int
    stream_reconnection_enabled: bool
    max_stream_reconnection_attempts: int


@attrs.frozen(repr=False, eq=False)
class SocketRequestOptions(LeanFrozen):
    """The parts of a ``RequestOptions`` that apply to a socket, validated.

    ``timeout`` is None when the caller set none.
    """

    headers: dict[str, str] = attrs.field(factory=dict)
    query: list[tuple[str, str]] = attrs.field(factory=list)
    timeout: float | None = None


def _query_value(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise OptionsError(
        f"request_options.additional_query_parameters[{name!r}]",
        f"expected a str, int, float, bool or a list of them, got {type(value).__name__}",
        value,
    )


def _headers(raw: Any) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        raise OptionsError("request_options.additional_headers", "expected a dict of header -> value")
    headers: dict[str, str] = {}
    for name, value in raw.items():
        if not isinstance(name, str) or not name:
            raise OptionsError(
                "request_options.additional_headers", f"header names must be strings: {name!r}"
            )
        if value is None:
            continue
        # The value is deliberately not echoed: it may be a credential.
        if not isinstance(value, (str, int, float)) or "\n" in str(value) or "\r" in str(value):
            raise OptionsError(
                f"request_options.additional_headers[{name!r}]", "expected a single-line string value"
            )
        headers[name] = str(value)
    return headers


def _query(raw: Any) -> list[tuple[str, str]]:
    if not isinstance(raw, Mapping):
        raise OptionsError("request_options.additional_query_parameters", "expected a dict of name -> value")
    pairs: list[tuple[str, str]] = []
    for name, value in raw.items():
        if value is None:
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        pairs.extend((str(name), _query_value(str(name), item)) for item in values)
    return pairs


def _timeout(options: Mapping[str, Any]) -> float | None:
    for key in ("timeout", "timeout_in_seconds"):
        value = options.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise OptionsError(
                f"request_options.{key}", f"expected a number of seconds > 0, got {value!r}", value
            )
        return float(value)
    return None


def parse_request_options(options: Mapping[str, Any] | None) -> SocketRequestOptions:
    """Validate ``options`` and keep what a socket uses; raises ``OptionsError`` naming a bad key."""
    if options is None:
        return SocketRequestOptions()
    if not isinstance(options, Mapping):
        raise OptionsError(
            "request_options", f"expected a dict (RequestOptions), got {type(options).__name__}"
        )
    unknown = sorted(set(options) - _SOCKET_KEYS - _HTTP_ONLY_KEYS)
    if unknown:
        known = ", ".join(sorted(_SOCKET_KEYS | _HTTP_ONLY_KEYS))
        raise OptionsError("request_options", f"unknown key(s) {', '.join(unknown)}; known: {known}")
    return SocketRequestOptions(
        headers=_headers(options.get("additional_headers") or {}),
        query=_query(options.get("additional_query_parameters") or {}),
        timeout=_timeout(options),
    )


__all__ = ["RequestOptions", "SocketRequestOptions", "parse_request_options"]
