"""Client messages that cannot be parsed, on every endpoint: answered as Deepgram does, never an
uncaught exception (which the server would turn into a 1011 close).

The exact answers are pinned for the documented cases; a property test then mutates valid
control messages (one field replaced by an arbitrary JSON value, or removed) and checks that the
connection either answers a probe message afterwards or closes with a code the endpoint documents
for bad input -- never 1011, never an exception logged by the server.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

from actors.server import LocalServer
from tests.server.streaming import open_ws
from tests.support.agent import WEATHER, agent_settings

LISTEN = {"model": "nova-3", "encoding": "linear16", "sample_rate": 16000}
FLUX = {"model": "flux-general-en", "encoding": "linear16", "sample_rate": 16000}
PARSE_ERROR = "Error parsing client message. Check the {} field against the API spec."


def first_json(ws: ClientConnection) -> dict[str, Any]:
    """The next JSON message (binary frames skipped)."""
    while True:
        frame = ws.recv(timeout=5)
        if isinstance(frame, str):
            return dict(json.loads(frame))


@pytest.fixture
def server_errors(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    """ERROR records the server logs (a hook raising is logged with its traceback)."""
    caplog.set_level(logging.ERROR, logger="actors.server")
    records: list[logging.LogRecord] = []
    yield records
    records.extend(r for r in caplog.records if r.name.startswith("actors.server"))
    assert not records, [r.getMessage() for r in records]


# -- Agent V1 ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def open_agent(server: LocalServer) -> Iterator[ClientConnection]:
    """An agent connection past its Welcome."""
    with open_ws(server, "/v1/agent/converse") as ws:
        assert first_json(ws)["type"] == "Welcome"
        yield ws


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("agent.listen.provider.model", 42),
        ("agent.listen.provider.language", ["en"]),
        ("agent.think.provider.model", 42),
        ("agent.think.provider.temperature", "hot"),
        ("agent.think.functions", "none"),
        ("agent.speak.provider.model", 42),
        ("agent.greeting", {"text": "hi"}),
        ("audio.input.sample_rate", "fast"),
        ("flags.history", "yes"),
    ],
)
def test_wrong_typed_settings_field_gets_unparsable_client_message(
    local_server: LocalServer, server_errors: list[logging.LogRecord], path: str, value: Any
) -> None:
    message = agent_settings(
        think={"provider": {"type": "open_ai", "model": "gpt-4o-mini"}, "functions": [WEATHER]},
        speak={"provider": {"type": "deepgram", "model": "aura-2-thalia-en"}},
    )
    message["flags"] = {"history": True}
    *parents, last = path.split(".")
    target = message
    for key in parents:
        target = target[key]
    target[last] = value
    with open_agent(local_server) as ws:
        ws.send(json.dumps(message))
        assert first_json(ws) == {
            "type": "Error",
            "description": PARSE_ERROR.format(path),
            "code": "UNPARSABLE_CLIENT_MESSAGE",
        }
        ws.send(json.dumps(agent_settings()))  # the session is still open and waits for Settings
        assert first_json(ws) == {"type": "SettingsApplied"}


def test_a_v2_listen_provider_with_a_bad_field_is_named_against_v2(
    local_server: LocalServer, server_errors: list[logging.LogRecord]
) -> None:
    message = agent_settings()
    message["agent"]["listen"]["provider"] = {"type": "deepgram", "version": "v2", "model": 42}
    with open_agent(local_server) as ws:
        ws.send(json.dumps(message))
        assert first_json(ws)["description"] == PARSE_ERROR.format("agent.listen.provider.model")


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"type": "InjectUserMessage", "content": 5}, "content"),
        ({"type": "InjectAgentMessage", "message": ["hi"]}, "message"),
        ({"type": "FunctionCallResponse", "id": "c", "name": 3, "content": "x"}, "name"),
        ({"type": "FunctionCallResponse", "id": "c", "name": "f", "content": {"a": 1}}, "content"),
        ({"type": "UpdatePrompt", "prompt": 7}, "prompt"),
        (
            {"type": "UpdateSpeak", "speak": {"provider": {"type": "deepgram", "model": 42}}},
            "speak.provider.model",
        ),
        (
            {"type": "UpdateThink", "think": {"provider": {"type": "open_ai", "model": 1}}},
            "think.provider.model",
        ),
        (
            {"type": "UpdateListen", "listen": {"provider": {"type": "deepgram", "model": 1}}},
            "listen.provider.model",
        ),
    ],
)
def test_wrong_typed_field_of_other_agent_messages_is_named(
    local_server: LocalServer, server_errors: list[logging.LogRecord], message: dict[str, Any], field: str
) -> None:
    with open_agent(local_server) as ws:
        ws.send(json.dumps(agent_settings()))
        assert first_json(ws) == {"type": "SettingsApplied"}
        ws.send(json.dumps(message))
        assert first_json(ws) == {
            "type": "Error",
            "description": PARSE_ERROR.format(field),
            "code": "UNPARSABLE_CLIENT_MESSAGE",
        }
        ws.send(json.dumps({"type": "UpdatePrompt", "prompt": "still here"}))
        assert first_json(ws) == {"type": "PromptUpdated"}


def test_update_speak_accepts_a_fallback_chain(local_server: LocalServer) -> None:
    chain = [{"provider": {"type": "deepgram", "model": "aura-2-thalia-en"}}] * 2
    with open_agent(local_server) as ws:
        ws.send(json.dumps(agent_settings()))
        assert first_json(ws) == {"type": "SettingsApplied"}
        ws.send(json.dumps({"type": "UpdateSpeak", "speak": chain}))
        assert first_json(ws) == {"type": "SpeakUpdated"}


@pytest.mark.parametrize(
    "frame", ["{not json", "[1, 2]", '"Settings"', '{"type": 5}', '{"kind": "Settings"}']
)
def test_agent_text_that_is_not_a_typed_object_gets_unparsable(
    local_server: LocalServer, server_errors: list[logging.LogRecord], frame: str
) -> None:
    with open_agent(local_server) as ws:
        ws.send(frame)
        error = first_json(ws)
        assert error["type"] == "Error" and error["code"] == "UNPARSABLE_CLIENT_MESSAGE"
        ws.send(json.dumps(agent_settings()))
        assert first_json(ws) == {"type": "SettingsApplied"}


# -- Speak V1 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "code", "reason"),
    [
        (b"\x00\x01", 1003, "MESSAGE-0000"),
        ("{not json", 1008, "DATA-0000"),
        ('["Speak"]', 1008, "DATA-0000"),
        ('{"type": "Dance"}', 1008, "DATA-0000"),
        ('{"type": "Speak", "text": 5}', 1008, "DATA-0000"),
        ('{"type": "Speak"}', 1008, "DATA-0000"),
    ],
)
def test_speak_refuses_bad_frames_with_its_close_codes(
    local_server: LocalServer,
    server_errors: list[logging.LogRecord],
    frame: str | bytes,
    code: int,
    reason: str,
) -> None:
    with open_ws(local_server, "/v1/speak") as ws:
        assert first_json(ws)["type"] == "Metadata"
        ws.send(frame)
        with pytest.raises(ConnectionClosed) as closed:
            first_json(ws)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (code, reason)


def test_speak_text_with_an_overlong_word_is_spoken_not_a_crash(
    local_server: LocalServer, server_errors: list[logging.LogRecord]
) -> None:
    with open_ws(local_server, "/v1/speak") as ws:
        assert first_json(ws)["type"] == "Metadata"
        ws.send(json.dumps({"type": "Speak", "text": "x" * 1999}))
        ws.send(json.dumps({"type": "Flush"}))
        assert first_json(ws)["type"] == "Flushed"


# -- Listen V1 and Flux ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        "{not json",
        "[]",
        '{"type": "Dance"}',
        '{"type": "Finalize", "channel": "zero"}',
        '{"type": "Sync", "id": "seven"}',
        '{"type": "Sync"}',
        '{"type": "Configure", "keyterms": 5}',
        '{"type": "Configure", "features": {"numerals": "yes"}}',
    ],
)
def test_listen_v1_bad_control_message_gets_schema_error_and_stays_open(
    local_server: LocalServer, server_errors: list[logging.LogRecord], frame: str
) -> None:
    with open_ws(local_server, "/v1/listen", LISTEN) as ws:
        ws.send(frame)
        error = first_json(ws)
        assert (error["type"], error["variant"], error["message"]) == ("Error", "SchemaError", frame)
        ws.send(json.dumps({"type": "Sync", "id": 3}))
        assert first_json(ws) == {"type": "Sync", "id": 3}


@pytest.mark.parametrize("frame", ["{not json", "[]", '{"type": "Dance"}', '{"type": "KeepAlive"}'])
def test_flux_unparsable_message_gets_a_warning_and_stays_open(
    local_server: LocalServer, server_errors: list[logging.LogRecord], frame: str
) -> None:
    with open_ws(local_server, "/v2/listen", FLUX) as ws:
        assert first_json(ws)["type"] == "Connected"
        ws.send(frame)
        warning = first_json(ws)
        assert (warning["type"], warning["code"]) == ("Warning", "UNPARSABLE_CLIENT_MESSAGE")
        assert warning["sequence_id"] == 1


@pytest.mark.parametrize(
    ("configure", "named"),
    [
        ({"thresholds": {"eot_threshold": "high"}}, "eot_threshold"),
        ({"thresholds": [0.7]}, "thresholds"),
        ({"keyterms": [1, 2]}, "keyterms"),
        ({"language_hints": "en"}, "language_hints"),
        ({"numerals": "yes"}, "numerals"),
    ],
)
def test_flux_configure_with_a_wrong_type_gets_configure_failure_naming_it(
    local_server: LocalServer, server_errors: list[logging.LogRecord], configure: dict[str, Any], named: str
) -> None:
    with open_ws(local_server, "/v2/listen", FLUX) as ws:
        assert first_json(ws)["type"] == "Connected"
        ws.send(json.dumps({"type": "Configure", **configure}))
        failure = first_json(ws)
        assert failure["type"] == "ConfigureFailure" and named in failure["description"]


# -- property: any mutation of a valid message is answered, never crashes ------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path inside ``value`` (dict keys and list indices)."""
    found: list[tuple[Any, ...]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, item in items:
        found.append((*prefix, key))
        found.extend(_paths(item, (*prefix, key)))
    return found


@st.composite
def mutated(draw: st.DrawFn, templates: list[dict[str, Any]]) -> dict[str, Any]:
    """A template with one value replaced by arbitrary JSON, or removed (``type`` included)."""
    message = copy.deepcopy(draw(st.sampled_from(templates)))
    path = draw(st.sampled_from(_paths(message)))
    parent: Any = message
    for key in path[:-1]:
        parent = parent[key]
    if draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(JSON_VALUES)
    return message


AGENT_TEMPLATES = [
    agent_settings(
        think={
            "provider": {"type": "open_ai", "model": "gpt-4o-mini"},
            "functions": [WEATHER],
            "prompt": "p",
        },
        speak=[{"provider": {"type": "deepgram", "model": "aura-2-thalia-en"}}],
        greeting="hello",
    ),
    {"type": "InjectUserMessage", "content": "hello there"},
    {"type": "InjectAgentMessage", "message": "I am here", "behavior": "default"},
    {"type": "FunctionCallResponse", "id": "call_1", "name": "get_weather", "content": "sunny"},
    {"type": "UpdatePrompt", "prompt": "be brief"},
    {"type": "UpdateSpeak", "speak": {"provider": {"type": "deepgram", "model": "aura-2-thalia-en"}}},
    {"type": "UpdateThink", "think": {"provider": {"type": "open_ai", "model": "gpt-4o"}}},
    {
        "type": "UpdateListen",
        "listen": {"provider": {"type": "deepgram", "version": "v2", "model": "flux-general-en"}},
    },
]
LISTEN_TEMPLATES = [
    {"type": "Finalize", "channel": 0},
    {"type": "Sync", "id": 1},
    {"type": "Configure", "features": {"numerals": True}, "keyterms": ["deepgram"]},
]
FLUX_TEMPLATES = [
    {
        "type": "Configure",
        "thresholds": {"eot_threshold": 0.7, "eager_eot_threshold": 0.5, "eot_timeout_ms": 900},
        "keyterms": ["deepgram"],
        "language_hints": ["en"],
        "numerals": True,
    },
    {"type": "ForceEndTurn"},
]
SPEAK_TEMPLATES = [{"type": "Speak", "text": "hello world"}, {"type": "Flush"}, {"type": "Clear"}]
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _answers_probe(ws: ClientConnection, probe: dict[str, Any], *replies: dict[str, Any]) -> None:
    """Send ``probe``; read until a message containing the items of one of ``replies``."""
    ws.send(json.dumps(probe))
    while True:
        message = first_json(ws)
        if any(message.items() >= reply.items() for reply in replies):
            return


@FUZZ
@given(message=mutated(AGENT_TEMPLATES), settings_first=st.booleans())
def test_agent_survives_any_mutated_message(
    local_server: LocalServer,
    server_errors: list[logging.LogRecord],
    message: dict[str, Any],
    settings_first: bool,
) -> None:
    with open_agent(local_server) as ws:
        if settings_first:
            ws.send(json.dumps(agent_settings()))
            assert first_json(ws) == {"type": "SettingsApplied"}
        ws.send(json.dumps(message))
        probe = {"type": "UpdatePrompt", "prompt": "probe"}
        _answers_probe(ws, probe, {"type": "PromptUpdated"}, {"code": "SETTINGS_REQUIRED"})


@FUZZ
@given(message=mutated(LISTEN_TEMPLATES))
def test_listen_v1_survives_any_mutated_control_message(
    local_server: LocalServer, server_errors: list[logging.LogRecord], message: dict[str, Any]
) -> None:
    with open_ws(local_server, "/v1/listen", LISTEN) as ws:
        ws.send(bytes(3200))
        ws.send(json.dumps(message))
        _answers_probe(ws, {"type": "Sync", "id": 424242}, {"type": "Sync", "id": 424242})


@FUZZ
@given(message=mutated(FLUX_TEMPLATES))
def test_flux_survives_any_mutated_control_message(
    local_server: LocalServer, server_errors: list[logging.LogRecord], message: dict[str, Any]
) -> None:
    with open_ws(local_server, "/v2/listen", FLUX) as ws:
        assert first_json(ws)["type"] == "Connected"
        ws.send(bytes(3200))
        ws.send(json.dumps(message))
        _answers_probe(ws, {"type": "ForceEndTurn"}, {"code": "FORCE_END_TURN_NO_ACTIVE_TURN"})


@FUZZ
@given(message=mutated(SPEAK_TEMPLATES))
def test_speak_survives_any_mutated_message(
    local_server: LocalServer, server_errors: list[logging.LogRecord], message: dict[str, Any]
) -> None:
    with open_ws(local_server, "/v1/speak") as ws:
        assert first_json(ws)["type"] == "Metadata"
        ws.send(json.dumps(message))
        try:
            _answers_probe(ws, {"type": "Clear"}, {"type": "Cleared"})
        except ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code in (1008, 1009), closed
