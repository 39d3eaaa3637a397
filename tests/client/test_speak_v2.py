"""``client.speak.v2`` (Flux TTS), sync and async, against a real /v2/speak socket.

The server here is :class:`tests.support.speak_v2_fake.FakeSpeakV2Server`, a minimal one whose
timing is exact (interrupt offsets); tests/client/test_speak_v2_local.py walks the same client
against the local server's real /v2/speak. Checked: the send
methods put the spec's JSON on the wire, ``recv`` / iteration / callbacks see typed messages and
audio, leaving the block flushes the open turn and waits for its audio, ``Flushed`` and
``SessionMetadata``, and deepgram-sdk 7.16's own ``speak.v2`` client sees the same message
sequence as ours for the same flow.
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Iterator
from typing import Any

import pytest

from actors import AsyncDeepgramClient, DeepgramClient
from actors.core.events import EventType
from actors.environment import DeepgramClientEnvironment
from actors.errors import HandshakeError, OptionsError
from actors.speak.v2 import types as ours
from tests.support.sdk import sdk_environment
from tests.support.speak_v2_fake import FLUSHED_TURN, MS_PER_CHAR, FakeSpeakV2Server, message_names

WAIT = 10.0
MODEL = "flux-alexis-en"


@pytest.fixture
def speak_v2_server() -> Iterator[FakeSpeakV2Server]:
    with FakeSpeakV2Server() as server:
        yield server


def env(server: FakeSpeakV2Server) -> DeepgramClientEnvironment:
    return DeepgramClientEnvironment.local(server.url)


FIRST, INTERRUPTED, LAST = "Hello there.", "Stop me here please", "Last turn."
#: What the flow below gets back, whichever client runs it.
EXPECTED = [
    "SpeakV2Connected",
    *FLUSHED_TURN,
    "SpeakV2ConfigureSuccess",
    "SpeakV2SpeechStarted",
    "audio",
    "SpeakV2SpeechInterrupted",
    *FLUSHED_TURN,
    "SpeakV2SessionMetadata",
]
#: The JSON the flow puts on the wire (asyncapi.yml's shapes).
WIRE = [
    {"type": "Speak", "text": FIRST},
    {"type": "Flush"},
    {"type": "Configure", "speed": 1.25},
    {"type": "Speak", "text": INTERRUPTED},
    {"type": "Interrupt", "playback_offset": {"type": "time_ms", "value": len(FIRST) * MS_PER_CHAR + 50}},
    {"type": "Speak", "text": LAST},
    {"type": "Flush"},
    {"type": "Close"},
]


def send_flow(socket: Any, types: Any) -> list[Any]:
    """Turns, flush, configure, interrupt, close through ``socket``'s send methods (SDK-shaped)."""
    offset = types.SpeakV2InterruptPlaybackOffset(type="time_ms", value=len(FIRST) * MS_PER_CHAR + 50)
    return [
        socket.send_speak(types.SpeakV2Speak(text=FIRST)),
        socket.send_flush(),
        socket.send_configure(types.SpeakV2Configure(speed=1.25)),
        socket.send_speak(types.SpeakV2Speak(text=INTERRUPTED)),
        socket.send_interrupt(types.SpeakV2Interrupt(playback_offset=offset)),
        socket.send_speak(types.SpeakV2Speak(text=LAST)),
        socket.send_flush(),
        socket.send_close(),
    ]


def test_sync_flow_sends_the_specs_json_and_reads_typed_messages(speak_v2_server: FakeSpeakV2Server) -> None:
    client = DeepgramClient(environment=env(speak_v2_server))
    with client.speak.v2.connect(model=MODEL, encoding="linear16", sample_rate=16000) as socket:
        send_flow(socket, ours)
        received = list(socket)
    assert message_names(received) == EXPECTED
    assert speak_v2_server.received == WIRE
    connected, interrupted = (
        received[0],
        next(m for m in received if isinstance(m, ours.SpeakV2SpeechInterrupted)),
    )
    assert connected.model_name == MODEL and connected.model_uuids
    assert (interrupted.text_spoken, interrupted.text_remaining) == ("Stop ", "me here please")
    session = received[-1]
    assert session.total_input_character_count == len(FIRST + INTERRUPTED + LAST)


def test_send_methods_take_dicts_and_defaults_as_the_sdk(speak_v2_server: FakeSpeakV2Server) -> None:
    client = DeepgramClient(environment=env(speak_v2_server))
    with client.speak.v2.connect(model=MODEL) as socket:
        assert socket.recv(WAIT).type == "Connected"
        socket.send_speak_v_2_speak({"text": "Hi."})
        socket.send_speak_v_2_flush()
        socket.send_interrupt()  # nothing generated in this turn: a Warning
        socket.send_configure({"speed": 3.0})
        got = [socket.recv(WAIT) for _ in range(6)]
        with pytest.raises(OptionsError, match="SpeakV2Speak"):
            socket.send_speak({})  # no text
        with pytest.raises(OptionsError, match="SpeakV2Flush"):
            socket.send_flush({"type": "Close"})
    assert message_names(got) == [
        *FLUSHED_TURN,
        "SpeakV2Warning",
        "SpeakV2ConfigureFailure",
    ]
    assert got[-2].code == "NO_ACTIVE_SPEECH" and got[-1].code == "SPEED_OUT_OF_RANGE"
    assert speak_v2_server.received[:4] == [
        {"type": "Speak", "text": "Hi."},
        {"type": "Flush"},
        {"type": "Interrupt"},
        {"type": "Configure", "speed": 3.0},
    ]


def test_leaving_the_block_flushes_and_waits_for_the_last_audio(speak_v2_server: FakeSpeakV2Server) -> None:
    """Never read: the callbacks get every event after the graceful finish (Flush + Close)."""
    client = DeepgramClient(environment=env(speak_v2_server))
    seen: list[Any] = []
    with client.speak.v2.connect(model=MODEL) as socket:
        socket.on(EventType.OPEN, lambda _: seen.append("open"))
        socket.on(EventType.MESSAGE, seen.append)
        socket.on(EventType.CLOSE, lambda _: seen.append("close"))
        socket.send_speak(ours.SpeakV2Speak(text="An unflushed last turn."))
    assert seen[0] == "open" and seen[-1] == "close"
    assert message_names(seen[1:-1]) == [
        "SpeakV2Connected",
        *FLUSHED_TURN,
        "SpeakV2SessionMetadata",
    ]
    audio = b"".join(m for m in seen if isinstance(m, bytes))
    assert len(audio) == len("An unflushed last turn.") * MS_PER_CHAR * 24 * 2
    assert speak_v2_server.received[-2:] == [{"type": "Flush"}, {"type": "Close"}]


def test_start_listening_emits_open_messages_close(speak_v2_server: FakeSpeakV2Server) -> None:
    client = DeepgramClient(environment=env(speak_v2_server))
    events: queue.Queue[Any] = queue.Queue()
    with client.speak.v2.connect(model=MODEL) as socket:
        socket.on(EventType.OPEN, lambda _: events.put("open"))
        socket.on(EventType.MESSAGE, events.put)
        socket.on(EventType.CLOSE, lambda _: events.put("close"))
        send_flow(socket, ours)
        socket.start_listening()
    got = []
    while not events.empty():
        got.append(events.get_nowait())
    assert got[0] == "open" and got[-1] == "close"
    assert message_names(got[1:-1]) == EXPECTED


def test_bad_options_and_refused_models(speak_v2_server: FakeSpeakV2Server) -> None:
    client = DeepgramClient(environment=env(speak_v2_server))
    with pytest.raises(OptionsError, match="model"):
        client.speak.v2.connect()
    with pytest.raises(OptionsError, match="8000 or 16000"):
        client.speak.v2.connect(model=MODEL, encoding="mulaw", sample_rate=24000, strict_options=True)
    with pytest.raises(HandshakeError) as refused:
        client.speak.v2.connect(model="aura-2-thalia-en")
    assert refused.value.status_code == 400


def test_async_flow(speak_v2_server: FakeSpeakV2Server) -> None:
    async def main() -> tuple[list[Any], list[Any]]:
        client = AsyncDeepgramClient(environment=env(speak_v2_server))
        async with client.speak.v2.connect(model=MODEL, sample_rate=16000) as socket:
            await asyncio.gather(*send_flow(socket, ours))
            received = [m async for m in socket]
        async with client.speak.v2.connect(model=MODEL) as socket:
            await socket.send_speak({"text": "Bye."})
            first = await socket.recv(WAIT)
        return received, [first]

    received, first = asyncio.run(main())
    assert message_names(received) == EXPECTED
    assert speak_v2_server.received[: len(WIRE)] == WIRE
    assert isinstance(first[0], ours.SpeakV2Connected)
    assert speak_v2_server.received[len(WIRE) :] == [
        {"type": "Speak", "text": "Bye."},
        {"type": "Flush"},
        {"type": "Close"},
    ]


# -- parity with deepgram-sdk 7.16's own speak.v2 client -----------------------------------------


def test_the_sdks_sync_client_sees_the_same_sequence(speak_v2_server: FakeSpeakV2Server) -> None:
    pytest.importorskip("deepgram")
    import deepgram
    from deepgram.speak.v2 import types as sdk_types

    sdk = deepgram.DeepgramClient(api_key="test-key", environment=sdk_environment(speak_v2_server.url))
    with sdk.speak.v2.connect(model=MODEL, encoding="linear16", sample_rate="16000") as socket:
        send_flow(socket, sdk_types)
        theirs = list(socket)
    sdk_wire = list(speak_v2_server.received)
    speak_v2_server.received.clear()

    client = DeepgramClient(environment=env(speak_v2_server))
    with client.speak.v2.connect(model=MODEL, encoding="linear16", sample_rate="16000") as socket:
        send_flow(socket, ours)
        mine = list(socket)
    assert message_names(theirs) == message_names(mine) == EXPECTED
    assert sdk_wire == speak_v2_server.received == WIRE
    assert b"".join(m for m in theirs if isinstance(m, bytes)) == b"".join(
        m for m in mine if isinstance(m, bytes)
    )
    for sdk_message, our_message in zip(theirs, mine, strict=True):
        if not isinstance(sdk_message, bytes):
            assert our_message.dict() == sdk_message.dict()


def test_the_sdks_async_client_sees_the_same_sequence(speak_v2_server: FakeSpeakV2Server) -> None:
    pytest.importorskip("deepgram")
    import deepgram
    from deepgram.speak.v2 import types as sdk_types

    async def run_sdk() -> list[Any]:
        sdk = deepgram.AsyncDeepgramClient(
            api_key="test-key", environment=sdk_environment(speak_v2_server.url)
        )
        async with sdk.speak.v2.connect(model=MODEL) as socket:
            for pending in send_flow(socket, sdk_types):
                await pending
            return [m async for m in socket]

    async def run_ours() -> list[Any]:
        client = AsyncDeepgramClient(environment=env(speak_v2_server))
        async with client.speak.v2.connect(model=MODEL) as socket:
            for pending in send_flow(socket, ours):
                await pending
            return [m async for m in socket]

    theirs = asyncio.run(run_sdk())
    mine = asyncio.run(run_ours())
    assert message_names(theirs) == message_names(mine) == EXPECTED
    assert speak_v2_server.received == WIRE + WIRE
