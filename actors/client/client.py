"""``DeepgramClient``: Deepgram's SDK surface for the five WebSocket APIs, on the runtime actors.

``client.listen.v1.connect(**params)``, ``client.listen.v2.connect(...)``,
``client.speak.v1.connect(...)``, ``client.speak.v2.connect(model=...)`` and
``client.agent.v1.connect()`` open one connection each
(a :class:`actors.runtime.Connection`) and return a socket client usable in a ``with`` block.

Where it connects: with a credential -- ``api_key`` (``Authorization: Token``), ``access_token``
(``Authorization: Bearer``) or ``$DEEPGRAM_API_KEY`` -- and no ``environment``, Deepgram's hosts
(``DeepgramClientEnvironment.PRODUCTION``: ``wss://api.deepgram.com``, agent
``wss://agent.deepgram.com``). With no credential at all and no ``environment``, the embedded
local server (:mod:`actors.client.embedded`), started on the first connect, so it works offline.
``client.environment`` says which, without starting anything. TLS uses the shared default
context (system trust store, or ``SSL_CERT_FILE``) unless ``ssl_context=`` is given.

Keepalive: by default (``keepalive=None``) the facade behaves as Deepgram's SDK does: no
automatic ``KeepAlive`` messages on Listen V1 and Agent V1 (an idle stream is closed by the
server after its timeout, NET-0001 / CLIENT_MESSAGE_TIMEOUT, unless you call
``send_keep_alive()``), WebSocket pings on Listen V2 and Speak V1. ``keepalive=True`` sends
them automatically on every API (Listen V1 every 4 s, Agent every 8 s, or every
``keepalive_interval`` seconds); ``keepalive=False`` turns pings off too.
"""

from __future__ import annotations

import os
import queue
import ssl
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar, Generic, TypeVar

import attrs

from actors._lean_attrs import LeanFrozen
from actors.client.request_options import parse_request_options
from actors.client.sockets import (
    AgentV1SocketClient,
    ListenV1SocketClient,
    ListenV2SocketClient,
    SocketClient,
    SpeakV1SocketClient,
    SpeakV2SocketClient,
)
from actors.environment import DeepgramClientEnvironment
from actors.errors import ApiError, OptionsError
from actors.protocol.apis import ApiSpec

#: Keyword arguments of the SDK's client constructor that only concern HTTP or SDK internals.
#: Accepted (so ported code runs) and ignored.
SDK_ONLY_KWARGS = frozenset(
    {
        "max_retries",
        "follow_redirects",
        "httpx_client",
        "logging",
        "transport_factory",
        "reconnect",
        "redact_credentials_in_logs",
        "telemetry_opt_out",
        "telemetry_handler",
        "stream_reconnection_enabled",
        "max_stream_reconnection_attempts",
    }
)

#: ``finish_timeout`` when not given: None = the adaptive deadline of the graceful finish (see
#: :mod:`actors.client.sockets`: 10 s after the server's last frame + 10x the audio still owed).
DEFAULT_FINISH_TIMEOUT: float | None = None
#: Placeholder credential for local environments (the local server accepts any key).
LOCAL_PLACEHOLDER_KEY = "local"
#: The header carrying the client's session id, as Deepgram's SDK sends it.
SESSION_ID_HEADER = "x-deepgram-session-id"


@attrs.frozen(repr=False, eq=False)
class ClientSettings(LeanFrozen):
    """What every connection of one client shares; built once by the client constructor.

    ``environment`` None means "the embedded local server, started on first connect" (only
    when the client has no credential). ``ssl_context`` None means the shared default context.
    ``headers`` are sent with every handshake (the custom headers, then
    ``x-deepgram-session-id: <session_id>``). ``keepalive`` None means the SDK's behaviour:
    WebSocket pings where the API uses them (Listen V2, Speak), no automatic ``KeepAlive``
    messages (Listen V1, Agent); ``keepalive_interval`` None means the API's default interval.
    """

    environment: DeepgramClientEnvironment | None
    auth: Any = attrs.field(repr=False)
    session_id: str = ""
    headers: dict[str, str] = attrs.field(factory=dict, repr=False)
    keepalive: bool | None = None
    keepalive_interval: float | None = None
    finish_timeout: float | None = DEFAULT_FINISH_TIMEOUT
    connect_timeout: float | None = None
    ssl_context: ssl.SSLContext | None = attrs.field(default=None, repr=False)
    strict_options: bool | None = None

    def resolved_environment(self) -> DeepgramClientEnvironment:
        """The environment to connect to, starting the embedded server if this client uses it."""
        if self.environment is not None:
            return self.environment
        from actors.client.embedded import embedded_server

        return DeepgramClientEnvironment.local(embedded_server().url)


def resolve_settings(
    *,
    api_key: str | None,
    access_token: str | None,
    environment: DeepgramClientEnvironment | None,
    headers: Mapping[str, str] | None,
    session_id: str | None,
    timeout: float | None,
    keepalive: bool | None,
    finish_timeout: float | None,
    sdk_kwargs: Mapping[str, Any],
    keepalive_interval: float | None = None,
    ssl_context: ssl.SSLContext | None = None,
    strict_options: bool | None = None,
) -> ClientSettings:
    """Validate the client constructor's arguments (shared by the sync and async clients).

    A credential and no ``environment`` means Deepgram (``PRODUCTION``); no credential and no
    ``environment`` means the embedded local server. Raises ``OptionsError`` naming a bad
    argument, and ``ApiError`` (as the SDK does) when a non-local ``environment`` -- including an
    explicit ``PRODUCTION`` -- is given without any credential.
    """
    from actors.client.embedded import EMBEDDED_API_KEY
    from actors.protocol.auth import Auth

    unknown = sorted(set(sdk_kwargs) - SDK_ONLY_KWARGS)
    if unknown:
        raise OptionsError(unknown[0], "is not a DeepgramClient argument", None)
    if environment is not None and not isinstance(environment, DeepgramClientEnvironment):
        raise OptionsError(
            "environment", f"expected a DeepgramClientEnvironment, got {type(environment).__name__}"
        )
    if finish_timeout is not None and (
        isinstance(finish_timeout, bool)
        or not isinstance(finish_timeout, (int, float))
        or finish_timeout <= 0
    ):
        raise OptionsError(
            "finish_timeout", f"expected seconds > 0 or None, got {finish_timeout!r}", finish_timeout
        )
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0
    ):
        raise OptionsError("timeout", f"expected seconds > 0, got {timeout!r}", timeout)
    if strict_options is not None and not isinstance(strict_options, bool):
        raise OptionsError(
            "strict_options", f"expected True, False or None, got {strict_options!r}", strict_options
        )
    if keepalive is not None and not isinstance(keepalive, bool):
        raise OptionsError("keepalive", f"expected True, False or None, got {keepalive!r}", keepalive)
    if keepalive_interval is not None and (
        isinstance(keepalive_interval, bool)
        or not isinstance(keepalive_interval, (int, float))
        or keepalive_interval <= 0
    ):
        raise OptionsError(
            "keepalive_interval",
            f"expected seconds > 0 or None, got {keepalive_interval!r}",
            keepalive_interval,
        )
    if ssl_context is not None and not isinstance(ssl_context, ssl.SSLContext):
        raise OptionsError(
            "ssl_context", f"expected an ssl.SSLContext or None, got {type(ssl_context).__name__}"
        )
    if session_id is not None and (not isinstance(session_id, str) or not session_id or "\n" in session_id):
        raise OptionsError("session_id", f"expected a non-empty single-line string, got {session_id!r}")

    key = api_key if api_key is not None else os.environ.get("DEEPGRAM_API_KEY") or None
    if access_token is not None:
        auth = Auth.bearer(access_token)
        environment = environment if environment is not None else DeepgramClientEnvironment.PRODUCTION
    elif key is not None:
        auth = Auth.token(key)
        environment = environment if environment is not None else DeepgramClientEnvironment.PRODUCTION
    elif environment is None:  # no credential, no environment: the embedded local server
        auth = Auth.token(EMBEDDED_API_KEY)
    elif environment.is_local:
        auth = Auth.token(LOCAL_PLACEHOLDER_KEY)
    else:
        raise ApiError(
            "no credentials: pass api_key=... or access_token=..., or set DEEPGRAM_API_KEY "
            f"(needed for {environment.production})",
            body="The client must be instantiated be either passing in api_key or setting DEEPGRAM_API_KEY",
        )
    session = session_id if session_id is not None else str(uuid.uuid4())
    return ClientSettings(
        environment=environment,
        auth=auth,
        session_id=session,
        headers=handshake_headers(headers, session),
        keepalive=keepalive,
        keepalive_interval=float(keepalive_interval) if keepalive_interval is not None else None,
        finish_timeout=float(finish_timeout) if finish_timeout is not None else None,
        connect_timeout=float(timeout) if timeout is not None else None,
        ssl_context=ssl_context,
        strict_options=strict_options,
    )


def handshake_headers(custom: Mapping[str, str] | None, session_id: str) -> dict[str, str]:
    """The headers every handshake of one client carries, in the SDK's order.

    The ``custom`` headers (``DeepgramClient(headers=...)``), then ``x-deepgram-session-id``,
    which wins over a custom header of that name (any case), as in the SDK. Raises
    ``OptionsError`` for a header that is not a single-line string pair.
    """
    if custom is not None and not isinstance(custom, Mapping):
        raise OptionsError("headers", f"expected a dict of header name -> value, got {type(custom).__name__}")
    merged: dict[str, str] = {}
    for name, value in (custom or {}).items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise OptionsError("headers", f"header names and values must be strings (header {name!r})")
        if not name.strip() or any(c in name + value for c in "\r\n"):
            raise OptionsError("headers", f"header {name!r} must be a non-empty, single-line name and value")
        if name.lower() != SESSION_ID_HEADER:
            merged[name] = value
    merged[SESSION_ID_HEADER] = session_id
    return merged


def _keepalive_for(api: Any, keepalive: bool | None) -> bool:
    if keepalive is not None:
        return keepalive
    return bool(api.session.keepalive_kind == "ping")


#: The ``connect()`` keyword turning on strict local checks of connect options (not sent).
STRICT_OPTIONS_PARAM = "strict_options"
#: Environment variable doing the same for every connection (``1``/``true``/``yes``).
STRICT_OPTIONS_ENV_VAR = "ACTORS_STRICT_OPTIONS"


def build_config(
    settings: ClientSettings,
    api: ApiSpec,
    params: Mapping[str, Any],
    authorization: str | None,
    request_options: Mapping[str, Any] | None,
) -> Any:
    """The ``ConnectionConfig`` for one ``connect(...)`` call of ``api``.

    Connect parameters are checked by the API's options class as Deepgram's SDK does: their
    types only (``OptionsError`` names a bad one); values go to the service, whose refusal is a
    ``HandshakeError`` with its status and ``dg-error``. ``strict_options=True`` among the
    parameters, or ``ACTORS_STRICT_OPTIONS=1`` in the environment, also checks ranges and
    choices locally (``from_kwargs(..., strict=True)``). ``authorization`` is sent verbatim as
    the ``Authorization`` header, replacing the client's credential; so is an ``Authorization``
    in ``request_options["additional_headers"]``.
    """
    from actors.runtime import ConnectionConfig

    params = dict(params)
    strict = params.pop(STRICT_OPTIONS_PARAM, None)
    if strict is None:
        strict = settings.strict_options
    if strict is None:
        strict = os.environ.get(STRICT_OPTIONS_ENV_VAR, "").strip().lower() in ("1", "true", "yes")
    elif not isinstance(strict, bool):
        raise OptionsError(STRICT_OPTIONS_PARAM, f"expected True or False, got {strict!r}", strict)
    if api.options_type is not None:
        options = api.options_type.from_kwargs(strict=strict, **params)
    elif params:
        raise OptionsError(
            sorted(params)[0], f"{api.name} connect() takes no query parameters; configure it with messages"
        )
    else:
        options = None
    extra = parse_request_options(request_options)
    auth = settings.auth
    headers = dict(settings.headers)
    if authorization is not None:
        if not isinstance(authorization, str) or not authorization.strip() or "\n" in authorization:
            raise OptionsError(
                "authorization", "expected a single-line string like 'Token KEY' or 'Bearer JWT'"
            )
        headers["Authorization"] = authorization
        auth = None
    for name, value in extra.headers.items():
        if name.lower() == "authorization":
            auth = None
            headers.pop("Authorization", None)
        headers[name] = value
    environment = settings.resolved_environment()
    base_url = environment.agent if api.host == "agent" else environment.production
    kwargs: dict[str, Any] = {}
    timeout = extra.timeout or settings.connect_timeout
    if timeout is not None:
        kwargs["connect_timeout"] = timeout
    if settings.keepalive_interval is not None:
        kwargs["keepalive_interval"] = settings.keepalive_interval
    if settings.ssl_context is not None:
        kwargs["ssl_context"] = settings.ssl_context
    return ConnectionConfig(
        api=api,
        base_url=base_url,
        options=options,
        auth=auth,
        headers=headers,
        extra_query=extra.query,
        keepalive=_keepalive_for(api, settings.keepalive),
        **kwargs,
    )


S = TypeVar("S", bound=SocketClient)


def open_socket(
    settings: ClientSettings,
    socket_class: type[S],
    params: Mapping[str, Any],
    authorization: str | None,
    request_options: Mapping[str, Any] | None,
) -> S:
    """Open a connection of ``socket_class``'s API and wrap it in that socket (raises ``HandshakeError``)."""
    from actors.runtime import Connection

    config = build_config(settings, socket_class.api(), params, authorization, request_options)
    events: queue.Queue[Any] = queue.Queue()
    connection = Connection.open(config, subscribers=[events])
    return socket_class(connection, events, settings.finish_timeout)


class ApiVersionClient(Generic[S]):
    """``client.<api>.<version>``: opens sockets of one API (``connect``), typed by its socket class."""

    def __init__(self, settings: ClientSettings, socket_class: type[S]) -> None:
        self._settings = settings
        self._socket_class = socket_class

    def __repr__(self) -> str:
        return f"<{self._socket_class.api().name} client>"

    def connect(
        self,
        *,
        authorization: str | None = None,
        request_options: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> S:
        """Open a connection with the API's query ``params``; returns its socket client.

        Use it as ``with client.listen.v1.connect(model="nova-3") as socket:``; leaving the
        block finishes gracefully. Raises ``OptionsError`` for a bad parameter and
        ``HandshakeError`` (an ``ApiError``) when the server refuses the connection.

        Keepalive follows the client's ``keepalive`` setting; by default (as with the SDK) an
        idle Listen V1 or Agent socket gets no automatic ``KeepAlive`` and the server closes it
        after its idle timeout -- call ``send_keep_alive()`` or create the client with
        ``keepalive=True``.
        """
        return open_socket(self._settings, self._socket_class, params, authorization, request_options)


V = TypeVar("V")
V1 = TypeVar("V1")
V2 = TypeVar("V2")


class ListenNamespace(Generic[V1, V2]):
    """``client.listen``: ``v1`` (live transcription) and ``v2`` (Flux)."""

    def __init__(self, v1: V1, v2: V2) -> None:
        self.v1 = v1
        self.v2 = v2


class SpeakNamespace(Generic[V1, V2]):
    """``client.speak``: ``v1`` (streaming TTS, Aura) and ``v2`` (turn-based Flux TTS)."""

    def __init__(self, v1: V1, v2: V2) -> None:
        self.v1 = v1
        self.v2 = v2


class AgentNamespace(Generic[V]):
    """``client.agent``: ``v1`` (voice agent)."""

    def __init__(self, v1: V) -> None:
        self.v1 = v1


class ClientBase:
    """What the sync and async clients share: the constructor, ``session_id`` and ``repr``.

    The constructor validates its arguments once (:func:`resolve_settings`, which documents what
    it raises) and then calls ``_bind_apis`` with the resulting :class:`ClientSettings`; each
    client binds its ``listen`` / ``speak`` / ``agent`` namespaces there, with its own kind of
    socket.
    """

    #: The class name shown by ``repr`` (kept for subclasses of the public clients).
    _repr_name: ClassVar[str] = "ClientBase"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        access_token: str | None = None,
        environment: DeepgramClientEnvironment | None = None,
        headers: Mapping[str, str] | None = None,
        session_id: str | None = None,
        timeout: float | None = None,
        keepalive: bool | None = None,
        keepalive_interval: float | None = None,
        finish_timeout: float | None = DEFAULT_FINISH_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
        strict_options: bool | None = None,
        **sdk_kwargs: Any,
    ) -> None:
        self._settings = resolve_settings(
            api_key=api_key,
            access_token=access_token,
            environment=environment,
            headers=headers,
            session_id=session_id,
            timeout=timeout,
            keepalive=keepalive,
            keepalive_interval=keepalive_interval,
            finish_timeout=finish_timeout,
            sdk_kwargs=sdk_kwargs,
            ssl_context=ssl_context,
            strict_options=strict_options,
        )
        self._bind_apis(self._settings)

    def _bind_apis(self, settings: ClientSettings) -> None:
        """Set ``self.listen``, ``self.speak`` and ``self.agent`` for connections made with ``settings``."""
        raise NotImplementedError

    @property
    def session_id(self) -> str:
        """The ``x-deepgram-session-id`` sent with every connection of this client (as the SDK's)."""
        return self._settings.session_id

    @property
    def environment(self) -> DeepgramClientEnvironment | None:
        """The hosts this client connects to; None means the embedded local server.

        ``DeepgramClientEnvironment.PRODUCTION`` for a client with a credential and no
        ``environment``, the ``environment`` given otherwise, and None for a client with neither
        (its server starts on the first connect, so its URL is not known before). Reading this
        never starts anything.
        """
        return self._settings.environment

    @property
    def uses_embedded_server(self) -> bool:
        """True when connections go to the process-wide embedded local server (no credential given)."""
        return self._settings.environment is None

    def __repr__(self) -> str:
        where = (
            "embedded local server"
            if self._settings.environment is None
            else repr(self._settings.environment)
        )
        return f"{self._repr_name}({where}, auth={self._settings.auth!r})"


class DeepgramClient(ClientBase):
    """The sync client, shaped as Deepgram's SDK ``DeepgramClient``.

    ``api_key`` (else ``$DEEPGRAM_API_KEY``) or ``access_token``; ``environment`` chooses the
    hosts: Deepgram's (``PRODUCTION``) when it is not given and there is a credential,
    ``DeepgramClientEnvironment.local(url)`` for a local server; with no credential and no
    environment, the embedded local server is used. ``client.environment`` tells which (None =
    embedded) without starting anything. ``headers`` go with every handshake,
    followed by ``x-deepgram-session-id: <session_id>`` (a new UUID per client when not given;
    the same for all its connections; readable as ``client.session_id``). ``timeout`` bounds
    each handshake.

    Beyond the SDK:

    * ``keepalive`` -- None (default) behaves as the SDK: no automatic ``KeepAlive`` messages on
      Listen V1 and Agent V1, so an idle socket is closed by the server after its idle timeout
      unless you call ``send_keep_alive()``; WebSocket pings on Listen V2 and Speak V1.
      ``True``: automatic keepalive on every API (``KeepAlive`` messages on Listen V1 every 4 s
      and Agent every 8 s, pings on the others); ``False``: none at all, not even pings.
    * ``keepalive_interval`` -- seconds between automatic keepalives (None: the API defaults).
    * ``finish_timeout`` -- how long the graceful finish may take when a ``with`` block ends.
      None (default): adaptive -- 10 s after the server's last frame plus 10 s per second of
      audio still owed (sent, not yet covered by a result), so a busy server working through
      the audio is waited for; a number: a hard cap of that many seconds (as before).
    * ``ssl_context`` -- an ``ssl.SSLContext`` for ``wss://`` connections (a private CA or a
      corporate TLS proxy: ``ssl.create_default_context(cafile=...)``). None: one context shared
      by all connections, trusting the system store or ``$SSL_CERT_FILE``.
    * ``strict_options`` -- True: check connect-option values (ranges, choices) locally, as
      ``connect(..., strict_options=True)`` does per call; None (default): ``$ACTORS_STRICT_OPTIONS``,
      else only types are checked and the service judges the values (as the SDK does).

    Thread safety: one client may be shared by any number of threads; each thread opens its
    own sockets with ``connect`` (the client holds only immutable settings; the embedded server
    is started once, under a lock). A socket may be sent to from several threads while one
    thread reads it; see :class:`~actors.client.sockets.SocketClient`.

    SDK arguments that concern HTTP only are accepted and ignored.
    """

    _repr_name = "DeepgramClient"

    def _bind_apis(self, settings: ClientSettings) -> None:
        self.listen = ListenNamespace(
            ApiVersionClient(settings, ListenV1SocketClient), ApiVersionClient(settings, ListenV2SocketClient)
        )
        self.speak = SpeakNamespace(
            ApiVersionClient(settings, SpeakV1SocketClient), ApiVersionClient(settings, SpeakV2SocketClient)
        )
        self.agent = AgentNamespace(ApiVersionClient(settings, AgentV1SocketClient))


__all__ = [
    "ApiVersionClient",
    "ClientBase",
    "ClientSettings",
    "DeepgramClient",
    "build_config",
    "handshake_headers",
    "open_socket",
    "resolve_settings",
]
