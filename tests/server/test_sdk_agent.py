"""Deepgram's own SDK (7.16, sync and async) talks to the local server's Agent V1 endpoint."""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import Any

import pytest

from actors.server import LocalServer
from actors.server.engines.deterministic import silence, synthesize_words, transcribe
from tests.support.sdk import sdk_environment

pytest.importorskip("deepgram")
from deepgram import AsyncDeepgramClient, DeepgramClient
from deepgram.agent.v1.types import (
    AgentV1AgentAudioDone,
    AgentV1ConversationText,
    AgentV1FunctionCallRequest,
    AgentV1InjectUserMessage,
    AgentV1SendFunctionCallResponse,
    AgentV1Settings,
    AgentV1SettingsAgent,
    AgentV1SettingsAgentContextListen,
    AgentV1SettingsAgentContextListenProvider_V1,
    AgentV1SettingsAudio,
    AgentV1SettingsAudioInput,
    AgentV1SettingsAudioOutput,
)
from deepgram.core.events import EventType
from deepgram.types import ThinkSettingsV1, ThinkSettingsV1FunctionsItem, ThinkSettingsV1Provider_OpenAi

RATE = 16000


def agent_settings() -> AgentV1Settings:
    return AgentV1Settings(
        audio=AgentV1SettingsAudio(
            input=AgentV1SettingsAudioInput(encoding="linear16", sample_rate=RATE),
            output=AgentV1SettingsAudioOutput(encoding="linear16", sample_rate=RATE),
        ),
        agent=AgentV1SettingsAgent(
            listen=AgentV1SettingsAgentContextListen(
                provider=AgentV1SettingsAgentContextListenProvider_V1(type="deepgram", model="nova-3")
            ),
            think=ThinkSettingsV1(
                provider=ThinkSettingsV1Provider_OpenAi(type="open_ai", model="gpt-4o-mini"),
                prompt="You are a test agent.",
                functions=[
                    ThinkSettingsV1FunctionsItem(
                        name="get_weather",
                        description="Weather for a place",
                        parameters={"type": "object", "properties": {"location": {"type": "string"}}},
                    )
                ],
            ),
        ),
    )


def names(events: list[Any]) -> list[str]:
    """Event type names in order; consecutive audio frames collapse to one 'audio'."""
    out: list[str] = []
    for event in events:
        if isinstance(event, bytes):
            name = "audio"
        elif isinstance(event, dict):  # the SDK hands over events it has no model for (EndOfThought) as dicts
            name = str(event.get("type"))
        else:
            name = str(getattr(event, "type", type(event).__name__))
        if not (name == "audio" and out[-1:] == ["audio"]):
            out.append(name)
    return out


def audio_of(events: list[Any]) -> bytes:
    return b"".join(event for event in events if isinstance(event, bytes))


SPOKEN_TURN = [
    "Welcome",
    "SettingsApplied",
    "UserStartedSpeaking",
    "ConversationText",
    "History",
    "EndOfThought",
    "ConversationText",
    "History",
    "AgentStartedSpeaking",
    "audio",
    "AgentAudioDone",
]
FUNCTION_TURN = [
    "LatencyReport",  # closes the previous (spoken) turn; the SDK models it
    "ConversationText",
    "History",
    "EndOfThought",
    "AgentThinking",
    "FunctionCallRequest",
    "History",
    "ConversationText",
    "History",
    "AgentStartedSpeaking",
    "audio",
    "AgentAudioDone",
]


def test_sync_sdk_agent_voice_turn_and_function_call(local_server: LocalServer) -> None:
    client = DeepgramClient(api_key="test-key", environment=sdk_environment(local_server.url))
    events: queue.Queue[Any] = queue.Queue()

    def next_until(kind: type) -> list[Any]:
        seen: list[Any] = []
        while not isinstance(seen[-1] if seen else None, kind):
            seen.append(events.get(timeout=5))
        return seen

    with client.agent.v1.connect() as socket:
        socket.on(EventType.MESSAGE, events.put)
        listener = threading.Thread(target=socket.start_listening, name="sdk-agent-listener", daemon=True)
        listener.start()
        socket.send_settings(agent_settings())
        socket.send_media(synthesize_words(["hello", "agent"], RATE) + silence(1.0, RATE))
        first = next_until(AgentV1AgentAudioDone)
        socket.send_inject_user_message(AgentV1InjectUserMessage(content="get weather for Rome"))
        request = next_until(AgentV1FunctionCallRequest)
        call = request[-1].functions[0]
        socket.send_function_call_response(
            AgentV1SendFunctionCallResponse(id=call.id, name=call.name, content="sunny")
        )
        second = request + next_until(AgentV1AgentAudioDone)
    listener.join(timeout=5)
    assert names(first) == SPOKEN_TURN
    user = [e for e in first if isinstance(e, AgentV1ConversationText) and e.role == "user"]
    assert user[0].content == "hello agent"
    assert [w.text for w in transcribe(audio_of(first), RATE)] == ["You", "said:", "hello", "agent."]
    assert names(second) == FUNCTION_TURN
    assert call.name == "get_weather" and call.arguments == '{"location": "Rome"}' and call.client_side
    history = second[6]
    assert history.function_calls[0].response == "sunny"
    assert [w.text for w in transcribe(audio_of(second), RATE)] == ["get_weather", "returned", "sunny."]


def test_async_sdk_agent_voice_turn(local_server: LocalServer) -> None:
    client = AsyncDeepgramClient(api_key="test-key", environment=sdk_environment(local_server.url))
    received: list[Any] = []

    async def main() -> None:
        async with client.agent.v1.connect() as socket:
            done = asyncio.Event()

            def on_message(message: Any) -> None:
                received.append(message)
                if getattr(message, "type", None) == "LatencyReport":  # the turn's last message
                    done.set()

            socket.on(EventType.MESSAGE, on_message)
            listen_task = asyncio.create_task(socket.start_listening())
            await socket.send_settings(agent_settings())
            speech = synthesize_words(["hello", "agent"], RATE) + silence(1.0, RATE)
            for offset in range(0, len(speech), 1280):
                await socket.send_media(speech[offset : offset + 1280])
            await asyncio.wait_for(done.wait(), 5)
            listen_task.cancel()

    asyncio.run(main())
    assert names(received) == [*SPOKEN_TURN, "LatencyReport"]
    assert [w.text for w in transcribe(audio_of(received), RATE)] == ["You", "said:", "hello", "agent."]
