"""A raw WebSocket test server: does the HTTP upgrade by hand, then the test writes any bytes it likes.

The local server (websockets) only ever sends well-formed frames; the client's frame checks need a
peer that breaks RFC 6455 on purpose. :class:`RawWsServer` listens on 127.0.0.1, and its one
thread (``raw-ws-accept-<port>``) accepts each connection, answers the upgrade (computing
``Sec-WebSocket-Accept``) and hands the socket to the test as a :class:`RawPeer`. The test then
sends bytes (:func:`server_frame` builds unmasked frames, valid or not) and reads what the client
sends back (:meth:`RawPeer.read_close` unmasks client frames and returns the close code).

    with RawWsServer() as server:
        conn = Connection.open(config_for(server.url))
        peer = server.accept()
        peer.send(server_frame(OP_TEXT, b"\\xff"))
        assert peer.read_close() == (1007, ...)
"""

from __future__ import annotations

import base64
import hashlib
import queue
import select
import socket
import struct
import threading
import time

import attrs

#: The GUID of RFC 6455 section 1.3, appended to the client's key to compute the accept value.
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_OP_CLOSE = 0x8


def accept_value(key: str) -> str:
    """``Sec-WebSocket-Accept`` for the client's ``Sec-WebSocket-Key`` (RFC 6455 4.2.2)."""
    digest = hashlib.sha1((key + WS_GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


def server_frame(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bytes | None = None,
    length: int | None = None,
) -> bytes:
    """One frame as a server would write it; every knob can break the rules on purpose.

    ``rsv`` is OR-ed into the first byte (0x40, 0x20, 0x10); ``mask`` masks the payload (servers
    must not); ``length`` overrides the announced payload length (the payload is still ``payload``).
    """
    first = (0x80 if fin else 0) | rsv | opcode
    size = len(payload) if length is None else length
    mask_bit = 0x80 if mask is not None else 0
    if size < 126:
        header = bytes((first, mask_bit | size))
    elif size < 65536:
        header = struct.pack("!BBH", first, mask_bit | 126, size)
    else:
        header = struct.pack("!BBQ", first, mask_bit | 127, size)
    if mask is None:
        return header + payload
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + masked


@attrs.frozen
class ClientFrame:
    """One frame the client sent, unmasked."""

    fin: bool
    opcode: int
    payload: bytes


class RawPeer:
    """The server side of one upgraded connection; the test drives it from its own thread."""

    def __init__(self, sock: socket.socket, request: str) -> None:
        self.sock = sock
        #: The client's HTTP upgrade request (request line and headers).
        self.request = request
        self._buf = bytearray()

    def send(self, data: bytes) -> None:
        """Write ``data`` as is."""
        self.sock.sendall(data)

    def _fill(self, size: int, deadline: float) -> None:
        while len(self._buf) < size:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"the client sent {len(self._buf)} of {size} expected bytes in time")
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            if not data:
                raise EOFError(f"the client closed the socket after {len(self._buf)} of {size} bytes")
            self._buf += data

    def _take(self, size: int, deadline: float) -> bytes:
        self._fill(size, deadline)
        data = bytes(self._buf[:size])
        del self._buf[:size]
        return data

    def read_frame(self, timeout: float = 5.0) -> ClientFrame:
        """The next frame from the client (which must mask it); raises TimeoutError / EOFError."""
        deadline = time.monotonic() + timeout
        first, second = self._take(2, deadline)
        assert second & 0x80, "a client frame must be masked"
        size = second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", self._take(2, deadline))
        elif size == 127:
            (size,) = struct.unpack("!Q", self._take(8, deadline))
        key = self._take(4, deadline)
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(self._take(size, deadline)))
        return ClientFrame(bool(first & 0x80), first & 0x0F, payload)

    def read_close(self, timeout: float = 5.0) -> tuple[int | None, str]:
        """Skip the client's other frames up to its close frame: ``(code, reason)`` (None: no code)."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self.read_frame(max(0.0, deadline - time.monotonic()))
            if frame.opcode != _OP_CLOSE:
                continue
            if not frame.payload:
                return None, ""
            (code,) = struct.unpack("!H", frame.payload[:2])
            return code, frame.payload[2:].decode("utf-8")

    def wait_eof(self, timeout: float = 5.0) -> bool:
        """True once the client closed (or reset) the TCP connection; unread frames are skipped."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                return False
            except ConnectionResetError:
                return True
            if not data:
                return True

    def close(self) -> None:
        """Close the server side of the socket."""
        self.sock.close()


class RawWsServer:
    """Accepts connections on 127.0.0.1 and upgrades them by hand; see the module docstring.

    ``accepted`` counts upgraded connections. A context manager; :meth:`stop` closes every socket
    and joins the accept thread.
    """

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._wake_r, self._wake_w = socket.socketpair()
        self._peers: queue.Queue[RawPeer] = queue.Queue()
        self._all: list[RawPeer] = []
        self._lock = threading.Lock()
        self.accepted = 0
        self._thread = threading.Thread(target=self._run, name=f"raw-ws-accept-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:PORT``."""
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> RawWsServer:
        """Start accepting."""
        self._thread.start()
        return self

    def accept(self, timeout: float = 5.0) -> RawPeer:
        """The next upgraded connection (raises ``queue.Empty`` if none comes within ``timeout``)."""
        return self._peers.get(timeout=timeout)

    def stop(self) -> None:
        """Stop accepting, close every socket and join the thread."""
        self._wake_w.send(b"x")
        if self._thread.is_alive():
            self._thread.join(5.0)
        self._listener.close()
        self._wake_r.close()
        self._wake_w.close()
        with self._lock:
            peers = list(self._all)
        for peer in peers:
            peer.close()

    def __enter__(self) -> RawWsServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._listener.fileno(), select.POLLIN)
        poller.register(self._wake_r.fileno(), select.POLLIN)
        while True:
            ready = {fd for fd, _ in poller.poll()}
            if self._wake_r.fileno() in ready:
                return
            sock, _addr = self._listener.accept()
            try:
                peer = self._upgrade(sock)
            except (OSError, ValueError):
                sock.close()
                continue
            with self._lock:
                self._all.append(peer)
                self.accepted += 1
            self._peers.put(peer)

    def _upgrade(self, sock: socket.socket) -> RawPeer:
        sock.settimeout(5.0)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                raise ValueError("the client closed before finishing its upgrade request")
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        assert not rest, "the client sent bytes before the upgrade was answered"
        request = head.decode("latin-1")
        headers = {}
        for line in request.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        key = headers["sec-websocket-key"]
        with self._lock:
            number = self.accepted + 1
        answer = (
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept_value(key)}\r\n"
            f"dg-request-id: raw-{number}\r\n"
            "\r\n"
        )
        sock.sendall(answer.encode("ascii"))
        return RawPeer(sock, request)


__all__ = ["WS_GUID", "ClientFrame", "RawPeer", "RawWsServer", "accept_value", "server_frame"]
