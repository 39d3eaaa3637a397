"""Sync-only, threaded-server use: the same client flows from 100 threads at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from actors import DeepgramClient, EventType
from actors.environment import DeepgramClientEnvironment
from actors.listen.v1.types import ListenV1Metadata, ListenV1Results
from actors.listen.v2.types import ListenV2TurnInfo
from actors.server import LocalServer
from actors.server.engines.deterministic import silence, synthesize_words
from actors.speak.v1.types import SpeakV1Flushed, SpeakV1Text
from tests.support.threads import run_together

THREADS = 100
JOIN_TIMEOUT = 60.0


def words_for(index: int) -> list[str]:
    return [f"caller{index}", "says", "hello"]


def listen_v1_flow(client: DeepgramClient, index: int) -> Any:
    """The reference Listen V1 flow: listener thread, send audio, leave the block."""
    messages: list[Any] = []
    with client.listen.v1.connect(model="nova-3", encoding="linear16", sample_rate=16000) as socket:
        socket.on(EventType.MESSAGE, messages.append)
        listener = threading.Thread(target=socket.start_listening, name=f"listener-{index}", daemon=True)
        listener.start()
        socket.send_listen_v_1_media(synthesize_words(words_for(index), 16000) + silence(0.2))
    words = [
        w.word
        for m in messages
        if isinstance(m, ListenV1Results) and m.is_final
        for w in m.channel.alternatives[0].words
    ]
    assert isinstance(messages[-1], ListenV1Metadata), messages[-1:]
    return words


def listen_v2_flow(client: DeepgramClient, index: int) -> Any:
    """The reference Flux flow with recv(): audio, CloseStream, read until closed."""
    with client.listen.v2.connect(model="flux-general-en", encoding="linear16", sample_rate=16000) as socket:
        socket.send_listen_v_2_media(synthesize_words(words_for(index), 16000) + silence(0.2))
        socket.send_listen_v_2_close_stream()
        turns = [m for m in socket if isinstance(m, ListenV2TurnInfo)]
    return turns[-1].transcript.split() if turns else []


def speak_v1_flow(client: DeepgramClient, index: int) -> Any:
    """The reference Speak flow: text, flush, then iterate until Flushed."""
    audio = 0
    with client.speak.v1.connect(encoding="linear16", sample_rate=16000) as socket:
        socket.send_speak_v_1_text(SpeakV1Text(text=" ".join(words_for(index))))
        socket.send_speak_v_1_flush()
        for message in socket:
            if isinstance(message, bytes):
                audio += len(message)
            if isinstance(message, SpeakV1Flushed):
                break
    return words_for(index) if audio > 0 else []


def agent_v1_flow(client: DeepgramClient, index: int) -> Any:
    """The reference Agent flow: settings, user audio, read until the user's words come back."""
    from actors.agent.v1 import types as agent

    settings = agent.AgentV1Settings(
        audio=agent.AgentV1SettingsAudio(
            input=agent.AgentV1SettingsAudioInput(encoding="linear16", sample_rate=16000)
        ),
        agent=agent.AgentV1SettingsAgent(
            listen=agent.AgentV1SettingsAgentListen(
                provider=agent.AgentV1SettingsAgentListenProvider_V1(type="deepgram", model="nova-3")
            )
        ),
    )
    with client.agent.v1.connect() as socket:
        socket.send_agent_v_1_settings(settings)
        socket.send_agent_v_1_media(synthesize_words(words_for(index), 16000) + silence(1.5))
        while True:
            message = socket.recv(timeout=JOIN_TIMEOUT)
            if isinstance(message, agent.AgentV1ConversationText) and message.role == "user":
                return message.content.split()


FLOWS: dict[str, Callable[[DeepgramClient, int], Any]] = {
    "listen.v1": listen_v1_flow,
    "listen.v2": listen_v2_flow,
    "speak.v1": speak_v1_flow,
    "agent.v1": agent_v1_flow,
}


def run_in_threads(server: LocalServer, pick: Callable[[int], str]) -> dict[int, Any]:
    client = DeepgramClient(api_key="test-key", environment=DeepgramClientEnvironment.local(server.url))
    return run_together(
        THREADS,
        lambda index: FLOWS[pick(index)](client, index),
        name="caller",
        start_timeout=JOIN_TIMEOUT,
        join_timeout=JOIN_TIMEOUT,
    )


@pytest.mark.parametrize("api", ["listen.v1", "mixed"])
def test_flows_from_100_threads_at_once(make_server: Callable[..., LocalServer], api: str) -> None:
    server = make_server()
    names = sorted(FLOWS)
    results = run_in_threads(server, (lambda i: api) if api != "mixed" else (lambda i: names[i % len(names)]))
    failures = {i: r for i, r in results.items() if isinstance(r, BaseException)}
    assert not failures, next(iter(failures.values()))
    assert {i: r for i, r in results.items() if r != words_for(i)} == {}
    assert len(results) == THREADS
