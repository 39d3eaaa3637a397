"""``DeepgramClient``: Deepgram's SDK surface for the four WebSocket APIs, on the runtime actors.

``client.listen.v1.connect(**params)``, ``client.listen.v2.connect(...)``,
``client.speak.v1.connect(...)`` and ``client.agent.v1.connect()`` open one connection each
(a :class:`actors.runtime.Connection`) and return a socket client usable in a ``with`` block.

Credentials: ``api_key`` (``Authorization: Token``), ``access_token`` (``Authorization: bearer``)
or ``$DEEPGRAM_API_KEY``. With none of them and no ``environment``, the client talks to the
embedded local server (:mod:`actors.client.embedded`), so it works offline.
"""

from __future__ import annotations

import os
import queue
import uuid
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

import attrs

from actors.client.request_options import parse_request_options
from actors.client.sockets import SOCKET_CLASSES, SocketClient
from actors.environment import DeepgramClientEnvironment
from actors.errors import ApiError, OptionsError

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

DEFAULT_FINISH_TIMEOUT = 10.0
#: Placeholder credential for local environments (the local server accepts any key).
LOCAL_PLACEHOLDER_KEY = "local"


@attrs.frozen
class ClientSettings:
    """What every connection of one client shares; built once by the client constructor.

    ``environment`` None means "the embedded local server, started on first connect".
    ``keepalive`` None means the SDK's behaviour: WebSocket pings where the API uses them
    (Listen V2, Speak), no automatic ``KeepAlive`` messages (Listen V1, Agent).
    """

    environment: DeepgramClientEnvironment | None
    auth: Any = attrs.field(repr=False)
    headers: dict[str, str] = attrs.field(factory=dict, repr=False)
    keepalive: bool | None = None
    finish_timeout: float = DEFAULT_FINISH_TIMEOUT
    connect_timeout: float | None = None

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
    finish_timeout: float,
    sdk_kwargs: Mapping[str, Any],
) -> ClientSettings:
    """Validate the client constructor's arguments (shared by the sync and async clients).

    Raises ``OptionsError`` naming a bad argument, and ``ApiError`` (as the SDK does) when a
    non-local ``environment`` is given without any credential.
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
    if (
        isinstance(finish_timeout, bool)
        or not isinstance(finish_timeout, (int, float))
        or finish_timeout <= 0
    ):
        raise OptionsError("finish_timeout", f"expected seconds > 0, got {finish_timeout!r}", finish_timeout)
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0
    ):
        raise OptionsError("timeout", f"expected seconds > 0, got {timeout!r}", timeout)
    if keepalive is not None and not isinstance(keepalive, bool):
        raise OptionsError("keepalive", f"expected True, False or None, got {keepalive!r}", keepalive)

    key = api_key if api_key is not None else os.environ.get("DEEPGRAM_API_KEY") or None
    if access_token is not None:
        auth = Auth.bearer(access_token)
    elif key is not None:
        auth = Auth.token(key)
    elif environment is None or environment == DeepgramClientEnvironment.PRODUCTION:
        environment = None  # the embedded local server
        auth = Auth.token(EMBEDDED_API_KEY)
    elif environment.is_local:
        auth = Auth.token(LOCAL_PLACEHOLDER_KEY)
    else:
        raise ApiError(
            "no credentials: pass api_key=... or access_token=..., or set DEEPGRAM_API_KEY "
            f"(needed for {environment.production})",
            body="The client must be instantiated be either passing in api_key or setting DEEPGRAM_API_KEY",
        )
    merged = {"x-deepgram-session-id": session_id or str(uuid.uuid4())}
    for name, value in (headers or {}).items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise OptionsError("headers", f"header names and values must be strings (header {name!r})")
        merged[name] = value
    return ClientSettings(
        environment=environment,
        auth=auth,
        headers=merged,
        keepalive=keepalive,
        finish_timeout=float(finish_timeout),
        connect_timeout=float(timeout) if timeout is not None else None,
    )


_API_CONSTANTS = {
    "listen.v1": "LISTEN_V1",
    "listen.v2": "LISTEN_V2",
    "speak.v1": "SPEAK_V1",
    "agent.v1": "AGENT_V1",
}


def api_spec(api_name: str) -> Any:
    """The protocol's ``ApiSpec`` for ``api_name`` ("listen.v1", ...)."""
    from actors.protocol import apis

    return getattr(apis, _API_CONSTANTS[api_name])


def _keepalive_for(api: Any, keepalive: bool | None) -> bool:
    if keepalive is not None:
        return keepalive
    from actors.runtime.profiles import profile_for

    return profile_for(api.name).keepalive.kind == "ping"


def build_config(
    settings: ClientSettings,
    api_name: str,
    params: Mapping[str, Any],
    authorization: str | None,
    request_options: Mapping[str, Any] | None,
) -> Any:
    """The ``ConnectionConfig`` for one ``connect(...)`` call.

    Connect parameters are validated by the API's options class (``OptionsError`` names a bad
    one). ``authorization`` is sent verbatim as the ``Authorization`` header, replacing the
    client's credential; so is an ``Authorization`` in ``request_options["additional_headers"]``.
    """
    from actors.runtime import ConnectionConfig

    api = api_spec(api_name)
    if api.options_type is not None:
        options = api.options_type.from_kwargs(**params)
    elif params:
        raise OptionsError(
            sorted(params)[0], f"{api_name} connect() takes no query parameters; configure it with messages"
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


def open_socket(
    settings: ClientSettings,
    api_name: str,
    params: Mapping[str, Any],
    authorization: str | None,
    request_options: Mapping[str, Any] | None,
) -> SocketClient:
    """Open a connection and wrap it in the API's sync socket client (raises ``HandshakeError``)."""
    from actors.runtime import Connection

    config = build_config(settings, api_name, params, authorization, request_options)
    events: queue.Queue[Any] = queue.Queue()
    connection = Connection.open(config, subscribers=[events])
    return SOCKET_CLASSES[api_name](connection, events, config.api.client_codec, settings.finish_timeout)


class ApiVersionClient:
    """``client.<api>.<version>``: opens sockets of one API (``connect``)."""

    def __init__(self, settings: ClientSettings, api_name: str) -> None:
        self._settings = settings
        self._api_name = api_name

    def __repr__(self) -> str:
        return f"<{self._api_name} client>"

    def connect(
        self,
        *,
        authorization: str | None = None,
        request_options: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> SocketClient:
        """Open a connection with the API's query ``params``; returns its socket client.

        Use it as ``with client.listen.v1.connect(model="nova-3") as socket:``; leaving the
        block finishes gracefully. Raises ``OptionsError`` for a bad parameter and
        ``HandshakeError`` (an ``ApiError``) when the server refuses the connection.
        """
        return open_socket(self._settings, self._api_name, params, authorization, request_options)


V = TypeVar("V")


class ListenNamespace(Generic[V]):
    """``client.listen``: ``v1`` (live transcription) and ``v2`` (Flux)."""

    def __init__(self, v1: V, v2: V) -> None:
        self.v1 = v1
        self.v2 = v2


class SpeakNamespace(Generic[V]):
    """``client.speak``: ``v1`` (streaming TTS)."""

    def __init__(self, v1: V) -> None:
        self.v1 = v1


class AgentNamespace(Generic[V]):
    """``client.agent``: ``v1`` (voice agent)."""

    def __init__(self, v1: V) -> None:
        self.v1 = v1


class DeepgramClient:
    """The sync client, shaped as Deepgram's SDK ``DeepgramClient``.

    ``api_key`` (else ``$DEEPGRAM_API_KEY``) or ``access_token``; ``environment`` chooses the
    hosts (``DeepgramClientEnvironment.local(url)`` for a local server); with no credential and
    no environment, the embedded local server is used. ``headers`` go with every handshake,
    ``session_id`` sets ``x-deepgram-session-id``, ``timeout`` bounds each handshake.
    Beyond the SDK: ``keepalive`` (None: as the SDK, pings only; True/False: automatic
    keepalive on/off for every API) and ``finish_timeout`` (the deadline of the graceful finish
    when a ``with`` block ends). SDK arguments that concern HTTP only are accepted and ignored.
    """

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
        finish_timeout: float = DEFAULT_FINISH_TIMEOUT,
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
            finish_timeout=finish_timeout,
            sdk_kwargs=sdk_kwargs,
        )
        settings = self._settings
        self.listen = ListenNamespace(
            ApiVersionClient(settings, "listen.v1"), ApiVersionClient(settings, "listen.v2")
        )
        self.speak = SpeakNamespace(ApiVersionClient(settings, "speak.v1"))
        self.agent = AgentNamespace(ApiVersionClient(settings, "agent.v1"))

    @property
    def environment(self) -> DeepgramClientEnvironment:
        """The hosts this client connects to (starts the embedded server if the client uses it)."""
        return self._settings.resolved_environment()

    def __repr__(self) -> str:
        where = (
            "embedded local server"
            if self._settings.environment is None
            else repr(self._settings.environment)
        )
        return f"DeepgramClient({where}, auth={self._settings.auth!r})"


__all__ = ["ApiVersionClient", "ClientSettings", "DeepgramClient", "build_config", "resolve_settings"]
