"""`python -m actors ingest` with ``DEEPGRAM_API_KEY`` and no ``--local``/``--url`` transcribes on Deepgram.

Proven offline as for the other commands (tests/cli/test_production_path_cli.py): the child's
``sitecustomize`` resolves ``api.deepgram.com:443`` to a TLS local server in this process (a
throwaway CA trusted through ``SSL_CERT_FILE``) and refuses any other non-loopback lookup. The
server checks the key, and records SNI, ``Host``, path and query of each call's stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from actors.ingest.service import TRANSCRIPTION_PATH
from actors.ingest.store import open_store
from actors.server import LocalServer
from tests.support.ingest import audiohook_call_to_port, conversation, running_ingest
from tests.support.resolver import refused_in_child, subprocess_env
from tests.support.tls import API_HOST, Handshakes, ThrowawayPki, deepgram_over_tls, make_test_pki

KEY = "ingest-prod-path-key-24680"
CALL = conversation([(0, ["keyed", "calls"]), (1, ["reach", "deepgram"])])


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> ThrowawayPki:
    return make_test_pki(tmp_path_factory.mktemp("pki"), [API_HOST])


@pytest.fixture()
def recorder() -> Handshakes:
    return Handshakes()


@pytest.fixture()
def deepgram(pki: ThrowawayPki, recorder: Handshakes) -> Iterator[LocalServer]:
    with deepgram_over_tls(pki, {KEY}, recorder) as server:
        yield server


def test_keyed_ingest_streams_each_call_to_deepgram_over_verified_tls(
    tmp_path: Path, pki: ThrowawayPki, deepgram: LocalServer, recorder: Handshakes
) -> None:
    refused = tmp_path / "refused.log"
    env = subprocess_env({(API_HOST, 443): ("127.0.0.1", deepgram.port)}, refused)
    env["DEEPGRAM_API_KEY"] = KEY
    env["SSL_CERT_FILE"] = str(pki.ca_cert)
    env.pop("SSL_CERT_DIR", None)
    store_url = f"sqlite:///{tmp_path}/ingest.sqlite3"
    with running_ingest(store_url, None, env=env) as service:
        assert any("using Deepgram" in line for line in service.lines), "".join(service.lines)
        client = asyncio.run(audiohook_call_to_port(service.port, CALL, TRANSCRIPTION_PATH))
    assert refused_in_child(refused) == [], "the service looked up a non-loopback name"
    seen = [r for r in recorder.take() if r.path.startswith("/v1/listen")]
    assert len(seen) == 1, seen
    record = seen[0]
    assert (record.tls, record.server_name, record.headers["host"]) == (True, API_HOST, API_HOST)
    assert record.headers["authorization"] == f"Token {KEY}"
    query = parse_qs(urlsplit(record.path).query)
    assert query["encoding"] == ["mulaw"] and query["sample_rate"] == ["8000"]
    assert query["channels"] == ["2"] and query["multichannel"] == ["true"]
    store = open_store(store_url)
    detail = store.get_call(client.session_id)
    store.close()
    assert detail is not None and detail.call.status == "completed"
    words = sorted((s.channel, str(w["word"])) for s in detail.segments for w in s.words)
    assert words == sorted((w.channel, w.word) for w in CALL.words)
