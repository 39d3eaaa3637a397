"""Connect options through ``DeepgramClient``: types are checked locally, values by the server.

Deepgram's SDK sends whatever value a parameter is given and lets the service answer; so does the
client here. Each value below is refused by the (strict) local server with HTTP 400 and a
``dg-error`` naming the parameter, and that refusal -- not a local check -- is the user's error.
With ``strict_options=True`` (or ``ACTORS_STRICT_OPTIONS=1``) the old local ``OptionsError`` comes
back, before any connection is made.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from actors import AsyncDeepgramClient, DeepgramClient
from actors.environment import DeepgramClientEnvironment
from actors.errors import HandshakeError, OptionsError
from actors.server import LocalServer
from tests.client.helpers import client_for

#: (API, connect parameters, the parameter the server names): values the SDK sends unchecked.
SERVER_DECIDES = [
    ("listen.v1", {"model": "nova-3", "callback_method": "put"}, "callback_method"),
    ("listen.v1", {"model": "nova-3", "channels": 0}, "channels"),
    ("listen.v1", {"model": "nova-3", "smart_format": 1}, "smart_format"),
    ("listen.v2", {"model": "flux-general-en", "eot_threshold": 1.5}, "eot_threshold"),
    ("listen.v2", {"model": "flux-general-en", "eot_timeout_ms": 100}, "eot_timeout_ms"),
    ("speak.v1", {"sample_rate": 22050}, "sample_rate"),
    ("speak.v1", {"encoding": "opus"}, "encoding"),
]
IDS = [f"{api}-{name}" for api, _, name in SERVER_DECIDES]


def _connect(server: LocalServer, api: str, params: dict[str, Any]) -> Any:
    client = client_for(server)
    namespace, version = api.split(".")
    return getattr(getattr(client, namespace), version).connect(**params)


@pytest.mark.parametrize(("api", "params", "name"), SERVER_DECIDES, ids=IDS)
def test_the_value_is_sent_and_the_servers_400_is_the_users_error(
    local_server: LocalServer, api: str, params: dict[str, Any], name: str
) -> None:
    with pytest.raises(HandshakeError) as refused:
        _connect(local_server, api, params)
    error = refused.value
    assert error.status == error.status_code == 400
    assert error.request_id  # the server answered: the refusal is not a local one
    assert error.dg_error is not None and error.dg_error.startswith(f"{name}: ")
    assert "INVALID_QUERY_PARAMETER" in (error.body or "")
    assert error.fatal


def test_an_int_for_a_boolean_reaches_the_server_as_its_digits(local_server: LocalServer) -> None:
    with pytest.raises(HandshakeError) as refused:
        _connect(local_server, "listen.v1", {"model": "nova-3", "smart_format": 1})
    assert refused.value.dg_error == "smart_format: expected true or false, got str '1'"


@pytest.mark.parametrize(("api", "params", "name"), SERVER_DECIDES, ids=IDS)
def test_strict_options_refuses_locally_before_connecting(
    local_server: LocalServer, api: str, params: dict[str, Any], name: str
) -> None:
    with pytest.raises(OptionsError) as refused:
        _connect(local_server, api, {**params, "strict_options": True})
    assert refused.value.name == name


def test_the_environment_variable_makes_every_connection_strict(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACTORS_STRICT_OPTIONS", "1")
    with pytest.raises(OptionsError, match="channels: must be >= 1"):
        _connect(local_server, "listen.v1", {"model": "nova-3", "channels": 0})
    # An explicit strict_options=False wins over the environment.
    with pytest.raises(HandshakeError):
        _connect(local_server, "listen.v1", {"model": "nova-3", "channels": 0, "strict_options": False})


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"model": "nova-3", "smart_format": "yes"}, "smart_format"),
        ({"model": "nova-3", "channels": "two"}, "channels"),
        ({"model": "nova-3", "sample_rate": 16000.5}, "sample_rate"),
        ({"model": ["nova-3", "nova-2"]}, "model"),
        ({"model": "nova-3", "modle": "x"}, "modle"),
        ({"model": "nova-3", "strict_options": "yes"}, "strict_options"),
    ],
)
def test_wrong_types_are_still_refused_locally(
    local_server: LocalServer, params: dict[str, Any], name: str
) -> None:
    with pytest.raises(OptionsError) as refused:
        _connect(local_server, "listen.v1", params)
    assert refused.value.name == name


def test_valid_options_connect_in_both_modes(local_server: LocalServer) -> None:
    params = {"model": "nova-3", "encoding": "linear16", "sample_rate": 16000, "smart_format": True}
    for strict in (False, True):
        with _connect(local_server, "listen.v1", {**params, "strict_options": strict}) as socket:
            socket.send_close_stream()


def test_a_refusal_quoting_a_non_ascii_value_is_still_a_readable_400(local_server: LocalServer) -> None:
    # The server's dg-error quotes the value; as a header it must stay ASCII for the client to parse it.
    with pytest.raises(HandshakeError) as refused:
        _connect(local_server, "speak.v1", {"encoding": "é-voice"})
    assert refused.value.status == 400
    assert refused.value.dg_error is not None and "\\xe9-voice" in refused.value.dg_error
    assert "é-voice" in (refused.value.body or "")  # the JSON body keeps the text as is


def test_the_async_client_sends_values_as_given_too(local_server: LocalServer) -> None:
    async def scenario() -> BaseException:
        client = AsyncDeepgramClient(
            api_key="k", environment=DeepgramClientEnvironment.local(local_server.url)
        )
        try:
            async with client.listen.v2.connect(model="flux-general-en", eot_timeout_ms=100):
                pass
        except HandshakeError as exc:
            return exc
        raise AssertionError("the server accepted eot_timeout_ms=100")

    error = asyncio.run(scenario())
    assert isinstance(error, HandshakeError) and error.status == 400
    assert error.dg_error is not None and error.dg_error.startswith("eot_timeout_ms: ")


def test_a_strict_client_refuses_locally_on_every_connection(local_server: LocalServer) -> None:
    environment = DeepgramClientEnvironment.local(local_server.url)
    strict = DeepgramClient(environment=environment, strict_options=True)
    with pytest.raises(OptionsError, match="channels: must be >= 1"):
        strict.listen.v1.connect(model="nova-3", channels=0)
    # The per-call keyword wins over the client's setting.
    with pytest.raises(HandshakeError):
        strict.listen.v1.connect(model="nova-3", channels=0, strict_options=False)
    with pytest.raises(OptionsError, match="strict_options"):
        DeepgramClient(environment=environment, strict_options="yes")  # type: ignore[arg-type]
