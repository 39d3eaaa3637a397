"""Agent V1 fidelity over real sockets: Settings refused with the live service's wording (replaying
the recorded configurations), LatencyReport after each turn, FunctionCallCancelled on barge-in."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection

from actors.server import LocalServer
from actors.server.engines.deterministic import silence, synthesize_words
from tests.server.streaming import open_ws, read_until
from tests.server.test_agent_v1 import applied, types
from tests.support.agent import WEATHER
from tests.support.agent import agent_settings as settings

RECORDED = Path("/work/shared/reference/recorded/agent/websocket")
THINK = {"provider": {"type": "open_ai", "model": "gpt-4o-mini"}, "functions": [WEATHER]}


def _recorded_settings_error(config: Path) -> str | None:
    """The description of the Error the live service sent for this run's Settings, if it refused it."""
    error_file = config.with_name(config.name.replace("-config.json", "-error.json"))
    if not error_file.exists():
        return None
    for event in json.loads(error_file.read_text())["events"]:
        description = event["data"].get("description") or ""
        if event["type"] == "Error" and description.startswith("Error parsing client message"):
            return str(description)
    return None


def _recorded_settings(config: Path) -> dict[str, Any]:
    """The Settings the recording SDK sent: its agent config plus an audio section."""
    return {
        "type": "Settings",
        "audio": {
            "input": {"encoding": "linear16", "sample_rate": 16000},
            "output": {"encoding": "linear16", "sample_rate": 16000},
        },
        "agent": json.loads(config.read_text())["agent_config"],
    }


CONFIGS = sorted(RECORDED.glob("*-config.json"))
REFUSED = [c for c in CONFIGS if _recorded_settings_error(c)]
# 86d9ef37 was refused for an endpoint the service could not resolve (no network here) and is skipped.
ACCEPTED = [c for c in CONFIGS if not (RECORDED / c.name.replace("-config", "-error")).exists()]


def test_recordings_cover_refused_and_accepted_settings() -> None:
    assert len(REFUSED) >= 5 and len(ACCEPTED) >= 5


@contextlib.contextmanager
def open_agent(server: LocalServer) -> Iterator[ClientConnection]:
    """An agent connection past its Welcome."""
    with open_ws(server, "/v1/agent/converse") as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "Welcome"
        yield ws


@pytest.mark.parametrize("config", REFUSED, ids=[c.name for c in REFUSED])
def test_recorded_refusals_get_the_same_error(local_server: LocalServer, config: Path) -> None:
    with open_agent(local_server) as ws:
        ws.send(json.dumps(_recorded_settings(config)))
        error = json.loads(ws.recv(timeout=5))
        assert error == {
            "type": "Error",
            "description": _recorded_settings_error(config),
            "code": "UNPARSABLE_CLIENT_MESSAGE",
        }
        # no SettingsApplied: the session still waits for valid Settings
        ws.send(json.dumps(settings()))
        assert json.loads(ws.recv(timeout=5)) == {"type": "SettingsApplied"}


@pytest.mark.parametrize("config", ACCEPTED, ids=[c.name for c in ACCEPTED])
def test_recorded_accepted_settings_are_applied(local_server: LocalServer, config: Path) -> None:
    with open_agent(local_server) as ws:
        ws.send(json.dumps(_recorded_settings(config)))
        assert json.loads(ws.recv(timeout=5)) == {"type": "SettingsApplied"}


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda s: s.update(tags="not-a-list"), "tags"),
        (lambda s: s["agent"].update(greeting=5), "agent.greeting"),
        (lambda s: s["agent"]["listen"]["provider"].update(colour="blue"), "agent.listen.provider.colour"),
        (lambda s: s["agent"].update(zeta=1, alpha=2), "agent.alpha"),
        (lambda s: s["audio"].update(inputs={}), "audio.inputs"),
    ],
)
def test_invalid_or_unknown_fields_are_named(local_server: LocalServer, mutate: Any, field: str) -> None:
    message = settings()
    mutate(message)
    with open_agent(local_server) as ws:
        ws.send(json.dumps(message))
        error = json.loads(ws.recv(timeout=5))
    assert (
        error["description"] == f"Error parsing client message. Check the {field} field against the API spec."
    )
    assert error["code"] == "UNPARSABLE_CLIENT_MESSAGE"


def test_latency_report_follows_each_user_turn(local_server: LocalServer) -> None:
    with open_agent(local_server) as ws:
        applied(ws)
        ws.send(json.dumps({"type": "InjectUserMessage", "content": "hi"}))
        _, messages = read_until(ws, "LatencyReport")
        assert types(messages)[-2:] == ["AgentAudioDone", "LatencyReport"]
        started, report = messages[-3], messages[-1]
        assert started["type"] == "AgentStartedSpeaking"
        assert set(report) == {
            "type",
            "ttt_token_latency",
            "ttt_text_latency",
            "tts_latency",
            "total_latency",
        }
        assert report["total_latency"] == pytest.approx(report["ttt_text_latency"] + report["tts_latency"])
        assert all(report[k] >= 0 for k in report if k != "type")
        # an injected agent message is not a turn: no AgentStartedSpeaking, no LatencyReport
        ws.send(json.dumps({"type": "InjectAgentMessage", "message": "Just saying."}))
        ws.send(json.dumps({"type": "InjectUserMessage", "content": "again"}))
        _, messages = read_until(ws, "LatencyReport")
        assert types(messages).count("AgentAudioDone") == 2
        assert types(messages).count("AgentStartedSpeaking") == 1


def test_latency_report_of_a_function_turn_has_tool_latency(local_server: LocalServer) -> None:
    with open_agent(local_server) as ws:
        applied(ws, think=THINK)
        ws.send(json.dumps({"type": "InjectUserMessage", "content": "get weather for Oslo"}))
        _, messages = read_until(ws, "FunctionCallRequest")
        (call,) = messages[-1]["functions"]
        ws.send(
            json.dumps(
                {"type": "FunctionCallResponse", "id": call["id"], "name": call["name"], "content": "x"}
            )
        )
        _, messages = read_until(ws, "LatencyReport")
        report = messages[-1]
        assert 0 <= report["ttt_tool_latency"] == report["ttt_token_latency"] <= report["ttt_text_latency"]


def test_barge_in_cancels_a_pending_client_side_function_call(local_server: LocalServer) -> None:
    with open_agent(local_server) as ws:
        applied(ws, think=THINK)
        ws.send(json.dumps({"type": "InjectUserMessage", "content": "get weather for Lima"}))
        _, messages = read_until(ws, "FunctionCallRequest")
        (call,) = messages[-1]["functions"]
        ws.send(synthesize_words(["stop"], 16000))
        _, messages = read_until(ws, "FunctionCallCancelled")
        assert types(messages) == ["UserStartedSpeaking", "FunctionCallCancelled"]
        assert messages[-1]["functions"] == [{"id": call["id"], "name": "get_weather"}]
        # the late answer is refused with a Warning, and does not produce a reply
        ws.send(
            json.dumps(
                {"type": "FunctionCallResponse", "id": call["id"], "name": "get_weather", "content": "x"}
            )
        )
        warning = json.loads(ws.recv(timeout=5))
        assert warning["type"] == "Warning" and warning["code"] == "UNEXPECTED_FUNCTION_CALL_RESPONSE"
        assert re.search(r"cancelled", warning["description"]) and call["id"] in warning["description"]
        # the interrupting speech is the next turn
        ws.send(silence(1.0, 16000))
        _, messages = read_until(ws, "LatencyReport")
        assert messages[0] == {"type": "ConversationText", "role": "user", "content": "stop"}
        assert "get_weather returned" not in json.dumps(messages)


def test_speech_without_a_pending_call_cancels_nothing(local_server: LocalServer) -> None:
    with open_agent(local_server) as ws:
        applied(ws, think=THINK)
        ws.send(synthesize_words(["hello"], 16000) + silence(1.0, 16000))
        _, messages = read_until(ws, "LatencyReport")
        assert "FunctionCallCancelled" not in types(messages)
