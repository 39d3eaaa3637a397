"""HTTP Message Signatures on the AudioHook upgrade request (the AudioHook protocol): verify and sign.

Genesys signs the WebSocket upgrade with HMAC-SHA256 over six covered components
(``@request-target``, ``@authority`` and four headers); ``keyid`` is the API key, the HMAC key is the
base64-decoded client secret configured for that API key. :func:`verify_request` checks a request
against the service's keys and returns a :class:`VerifiedRequest`, or raises :class:`SignatureError`
whose ``status`` is the HTTP status to refuse the upgrade with (401; 400 for missing AudioHook headers)
and whose ``info`` is the text for a ``disconnect`` ``unauthorized`` if the service accepts the socket
first (the reference's default "session" strategy). :func:`sign_request` builds the headers the way
Genesys does, for our test client and for users testing a deployment.

The reference delays every failure to at least 500 ms: :data:`FAILURE_DELAY` is that delay, for the
service to apply (this module never waits).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Mapping
from typing import Literal

import attrs

#: The components the verifier requires, in the order the signer covers them.
REQUIRED_COMPONENTS: tuple[str, ...] = (
    "@request-target",
    "@authority",
    "audiohook-organization-id",
    "audiohook-session-id",
    "audiohook-correlation-id",
    "x-api-key",
)
#: The only signature parameters allowed.
ALLOWED_PARAMETERS = frozenset({"alg", "created", "expires", "keyid", "nonce"})
#: Clock skew allowance (s).
CLOCK_SKEW = 3.0
#: Maximum age of ``created`` (s).
MAX_AGE = 10.0
#: ``expires`` - ``created`` as the signer writes it (s).
LIFETIME = 30
#: Minimum nonce length (characters).
MIN_NONCE_LENGTH = 22
#: The service should delay every refusal to at least this long after the request arrived (s).
FAILURE_DELAY = 0.5
#: The signature label the signer uses.
LABEL = "sig1"

#: Why a verification failed.
FailureKind = Literal[
    "missing_header", "bad_header", "unsigned", "invalid", "unsupported", "mismatch", "expired", "future"
]


class SignatureError(Exception):
    """The upgrade request failed authentication: ``kind``, HTTP ``status`` and the ``info`` to report.

    Messages never contain the API key or the secret.
    """

    def __init__(self, kind: FailureKind, info: str, status: int = 401) -> None:
        super().__init__(info)
        self.kind: FailureKind = kind
        self.info = info
        self.status = status

    @property
    def disconnect_info(self) -> str:
        """The ``info`` of the ``disconnect`` ``unauthorized`` message (reference wording ``FAILED: ...``)."""
        return f"FAILED: {self.info}"


@attrs.frozen
class VerifiedRequest:
    """A request whose AudioHook headers are well-formed and whose signature (if any) verified."""

    api_key: str = attrs.field(repr=False)
    organization_id: str
    session_id: str
    correlation_id: str
    signed: bool
    created: int | None = None
    expires: int | None = None
    nonce: str | None = None


# --- RFC 8941 subset: dictionaries of inner lists / byte sequences with parameters -------------------

BareItem = str | int | bytes | bool
Params = list[tuple[str, BareItem]]
InnerList = list[tuple[BareItem, Params]]
Member = tuple[BareItem | InnerList, Params]
_TOKEN = re.compile(r"[A-Za-z*][A-Za-z0-9:/!#$%&'*+\-.^_`|~]*")
_KEY = re.compile(r"[a-z*][a-z0-9_\-.*]*")
_INT = re.compile(r"-?\d{1,15}")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> SignatureError:
        return SignatureError("bad_header", f"Malformed structured field: {what} at offset {self.pos}")

    def skip(self, chars: str = " ") -> None:
        while self.pos < len(self.text) and self.text[self.pos] in chars:
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def key(self) -> str:
        match = _KEY.match(self.text, self.pos)
        if not match:
            raise self.fail("expected a key")
        self.pos = match.end()
        return match.group()

    def bare_item(self) -> BareItem:
        ch = self.peek()
        if ch == '"':
            self.pos += 1
            out = []
            while True:
                if self.pos >= len(self.text):
                    raise self.fail("unterminated string")
                ch = self.text[self.pos]
                self.pos += 1
                if ch == "\\":
                    if self.peek() not in ('"', "\\"):
                        raise self.fail("bad escape")
                    out.append(self.text[self.pos])
                    self.pos += 1
                elif ch == '"':
                    return "".join(out)
                elif not 0x20 <= ord(ch) <= 0x7E:
                    raise self.fail("bad string character")
                else:
                    out.append(ch)
        if ch == ":":
            end = self.text.find(":", self.pos + 1)
            if end < 0:
                raise self.fail("unterminated byte sequence")
            raw = self.text[self.pos + 1 : end]
            self.pos = end + 1
            try:
                return base64.b64decode(raw, validate=True)
            except binascii.Error:
                raise self.fail("bad base64 in byte sequence") from None
        if ch == "?":
            flag = self.text[self.pos + 1 : self.pos + 2]
            if flag not in ("0", "1"):
                raise self.fail("bad boolean")
            self.pos += 2
            return flag == "1"
        match = _INT.match(self.text, self.pos)
        if match and not self.text[match.end() : match.end() + 1].isdigit():
            if self.text[match.end() : match.end() + 1] == ".":
                raise self.fail("decimals are not supported")
            self.pos = match.end()
            return int(match.group())
        match = _TOKEN.match(self.text, self.pos)
        if match:
            self.pos = match.end()
            return match.group()
        raise self.fail("expected an item")

    def parameters(self) -> Params:
        params: Params = []
        while self.peek() == ";":
            self.pos += 1
            self.skip()
            name = self.key()
            value: BareItem = True
            if self.peek() == "=":
                self.pos += 1
                value = self.bare_item()
            params.append((name, value))
        return params

    def member(
        self,
    ) -> Member:
        if self.peek() == "(":
            self.pos += 1
            items: InnerList = []
            while True:
                self.skip()
                if self.peek() == ")":
                    self.pos += 1
                    break
                item = self.bare_item()
                items.append((item, self.parameters()))
                if self.peek() not in (" ", ")"):
                    raise self.fail("expected a space or ')' in inner list")
            return items, self.parameters()
        return self.bare_item(), self.parameters()

    def dictionary(
        self,
    ) -> dict[str, Member]:
        out: dict[
            str,
            Member,
        ] = {}
        self.skip()
        while self.pos < len(self.text):
            name = self.key()
            if self.peek() == "=":
                self.pos += 1
                out[name] = self.member()
            else:
                out[name] = (True, self.parameters())
            self.skip(" \t")
            if self.pos >= len(self.text):
                break
            if self.peek() != ",":
                raise self.fail("expected ','")
            self.pos += 1
            self.skip(" \t")
            if self.pos >= len(self.text):
                raise self.fail("trailing comma")
        return out


def _serialize_item(value: BareItem) -> str:
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return ":" + base64.b64encode(value).decode("ascii") + ":"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _serialize_params(params: Params) -> str:
    return "".join(
        f";{name}" if value is True else f";{name}={_serialize_item(value)}" for name, value in params
    )


def _signature_params(components: list[str], params: Params) -> str:
    inner = " ".join(_serialize_item(name) for name in components)
    return f"({inner}){_serialize_params(params)}"


# --- the signature base -----------------------------------------------------------------------------


def _clean(value: str) -> str:
    return re.sub(r"\r?\n[ \t]+", " ", value).strip()


def normalize_authority(host: str, scheme: str = "wss") -> str:
    """The ``@authority`` value for a ``Host``: lower-cased, without the scheme's default port."""
    host = host.strip().lower()
    default = ":443" if scheme in ("wss", "https") else ":80"
    return host[: -len(default)] if host.endswith(default) else host


def signature_base(
    components: list[str],
    params: Params,
    target: str,
    authority: str,
    headers: Mapping[str, str],
) -> str:
    """The signature base string over ``components`` (headers looked up case-insensitively).

    Raises :class:`SignatureError` (``invalid``) when a covered header is missing or a derived component
    is not supported.
    """
    lower = {name.lower(): value for name, value in headers.items()}
    lines = []
    for name in components:
        if name == "@request-target":
            value = target
        elif name == "@authority":
            value = authority
        elif name == "@path":
            value = target.split("?", 1)[0]
        elif name == "@query":
            value = "?" + target.split("?", 1)[1] if "?" in target else "?"
        elif name.startswith("@"):
            raise SignatureError("unsupported", f"Unsupported derived component {name}")
        elif name in lower:
            value = lower[name]
        else:
            raise SignatureError("invalid", f"Covered header {name} is missing")
        lines.append(f'"{name}": {_clean(value)}')
    lines.append(f'"@signature-params": {_signature_params(components, params)}')
    return "\n".join(lines)


def _hmac(key: bytes, base: str) -> bytes:
    return hmac.new(key, base.encode("utf-8"), hashlib.sha256).digest()


def decode_secret(secret: str) -> bytes:
    """The HMAC key for a client secret (the secret is base64); ``ValueError`` if it is not base64."""
    try:
        return base64.b64decode(secret.strip(), validate=True)
    except binascii.Error:
        raise ValueError("the client secret is not valid base64") from None


# --- signer -------------------------------------------------------------------------------------------


def sign_request(
    *,
    target: str,
    host: str,
    organization_id: str,
    session_id: str,
    correlation_id: str,
    api_key: str,
    client_secret: str,
    created: int,
    nonce: str | None = None,
    expires: int | None = None,
) -> dict[str, str]:
    """The upgrade headers Genesys sends, signed: AudioHook headers, ``Signature-Input``, ``Signature``.

    ``target`` is path + query, ``host`` the ``Host`` header, ``client_secret`` the base64 secret (an
    empty secret gives an unsigned request), ``created`` Unix seconds. ``nonce`` defaults to 18 random
    bytes in base64, ``expires`` to ``created + 30``.
    """
    headers = {
        "Host": host,
        "Audiohook-Organization-Id": organization_id,
        "Audiohook-Session-Id": session_id,
        "Audiohook-Correlation-Id": correlation_id,
        "X-API-KEY": api_key,
    }
    if not client_secret:
        return headers
    params: Params = [
        ("keyid", api_key),
        ("nonce", nonce if nonce is not None else base64.b64encode(secrets.token_bytes(18)).decode("ascii")),
        ("alg", "hmac-sha256"),
        ("created", created),
        ("expires", expires if expires is not None else created + LIFETIME),
    ]
    components = list(REQUIRED_COMPONENTS)
    base = signature_base(components, params, target, normalize_authority(host), headers)
    digest = _hmac(decode_secret(client_secret), base)
    headers["Signature-Input"] = f"{LABEL}={_signature_params(components, params)}"
    headers["Signature"] = f"{LABEL}={_serialize_item(digest)}"
    return headers


# --- verifier -----------------------------------------------------------------------------------------

_UUID = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.IGNORECASE
)
NULL_UUID = "00000000-0000-0000-0000-000000000000"


def is_uuid(value: str) -> bool:
    """True for an RFC 4122 UUID of versions 1-5, or the null UUID (the reference's rule)."""
    return value == NULL_UUID or bool(_UUID.match(value))


def verify_request(
    *,
    target: str,
    headers: Mapping[str, str],
    client_secrets: Mapping[str, str],
    now: float,
    scheme: str = "wss",
) -> VerifiedRequest:
    """Check an AudioHook upgrade request at time ``now`` (Unix seconds) and return who it is.

    ``target`` is the request path + query, ``headers`` the request headers (any case; ``Host`` gives
    ``@authority``), ``client_secrets`` maps each accepted API key to its base64 client secret ("" =
    unsigned requests are accepted for that key). Any organization id is accepted; the session must
    check ``open.organizationId`` against :attr:`VerifiedRequest.organization_id`. Raises
    :class:`SignatureError` on any failure.
    """
    lower = {name.lower(): value for name, value in headers.items()}
    ids = {}
    for name in ("audiohook-organization-id", "audiohook-session-id", "audiohook-correlation-id"):
        value = lower.get(name)
        if value is None:
            raise SignatureError("missing_header", f"Missing header {name}", status=400)
        if not is_uuid(value.strip()):
            raise SignatureError("bad_header", f"Header {name} is not a UUID", status=400)
        ids[name] = value.strip()
    api_key = lower.get("x-api-key", "").strip()
    if not api_key:
        raise SignatureError("missing_header", "Missing header X-API-KEY")
    known = api_key in client_secrets
    secret = client_secrets.get(api_key, "")
    sig_input = lower.get("signature-input")
    sig = lower.get("signature")
    if sig_input is None and sig is None:
        if known and not secret:
            return VerifiedRequest(
                api_key=api_key,
                organization_id=ids["audiohook-organization-id"],
                session_id=ids["audiohook-session-id"],
                correlation_id=ids["audiohook-correlation-id"],
                signed=False,
            )
        raise SignatureError("unsigned", "Request is not signed" if known else "Unknown API key")
    if sig_input is None or sig is None:
        raise SignatureError("invalid", "Signature and Signature-Input must both be present")
    inputs = _Parser(sig_input).dictionary()
    signatures = _Parser(sig).dictionary()
    if not inputs:
        raise SignatureError("invalid", "Signature-Input is empty")
    label, (inner, raw_params) = next(iter(inputs.items()))
    if label not in signatures or not isinstance(signatures[label][0], bytes):
        raise SignatureError("invalid", f"No signature for label {label}")
    digest = signatures[label][0]
    assert isinstance(digest, bytes)
    if not isinstance(inner, list):
        raise SignatureError("invalid", "Signature-Input member is not an inner list")
    components: list[str] = []
    for item, item_params in inner:
        if not isinstance(item, str):
            raise SignatureError("invalid", "Covered component is not a string")
        if item == "@query-params" or any(name in ("sf", "bs", "req") for name, _ in item_params):
            raise SignatureError("unsupported", f"Unsupported component {item}")
        if item_params:
            raise SignatureError("unsupported", f"Unsupported parameters on component {item}")
        components.append(item)
    missing = [name for name in REQUIRED_COMPONENTS if name not in components]
    if missing:
        raise SignatureError("invalid", f"Signature does not cover {', '.join(missing)}")
    params = dict(raw_params)
    unknown = sorted(set(params) - ALLOWED_PARAMETERS)
    if unknown:
        raise SignatureError("invalid", f"Unsupported signature parameter {unknown[0]}")
    nonce = params.get("nonce")
    if not isinstance(nonce, str) or len(nonce) < MIN_NONCE_LENGTH:
        raise SignatureError("invalid", "Nonce missing or too short")
    if params.get("keyid") != api_key:
        raise SignatureError("invalid", "Signature keyid does not match X-API-KEY")
    if params.get("alg") != "hmac-sha256":
        raise SignatureError("invalid", "Signature algorithm must be hmac-sha256")
    created = params.get("created")
    expires = params.get("expires")
    if not isinstance(created, int) or isinstance(created, bool):
        raise SignatureError("invalid", "Signature created is missing")
    if expires is not None and (not isinstance(expires, int) or isinstance(expires, bool)):
        raise SignatureError("invalid", "Signature expires is not an integer")
    if created > now + CLOCK_SKEW:
        raise SignatureError("future", "Signature created time in the future")
    if expires is not None and expires < now + CLOCK_SKEW:
        raise SignatureError("expired", "Signature expired")
    if created + MAX_AGE < now + CLOCK_SKEW:
        raise SignatureError("expired", "Signature expired (too old)")
    authority = normalize_authority(lower.get("host", ""), scheme)
    base = signature_base(components, raw_params, target, authority, headers)
    try:
        key = decode_secret(secret) if known and secret else secrets.token_bytes(32)
    except ValueError:
        key = secrets.token_bytes(32)
    expected = _hmac(key, base)
    if not hmac.compare_digest(expected, digest) or not known or not secret:
        raise SignatureError("mismatch", "Signatures do not match")
    return VerifiedRequest(
        api_key=api_key,
        organization_id=ids["audiohook-organization-id"],
        session_id=ids["audiohook-session-id"],
        correlation_id=ids["audiohook-correlation-id"],
        signed=True,
        created=created,
        expires=expires,
        nonce=nonce,
    )


def new_uuid() -> str:
    """A fresh random UUID string (for correlation and session ids in clients)."""
    return str(uuid.uuid4())


__all__ = [
    "FAILURE_DELAY",
    "NULL_UUID",
    "REQUIRED_COMPONENTS",
    "SignatureError",
    "VerifiedRequest",
    "decode_secret",
    "is_uuid",
    "new_uuid",
    "normalize_authority",
    "sign_request",
    "signature_base",
    "verify_request",
]
