"""Connection lifetimes over real sockets: Speak's 60-minute limit (shortened), Flux idle timeout."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from actors.server.session import NET_0001_REASON
from actors.server.speak_v1 import SpeakV1Endpoint
from tests.server.streaming import open_ws


def test_speak_connection_closes_1011_net0003_at_its_lifetime(
    make_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SpeakV1Endpoint, "max_lifetime_seconds", 0.6)
    server = make_server()
    opened = time.monotonic()
    with open_ws(server, "/v1/speak", {"encoding": "linear16", "sample_rate": 16000}) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "Metadata"
        ws.send(json.dumps({"type": "Speak", "text": "still busy"}))  # activity does not extend it
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=5)
    elapsed = time.monotonic() - opened
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1011, "NET-0003")
    assert elapsed >= 0.6


def test_speak_lifetime_defaults_to_sixty_minutes() -> None:
    assert SpeakV1Endpoint.max_lifetime_seconds == 3600.0


def test_idle_flux_stream_closes_1011_without_an_error_message(make_server: Any) -> None:
    server = make_server(idle_timeout=0.3)
    params = {"model": "flux-general-en", "encoding": "linear16", "sample_rate": 16000}
    with open_ws(server, "/v2/listen", params) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "Connected"
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)  # nothing else arrives before the close
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1011, NET_0001_REASON)
