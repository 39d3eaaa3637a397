"""A proxy named in the environment is used: websocket-client connects through it (HTTP CONNECT).

Without one, actors opens the TCP (and TLS) connection itself and lets websocket-client do the
handshake over it; with ``http_proxy`` / ``https_proxy`` set, websocket-client connects itself, so
its proxy support is kept. The proxy here is a real one on loopback that tunnels to the server.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest

from actors.runtime import Connection
from actors.server import LocalServer
from actors.server.engines.deterministic import synthesize_words
from tests.runtime.runtime_support import RATE, listen_config


class ConnectProxy:
    """A minimal HTTP CONNECT proxy on loopback; records the targets it was asked for."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.targets: list[str] = []
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, name="test-proxy-accept")
        self._accept.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._tunnel, args=(client,), name="test-proxy-tunnel")
            self._threads.append(thread)
            thread.start()

    def _tunnel(self, client: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = client.recv(4096)
            if not chunk:
                client.close()
                return
            request += chunk
        line = request.split(b"\r\n", 1)[0].decode()
        method, target, _ = line.split(" ", 2)
        assert method == "CONNECT", line
        self.targets.append(target)
        host, port = target.rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        pump = threading.Thread(target=_pump, args=(upstream, client), name="test-proxy-pump")
        pump.start()
        _pump(client, upstream)
        pump.join(10)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept (close alone does not)
        self.listener.close()
        self._accept.join(5)
        for thread in self._threads:
            thread.join(10)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (sink, source):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def proxy() -> Iterator[ConnectProxy]:
    running = ConnectProxy()
    yield running
    running.close()


def test_a_connection_goes_through_the_proxy_the_environment_names(
    local_server: LocalServer, proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    conn = Connection.open(listen_config(local_server.url))
    conn.send_audio(synthesize_words(["proxied", "words"], RATE))
    result = conn.finish(timeout=10)
    assert result.ok, result
    port = local_server.url.rsplit(":", 1)[1]
    assert proxy.targets == [f"127.0.0.1:{port}"]


def test_without_a_proxy_the_connection_is_direct(
    local_server: LocalServer, proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    conn = Connection.open(listen_config(local_server.url))
    assert conn.finish(timeout=10).ok
    assert proxy.targets == []
