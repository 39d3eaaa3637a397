"""``AsyncDeepgramClient``: the SDK's async surface, bridged onto the same runtime actors.

There is no second protocol implementation: ``connect`` opens an ordinary
:class:`actors.runtime.Connection` in a worker thread (the handshake blocks) and subscribes a
:class:`~actors.client.async_sockets.LoopBridge` that moves its events into the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator, Mapping
from types import TracebackType
from typing import Any, Generic, TypeVar

from actors.client.async_sockets import (
    AsyncAgentV1SocketClient,
    AsyncListenV1SocketClient,
    AsyncListenV2SocketClient,
    AsyncSocketClient,
    AsyncSpeakV1SocketClient,
    AsyncSpeakV2SocketClient,
    LoopBridge,
)
from actors.client.client import (
    AgentNamespace,
    ClientBase,
    ClientSettings,
    ListenNamespace,
    SpeakNamespace,
    build_config,
)

A = TypeVar("A", bound=AsyncSocketClient)


async def open_async_socket(
    settings: ClientSettings,
    socket_class: type[A],
    params: Mapping[str, Any],
    authorization: str | None,
    request_options: Mapping[str, Any] | None,
) -> A:
    """Open a connection without blocking the loop and wrap it in ``socket_class``."""
    from actors.runtime import Connection

    loop = asyncio.get_running_loop()
    # Validation errors surface here, before any thread is involved; the embedded server (if any)
    # starts inside the worker thread because it can take a moment.
    config = await asyncio.to_thread(
        build_config, settings, socket_class.api(), params, authorization, request_options
    )
    events: asyncio.Queue[Any] = asyncio.Queue()
    connection = await asyncio.to_thread(Connection.open, config, subscribers=[LoopBridge(loop, events)])
    return socket_class(connection, events, settings.finish_timeout)


class AsyncConnect(Generic[A]):
    """What ``connect(...)`` returns: use ``async with`` (finishes gracefully on exit) or ``await`` it."""

    def __init__(
        self,
        settings: ClientSettings,
        socket_class: type[A],
        params: Mapping[str, Any],
        authorization: str | None,
        request_options: Mapping[str, Any] | None,
    ) -> None:
        self._settings = settings
        self._socket_class = socket_class
        self._args = (dict(params), authorization, request_options)
        self._socket: A | None = None

    async def open(self) -> A:
        """Open the connection (once) and return its socket client."""
        if self._socket is None:
            self._socket = await open_async_socket(self._settings, self._socket_class, *self._args)
        return self._socket

    def __await__(self) -> Generator[Any, None, A]:
        return self.open().__await__()

    async def __aenter__(self) -> A:
        return await self.open()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._socket is not None:
            await self._socket.leave(exc)


class AsyncApiVersionClient(Generic[A]):
    """``client.<api>.<version>`` of the async client: ``connect`` returns an :class:`AsyncConnect`."""

    def __init__(self, settings: ClientSettings, socket_class: type[A]) -> None:
        self._settings = settings
        self._socket_class = socket_class

    def __repr__(self) -> str:
        return f"<async {self._socket_class.api().name} client>"

    def connect(
        self,
        *,
        authorization: str | None = None,
        request_options: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> AsyncConnect[A]:
        """``async with client.listen.v1.connect(model="nova-3") as socket:`` (see the sync ``connect``,
        also for keepalive: none automatic on Listen V1 / Agent unless the client has ``keepalive=True``).
        """
        return AsyncConnect(self._settings, self._socket_class, params, authorization, request_options)


class AsyncDeepgramClient(ClientBase):
    """The async client, shaped as Deepgram's SDK ``AsyncDeepgramClient``; same arguments as
    :class:`actors.client.client.DeepgramClient`, including the keepalive default (as the SDK:
    no automatic ``KeepAlive`` on Listen V1 / Agent; ``keepalive=True`` turns it on), the routing
    (a credential and no ``environment``: Deepgram's hosts; neither: the embedded local server,
    started by the first connect in a worker thread) and ``client.environment`` (None = embedded;
    reading it starts nothing).
    """

    _repr_name = "AsyncDeepgramClient"

    def _bind_apis(self, settings: ClientSettings) -> None:
        self.listen = ListenNamespace(
            AsyncApiVersionClient(settings, AsyncListenV1SocketClient),
            AsyncApiVersionClient(settings, AsyncListenV2SocketClient),
        )
        self.speak = SpeakNamespace(
            AsyncApiVersionClient(settings, AsyncSpeakV1SocketClient),
            AsyncApiVersionClient(settings, AsyncSpeakV2SocketClient),
        )
        self.agent = AgentNamespace(AsyncApiVersionClient(settings, AsyncAgentV1SocketClient))


__all__ = ["AsyncApiVersionClient", "AsyncConnect", "AsyncDeepgramClient", "open_async_socket"]
