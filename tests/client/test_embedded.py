"""A client made without credentials talks to the embedded local server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from actors import DeepgramClient
from actors.client.embedded import (
    ENGINE_ENV_VAR,
    embedded_engine,
    running_embedded_server,
    stop_embedded_server,
)
from actors.errors import OptionsError
from actors.listen.v1.types import ListenV1Results
from actors.server.engines.deterministic import silence, synthesize_words


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.delenv("DEEPGRAM_API_KEY", raising=False)
    stop_embedded_server()
    try:
        yield monkeypatch
    finally:
        stop_embedded_server()


def test_default_engine_is_real_and_overridable(no_credentials: pytest.MonkeyPatch) -> None:
    no_credentials.delenv(ENGINE_ENV_VAR, raising=False)
    assert embedded_engine() == "real"
    no_credentials.setenv(ENGINE_ENV_VAR, "deterministic")
    assert embedded_engine() == "deterministic"


def test_client_without_key_transcribes_on_the_embedded_server(no_credentials: pytest.MonkeyPatch) -> None:
    no_credentials.setenv(ENGINE_ENV_VAR, "deterministic")
    client = DeepgramClient()
    assert client.environment is None and client.uses_embedded_server
    assert running_embedded_server() is None  # started by the first connect, not before
    with client.listen.v1.connect(model="nova-3", encoding="linear16", sample_rate=16000) as socket:
        socket.send_listen_v_1_media(synthesize_words(["works", "offline"], 16000) + silence(0.2))
    words = [
        w.word
        for m in socket
        if isinstance(m, ListenV1Results) and m.is_final
        for w in m.channel.alternatives[0].words
    ]
    assert words == ["works", "offline"]
    server = running_embedded_server()
    assert server is not None and server.url.startswith("ws://127.0.0.1:")
    # One shared server per process: a second client reuses it.
    with DeepgramClient().speak.v1.connect():
        pass
    assert running_embedded_server() is server


def test_a_key_never_starts_the_embedded_server(no_credentials: pytest.MonkeyPatch) -> None:
    no_credentials.setenv("DEEPGRAM_API_KEY", "some-key")
    client = DeepgramClient()
    assert not client.uses_embedded_server
    assert client.environment is not None and client.environment.production == "wss://api.deepgram.com"
    assert running_embedded_server() is None


def test_unknown_engine_names_the_variable(no_credentials: pytest.MonkeyPatch) -> None:
    no_credentials.setenv(ENGINE_ENV_VAR, "nonsense")
    with pytest.raises(OptionsError, match=ENGINE_ENV_VAR):
        DeepgramClient().listen.v1.connect(model="nova-3")
