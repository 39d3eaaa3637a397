"""``X-Twilio-Signature`` validation for the Media Streams WebSocket upgrade (and a signer for tests).

Twilio's algorithm (Twilio "Webhooks security" page, https://www.twilio.com/docs/usage/webhooks/webhooks-security,
and its helper libraries): take the full URL Twilio requested, append every POST parameter sorted by name
as ``name + value`` (no separators), HMAC-SHA1 the UTF-8 string with the account Auth Token as key, and
base64 the digest. The "Media Streams Configuration" page requires validating it on the stream too.

What is signed for a WebSocket upgrade: the upgrade is a GET, so there are no POST parameters and the
signed string is the URL alone -- with the scheme Twilio dialled, ``wss://`` (twilio-labs/twilio-aspnet
issue #162: ASP.NET sees the upgrade as ``https://`` and validation fails until the URL is rewritten to
``wss://``). ``<Stream url>`` takes no query string (parameters go in ``<Parameter>`` and arrive in the
``start`` message), so the URL is normally scheme + host + path. Twilio's helper libraries also accept the
signature computed with the default port added or removed (``wss://host/x`` vs ``wss://host:443/x``),
because the URL a server reconstructs may differ from the one Twilio signed only by that; so do we.

Behind a proxy the server cannot see the URL Twilio used: the caller passes it (``public_url``), e.g. from
configuration, never from unauthenticated forwarded headers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlsplit, urlunsplit

#: The request header carrying the signature.
SIGNATURE_HEADER = "X-Twilio-Signature"

Params = Mapping[str, str | Sequence[str]]

_DEFAULT_PORTS = {"https": 443, "wss": 443, "http": 80, "ws": 80}


def _signed_string(url: str, params: Params | None) -> str:
    parts = [url]
    for name in sorted(params or {}):
        value = (params or {})[name]
        values = [value] if isinstance(value, str) else sorted(value)
        parts.extend(name + item for item in values)
    return "".join(parts)


def compute_signature(auth_token: str, url: str, params: Params | None = None) -> str:
    """The base64 HMAC-SHA1 signature Twilio sends for a request to ``url`` with POST ``params``.

    For a WebSocket upgrade pass no ``params`` (see the module docstring).
    """
    digest = hmac.new(auth_token.encode(), _signed_string(url, params).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def url_variants(url: str) -> list[str]:
    """``url`` as given, then with its default port removed or added (the helper libraries' tolerance)."""
    parts = urlsplit(url)
    default = _DEFAULT_PORTS.get(parts.scheme.lower())
    variants = [url]
    if default is None or parts.hostname is None:
        return variants
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    if parts.port is None:
        netloc = f"{prefix}{host}:{default}"
    elif parts.port == default:
        netloc = f"{prefix}{host}"
    else:
        return variants
    variants.append(urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)))
    return variants


def signature_matches(
    auth_token: str, public_url: str, signature: str | None, params: Params | None = None
) -> bool:
    """True if ``signature`` is Twilio's for ``public_url`` (the URL as Twilio saw it) and ``params``.

    A missing or empty signature never matches. Comparison is constant-time.
    """
    if not signature:
        return False
    candidates: Iterable[str] = url_variants(public_url)
    matched = False
    for candidate in candidates:
        expected = compute_signature(auth_token, candidate, params)
        # Evaluate every variant (no short-circuit) so timing does not depend on which one matched.
        matched |= hmac.compare_digest(expected.encode(), signature.encode())
    return matched


class SignatureError(Exception):
    """The upgrade request's ``X-Twilio-Signature`` is missing or wrong (reject with HTTP 403).

    The message names what was wrong and the URL that was checked; it never contains the token.
    """

    status = 403


def check_upgrade(auth_token: str, public_url: str, headers: Mapping[str, str]) -> None:
    """Validate a WebSocket upgrade's ``X-Twilio-Signature`` (``headers`` matched case-insensitively).

    Raises :class:`SignatureError` if the header is missing, empty or does not match ``public_url``.
    """
    signature = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER.lower()), None)
    # Name the URL without its query: a deployment might (against advice) carry a token there.
    parts = urlsplit(public_url)
    shown = urlunsplit((parts.scheme, parts.netloc, parts.path, "?..." if parts.query else "", ""))
    if not signature:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header on the upgrade request for {shown}")
    if not signature_matches(auth_token, public_url, signature):
        raise SignatureError(
            f"{SIGNATURE_HEADER} does not match {shown} (wrong auth token, or the URL Twilio dialled "
            "differs: check scheme wss://, host, port and path)"
        )


def signed_headers(auth_token: str, url: str) -> dict[str, str]:
    """The ``X-Twilio-Signature`` header Twilio would send when upgrading to ``url`` (for test clients)."""
    return {SIGNATURE_HEADER: compute_signature(auth_token, url)}


__all__ = [
    "SIGNATURE_HEADER",
    "SignatureError",
    "check_upgrade",
    "compute_signature",
    "signature_matches",
    "signed_headers",
    "url_variants",
]
