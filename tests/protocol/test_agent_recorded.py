"""Every agent message recorded from the live service decodes to its class and round-trips."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from actors.protocol.agent_v1 import (
    AgentV1AgentAudioDone,
    AgentV1AgentStartedSpeaking,
    AgentV1ConversationText,
    AgentV1EndOfThought,
    AgentV1Error,
    AgentV1FunctionCallRequest,
    AgentV1Settings,
    AgentV1SettingsAgent,
    AgentV1SettingsApplied,
    AgentV1Welcome,
    ConversationHistoryMessage,
    FunctionCallHistoryMessage,
    SpeakSettingsV1,
)
from actors.protocol.agent_v1.strict import unknown_field_paths
from actors.protocol.apis import AGENT_V1
from actors.protocol.base import DecodeError, Message

RECORDED = Path("/work/shared/reference/recorded/agent/websocket")
#: Events the recording SDK emitted about its own socket, not wire messages.
SDK_LIFECYCLE = {"Open", "Close"}

EXPECTED = {
    "Welcome": AgentV1Welcome,
    "SettingsApplied": AgentV1SettingsApplied,
    "ConversationText": AgentV1ConversationText,
    "AgentStartedSpeaking": AgentV1AgentStartedSpeaking,
    "AgentAudioDone": AgentV1AgentAudioDone,
    "FunctionCallRequest": AgentV1FunctionCallRequest,
    "EndOfThought": AgentV1EndOfThought,
    "Error": AgentV1Error,
}


def _events(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text())
    events: list[dict[str, Any]] = data if isinstance(data, list) else data["events"]
    return events


def _wire_objects() -> list[tuple[str, dict[str, Any]]]:
    """(label, wire object) for every recorded server message."""
    found = []
    files = sorted(RECORDED.glob("*-events.json")) + sorted(RECORDED.glob("*-error.json"))
    for path in files:
        for i, event in enumerate(_events(path)):
            if event["type"] in SDK_LIFECYCLE:
                continue
            if event["type"] == "Unhandled":
                wire = json.loads(event["data"]["raw"])  # exact wire JSON
            else:
                # Re-serialised by the recording SDK, which sometimes dropped "type".
                wire = {"type": event["type"], **event["data"]}
            found.append((f"{path.name}#{i}", wire))
    for path in sorted(RECORDED.glob("*-function_calls.json")):
        for i, call in enumerate(json.loads(path.read_text())["function_calls"]):
            found.append((f"{path.name}#{i}", call))
    return found


WIRE_OBJECTS = _wire_objects()


def test_recordings_are_present() -> None:
    assert len(WIRE_OBJECTS) >= 140
    kinds = {wire["type"] for _, wire in WIRE_OBJECTS}
    assert {"History", "EndOfThought", "FunctionCallRequest", "Error"} <= kinds


@pytest.mark.parametrize(("label", "wire"), WIRE_OBJECTS, ids=[label for label, _ in WIRE_OBJECTS])
def test_recorded_server_message_decodes_and_round_trips(label: str, wire: dict[str, Any]) -> None:
    codec = AGENT_V1.server_codec
    msg = codec.decode(orjson.dumps(wire))
    assert isinstance(msg, Message), msg
    if wire["type"] == "History":
        expected: type = (
            FunctionCallHistoryMessage if "function_calls" in wire else ConversationHistoryMessage
        )
    else:
        expected = EXPECTED[wire["type"]]
    assert type(msg) is expected, msg
    assert codec.to_dict(msg) == wire
    assert orjson.loads(codec.encode(msg)) == wire


def test_history_raw_frames_reencode_byte_for_byte() -> None:
    codec = AGENT_V1.server_codec
    raws = [
        event["data"]["raw"]
        for path in sorted(RECORDED.glob("*-events.json"))
        for event in _events(path)
        if event["type"] == "Unhandled"
    ]
    assert raws
    for raw in raws:
        msg = codec.decode(raw)
        assert isinstance(msg, Message), msg
        assert codec.encode(msg) == raw


def test_recorded_error_keeps_fields_the_spec_does_not_list() -> None:
    codec = AGENT_V1.server_codec
    wire = next(w for _, w in WIRE_OBJECTS if w["type"] == "Error")
    msg = codec.decode(orjson.dumps(wire))
    assert isinstance(msg, AgentV1Error)
    assert msg.description.startswith("Error parsing client message")
    assert msg.message == ""  # type: ignore[attr-defined]  # unknown field read as attribute
    assert msg.unknown_fields == {"message": ""}


CONFIGS = sorted(RECORDED.glob("*-config.json"))


def _refusal(config: Path) -> str | None:
    """The field the live service named when it refused this run's Settings, if it did."""
    error_file = config.with_name(config.name.replace("-config.json", "-error.json"))
    if not error_file.exists():
        return None
    for event in _events(error_file):
        found = re.search(r"Check the (\S+) field", event["data"].get("description") or "")
        if event["type"] == "Error" and found:
            return found.group(1)
    return None


def _settings_wire(config: Path) -> dict[str, Any]:
    agent = json.loads(config.read_text())["agent_config"]
    return {
        "type": "Settings",
        "audio": {"input": {"encoding": "linear16", "sample_rate": 16000}},
        "agent": agent,
    }


ACCEPTED = [c for c in CONFIGS if _refusal(c) is None]
REFUSED = [c for c in CONFIGS if _refusal(c) is not None]


def test_recorded_configs_include_accepted_and_refused_runs() -> None:
    assert len(ACCEPTED) >= 5
    assert len(REFUSED) >= 4


@pytest.mark.parametrize("path", ACCEPTED, ids=[p.name for p in ACCEPTED])
def test_accepted_agent_config_decodes_as_settings_and_round_trips(path: Path) -> None:
    wire = _settings_wire(path)
    codec = AGENT_V1.client_codec
    msg = codec.decode(orjson.dumps(wire))
    assert isinstance(msg, AgentV1Settings), msg
    assert isinstance(msg.agent, AgentV1SettingsAgent)
    assert codec.to_dict(msg) == wire
    assert unknown_field_paths(msg) == []
    if isinstance(wire["agent"]["speak"], list):
        assert isinstance(msg.agent.speak, list)
        assert all(isinstance(s, SpeakSettingsV1) for s in msg.agent.speak)


@pytest.mark.parametrize("path", REFUSED, ids=[p.name for p in REFUSED])
def test_refused_agent_config_is_flagged_where_the_service_flagged_it(path: Path) -> None:
    """The service named one bad field; we either refuse to decode or report it as unknown."""
    wire = _settings_wire(path)
    codec = AGENT_V1.client_codec
    msg = codec.decode(orjson.dumps(wire))
    named = _refusal(path)
    assert named is not None
    if isinstance(msg, DecodeError):
        assert named.split(".")[0] in msg.reason  # e.g. listen.provider given as a string
    else:
        assert isinstance(msg, AgentV1Settings)
        assert named in unknown_field_paths(msg)
        assert codec.to_dict(msg) == wire  # kept, not dropped


def test_legacy_function_fields_survive_as_unknown_fields() -> None:
    config = RECORDED / "comprehensive_conversation-67b42a09-config.json"
    agent = json.loads(config.read_text())["agent_config"]
    wire = {"type": "Settings", "audio": {}, "agent": agent}
    msg = AGENT_V1.client_codec.decode(orjson.dumps(wire))
    assert isinstance(msg, AgentV1Settings)
    assert isinstance(msg.agent, AgentV1SettingsAgent)
    think = msg.agent.think
    assert not isinstance(think, list) and think is not None and think.functions
    function = think.functions[0]
    assert function.name == "get_time"
    assert function.url == "https://worldtimeapi.org/api/timezone/Etc/UTC"  # type: ignore[attr-defined]
    assert function.method == "GET"  # type: ignore[attr-defined]
