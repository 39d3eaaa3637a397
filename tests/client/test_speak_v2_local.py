"""``client.speak.v2`` against the local server's /v2/speak, beside deepgram-sdk 7.16's own client.

The same flow -- two turns with a flush each, a configure, a close -- through the SDK's sync and
async ``speak.v2`` clients and through ours yields the same message-type sequence and the same
audio; leaving our block without a flush still gets the last turn's audio and ``SessionMetadata``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from actors import AsyncDeepgramClient, DeepgramClient
from actors.core.events import EventType
from actors.environment import DeepgramClientEnvironment
from actors.server import LocalServer
from actors.speak.v2 import types as ours
from tests.support.sdk import sdk_environment
from tests.support.speak_v2_fake import FLUSHED_TURN, message_names

MODEL = "flux-alexis-en"
TURNS = ("Hello there.", "How can I help you today?")
EXPECTED = [
    "SpeakV2Connected",
    *FLUSHED_TURN,
    "SpeakV2ConfigureSuccess",
    *FLUSHED_TURN,
    "SpeakV2SessionMetadata",
]


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer(engine="deterministic") as local:
        yield local


def flow(socket: Any, types: Any) -> None:
    socket.send_speak(types.SpeakV2Speak(text=TURNS[0]))
    socket.send_flush()
    socket.send_configure(types.SpeakV2Configure(speed=1.25))
    socket.send_speak(types.SpeakV2Speak(text=TURNS[1]))
    socket.send_flush()
    socket.send_close()


def audio(messages: list[Any]) -> bytes:
    return b"".join(m for m in messages if isinstance(m, bytes))


def test_ours_and_the_sdks_sync_clients_see_the_same_sequence(server: LocalServer) -> None:
    deepgram = pytest.importorskip("deepgram")
    from deepgram.speak.v2 import types as sdk_types

    sdk = deepgram.DeepgramClient(api_key="test-key", environment=sdk_environment(server.url))
    with sdk.speak.v2.connect(model=MODEL, encoding="linear16", sample_rate="16000") as socket:
        flow(socket, sdk_types)
        theirs = list(socket)
    client = DeepgramClient(environment=DeepgramClientEnvironment.local(server.url))
    with client.speak.v2.connect(model=MODEL, encoding="linear16", sample_rate="16000") as socket:
        flow(socket, ours)
        mine = list(socket)
    assert message_names(theirs) == message_names(mine) == EXPECTED
    assert audio(mine) == audio(theirs) and audio(mine)
    flushed = [m for m in mine if isinstance(m, ours.SpeakV2Flushed)]
    assert len(flushed) == 2


def test_ours_and_the_sdks_async_clients_see_the_same_sequence(server: LocalServer) -> None:
    deepgram = pytest.importorskip("deepgram")
    from deepgram.speak.v2 import types as sdk_types

    async def run_sdk() -> list[Any]:
        sdk = deepgram.AsyncDeepgramClient(api_key="test-key", environment=sdk_environment(server.url))
        async with sdk.speak.v2.connect(model=MODEL, encoding="linear16", sample_rate="16000") as socket:
            for call in (
                socket.send_speak(sdk_types.SpeakV2Speak(text=TURNS[0])),
                socket.send_flush(),
                socket.send_configure(sdk_types.SpeakV2Configure(speed=1.25)),
                socket.send_speak(sdk_types.SpeakV2Speak(text=TURNS[1])),
                socket.send_flush(),
                socket.send_close(),
            ):
                await call
            return [m async for m in socket]

    async def run_ours() -> list[Any]:
        client = AsyncDeepgramClient(environment=DeepgramClientEnvironment.local(server.url))
        async with client.speak.v2.connect(model=MODEL, encoding="linear16", sample_rate="16000") as socket:
            await socket.send_speak(ours.SpeakV2Speak(text=TURNS[0]))
            await socket.send_flush()
            await socket.send_configure(ours.SpeakV2Configure(speed=1.25))
            await socket.send_speak(ours.SpeakV2Speak(text=TURNS[1]))
            await socket.send_flush()
            await socket.send_close()
            return [m async for m in socket]

    theirs, mine = asyncio.run(run_sdk()), asyncio.run(run_ours())
    assert message_names(theirs) == message_names(mine) == EXPECTED
    assert audio(mine) == audio(theirs)


def test_leaving_the_block_without_flush_gets_the_last_audio(server: LocalServer) -> None:
    """Never read: the callbacks get every event after the graceful finish (Flush + Close)."""
    client = DeepgramClient(environment=DeepgramClientEnvironment.local(server.url))
    seen: list[Any] = []
    with client.speak.v2.connect(model=MODEL, encoding="mulaw", sample_rate="8000") as socket:
        socket.on(EventType.MESSAGE, seen.append)
        socket.send_speak(ours.SpeakV2Speak(text=TURNS[0]))
    assert message_names(seen) == [
        "SpeakV2Connected",
        *FLUSHED_TURN,
        "SpeakV2SessionMetadata",
    ]
