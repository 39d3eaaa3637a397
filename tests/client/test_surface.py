"""The client surface that needs no server: names, environment, request options, credentials."""

from __future__ import annotations

import subprocess
import sys

import pytest

import actors
from actors.client.client import DeepgramClient, build_config
from actors.client.request_options import parse_request_options
from actors.client.sockets import CallbackRegistry
from actors.core.events import EventType
from actors.environment import DeepgramClientEnvironment
from actors.errors import ApiError, HandshakeError, OptionsError
from actors.protocol.apis import AGENT_V1, SPEAK_V1, ApiSpec, all_apis

from .helpers import socket_class

REFERENCE_SEND_METHODS = {
    "listen.v1": [
        "send_listen_v_1_media",
        "send_listen_v_1_finalize",
        "send_listen_v_1_close_stream",
        "send_listen_v_1_keep_alive",
        "send_listen_v_1_configure",
    ],
    "listen.v2": [
        "send_listen_v_2_media",
        "send_listen_v_2_close_stream",
        "send_listen_v_2_force_end_turn",
        "send_listen_v_2_configure",
    ],
    "speak.v1": [
        "send_speak_v_1_text",
        "send_speak_v_1_flush",
        "send_speak_v_1_clear",
        "send_speak_v_1_close",
    ],
    "speak.v2": [
        "send_speak_v_2_speak",
        "send_speak_v_2_flush",
        "send_speak_v_2_interrupt",
        "send_speak_v_2_configure",
        "send_speak_v_2_close",
    ],
    "agent.v1": [
        "send_agent_v_1_settings",
        "send_agent_v_1_media",
        "send_agent_v_1_keep_alive",
        "send_agent_v_1_update_speak",
        "send_agent_v_1_update_prompt",
        "send_agent_v_1_update_listen",
        "send_agent_v_1_update_think",
        "send_agent_v_1_inject_user_message",
        "send_agent_v_1_inject_agent_message",
        "send_agent_v_1_send_function_call_response",
        "send_agent_v_1_force_end_turn",
        "send_agent_v_1_update_think_live",
        "send_agent_v_1_inject_dynamic_agent_message",
        "send_agent_v_1_custom_to_think_provider",
    ],
}
SDK_SHORT_NAMES = {
    "speak.v2": ["send_speak", "send_flush", "send_interrupt", "send_configure", "send_close"],
    "listen.v1": ["send_media", "send_finalize", "send_close_stream", "send_keep_alive", "send_configure"],
    "agent.v1": [
        "send_settings",
        "send_function_call_response",
        "send_update_think",
        "send_inject_user_message",
    ],
}


def test_event_type_values_match_the_sdk() -> None:
    assert [e.value for e in EventType] == ["open", "message", "error", "close"]
    assert EventType.MESSAGE == "message"
    assert actors.EventType is EventType


@pytest.mark.parametrize("api", all_apis(), ids=lambda api: api.name)
def test_every_reference_send_method_exists_on_sync_and_async_sockets(api: ApiSpec) -> None:
    prefix = "send_" + api.name.replace(".v", "_v_")  # listen.v1 -> send_listen_v_1
    for cls in (socket_class(api, is_async=False), socket_class(api, is_async=True)):
        for name in [*REFERENCE_SEND_METHODS[api.name], *SDK_SHORT_NAMES.get(api.name, [])]:
            assert callable(getattr(cls, name, None)), f"{cls.__name__}.{name} missing"
        written = {name for name in vars(cls) if name.startswith(prefix + "_")}
        assert written == set(REFERENCE_SEND_METHODS[api.name]), cls


def test_import_actors_is_lazy_and_cheap() -> None:
    code = (
        "import sys, actors\n"
        "heavy = [m for m in ('pykka', 'websocket', 'attrs', 'cattrs', 'actors.client', 'actors.runtime')"
        " if m in sys.modules]\n"
        "print(heavy)\n"
        "from actors import DeepgramClient, AsyncDeepgramClient, DeepgramClientEnvironment, EventType\n"
        "print(DeepgramClient.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["[]", "DeepgramClient"]


def test_unknown_top_level_name_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        actors.Nope  # noqa: B018


def test_environment_defaults_and_local() -> None:
    prod = DeepgramClientEnvironment.PRODUCTION
    assert (prod.base, prod.production, prod.agent, prod.agent_rest) == (
        "https://api.deepgram.com",
        "wss://api.deepgram.com",
        "wss://agent.deepgram.com",
        "https://agent.deepgram.com",
    )
    local = DeepgramClientEnvironment.local("ws://127.0.0.1:8765/")
    assert local.production == local.agent == "ws://127.0.0.1:8765"
    assert local.base == "http://127.0.0.1:8765"
    assert local.is_local and not prod.is_local
    assert DeepgramClientEnvironment.local("https://h.example").production == "wss://h.example"


def test_environment_rejects_a_non_websocket_url() -> None:
    with pytest.raises(OptionsError, match="production"):
        DeepgramClientEnvironment(
            base="https://x", production="http://x", agent="wss://x", agent_rest="https://x"
        )
    with pytest.raises(OptionsError, match="url"):
        DeepgramClientEnvironment.local("127.0.0.1:8765")


def test_request_options_keep_socket_parts_and_reject_unknown_keys() -> None:
    parsed = parse_request_options(
        {
            "additional_headers": {"X-Trace": "abc", "X-None": None},
            "additional_query_parameters": {"tag": ["a", "b"], "flag": True, "n": 3},
            "timeout_in_seconds": 4,
            "max_retries": 2,
        }
    )
    assert parsed.headers == {"X-Trace": "abc"}
    assert parsed.query == [("tag", "a"), ("tag", "b"), ("flag", "true"), ("n", "3")]
    assert parsed.timeout == 4.0
    with pytest.raises(OptionsError, match="unknown key"):
        parse_request_options({"additional_header": {}})
    with pytest.raises(OptionsError, match="timeout"):
        parse_request_options({"timeout": -1})
    with pytest.raises(OptionsError, match="additional_query_parameters"):
        parse_request_options({"additional_query_parameters": {"x": {"nested": 1}}})


def test_handshake_error_is_an_api_error_with_sdk_fields() -> None:
    error = HandshakeError(
        401, "Invalid credentials.", "rid-1", '{"err_code":"INVALID_AUTH"}', {"dg-error": "x"}
    )
    assert isinstance(error, ApiError)
    assert (error.status_code, error.request_id, error.dg_error) == (401, "rid-1", "Invalid credentials.")
    assert error.headers == {"dg-error": "x"}
    from actors.core.api_error import ApiError as CoreApiError

    assert CoreApiError is ApiError


def test_client_without_credentials_and_remote_environment_raises_api_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DEEPGRAM_API_KEY", raising=False)
    remote = DeepgramClientEnvironment(
        base="https://dg.example",
        production="wss://dg.example",
        agent="wss://dg.example",
        agent_rest="https://x.y",
    )
    with pytest.raises(ApiError, match="DEEPGRAM_API_KEY"):
        DeepgramClient(environment=remote)


def test_client_reads_the_key_from_the_environment_and_never_shows_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEEPGRAM_API_KEY", "secret-key-1234567890")
    client = DeepgramClient(environment=DeepgramClientEnvironment.local("ws://127.0.0.1:1"))
    assert client._settings.auth.secret == "secret-key-1234567890"
    assert "secret-key" not in repr(client)


def test_client_without_anything_uses_the_embedded_server_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEEPGRAM_API_KEY", raising=False)
    client = DeepgramClient()
    assert client.environment is None  # nothing started yet
    assert "embedded" in repr(client)


def test_client_rejects_unknown_arguments_and_accepts_sdk_http_ones() -> None:
    with pytest.raises(OptionsError, match="api_kye"):
        DeepgramClient(api_kye="x")
    DeepgramClient(api_key="k", max_retries=3, follow_redirects=True, telemetry_opt_out=True)
    with pytest.raises(OptionsError, match="finish_timeout"):
        DeepgramClient(api_key="k", finish_timeout=0)


def test_access_token_becomes_bearer_and_authorization_overrides_per_connection() -> None:
    env = DeepgramClientEnvironment.local("ws://127.0.0.1:1")
    client = DeepgramClient(access_token="jwt-abc", environment=env)
    config = build_config(client._settings, SPEAK_V1, {}, None, None)
    assert config.auth is not None and config.auth.header() == ("Authorization", "Bearer jwt-abc")
    config = build_config(client._settings, SPEAK_V1, {}, "Token other", {"additional_headers": {"X-A": "1"}})
    assert config.auth is None
    assert config.headers["Authorization"] == "Token other"
    assert config.headers["X-A"] == "1"
    assert "x-deepgram-session-id" in config.headers


def test_agent_connect_takes_no_query_parameters() -> None:
    client = DeepgramClient(api_key="k", environment=DeepgramClientEnvironment.local("ws://127.0.0.1:1"))
    with pytest.raises(OptionsError, match="model"):
        build_config(client._settings, AGENT_V1, {"model": "x"}, None, None)
    config = build_config(client._settings, AGENT_V1, {}, None, {"timeout": 3})
    assert config.base_url == "ws://127.0.0.1:1"
    assert config.connect_timeout == 3.0


def test_callback_registry_reports_a_raising_callback_as_error() -> None:
    registry = CallbackRegistry()
    errors: list[BaseException] = []
    seen: list[object] = []

    def boom(payload: object) -> None:
        raise ValueError("callback bug")

    registry.add(EventType.MESSAGE, boom)
    registry.add("message", seen.append)
    registry.add(EventType.ERROR, errors.append)
    registry.emit(EventType.MESSAGE, "m1")
    assert seen == ["m1"]  # the second callback still ran
    assert [str(e) for e in errors] == ["callback bug"]
    with pytest.raises(OptionsError, match="event_name"):
        registry.add("opened", print)
