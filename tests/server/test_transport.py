"""The server's transport: endpoints inline on the event loop or on their own thread, same answers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable

import pytest
from websockets.exceptions import ConnectionClosed

from actors.server import LocalServer
from actors.server.engines.deterministic import expected_words, silence, synthesize_words
from actors.server.transport import INVALID_UTF8_REASON
from tests.server.streaming import collect, final_words, of_type, open_ws, send_chunked

RAW = {"model": "nova-3", "encoding": "linear16", "sample_rate": 16000}
WORDS = ["inline", "or", "threaded"]


def _server_threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("actors-server-")}


def _stream_words(server: LocalServer) -> list[str]:
    audio = synthesize_words(WORDS, 16000) + silence(0.2)
    with open_ws(server, "/v1/listen", RAW) as ws:
        send_chunked(ws, audio, chunk=640)
        ws.send(json.dumps({"type": "CloseStream"}))
        messages = collect(ws)
        assert ws.close_code == 1000
    assert of_type(messages, "Metadata"), "the stream ends with Metadata"
    return [w["word"] for w in final_words(messages)]


def test_deterministic_engine_runs_endpoints_inline_without_a_thread_per_connection(
    make_server: Callable[..., LocalServer],
) -> None:
    server = make_server()
    assert server.engine.nonblocking is True
    before = _server_threads()
    with contextlib.ExitStack() as stack:
        connections = [stack.enter_context(open_ws(server, "/v1/listen", RAW)) for _ in range(10)]
        for ws in connections:
            ws.send(json.dumps({"type": "Sync", "id": 1}))
        for ws in connections:  # every endpoint answered, so every one is running
            assert json.loads(ws.recv(timeout=5))["type"] == "Sync"
        added = _server_threads() - before
        assert added == set(), f"inline endpoints must not start threads, got {sorted(added)}"
    assert _stream_words(server) == WORDS


def test_blocking_engine_runs_each_endpoint_on_its_own_named_thread(
    make_server: Callable[..., LocalServer],
) -> None:
    server = make_server()
    server.engine.nonblocking = False  # as the real engine says: its calls block
    before = _server_threads()
    with open_ws(server, "/v1/listen", RAW) as ws:
        ws.send(silence(0.02))
        ws.send(json.dumps({"type": "Sync", "id": 41}))  # answered by the endpoint's thread
        assert json.loads(ws.recv(timeout=5))["id"] == 41
        assert ws.response is not None
        request_id = ws.response.headers["dg-request-id"]
        assert f"actors-server-/v1/listen-{request_id[:8]}" in _server_threads() - before
    assert _stream_words(server) == WORDS
    server.stop()
    assert _server_threads() - before == set(), "endpoint threads are joined by stop()"


@pytest.mark.parametrize("nonblocking", [True, False], ids=["inline", "threaded"])
def test_fragmented_messages_are_reassembled(
    make_server: Callable[..., LocalServer], nonblocking: bool
) -> None:
    server = make_server()
    server.engine.nonblocking = nonblocking
    audio = synthesize_words(["pieces"], 16000) + silence(0.2)
    with open_ws(server, "/v1/listen", RAW) as ws:
        ws.send([audio[:1001], audio[1001:2000], audio[2000:]])  # one binary message, three frames
        ws.send(['{"type": "Clo', 'seStream"}'])  # one text message, two frames
        messages = collect(ws)
    words = final_words(messages)
    assert [w["word"] for w in words] == ["pieces"]
    assert words[0]["end"] == pytest.approx(expected_words(["pieces"])[0].end, abs=1e-3)


def test_text_frame_that_is_not_utf8_closes_1007(make_server: Callable[..., LocalServer]) -> None:
    server = make_server()
    with open_ws(server, "/v1/listen", RAW) as ws:
        ws.send(b'{"type": "\xff"}', text=True)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert (ws.close_code, ws.close_reason) == (1007, INVALID_UTF8_REASON)


@pytest.mark.parametrize("nonblocking", [True, False], ids=["inline", "threaded"])
def test_stop_closes_open_streams_with_1001(
    make_server: Callable[..., LocalServer], nonblocking: bool
) -> None:
    server = make_server()
    server.engine.nonblocking = nonblocking
    with open_ws(server, "/v1/listen", RAW) as ws:
        ws.send(silence(0.1))
        server.stop()
        with pytest.raises(ConnectionClosed):
            while True:
                ws.recv(timeout=5)
        assert (ws.close_code, ws.close_reason) == (1001, "server shutting down")


def test_stop_cuts_connections_still_in_their_handshake_at_once() -> None:
    """stop() used to wait websockets' 10 s open timeout for a handshake that never came, and a
    connection accepted while the listener closed left a task the closed loop destroyed pending."""
    server = LocalServer()
    server.start()
    silent = socket.create_connection(("127.0.0.1", server.port), timeout=5)  # sends nothing
    partial = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    partial.sendall(b"GET /v1/listen HTTP/1.1\r\nHost: x\r\n")  # request never completed
    loop = server._loop
    assert loop is not None
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2.0
    assert not asyncio.all_tasks(loop), "stop() left tasks behind on the server loop"
    for client in (silent, partial):
        with client:
            try:
                answer = client.recv(1024)
            except ConnectionResetError:  # a reset if the cut came before the server read the bytes
                answer = b""
            assert answer == b""  # the server hung up (no 503 for a stopping server)


def test_idle_threaded_stream_gets_net_0001(make_server: Callable[..., LocalServer]) -> None:
    server = make_server(idle_timeout=0.3)
    server.engine.nonblocking = False
    with open_ws(server, "/v1/listen", RAW) as ws:
        messages = collect(ws)
        assert ws.close_code == 1011
    assert [m["type"] for m in messages] == ["Metadata"]
