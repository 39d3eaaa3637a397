"""Deepgram's own SDK (7.16, sync and async) speaks to the local server's Speak V1 endpoint."""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import Any

import pytest

from actors.server import LocalServer
from actors.server.engines.deterministic import DeterministicSynthesizer, transcribe
from tests.support.sdk import sdk_environment

pytest.importorskip("deepgram")
from deepgram import AsyncDeepgramClient, DeepgramClient
from deepgram.core.events import EventType
from deepgram.speak.v1.types import SpeakV1Flushed, SpeakV1Metadata, SpeakV1Text


def summarize(events: list[Any]) -> tuple[list[str], bytes]:
    """Event names in order (consecutive audio frames collapsed to one 'audio') and all audio."""
    names: list[str] = []
    audio = bytearray()
    for event in events:
        if isinstance(event, bytes):
            audio += event
            if names[-1:] != ["audio"]:
                names.append("audio")
        else:
            names.append(f"{type(event).__name__}:{getattr(event, 'type', '')}")
    return names, bytes(audio)


EXPECTED = [
    "SpeakV1Metadata:Metadata",
    "audio",
    "SpeakV1Flushed:Flushed",
    "SpeakV1Flushed:Cleared",  # the SDK parses Cleared as SpeakV1Flushed
    "audio",
    "SpeakV1Flushed:Flushed",
]


def test_sync_sdk_speak_sequence(local_server: LocalServer) -> None:
    client = DeepgramClient(api_key="test-key", environment=sdk_environment(local_server.url))
    events: queue.Queue[Any] = queue.Queue()
    received: list[Any] = []
    with client.speak.v1.connect(model="aura-2-thalia-en", encoding="linear16", sample_rate=16000) as socket:
        socket.on(EventType.MESSAGE, events.put)
        socket.on(EventType.CLOSE, lambda _: events.put("closed"))
        listener = threading.Thread(target=socket.start_listening, name="sdk-speak-listener", daemon=True)
        listener.start()
        socket.send_text(SpeakV1Text(text="Hello, world!"))
        socket.send_flush()
        socket.send_clear()
        socket.send_text(SpeakV1Text(text="Second turn."))
        socket.send_flush()
        while True:
            event = events.get(timeout=5)
            received.append(event)
            if isinstance(event, SpeakV1Flushed) and event.sequence_id == 1:
                break
        socket.send_close()
        while (event := events.get(timeout=5)) != "closed":
            received.append(event)
        listener.join(timeout=5)
    names, audio = summarize(received)
    assert names == EXPECTED
    assert isinstance(received[0], SpeakV1Metadata) and received[0].model_name == "aura-2-thalia-en"
    # Each flush synthesizes its own text; deterministic audio concatenates exactly.
    assert audio == DeterministicSynthesizer().synthesize("Hello, world! Second turn.", 16000)
    assert [w.text for w in transcribe(audio, 16000)] == ["Hello,", "world!", "Second", "turn."]


def test_async_sdk_speak_sequence(local_server: LocalServer) -> None:
    client = AsyncDeepgramClient(api_key="test-key", environment=sdk_environment(local_server.url))
    received: list[Any] = []

    async def main() -> None:
        async with client.speak.v1.connect(
            model="aura-2-thalia-en", encoding="mulaw", sample_rate=8000
        ) as socket:
            done = asyncio.Event()

            def on_message(message: Any) -> None:
                received.append(message)
                if (
                    isinstance(message, SpeakV1Flushed)
                    and message.type == "Flushed"
                    and message.sequence_id == 1
                ):
                    done.set()

            socket.on(EventType.MESSAGE, on_message)
            listen_task = asyncio.create_task(socket.start_listening())
            await socket.send_text(SpeakV1Text(text="Hello, world!"))
            await socket.send_flush()
            await socket.send_clear()
            await socket.send_text(SpeakV1Text(text="Second turn."))
            await socket.send_flush()
            await asyncio.wait_for(done.wait(), 5)
            await socket.send_close()
            await asyncio.wait_for(listen_task, 5)

    asyncio.run(main())
    names, audio = summarize(received)
    assert names == EXPECTED
    assert len(audio) == len(DeterministicSynthesizer().synthesize("Hello, world! Second turn.", 8000)) // 2
