"""``LocalServer(max_connections=N)``: the handshake beyond N open connections gets a clear 503;
connections below the cap are unaffected; a slot frees when a connection ends."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection

from actors.errors import OptionsError
from actors.server import LocalServer
from actors.server.engines.deterministic import silence, synthesize_words
from tests.server.streaming import collect, final_words, open_ws

LISTEN = {"model": "nova-3", "encoding": "linear16", "sample_rate": 16000}


def assert_full(server: LocalServer, path: str = "/v1/listen") -> None:
    """The next handshake is refused with 503 and a body saying the server is full."""
    with pytest.raises(InvalidStatus) as info:
        open_ws(server, path, LISTEN if path == "/v1/listen" else {}).close()
    response = info.value.response
    assert response.status_code == 503
    body = json.loads(response.body)
    assert body["err_code"] == "SERVICE_UNAVAILABLE"
    assert body["err_msg"] == response.headers["dg-error"]
    assert "Too many concurrent connections" in body["err_msg"] and "at most 2" in body["err_msg"]
    assert body["request_id"] == response.headers["dg-request-id"]


def transcribe(ws: ClientConnection, word: str) -> list[str]:
    """Send one word and CloseStream on an open Listen V1 connection; the final words."""
    ws.send(synthesize_words([word], 16000) + silence(0.2))
    ws.send(json.dumps({"type": "CloseStream"}))
    return [w["word"] for w in final_words(collect(ws))]


def test_beyond_the_cap_the_handshake_gets_503_and_open_ones_are_unaffected(
    make_server: Callable[..., LocalServer],
) -> None:
    server = make_server(max_connections=2)
    with open_ws(server, "/v1/listen", LISTEN) as first, open_ws(server, "/v1/speak") as second:
        assert server.connection_count == 2
        assert_full(server)
        assert_full(server, "/v1/agent/converse")  # the cap is for the whole server, every path
        assert json.loads(second.recv(timeout=5))["type"] == "Metadata"
        assert transcribe(first, "unaffected") == ["unaffected"]  # the server closed `first`
        with open_ws(server, "/v1/listen", LISTEN) as third:  # so its slot is free again
            assert transcribe(third, "third") == ["third"]


def test_a_slot_frees_when_a_connection_ends(make_server: Callable[..., LocalServer]) -> None:
    server = make_server(max_connections=2)
    with open_ws(server, "/v1/listen", LISTEN) as keep:
        for round_ in range(20):  # each time the client closes, then the server closes (CloseStream)
            with open_ws(server, "/v1/listen", LISTEN) as ws:
                assert_full(server)
                if round_ % 2:
                    assert transcribe(ws, "again") == ["again"]
        with open_ws(server, "/v1/speak") as ws:
            assert json.loads(ws.recv(timeout=5))["type"] == "Metadata"
        assert transcribe(keep, "kept") == ["kept"]


def test_refused_handshakes_take_no_slot(make_server: Callable[..., LocalServer]) -> None:
    server = make_server(max_connections=1, api_keys={"good"})
    for _ in range(3):
        with pytest.raises(InvalidStatus) as info:
            open_ws(server, "/v1/listen", LISTEN, key="bad").close()
        assert info.value.response.status_code == 401
        with pytest.raises(InvalidStatus) as info:
            open_ws(server, "/v1/listen", {"model": "nova-99"}, key="good").close()
        assert info.value.response.status_code == 400
    assert server.connection_count == 0
    with open_ws(server, "/v1/listen", LISTEN, key="good") as ws:
        assert ws.response is not None and ws.response.status_code == 101


def test_no_cap_by_default_and_a_bad_cap_is_refused(local_server: LocalServer) -> None:
    assert local_server.max_connections is None
    with open_ws(local_server, "/v1/listen", LISTEN), open_ws(local_server, "/v1/listen", LISTEN):
        assert local_server.connection_count == 0
    for bad in (0, -1, True):
        with pytest.raises(OptionsError, match="max_connections"):
            LocalServer(max_connections=bad)
