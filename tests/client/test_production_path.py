"""A keyed client with no environment reaches Deepgram's production hosts -- proven offline.

The local server runs behind TLS with a certificate for ``api.deepgram.com`` and
``agent.deepgram.com`` from a throwaway test CA; those names resolve to it for this process only
(``tests.support.resolver``: any other non-loopback lookup is refused and fails the test). Each
API is used sync and async by a client given only a credential: the server must see the right
SNI name, ``Host`` header and ``Authorization``, the client must verify the certificate against
the test CA, refuse it under any other trust, and never start the embedded server.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from actors import AsyncDeepgramClient, DeepgramClient
from actors.agent.v1.types import AgentV1SettingsApplied, AgentV1Welcome
from actors.client.embedded import running_embedded_server, stop_embedded_server
from actors.environment import DeepgramClientEnvironment
from actors.listen.v2.types import ListenV2Connected
from actors.runtime.classify import Outcome, classify_error
from actors.runtime.transport import shared_ssl_context
from actors.server import LocalServer
from actors.server.observed import HandshakeSeen
from actors.speak.v1.types import SpeakV1Flushed, SpeakV1Text
from tests.client.helpers import PARAMS, WAIT, final_words, speech
from tests.support.agent import agent_settings
from tests.support.resolver import loopback_resolver
from tests.support.tls import AGENT_HOST, API_HOST, Handshakes, ThrowawayPki, deepgram_over_tls, make_test_pki

KEY = "prod-path-key-0123456789"
JWT = "prod-path-jwt-abcdefghij"
WORDS = ["over", "tls"]
#: API -> the host its production URL names.
HOSTS = {"listen.v1": API_HOST, "listen.v2": API_HOST, "speak.v1": API_HOST, "agent.v1": AGENT_HOST}
FLUX = {"model": "flux-general-en", "encoding": "linear16", "sample_rate": 16000}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> ThrowawayPki:
    return make_test_pki(tmp_path_factory.mktemp("pki"), [API_HOST, AGENT_HOST])


@pytest.fixture(scope="module")
def handshakes() -> Handshakes:
    return Handshakes()


@pytest.fixture(scope="module")
def tls_server(pki: ThrowawayPki, handshakes: Handshakes) -> Iterator[LocalServer]:
    """The local server as Deepgram: TLS with the test certificate, only KEY and JWT accepted."""
    with deepgram_over_tls(pki, {KEY, JWT}, handshakes) as server:
        yield server


@pytest.fixture
def deepgram(
    tls_server: LocalServer, handshakes: Handshakes, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Handshakes]:
    """Deepgram's hosts on 443 resolve to the TLS server; no other remote name may be looked up."""
    monkeypatch.delenv("DEEPGRAM_API_KEY", raising=False)
    for proxy in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)
    stop_embedded_server()
    handshakes.take()
    local = ("127.0.0.1", tls_server.port)
    with loopback_resolver({(API_HOST, 443): local, (AGENT_HOST, 443): local}):
        yield handshakes
    assert running_embedded_server() is None, "a keyed client started the embedded server"


# --- one short exchange per API, sync and async ------------------------------------------------------


def sync_exchange(client: DeepgramClient, api: str) -> None:
    """Open ``api`` on ``client`` and check data flows both ways over the connection."""
    if api == "listen.v1":
        with client.listen.v1.connect(**PARAMS) as socket:
            socket.send_listen_v_1_media(speech(WORDS))
        assert final_words(list(socket)) == WORDS
    elif api == "listen.v2":
        with client.listen.v2.connect(**FLUX) as socket:
            assert isinstance(socket.recv(timeout=WAIT), ListenV2Connected)
            socket.send_listen_v_2_media(speech(WORDS))
    elif api == "speak.v1":
        with client.speak.v1.connect(encoding="linear16", sample_rate=16000) as socket:
            socket.send_text(SpeakV1Text(text="hello over tls"))
            socket.send_flush()
            seen = [socket.recv(timeout=WAIT)]
            while not isinstance(seen[-1], SpeakV1Flushed):
                seen.append(socket.recv(timeout=WAIT))
        assert any(isinstance(m, bytes) and m for m in seen)
    else:
        with client.agent.v1.connect() as socket:
            assert isinstance(socket.recv(timeout=WAIT), AgentV1Welcome)
            socket.send_settings(agent_settings())
            assert isinstance(socket.recv(timeout=WAIT), AgentV1SettingsApplied)


async def async_exchange(client: AsyncDeepgramClient, api: str) -> None:
    """The async twin of :func:`sync_exchange`."""
    if api == "listen.v1":
        async with client.listen.v1.connect(**PARAMS) as socket:
            await socket.send_listen_v_1_media(speech(WORDS))
            await socket.send_listen_v_1_close_stream()
            messages = [m async for m in socket]
        assert final_words(messages) == WORDS
    elif api == "listen.v2":
        async with client.listen.v2.connect(**FLUX) as socket:
            assert isinstance(await socket.recv(timeout=WAIT), ListenV2Connected)
            await socket.send_listen_v_2_media(speech(WORDS))
    elif api == "speak.v1":
        async with client.speak.v1.connect(encoding="linear16", sample_rate=16000) as socket:
            await socket.send_text(SpeakV1Text(text="hello over tls"))
            await socket.send_flush()
            seen = [await socket.recv(timeout=WAIT)]
            while not isinstance(seen[-1], SpeakV1Flushed):
                seen.append(await socket.recv(timeout=WAIT))
        assert any(isinstance(m, bytes) and m for m in seen)
    else:
        async with client.agent.v1.connect() as socket:
            assert isinstance(await socket.recv(timeout=WAIT), AgentV1Welcome)
            await socket.send_settings(agent_settings())
            assert isinstance(await socket.recv(timeout=WAIT), AgentV1SettingsApplied)


def run(mode: str, api: str, pki: ThrowawayPki, **credential: str) -> DeepgramClient | AsyncDeepgramClient:
    """Make a client of ``mode`` with ``credential`` and no environment, check where it points,
    run the exchange for ``api``; returns the client."""
    client: DeepgramClient | AsyncDeepgramClient
    if mode == "sync":
        client = DeepgramClient(ssl_context=pki.client_context(), **credential)
    else:
        client = AsyncDeepgramClient(ssl_context=pki.client_context(), **credential)
    assert client.environment == DeepgramClientEnvironment.PRODUCTION
    assert not client.uses_embedded_server
    if isinstance(client, DeepgramClient):
        sync_exchange(client, api)
    else:
        asyncio.run(asyncio.wait_for(async_exchange(client, api), 3 * WAIT))
    return client


def check_seen(seen: list[HandshakeSeen], api: str, authorization: str) -> None:
    """One TLS handshake, to ``api``'s production host (SNI and Host), carrying ``authorization``."""
    assert len(seen) == 1, seen
    host = HOSTS[api]
    assert seen[0].tls
    assert seen[0].server_name == host
    assert seen[0].headers["host"] == host  # port 443 is implied, as for Deepgram
    assert seen[0].headers["authorization"] == authorization
    assert seen[0].path.startswith(f"/v{api[-1]}/{api.split('.')[0]}")
    assert authorization.split()[1] not in repr(seen[0])  # the record's repr masks the credential


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("api", list(HOSTS))
def test_api_key_and_no_environment_reaches_the_production_host(
    deepgram: Handshakes, pki: ThrowawayPki, api: str, mode: str
) -> None:
    run(mode, api, pki, api_key=KEY)
    check_seen(deepgram.take(), api, f"Token {KEY}")


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_deepgram_api_key_variable_reaches_the_production_host(
    deepgram: Handshakes, pki: ThrowawayPki, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.setenv("DEEPGRAM_API_KEY", KEY)
    client = run(mode, "listen.v1", pki)
    check_seen(deepgram.take(), "listen.v1", f"Token {KEY}")
    assert KEY not in repr(client)


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("api", ["speak.v1", "agent.v1"])
def test_access_token_and_no_environment_sends_bearer(
    deepgram: Handshakes, pki: ThrowawayPki, api: str, mode: str
) -> None:
    client = run(mode, api, pki, access_token=JWT)
    check_seen(deepgram.take(), api, f"Bearer {JWT}")
    assert JWT not in repr(client)


def test_the_default_trust_store_honours_ssl_cert_file(
    deepgram: Handshakes, pki: ThrowawayPki, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No ssl_context: the shared default context, built for the current SSL_CERT_FILE."""
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_cert))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    sync_exchange(DeepgramClient(api_key=KEY), "speak.v1")
    check_seen(deepgram.take(), "speak.v1", f"Token {KEY}")


def test_the_shared_context_is_built_once_per_trust_setting(
    monkeypatch: pytest.MonkeyPatch, pki: ThrowawayPki
) -> None:
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    system = shared_ssl_context()
    assert shared_ssl_context() is system
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_cert))
    private = shared_ssl_context()
    assert private is not system and shared_ssl_context() is private
    monkeypatch.delenv("SSL_CERT_FILE")
    assert shared_ssl_context() is system


def verification_failure(connect: Callable[[], Any]) -> ssl.SSLCertVerificationError:
    with pytest.raises(ssl.SSLCertVerificationError) as caught:
        connect()
    error = caught.value
    text = "".join(str(e) for e in (error, error.__cause__, error.__context__) if e is not None)
    assert KEY not in text and JWT not in text
    return error


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("trust", ["other-ca", "system"])
def test_a_certificate_the_client_does_not_trust_is_rejected_clearly(
    deepgram: Handshakes, pki: ThrowawayPki, monkeypatch: pytest.MonkeyPatch, trust: str, mode: str
) -> None:
    if trust == "system":
        for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
            monkeypatch.delenv(name, raising=False)
        kwargs: dict[str, Any] = {}
    else:
        kwargs = {"ssl_context": pki.wrong_client_context()}
    if mode == "sync":
        client = DeepgramClient(api_key=KEY, **kwargs)
        error = verification_failure(lambda: client.agent.v1.connect())
    else:
        aclient = AsyncDeepgramClient(api_key=KEY, **kwargs)

        async def connect() -> None:
            async with aclient.agent.v1.connect():
                pass

        error = verification_failure(lambda: asyncio.run(connect()))
    message = str(error)
    assert message.startswith(f"TLS certificate verification failed for {AGENT_HOST}:"), message
    assert "unable to get local issuer certificate" in message
    assert ("ssl_context given" in message) == (trust == "other-ca")
    assert error.verify_code is not None
    # The handshake never happened: no request reached the server.
    assert deepgram.take() == []
    # Retrying would meet the same certificate: a supervisor does not restart such a failure.
    assert classify_error(error) is Outcome.FATAL


def test_reading_environment_or_repr_starts_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEEPGRAM_API_KEY", raising=False)
    stop_embedded_server()
    for client_type in (DeepgramClient, AsyncDeepgramClient):
        embedded = client_type()
        assert embedded.environment is None and embedded.uses_embedded_server
        assert "embedded local server" in repr(embedded)
        keyed = client_type(api_key=KEY)
        assert keyed.environment == DeepgramClientEnvironment.PRODUCTION
        assert "wss://api.deepgram.com" in repr(keyed) and KEY not in repr(keyed)
    assert running_embedded_server() is None


def test_explicit_production_without_a_credential_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from actors.errors import ApiError

    monkeypatch.delenv("DEEPGRAM_API_KEY", raising=False)
    with pytest.raises(ApiError, match="DEEPGRAM_API_KEY"):
        DeepgramClient(environment=DeepgramClientEnvironment.PRODUCTION)


def test_resolver_refuses_and_reports_other_names() -> None:
    """The guard itself: an unmapped remote name is refused (no DNS query) and fails the block."""
    import socket

    guarded = loopback_resolver({(API_HOST, 443): ("127.0.0.1", 1)})
    with pytest.raises(AssertionError, match=r"example\.com:443"), guarded:
        with pytest.raises(socket.gaierror):
            socket.getaddrinfo("example.com", 443)
        assert socket.getaddrinfo(API_HOST, 443)[0][4][:2] == ("127.0.0.1", 1)
        assert socket.getaddrinfo("localhost", 80)
    assert socket.getaddrinfo is not guarded  # uninstalled again


def test_a_trusted_certificate_for_another_host_is_rejected(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hostname checking is on: a certificate from a trusted CA that does not name Deepgram's host fails."""
    monkeypatch.delenv("DEEPGRAM_API_KEY", raising=False)
    stop_embedded_server()
    other = make_test_pki(tmp_path_factory.mktemp("other-host-pki"), ["api.example.invalid"])
    seen = Handshakes()
    with LocalServer(
        engine="deterministic", ssl_context=other.server_context(), api_keys={KEY}, on_handshake=seen
    ) as server:
        local = ("127.0.0.1", server.port)
        with loopback_resolver({(API_HOST, 443): local, (AGENT_HOST, 443): local}):
            client = DeepgramClient(api_key=KEY, ssl_context=other.client_context())
            error = verification_failure(lambda: client.listen.v1.connect(**PARAMS))
    message = str(error)
    assert message.startswith(f"TLS certificate verification failed for {API_HOST}:"), message
    assert "Hostname mismatch" in message or "doesn't match" in message, message
    assert KEY not in message
    assert seen.take() == []  # refused before any HTTP request reached the server
    assert classify_error(error) is Outcome.FATAL
    assert running_embedded_server() is None
