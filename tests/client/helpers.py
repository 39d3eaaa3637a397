"""Helpers shared by the client tests: a client for a local server, speech, what was heard."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from actors import DeepgramClient
from actors.environment import DeepgramClientEnvironment
from actors.listen.v1.types import ListenV1Results
from actors.protocol.apis import ApiSpec
from actors.server import LocalServer
from actors.server.engines.deterministic import silence, synthesize_words

#: Listen V1 connect parameters matching :func:`speech`.
PARAMS: dict[str, Any] = {"model": "nova-3", "encoding": "linear16", "sample_rate": 16000}
#: Seconds a test waits for something that should happen at once.
WAIT = 10.0


def client_for(server: LocalServer, **kwargs: Any) -> DeepgramClient:
    """A sync client for ``server`` with the test key (``kwargs`` go to ``DeepgramClient``)."""
    kwargs.setdefault("api_key", "test-key")
    return DeepgramClient(environment=DeepgramClientEnvironment.local(server.url), **kwargs)


def speech(words: Sequence[str]) -> bytes:
    """Deterministic 16 kHz linear16 speech of ``words``, then 0.3 s of silence."""
    return synthesize_words(list(words), 16000) + silence(0.3)


def final_words(messages: list[Any]) -> list[str]:
    """The words of every final Listen V1 ``Results`` in ``messages``, in order."""
    return [
        w.word
        for m in messages
        if isinstance(m, ListenV1Results) and m.is_final
        for w in m.channel.alternatives[0].words
    ]


def socket_class(api: ApiSpec, *, is_async: bool) -> type[Any]:
    """The one socket class (sync or async) whose ``api`` is ``api``; fails if there is none or several."""
    from actors.client import async_sockets, sockets

    module, base = (
        (async_sockets, async_sockets.AsyncSocketClient) if is_async else (sockets, sockets.SocketClient)
    )
    found = {
        cls
        for cls in vars(module).values()
        if isinstance(cls, type) and issubclass(cls, base) and "api" in vars(cls) and cls.api() is api
    }
    assert len(found) == 1, (
        f"{api.name}: expected one {'async ' if is_async else ''}socket class, found {found}"
    )
    return found.pop()
