"""Leaving an Agent or Speak block loses no reply: the graceful finish waits for what is owed.

Agent V1 has no CloseStream, so the socket tracks each request that gets a reply and closes only
once all were answered (bounded by ``finish_timeout``). Speak's finish is Flush + Close, so the
audio of every text sent arrives before the close.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from actors import AsyncDeepgramClient, EventType
from actors.agent.v1.types import AgentV1FunctionCallRequest
from actors.environment import DeepgramClientEnvironment
from actors.errors import FinishTimeout
from actors.server import LocalServer
from actors.server.engines.deterministic import transcribe
from tests.client.helpers import WAIT, client_for
from tests.support.agent import WEATHER, agent_settings


def wire_types(messages: list[Any]) -> list[str]:
    return [m.type for m in messages if not isinstance(m, bytes)]


def assistant_lines(messages: list[Any]) -> list[str]:
    return [
        m.content
        for m in messages
        if getattr(m, "type", None) == "ConversationText" and m.role == "assistant"
    ]


def test_leaving_an_agent_block_waits_for_every_reply(local_server: LocalServer) -> None:
    with client_for(local_server).agent.v1.connect() as socket:
        socket.send_settings(agent_settings(greeting="Hello there."))
        socket.send_update_prompt({"prompt": "Be brief."})
        socket.send_update_speak({"speak": {"provider": {"type": "deepgram", "model": "aura-2-thalia-en"}}})
        socket.send_update_listen({"listen": {"provider": {"type": "deepgram", "model": "nova-3"}}})
        socket.send_update_think({"think": {"provider": {"type": "open_ai", "model": "gpt-4o-mini"}}})
        socket.send_inject_agent_message({"message": "Welcome back."})
        socket.send_inject_user_message({"content": "What is 2 + 3?"})
    messages = list(socket)
    kinds = wire_types(messages)
    for reply in ("SettingsApplied", "PromptUpdated", "SpeakUpdated", "ListenUpdated", "ThinkUpdated"):
        assert kinds.count(reply) == 1, kinds
    # The greeting, the injected agent message and the reply to the user: each spoken in full.
    assert kinds.count("AgentAudioDone") == 3, kinds
    assert assistant_lines(messages) == ["Hello there.", "Welcome back.", "2 + 3 equals 5."]
    assert any(isinstance(m, bytes) for m in messages)
    assert "Error" not in kinds


def test_a_function_call_answer_waits_for_the_spoken_reply(local_server: LocalServer) -> None:
    think = {"provider": {"type": "open_ai", "model": "gpt-4o-mini"}, "functions": [WEATHER]}
    with client_for(local_server).agent.v1.connect() as socket:
        socket.send_settings(agent_settings(think=think))
        socket.send_inject_user_message({"content": "get weather in Oslo"})
        while not isinstance(request := socket.recv(timeout=WAIT), AgentV1FunctionCallRequest):
            pass
        (call,) = request.functions
        socket.send_function_call_response({"id": call.id, "name": call.name, "content": "sunny"})
    messages = list(socket)
    assert wire_types(messages).count("AgentAudioDone") == 1
    assert assistant_lines(messages) == ["get_weather returned sunny."]


def test_callbacks_at_block_end_see_every_agent_reply(local_server: LocalServer) -> None:
    """The reference example's shape without a listener thread: no reply is lost."""
    seen: list[Any] = []
    with client_for(local_server).agent.v1.connect() as socket:
        socket.on(EventType.MESSAGE, seen.append)
        socket.send_settings(agent_settings())
        socket.send_inject_agent_message({"message": "Still here."})
    kinds = wire_types(seen)
    assert kinds[:2] == ["Welcome", "SettingsApplied"]
    assert kinds[-1] == "AgentAudioDone"
    assert assistant_lines(seen) == ["Still here."]


def test_send_raw_requests_are_waited_for_too(local_server: LocalServer) -> None:
    with client_for(local_server).agent.v1.connect() as socket:
        socket.send_raw({"type": "Settings", **agent_settings()})
        socket.send_raw('{"type": "UpdatePrompt", "prompt": "Be kind."}')
    kinds = wire_types(list(socket))
    assert "SettingsApplied" in kinds and "PromptUpdated" in kinds


def test_a_refused_settings_ends_the_wait(local_server: LocalServer) -> None:
    bad = agent_settings()
    bad["agent"]["tags"] = "not-a-list"
    started = time.monotonic()
    with client_for(local_server).agent.v1.connect() as socket:
        socket.send_settings(bad)
    assert time.monotonic() - started < WAIT / 2  # the Error answered it; no finish timeout
    messages = list(socket)
    assert "SettingsApplied" not in wire_types(messages)
    assert "Error" in wire_types(messages)


def test_an_agent_that_never_answers_is_a_finish_timeout_naming_the_request(
    make_server: Callable[..., LocalServer],
) -> None:
    server = make_server()
    stall = {"additional_headers": {"x-actors-fault": "kind=stall"}}
    client = client_for(server, finish_timeout=0.5)
    started = time.monotonic()
    with (
        pytest.raises(FinishTimeout, match=r"Settings \(waiting for SettingsApplied\)"),
        client.agent.v1.connect(request_options=stall) as socket,
    ):
        socket.send_settings(agent_settings())
    assert time.monotonic() - started < WAIT
    assert socket.connection.closed.is_set()


def test_async_agent_block_waits_for_replies(local_server: LocalServer) -> None:
    async def scenario() -> list[Any]:
        client = AsyncDeepgramClient(
            api_key="test-key", environment=DeepgramClientEnvironment.local(local_server.url)
        )
        async with client.agent.v1.connect() as socket:
            await socket.send_settings(agent_settings())
            await socket.send_inject_agent_message({"message": "From the loop."})
        return [m async for m in socket]

    messages = asyncio.run(scenario())
    kinds = wire_types(messages)
    assert "SettingsApplied" in kinds and kinds[-1] == "AgentAudioDone"
    assert assistant_lines(messages) == ["From the loop."]


# --- Speak ---------------------------------------------------------------------------------------


def test_leaving_a_speak_block_delivers_the_audio_of_all_text_sent(local_server: LocalServer) -> None:
    """No Flush, no listener: the finish (Flush + Close) still brings every word's audio."""
    with client_for(local_server).speak.v1.connect(encoding="linear16", sample_rate=16000) as socket:
        socket.send_text({"text": "every word "})
        socket.send_text({"text": "is spoken"})
    messages = list(socket)
    audio = b"".join(m for m in messages if isinstance(m, bytes))
    assert [w.text for w in transcribe(audio, 16000)] == ["every", "word", "is", "spoken"]
    assert wire_types(messages)[-1] == "Flushed"


def test_speak_audio_reaches_callbacks_when_the_block_ends(local_server: LocalServer) -> None:
    chunks: list[bytes] = []
    closes: list[Any] = []
    with client_for(local_server).speak.v1.connect(encoding="linear16", sample_rate=16000) as socket:
        socket.on(EventType.MESSAGE, lambda m: chunks.append(m) if isinstance(m, bytes) else None)
        socket.on(EventType.CLOSE, closes.append)
        socket.send_text({"text": "no thread needed"})
    assert [w.text for w in transcribe(b"".join(chunks), 16000)] == ["no", "thread", "needed"]
    assert len(closes) == 1 and closes[0].code == 1000
