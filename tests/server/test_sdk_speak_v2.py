"""Deepgram's own SDK (7.16, sync and async ``speak.v2``) speaks to the local server's /v2/speak."""

from __future__ import annotations

import asyncio
import importlib
import queue
import threading
from collections.abc import Callable
from typing import Any

import pytest

from actors.server import LocalServer
from actors.server.engines.deterministic import transcribe
from tests.support.sdk import sdk_environment
from tests.support.speak_v2_fake import FLUSHED_TURN

pytest.importorskip("deepgram")
from deepgram import AsyncDeepgramClient
from deepgram.core.events import EventType
from deepgram.speak.v2.types import (
    SpeakV2Configure,
    SpeakV2Connected,
    SpeakV2Flushed,
    SpeakV2Interrupt,
    SpeakV2InterruptPlaybackOffset,
    SpeakV2SessionMetadata,
    SpeakV2Speak,
    SpeakV2SpeechInterrupted,
    SpeakV2SpeechMetadata,
)

MODEL = "flux-alexis-en"

#: The flow both clients run, and the message classes it must produce, in order.
EXPECTED = [
    "SpeakV2Connected",
    *FLUSHED_TURN,
    "SpeakV2ConfigureSuccess",
    "SpeakV2ConfigureFailure",
    *FLUSHED_TURN,
    "SpeakV2SpeechInterrupted",
    "SpeakV2SessionMetadata",
]


def summarize(events: list[Any]) -> tuple[list[str], list[bytes]]:
    """Class names in order (each run of audio frames as one 'audio') and each run's audio."""
    names: list[str] = []
    runs: list[bytes] = []
    for event in events:
        if isinstance(event, bytes):
            if names[-1:] != ["audio"]:
                names.append("audio")
                runs.append(b"")
            runs[-1] += event
        else:
            names.append(type(event).__name__)
    return names, runs


def check(events: list[Any], sample_rate: int) -> None:
    names, runs = summarize(events)
    assert names == EXPECTED
    assert isinstance(events[0], SpeakV2Connected) and events[0].model_name == MODEL
    assert [w.text for w in transcribe(runs[0], sample_rate)] == ["Hello,", "world!"]
    assert [w.text for w in transcribe(runs[1], sample_rate)] == ["Second", "turn", "is", "longer."]
    metadata = [e for e in events if isinstance(e, SpeakV2SpeechMetadata)]
    flushed = [e for e in events if isinstance(e, SpeakV2Flushed)]
    assert [m.speech_id for m in metadata] == [f.speech_id for f in flushed]
    assert metadata[0].speech_id != metadata[1].speech_id
    interrupted = next(e for e in events if isinstance(e, SpeakV2SpeechInterrupted))
    first_ms = metadata[0].audio_duration_ms
    assert interrupted.audio_played_ms == first_ms + 10
    assert interrupted.metadata.speech_id == metadata[1].speech_id
    assert (interrupted.text_spoken or "") + (interrupted.text_remaining or "") == "Second turn is longer."
    session = events[-1]
    assert isinstance(session, SpeakV2SessionMetadata)
    assert session.total_audio_duration_ms == first_ms + 10  # rebased onto the played audio
    assert session.total_input_character_count == len("Hello, world!Second turn is longer.")


def interrupt_at(played_ms: int) -> SpeakV2Interrupt:
    return SpeakV2Interrupt(playback_offset=SpeakV2InterruptPlaybackOffset(type="time_ms", value=played_ms))


def run_sync(server: LocalServer, sample_rate: int, package: str = "deepgram") -> list[Any]:
    """The flow through ``package``'s sync client: deepgram-sdk's, or ours (``actors``, the same code
    but for the package name -- what a port does)."""
    sdk = importlib.import_module(package)
    types = importlib.import_module(f"{package}.speak.v2.types")
    EventType = importlib.import_module(f"{package}.core.events").EventType
    SpeakV2Speak, SpeakV2Configure = types.SpeakV2Speak, types.SpeakV2Configure
    SpeakV2Flushed, SpeakV2SpeechMetadata = types.SpeakV2Flushed, types.SpeakV2SpeechMetadata
    SpeakV2SpeechInterrupted = types.SpeakV2SpeechInterrupted
    offset = types.SpeakV2InterruptPlaybackOffset
    if package == "deepgram":
        client = sdk.DeepgramClient(api_key="test-key", environment=sdk_environment(server.url))
    else:
        client = sdk.DeepgramClient(environment=sdk.DeepgramClientEnvironment.local(server.url))
    events: queue.Queue[Any] = queue.Queue()
    received: list[Any] = []

    def until(kind: type) -> Any:
        while True:
            event = events.get(timeout=10)
            received.append(event)
            if isinstance(event, kind):
                return event

    with client.speak.v2.connect(model=MODEL, encoding="linear16", sample_rate=str(sample_rate)) as socket:
        socket.on(EventType.MESSAGE, events.put)
        socket.on(EventType.CLOSE, lambda _: events.put("closed"))
        listener = threading.Thread(target=socket.start_listening, name="sdk-speak-v2-listener", daemon=True)
        listener.start()
        socket.send_speak(SpeakV2Speak(text="Hello, "))
        socket.send_speak(SpeakV2Speak(text="world!"))
        socket.send_flush()
        first = until(SpeakV2SpeechMetadata)
        until(SpeakV2Flushed)
        socket.send_configure(SpeakV2Configure(speed=1.2))
        socket.send_configure(SpeakV2Configure(speed=9.0))
        socket.send_speak(SpeakV2Speak(text="Second turn is longer."))
        socket.send_flush()
        until(SpeakV2Flushed)
        played = offset(type="time_ms", value=first.audio_duration_ms + 10)
        socket.send_interrupt(types.SpeakV2Interrupt(playback_offset=played))
        until(SpeakV2SpeechInterrupted)
        socket.send_close()
        while (event := events.get(timeout=10)) != "closed":
            received.append(event)
        listener.join(timeout=5)
    return received


def test_sync_sdk_turns_flush_configure_interrupt_close(local_server: LocalServer) -> None:
    check(run_sync(local_server, 16000), 16000)


def test_async_sdk_turns_flush_configure_interrupt_close(local_server: LocalServer) -> None:
    client = AsyncDeepgramClient(api_key="test-key", environment=sdk_environment(local_server.url))
    received: list[Any] = []

    async def main() -> None:
        async with client.speak.v2.connect(model=MODEL, encoding="linear16", sample_rate="24000") as socket:
            events: asyncio.Queue[Any] = asyncio.Queue()
            socket.on(EventType.MESSAGE, events.put_nowait)
            listen_task = asyncio.create_task(socket.start_listening())

            async def until(kind: type) -> Any:
                while True:
                    event = await asyncio.wait_for(events.get(), 10)
                    received.append(event)
                    if isinstance(event, kind):
                        return event

            await socket.send_speak(SpeakV2Speak(text="Hello, "))
            await socket.send_speak(SpeakV2Speak(text="world!"))
            await socket.send_flush()
            first = await until(SpeakV2SpeechMetadata)
            await until(SpeakV2Flushed)
            await socket.send_configure(SpeakV2Configure(speed=1.2))
            await socket.send_configure(SpeakV2Configure(speed=9.0))
            await socket.send_speak(SpeakV2Speak(text="Second turn is longer."))
            await socket.send_flush()
            await until(SpeakV2Flushed)
            await socket.send_interrupt(interrupt_at(first.audio_duration_ms + 10))
            await until(SpeakV2SpeechInterrupted)
            await socket.send_close()
            await asyncio.wait_for(listen_task, 10)
            while not events.empty():
                received.append(events.get_nowait())

    asyncio.run(main())
    check(received, 24000)


@pytest.mark.timeout(60)
def test_sync_sdk_against_the_espeak_engine(make_server: Callable[..., LocalServer]) -> None:
    """The real engine (espeak-ng) serves the same sequence (its audio is speech, not tokens)."""
    pytest.importorskip("espeakng_loader")
    server = make_server(engine="real")
    events = run_sync(server, 16000)
    names, runs = summarize(events)
    assert names == EXPECTED
    assert all(len(run) > 16000 for run in runs)  # over half a second of speech per turn


def test_ours_runs_the_same_flow_and_sees_the_same_sequence(local_server: LocalServer) -> None:
    """The port: the same code with ``actors`` for ``deepgram`` yields the same classes and audio."""
    theirs = run_sync(local_server, 16000)
    mine = run_sync(local_server, 16000, package="actors")
    assert mine[0].model_name == theirs[0].model_name == MODEL
    assert summarize(mine)[0] == summarize(theirs)[0] == EXPECTED
    assert summarize(mine)[1] == summarize(theirs)[1]
    ours_cut = next(e for e in mine if type(e).__name__ == "SpeakV2SpeechInterrupted")
    sdk_cut = next(e for e in theirs if type(e).__name__ == "SpeakV2SpeechInterrupted")
    assert (ours_cut.audio_played_ms, ours_cut.text_spoken, ours_cut.text_remaining) == (
        sdk_cut.audio_played_ms,
        sdk_cut.text_spoken,
        sdk_cut.text_remaining,
    )
