"""The service's plain-HTTP routes (same port as the platform WebSockets): operations and the JSON API.

:class:`OpsApi` answers a request given as ``(method, target, headers)`` with an
:class:`HttpAnswer`; the server calls it for every path :meth:`OpsApi.handles` claims and turns
the answer into its own response type. No web framework and no socket here.

* ``GET /healthz`` -- ``200 ok``: the process serves.
* ``GET /readyz`` -- ``200 ready`` or ``503 not ready: <reason>`` (draining, store down...).
* ``GET /metrics`` -- the Prometheus text format of :class:`~actors.ingest.metrics.IngestMetrics`.
* ``GET /v1/calls[?active=true|false&since=T&limit=N]`` -- ``{"calls": [...]}``, newest first;
  ``T`` is Unix seconds or an ISO-8601 date-time with an offset, ``N`` 1..1000 (default 100).
* ``GET /v1/calls/{id}`` -- ``{"call": {...}, "segments": [...]}`` or 404.

* ``GET /`` (live calls), ``/call`` (a call's transcript, ``?id=``), ``/mic`` (microphone to
  ``/v1/stream``), ``/web/*`` (their scripts, the microphone's audio worklet, style and icon) and
  ``/favicon.ico`` -- the browser pages, plain files from ``actors/ingest/web/`` (no personal data
  in them; they fetch it with the token they keep). A page's ``<!-- shared:NAME -->`` line is
  replaced by the fragment ``_NAME.html`` (the head links and the header with the login form, written
  once for every page), the first time the page is served.

``HEAD`` is ``GET`` without the body; other methods get 405. Transcripts are personal data:
``/v1/calls*`` requires ``Authorization: Bearer <api_token>`` when a token is configured, and
without one is served only when the service listens on loopback. The ops routes and the pages carry no
personal data and need no token. The browser's WebSockets (``/v1/events``, ``/v1/stream``) cannot
set ``Authorization``; :meth:`OpsApi.socket_ok` also takes the token as the offered subprotocols
``bearer, <token>`` (``Sec-WebSocket-Protocol``, redacted from logs like ``Authorization``).
"""

from __future__ import annotations

import functools
import hmac
import json
import logging
import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from importlib import resources
from urllib.parse import parse_qsl, unquote

import attrs

from actors.ingest.metrics import IngestMetrics
from actors.ingest.store import CallDetail, CallRecord, Segment, StoreUnavailable, TranscriptStore

log = logging.getLogger(__name__)

#: Readiness check: None when ready, else a short reason (``"draining"``, ``"store unavailable: ..."``).
Readiness = Callable[[], str | None]

TEXT = "text/plain; charset=utf-8"
JSON = "application/json"
CALLS_PATH = "/v1/calls"
OPS_PATHS = ("/healthz", "/readyz", "/metrics")
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
REALM = 'Bearer realm="actors-ingest"'

HTML = "text/html; charset=utf-8"
SCRIPT = "text/javascript; charset=utf-8"
SVG = "image/svg+xml"
#: The browser pages: route -> (file in actors/ingest/web/, content type).
PAGES: dict[str, tuple[str, str]] = {
    "/": ("index.html", HTML),
    "/call": ("call.html", HTML),
    "/mic": ("mic.html", HTML),
    "/web/common.js": ("common.js", SCRIPT),
    "/web/live.js": ("live.js", SCRIPT),
    "/web/call.js": ("call.js", SCRIPT),
    "/web/mic.js": ("mic.js", SCRIPT),
    "/web/mic-worklet.js": ("mic-worklet.js", SCRIPT),
    "/web/style.css": ("style.css", "text/css; charset=utf-8"),
    "/web/favicon.svg": ("favicon.svg", SVG),
    "/favicon.ico": ("favicon.svg", SVG),  # what a browser asks for when a page links no icon
}
#: A page's line that :func:`page_body` replaces by the fragment ``_<name>.html``.
_SHARED = re.compile(rb"^[ \t]*<!-- shared:([a-z]+) -->\n", re.MULTILINE)
#: The pages may load and connect to nothing but this service.
_PAGE_HEADERS = (
    (
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "media-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-cache"),
)
#: The subprotocol a browser WebSocket offers, followed by the token, to authenticate.
BEARER_SUBPROTOCOL = "bearer"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DIGITS = re.compile(r"[0-9]{1,7}")
_ALLOW = ("Allow", "GET, HEAD")
_NO_STORE = ("Cache-Control", "no-store")


@attrs.frozen
class HttpAnswer:
    """One HTTP response: status line, ``Content-Type``, body and the other headers.

    ``headers`` always holds ``Content-Length`` (for ``HEAD``, the length the ``GET`` body would
    have, while ``body`` is empty), so a server sends ``Content-Type`` plus ``headers`` as they are
    (:meth:`all_headers`) and adds nothing but its own connection headers.
    """

    status: int
    reason: str
    content_type: str
    body: bytes = attrs.field(repr=lambda b: f"<{len(b)} bytes>")
    headers: tuple[tuple[str, str], ...] = ()

    def all_headers(self) -> list[tuple[str, str]]:
        """``Content-Type`` followed by :attr:`headers`, in order (what goes on the wire)."""
        return [("Content-Type", self.content_type), *self.headers]

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive, ``Content-Type`` included), None if absent."""
        wanted = name.lower()
        return next((v for k, v in self.all_headers() if k.lower() == wanted), None)


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class BadQuery(ValueError):
    """A query parameter of a JSON API request is unknown, repeated or has a bad value (a 400)."""


def _answer(
    status: int, content_type: str, body: bytes, head: bool, extra: tuple[tuple[str, str], ...] = ()
) -> HttpAnswer:
    headers = (("Content-Length", str(len(body))), *extra)
    return HttpAnswer(status, _REASONS[status], content_type, b"" if head else body, headers)


def _text(status: int, text: str, head: bool, extra: tuple[tuple[str, str], ...] = ()) -> HttpAnswer:
    return _answer(status, TEXT, text.encode(), head, extra)


def _json(status: int, value: object, head: bool, extra: tuple[tuple[str, str], ...] = ()) -> HttpAnswer:
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
    return _answer(status, JSON, body, head, (*extra, _NO_STORE))


def _error(status: int, message: str, head: bool, extra: tuple[tuple[str, str], ...] = ()) -> HttpAnswer:
    return _json(status, {"error": message}, head, extra)


def iso_utc(timestamp: float | None) -> str | None:
    """Unix seconds as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (None stays None).

    Rounded *down* to the millisecond, so passing a call's ``started_at`` back as ``since=``
    always includes that call.
    """
    if timestamp is None:
        return None
    moment = _EPOCH + timedelta(milliseconds=math.floor(timestamp * 1000))
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def call_json(call: CallRecord) -> dict[str, object]:
    """A stored call as the API shows it (times as ISO-8601 UTC strings; ``instance_id``: the service
    instance that owns it, whichever instance answers)."""
    return {
        "id": call.id,
        "platform": call.platform,
        "platform_ids": dict(call.platform_ids),
        "status": call.status,
        "started_at": iso_utc(call.started_at),
        "ended_at": iso_utc(call.ended_at),
        "request_ids": list(call.request_ids),
        "metadata": dict(call.metadata),
        "language": call.language,
        "channels": list(call.channels),
        "stats": dict(call.stats),
        "instance_id": call.instance_id,
    }


def segment_json(segment: Segment, channels: tuple[str, ...]) -> dict[str, object]:
    """A stored segment as the API shows it; ``channel_label`` from the call's ``channels`` (or None)."""
    label = channels[segment.channel] if 0 <= segment.channel < len(channels) else None
    return {
        "channel": segment.channel,
        "channel_label": label,
        "start": segment.start,
        "end": segment.end,
        "transcript": segment.transcript,
        "words": [dict(w) for w in segment.words],
        "speaker": segment.speaker,
        "confidence": segment.confidence,
    }


def detail_json(detail: CallDetail) -> dict[str, object]:
    """A call with its segments, as ``GET /v1/calls/{id}`` returns it."""
    channels = detail.call.channels
    return {"call": call_json(detail.call), "segments": [segment_json(s, channels) for s in detail.segments]}


def _shown(value: str) -> str:
    """A query value for an error message: quoted, and cut short when long."""
    return repr(value if len(value) <= 64 else value[:64] + "...")


def parse_since(value: str) -> float:
    """``since=``: Unix seconds, or an ISO-8601 date-time with an offset (``Z`` or ``+HH:MM``)."""
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):
            raise BadQuery(f"since: {_shown(value)} is not a finite number of Unix seconds")
        return seconds
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        # An unencoded "+HH:MM" offset arrives as " HH:MM" (a query's "+" is a space).
        hint = "; write a + offset as %2B" if " " in value else ""
        raise BadQuery(
            f"since: {_shown(value)} is neither Unix seconds nor an ISO-8601 date-time "
            f"(e.g. 2026-12-01T10:00:00Z){hint}"
        ) from None
    if moment.tzinfo is None:
        raise BadQuery(f"since: {_shown(value)} has no UTC offset (add Z or +HH:MM)")
    return moment.timestamp()


def parse_list_query(query: str) -> tuple[bool | None, float | None, int]:
    """``active``, ``since`` and ``limit`` from a ``/v1/calls`` query string (raises :class:`BadQuery`)."""
    seen: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name not in ("active", "since", "limit"):
            raise BadQuery(f"unknown query parameter {_shown(name)}; expected active, since or limit")
        if name in seen:
            raise BadQuery(f"query parameter {name!r} given more than once")
        seen[name] = value
    active: bool | None = None
    if "active" in seen:
        flag = seen["active"].lower()
        if flag not in ("true", "false"):
            raise BadQuery(f"active: {_shown(seen['active'])} is not true or false")
        active = flag == "true"
    since = parse_since(seen["since"]) if "since" in seen else None
    limit = DEFAULT_LIMIT
    if "limit" in seen:
        raw = seen["limit"]
        if not _DIGITS.fullmatch(raw) or not 1 <= int(raw) <= MAX_LIMIT:
            raise BadQuery(f"limit: {_shown(raw)} is not a whole number from 1 to {MAX_LIMIT}")
        limit = int(raw)
    return active, since, limit


def _header_values(headers: Mapping[str, str], name: str) -> list[str]:
    """Every value of header ``name`` (lower case) in ``headers``, under any spelling of the name and
    however many times it was sent (websockets' ``Headers`` refuses ``[]`` for a repeated header:
    its ``get_all`` gives them all)."""
    values: list[str] = []
    for key in headers:
        if key.lower() != name:
            continue
        try:
            values.append(headers[key])
        except LookupError:
            get_all = getattr(headers, "get_all", None)
            values.extend(get_all(key) if get_all is not None else ())
    return values


def _authorization(headers: Mapping[str, str]) -> tuple[str | None, bool]:
    """The ``Authorization`` value (any spelling of the name) and whether it was sent more than once."""
    values = _header_values(headers, "authorization")
    if len(values) > 1:
        return None, True
    return (values[0] if values else None), False


def subprotocol_token(headers: Mapping[str, str]) -> str | None:
    """The token of an upgrade offering the subprotocols ``bearer, <token>`` (in that order), else None."""
    offered = [
        p.strip() for value in _header_values(headers, "sec-websocket-protocol") for p in value.split(",")
    ]
    if len(offered) == 2 and offered[0] == BEARER_SUBPROTOCOL and offered[1]:
        return offered[1]
    return None


def _web_file(name: str) -> bytes:
    return resources.files("actors.ingest").joinpath("web", name).read_bytes()


@functools.cache
def page_body(name: str) -> bytes:
    """The bytes served for file ``name`` of ``actors/ingest/web/``: an HTML page with each
    ``<!-- shared:NAME -->`` line replaced by the fragment ``_NAME.html``; any other file as it is.
    Read once per process (raises ``FileNotFoundError`` for a missing file or fragment)."""
    body = _web_file(name)
    if name.endswith(".html"):
        body = _SHARED.sub(lambda m: _web_file(f"_{m.group(1).decode()}.html"), body)
    return body


def _page(path: str, head: bool) -> HttpAnswer:
    """A browser page or one of its assets, from the package's ``web`` folder."""
    name, content_type = PAGES[path]
    return _answer(200, content_type, page_body(name), head, _PAGE_HEADERS)


class OpsApi:
    """Answers the service's HTTP routes from the store, the metrics and a readiness check.

    ``api_token``: the bearer token ``/v1/calls*`` requires (None: no token; then those routes are
    served only when ``loopback_only``, else refused with 403). Thread-safe: it keeps no state of
    its own, and the store and metrics are thread-safe.
    """

    def __init__(
        self,
        store: TranscriptStore,
        metrics: IngestMetrics,
        readiness: Readiness,
        *,
        api_token: str | None,
        loopback_only: bool,
    ) -> None:
        if api_token is not None and not api_token.strip():
            raise ValueError("api_token: empty; give a token or None")
        self._store = store
        self._metrics = metrics
        self._readiness = readiness
        self._token = None if api_token is None else api_token.encode()
        self._loopback_only = loopback_only

    def __repr__(self) -> str:
        token = "set" if self._token is not None else "none"
        return f"OpsApi({self._store!r}, api_token={token}, loopback_only={self._loopback_only})"

    def handles(self, path: str) -> bool:
        """True if ``path`` (a query, if any, is ignored) is one of this API's routes, not a WebSocket's."""
        path = path.partition("?")[0]
        return path in OPS_PATHS or path in PAGES or path == CALLS_PATH or path.startswith(CALLS_PATH + "/")

    def answer(self, method: str, target: str, headers: Mapping[str, str]) -> HttpAnswer:
        """The response to ``method target`` (target = path + optional ``?query``) with ``headers``.

        Never raises: a store outage is a 503, an unexpected failure a logged 500 without details.
        """
        path, _, query = target.partition("?")
        head = method == "HEAD"
        api = path == CALLS_PATH or path.startswith(CALLS_PATH + "/")
        if not self.handles(path):
            return _text(404, "not found\n", head)
        if method not in ("GET", "HEAD"):
            if api:
                return _error(405, f"method {method} not allowed; use GET or HEAD", head, (_ALLOW,))
            return _text(405, f"method {method} not allowed; use GET or HEAD\n", head, (_ALLOW,))
        try:
            if api:
                return self._api(path, query, headers, head)
            if path in PAGES:
                return _page(path, head)
            return self._ops(path, head)
        except Exception:
            log.exception("HTTP %s %s failed", method, path)
            if api:
                return _error(500, "internal error", head)
            return _text(500, "internal error\n", head)

    def bearer_ok(self, headers: Mapping[str, str]) -> bool:
        """True when ``headers`` may use a token-protected route (the ``/v1/stream`` ingress uses this
        too): the right bearer token, or no token configured and the service on loopback only."""
        return self._refusal(headers, False) is None

    def socket_ok(self, headers: Mapping[str, str]) -> bool:
        """:meth:`bearer_ok` for a WebSocket upgrade, which may instead carry the token as its
        offered subprotocols ``bearer, <token>`` (a browser's WebSocket cannot set headers)."""
        if self.bearer_ok(headers):
            return True
        token = subprotocol_token(headers)
        if token is None or self._token is None:
            return False
        return hmac.compare_digest(token.encode(), self._token)

    # -- operations ---------------------------------------------------------------------------------

    def _ops(self, path: str, head: bool) -> HttpAnswer:
        if path == "/healthz":
            return _text(200, "ok\n", head)
        if path == "/readyz":
            try:
                reason = self._readiness()
            except Exception as exc:
                log.exception("readiness check failed")
                reason = f"readiness check failed ({type(exc).__name__})"
            if reason is None:
                return _text(200, "ready\n", head)
            return _text(503, f"not ready: {reason}\n", head)
        body, content_type = self._metrics.render()
        return _answer(200, content_type, body, head)

    # -- the JSON API -------------------------------------------------------------------------------

    def _refusal(self, headers: Mapping[str, str], head: bool) -> HttpAnswer | None:
        """None when the request may read transcripts, else the 401/403 answer."""
        if self._token is None:
            if self._loopback_only:
                return None
            return _error(
                403,
                "the JSON API needs --api-token (or ACTORS_INGEST_API_TOKEN) when the service is not "
                "on loopback",
                head,
            )
        value, repeated = _authorization(headers)
        challenge = (("WWW-Authenticate", REALM),)
        if repeated:
            return _error(401, "more than one Authorization header", head, challenge)
        if value is None:
            return _error(401, "missing Authorization: Bearer <token>", head, challenge)
        scheme, _, credential = value.strip().partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(credential.strip().encode(), self._token):
            return _error(401, "invalid bearer token", head, challenge)
        return None

    def _api(self, path: str, query: str, headers: Mapping[str, str], head: bool) -> HttpAnswer:
        refusal = self._refusal(headers, head)
        if refusal is not None:
            return refusal
        try:
            if path == CALLS_PATH:
                active, since, limit = parse_list_query(query)
                calls = self._store.list_calls(active=active, since=since, limit=limit)
                return _json(200, {"calls": [call_json(c) for c in calls]}, head)
            if query:
                names = ", ".join(sorted({_shown(n) for n, _ in parse_qsl(query, keep_blank_values=True)}))
                raise BadQuery(f"unknown query parameter {names or _shown(query)}; this route takes none")
            call_id = unquote(path[len(CALLS_PATH) + 1 :])
            if not call_id:
                return _error(404, "no call id in the path; use /v1/calls/{id}", head)
            detail = self._store.get_call(call_id)
            if detail is None:
                return _error(404, f"no call with id {call_id!r}", head)
            return _json(200, detail_json(detail), head)
        except BadQuery as exc:
            return _error(400, str(exc), head)
        except StoreUnavailable as exc:
            log.warning("JSON API: the store is unavailable: %s", exc)
            return _error(503, "the transcript store is unavailable; try again later", head)


__all__ = [
    "BEARER_SUBPROTOCOL",
    "PAGES",
    "BadQuery",
    "HttpAnswer",
    "OpsApi",
    "Readiness",
    "call_json",
    "detail_json",
    "iso_utc",
    "page_body",
    "parse_list_query",
    "parse_since",
    "segment_json",
    "subprotocol_token",
]
