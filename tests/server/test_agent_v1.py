"""Agent V1 endpoint of the local server, over real sockets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

from actors.server import LocalServer
from actors.server.engines.deterministic import (
    DeterministicSynthesizer,
    silence,
    synthesize_words,
    transcribe,
)
from tests.server.streaming import open_ws, read_until, send_chunked
from tests.support.agent import WEATHER, agent_settings


def types(messages: list[dict[str, Any]]) -> list[str]:
    return [m["type"] for m in messages]


@pytest.fixture
def agent(local_server: LocalServer) -> Iterator[ClientConnection]:
    with open_ws(local_server, "/v1/agent/converse") as ws:
        welcome = json.loads(ws.recv(timeout=5))
        assert welcome["type"] == "Welcome" and welcome["request_id"]
        yield ws


def applied(ws: ClientConnection, **agent: Any) -> ClientConnection:
    ws.send(json.dumps(agent_settings(**agent)))
    assert json.loads(ws.recv(timeout=5)) == {"type": "SettingsApplied"}
    return ws


def test_injected_user_message_gets_the_recorded_sequence(agent: ClientConnection) -> None:
    applied(agent)
    agent.send(json.dumps({"type": "InjectUserMessage", "content": "What is 2 + 2?"}))
    audio, messages = read_until(agent, "AgentAudioDone")
    assert types(messages) == [
        "ConversationText",
        "History",
        "EndOfThought",
        "ConversationText",
        "History",
        "AgentStartedSpeaking",
        "AgentAudioDone",
    ]
    assert messages[0] == {"type": "ConversationText", "role": "user", "content": "What is 2 + 2?"}
    assert messages[3] == {"type": "ConversationText", "role": "assistant", "content": "2 + 2 equals 4."}
    started = messages[5]
    assert started["total_latency"] >= started["ttt_latency"] >= 0 and started["tts_latency"] >= 0
    assert audio == DeterministicSynthesizer().synthesize("2 + 2 equals 4.", 16000)


def test_user_speech_becomes_a_turn(agent: ClientConnection) -> None:
    applied(agent)
    speech = synthesize_words(["hello", "there"], 16000) + silence(1.0)
    send_chunked(agent, speech)
    audio, messages = read_until(agent, "AgentAudioDone")
    assert types(messages)[:3] == ["UserStartedSpeaking", "ConversationText", "History"]
    assert messages[1]["content"] == "hello there"
    assert [w.text for w in transcribe(audio, 16000)] == ["You", "said:", "hello", "there."]


def test_history_off_sends_no_history(agent: ClientConnection) -> None:
    message = agent_settings()
    message["flags"] = {"history": False}
    agent.send(json.dumps(message))
    agent.recv(timeout=5)
    agent.send(json.dumps({"type": "InjectUserMessage", "content": "hi"}))
    _, messages = read_until(agent, "AgentAudioDone")
    assert "History" not in types(messages)


def test_client_side_function_call_waits_for_the_response(agent: ClientConnection) -> None:
    applied(agent, think={"provider": {"type": "open_ai", "model": "gpt-4o-mini"}, "functions": [WEATHER]})
    agent.send(json.dumps({"type": "InjectUserMessage", "content": "get weather for New York"}))
    _, messages = read_until(agent, "FunctionCallRequest")
    assert types(messages) == [
        "ConversationText",
        "History",
        "EndOfThought",
        "AgentThinking",
        "FunctionCallRequest",
    ]
    (call,) = messages[-1]["functions"]
    assert call["name"] == "get_weather" and call["client_side"] is True
    assert json.loads(call["arguments"]) == {"location": "New York"}
    agent.send(
        json.dumps(
            {"type": "FunctionCallResponse", "id": call["id"], "name": "get_weather", "content": "sunny"}
        )
    )
    _, messages = read_until(agent, "AgentAudioDone")
    assert messages[0]["function_calls"][0] == {**call, "response": "sunny"}
    assert messages[1] == {
        "type": "ConversationText",
        "role": "assistant",
        "content": "get_weather returned sunny.",
    }


def test_unmatched_function_response_is_warned(agent: ClientConnection) -> None:
    applied(agent)
    agent.send(json.dumps({"type": "FunctionCallResponse", "id": "nope", "name": "x", "content": "y"}))
    _, messages = read_until(agent, "Warning")
    assert messages[-1]["code"] == "UNEXPECTED_FUNCTION_CALL_RESPONSE"


def test_server_side_function_gets_a_canned_result(agent: ClientConnection) -> None:
    function = {**WEATHER, "endpoint": {"url": "https://api.example.com/weather", "method": "post"}}
    applied(agent, think={"provider": {"type": "open_ai", "model": "gpt-4o-mini"}, "functions": [function]})
    agent.send(json.dumps({"type": "InjectUserMessage", "content": "get_weather in Paris"}))
    _, messages = read_until(agent, "AgentAudioDone")
    assert types(messages)[3:7] == ["AgentThinking", "FunctionCallRequest", "FunctionCallResponse", "History"]
    assert messages[4]["functions"][0]["client_side"] is False


@pytest.mark.parametrize(
    ("update", "ack"),
    [
        ({"type": "UpdatePrompt", "prompt": "Be brief."}, "PromptUpdated"),
        (
            {"type": "UpdateSpeak", "speak": {"provider": {"type": "deepgram", "model": "aura-2-thalia-en"}}},
            "SpeakUpdated",
        ),
        (
            {"type": "UpdateThink", "think": {"provider": {"type": "open_ai", "model": "gpt-4o"}}},
            "ThinkUpdated",
        ),
        (
            {"type": "UpdateListen", "listen": {"provider": {"type": "deepgram", "model": "nova-3"}}},
            "ListenUpdated",
        ),
    ],
)
def test_updates_are_acknowledged(agent: ClientConnection, update: dict[str, Any], ack: str) -> None:
    applied(agent)
    agent.send(json.dumps({"type": "KeepAlive"}))
    agent.send(json.dumps(update))
    assert json.loads(agent.recv(timeout=5)) == {"type": ack}


def test_update_think_declares_new_functions(agent: ClientConnection) -> None:
    applied(agent)
    agent.send(
        json.dumps(
            {
                "type": "UpdateThink",
                "think": {"provider": {"type": "open_ai", "model": "gpt-4o-mini"}, "functions": [WEATHER]},
            }
        )
    )
    read_until(agent, "ThinkUpdated")
    agent.send(json.dumps({"type": "InjectUserMessage", "content": "get_weather for Oslo"}))
    _, messages = read_until(agent, "FunctionCallRequest")
    assert json.loads(messages[-1]["functions"][0]["arguments"]) == {"location": "Oslo"}


def test_inject_agent_message_speaks_without_started_speaking(agent: ClientConnection) -> None:
    applied(agent)
    agent.send(json.dumps({"type": "InjectAgentMessage", "message": "Injected hello."}))
    audio, messages = read_until(agent, "AgentAudioDone")
    assert types(messages) == ["ConversationText", "History", "AgentAudioDone"]
    assert [w.text for w in transcribe(audio, 16000)] == ["Injected", "hello."]


def test_inject_agent_message_is_refused_while_the_user_speaks(agent: ClientConnection) -> None:
    applied(agent)
    speech = synthesize_words(["wait"], 16000)
    agent.send(speech[: len(speech) // 2])
    assert json.loads(agent.recv(timeout=5))["type"] == "UserStartedSpeaking"
    agent.send(json.dumps({"type": "InjectAgentMessage", "message": "Interrupting."}))
    refused = json.loads(agent.recv(timeout=5))
    assert refused["type"] == "InjectionRefused" and refused["message"]


def test_force_end_turn_ends_the_user_turn(agent: ClientConnection) -> None:
    applied(agent)
    agent.send(synthesize_words(["now"], 16000) + silence(0.1))
    agent.send(json.dumps({"type": "ForceEndTurn"}))
    _, messages = read_until(agent, "AgentAudioDone")
    assert messages[1] == {"type": "ConversationText", "role": "user", "content": "now"}


def test_greeting_is_spoken_after_settings_applied(agent: ClientConnection) -> None:
    applied(agent, greeting="Hello! How can I help?")
    audio, messages = read_until(agent, "AgentAudioDone")
    assert [m.get("content") for m in messages if m["type"] == "ConversationText"] == [
        "Hello! How can I help?"
    ]
    assert [w.text for w in transcribe(audio, 16000)] == ["Hello!", "How", "can", "I", "help?"]


def test_mulaw_output_at_8000(agent: ClientConnection) -> None:
    message = agent_settings()
    message["audio"]["output"] = {"encoding": "mulaw", "sample_rate": 8000}
    agent.send(json.dumps(message))
    agent.recv(timeout=5)
    agent.send(json.dumps({"type": "InjectUserMessage", "content": "hi"}))
    audio, _ = read_until(agent, "AgentAudioDone")
    assert len(audio) == len(DeterministicSynthesizer().synthesize("You said: hi.", 8000)) // 2


@pytest.mark.parametrize("first", [json.dumps({"type": "KeepAlive"}), b"\x00\x00"])
def test_settings_must_be_first(agent: ClientConnection, first: str | bytes) -> None:
    agent.send(first)
    error = json.loads(agent.recv(timeout=5))
    assert error["type"] == "Error" and error["code"] == "SETTINGS_REQUIRED"
    applied(agent)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda s: s.pop("audio"), "audio"),
        (lambda s: s["audio"]["input"].update(encoding="opus"), "audio.input.encoding"),
        (lambda s: s["audio"]["output"].update(sample_rate="fast"), "audio.output.sample_rate"),
        (lambda s: s.update(agent=5), "agent"),
    ],
)
def test_invalid_settings_get_an_error_naming_the_field(
    agent: ClientConnection, mutate: Any, field: str
) -> None:
    message = agent_settings()
    mutate(message)
    agent.send(json.dumps(message))
    error = json.loads(agent.recv(timeout=5))
    assert error["code"] == "UNPARSABLE_CLIENT_MESSAGE" and f"Check the {field} field" in error["description"]


def test_unknown_message_type_gets_an_error(agent: ClientConnection) -> None:
    applied(agent)
    agent.send(json.dumps({"type": "Dance"}))
    error = json.loads(agent.recv(timeout=5))
    assert error["type"] == "Error" and "Dance" in error["description"]


def test_idle_connection_gets_client_message_timeout(make_server: Any) -> None:
    server = make_server(idle_timeout=0.3)
    with open_ws(server, "/v1/agent/converse") as ws:
        ws.recv(timeout=5)
        error = json.loads(ws.recv(timeout=5))
        assert error["code"] == "CLIENT_MESSAGE_TIMEOUT"
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011


def test_unanswered_function_call_warns_slow_think(
    agent: ClientConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    from actors.server import agent_v1

    monkeypatch.setattr(agent_v1, "SLOW_THINK_SECONDS", 0.2)
    applied(agent, think={"provider": {"type": "open_ai", "model": "gpt-4o-mini"}, "functions": [WEATHER]})
    agent.send(json.dumps({"type": "InjectUserMessage", "content": "get_weather for Lima"}))
    read_until(agent, "FunctionCallRequest")
    _, messages = read_until(agent, "Warning")
    assert messages[-1]["code"] == "SLOW_THINK_REQUEST"
