"""Credentials for the WebSocket handshake: API key (``Token``) or temporary JWT (``Bearer``).

``Auth.token(key).header()`` gives ``("Authorization", "Token <key>")``; ``.subprotocols()`` gives
the browser form ``["token", key]`` (``["bearer", jwt]`` for a JWT). The secret never appears in
``repr``/``str`` or in error messages.
"""

from __future__ import annotations

from typing import Literal

from actors.errors import OptionsError

__all__ = ["Auth", "parse_authorization"]

Scheme = Literal["token", "bearer"]
_HEADER_PREFIX = {"token": "Token", "bearer": "Bearer"}


class Auth:
    """One credential and the scheme it is sent with; immutable, hashable, secret-safe repr."""

    __slots__ = ("_scheme", "_secret")

    def __init__(self, scheme: Scheme, secret: str) -> None:
        if scheme not in _HEADER_PREFIX:
            raise OptionsError("auth", f"unknown scheme {scheme!r}; use 'token' or 'bearer'")
        if not isinstance(secret, str) or not secret.strip():
            raise OptionsError("auth", "the API key or token is empty; pass a non-empty string")
        if any(c in secret for c in "\r\n") or secret != secret.strip():
            raise OptionsError(
                "auth", "the API key or token contains whitespace or line breaks; check how it was read"
            )
        self._scheme: Scheme = scheme
        self._secret = secret

    @classmethod
    def token(cls, key: str) -> Auth:
        """Authenticate with a Deepgram API key (``Authorization: Token <key>``)."""
        return cls("token", key)

    @classmethod
    def bearer(cls, jwt: str) -> Auth:
        """Authenticate with a temporary JWT from /v1/auth/grant (``Authorization: Bearer <jwt>``)."""
        return cls("bearer", jwt)

    @property
    def scheme(self) -> Scheme:
        """``"token"`` or ``"bearer"``."""
        return self._scheme

    @property
    def secret(self) -> str:
        """The raw key or JWT (deliberately not part of repr or str)."""
        return self._secret

    def header(self) -> tuple[str, str]:
        """The ``Authorization`` header as a (name, value) pair."""
        return ("Authorization", f"{_HEADER_PREFIX[self._scheme]} {self._secret}")

    def subprotocols(self) -> list[str]:
        """The browser form for ``Sec-WebSocket-Protocol``: ``[scheme, secret]``."""
        return [self._scheme, self._secret]

    def redacted(self) -> str:
        """A loggable description: scheme plus the last 4 characters at most."""
        tail = self._secret[-4:] if len(self._secret) >= 16 else ""
        return f"{_HEADER_PREFIX[self._scheme]} ****{tail}"

    def __repr__(self) -> str:
        return f"Auth({self._scheme}, {self.redacted()!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Auth) and (self._scheme, self._secret) == (other._scheme, other._secret)

    def __hash__(self) -> int:
        return hash((self._scheme, self._secret))


def parse_authorization(header: str | None = None, subprotocols: list[str] | None = None) -> Auth | None:
    """Server side: the credential in an ``Authorization`` header or a subprotocol list, or None.

    Accepts ``Token <k>``, ``Bearer <jwt>`` (scheme case-insensitive) and the subprotocol pairs
    ``token, <k>`` / ``bearer, <jwt>``. A malformed value gives None (the server answers 401).
    """
    if header:
        scheme, _, secret = header.strip().partition(" ")
        lowered = scheme.lower()
        if lowered in _HEADER_PREFIX and secret.strip():
            try:
                return Auth(lowered, secret.strip())  # type: ignore[arg-type]
            except OptionsError:
                return None
    if subprotocols:
        items = [p.strip() for p in subprotocols]
        for i, item in enumerate(items[:-1]):
            if item.lower() in _HEADER_PREFIX and items[i + 1]:
                try:
                    return Auth(item.lower(), items[i + 1])  # type: ignore[arg-type]
                except OptionsError:
                    return None
    return None
