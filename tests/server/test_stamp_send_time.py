"""``LocalServer(stamp_send_time=True)``: every JSON message carries its wall-clock send time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from actors.server import LocalServer
from actors.server.engines.deterministic import synthesize_words
from tests.server.streaming import collect, open_ws, send_chunked

PARAMS = {"encoding": "linear16", "sample_rate": 16000}


def _stream(server: LocalServer) -> list[dict[str, Any]]:
    with open_ws(server, "/v1/listen", PARAMS) as ws:
        send_chunked(ws, synthesize_words(["alpha", "bravo"], 16000))
        ws.send('{"type": "CloseStream"}')
        return collect(ws)


def test_stamped_messages_carry_their_send_time(make_server: Callable[..., LocalServer]) -> None:
    before = time.time()
    messages = _stream(make_server(stamp_send_time=True))
    after = time.time()
    assert [m["type"] for m in messages].count("Results") >= 2
    stamps = [m["actors_sent_at"] for m in messages]
    assert all(isinstance(s, float) and before <= s <= after for s in stamps)
    assert stamps == sorted(stamps)  # sent in order on one connection


def test_messages_are_not_stamped_by_default(local_server: LocalServer) -> None:
    messages = _stream(local_server)
    assert messages and not any("actors_sent_at" in m for m in messages)
