"""The smallest WebSocket client code the floor column needs: a hand-made handshake, masked frames, parsing.

Masking is C code from a supported import: wsaccel's ``XorMaskerSimple`` when installed (the ``bench``
extra), else websockets' public ``websockets.speedups.apply_mask``. JSON: orjson when installed, else
the stdlib. :data:`MASK_IMPL` and :data:`JSON_IMPL` name what was used (printed with the results).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import struct
from collections.abc import Callable
from typing import Any

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def _pick_mask() -> tuple[str, Callable[[bytes, bytes], bytes]]:
    try:
        from wsaccel.xormask import XorMaskerSimple
    except ImportError:
        from websockets.speedups import apply_mask

        return "websockets.speedups.apply_mask", lambda key, data: apply_mask(data, key)

    def mask(key: bytes, data: bytes) -> bytes:
        masked: bytes = XorMaskerSimple(key).process(data)
        return masked

    return "wsaccel.xormask", mask


def _pick_json() -> tuple[str, Callable[[bytes], Any]]:
    try:
        import orjson
    except ImportError:
        return "json", json.loads
    return "orjson", orjson.loads


MASK_IMPL, mask = _pick_mask()
JSON_IMPL, loads = _pick_json()


class HandshakeFailed(Exception):
    """The server did not answer the upgrade with a valid 101 (the message has its status line)."""


def handshake(
    host: str, port: int, target: str, headers: dict[str, str], timeout: float
) -> tuple[socket.socket, bytes]:
    """Open a TCP connection and upgrade it (RFC 6455 section 4.1); the socket and any bytes read past
    the response headers. The socket is left blocking; the caller sets what it needs."""
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {target} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            more = sock.recv(4096)
            if not more:
                raise HandshakeFailed(f"connection closed during the handshake: {data[:80]!r}")
            data += more
        head, _, rest = data.partition(b"\r\n\r\n")
        status, *fields = head.decode("latin-1").split("\r\n")
        if not status.startswith("HTTP/1.1 101"):
            raise HandshakeFailed(status)
        expected = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        found = {name.strip().lower(): value.strip() for name, _, value in (f.partition(":") for f in fields)}
        if found.get("sec-websocket-accept") != expected:
            raise HandshakeFailed("bad Sec-WebSocket-Accept")
    except BaseException:
        sock.close()
        raise
    return sock, rest


def client_frame(opcode: int, payload: bytes) -> bytes:
    """One final, masked client frame (a fresh random key per frame, as RFC 6455 requires)."""
    key = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + key + mask(key, payload)


class FrameReader:
    """Turns received bytes into whole messages: :meth:`feed` returns ``(opcode, payload)`` pairs.

    Fragmented messages are joined (the opcode is the first fragment's); control frames come out as they
    arrive. Server frames are unmasked by the RFC, but a masked one is unmasked too.
    """

    __slots__ = ("_buf", "_fragments", "_opcode")

    def __init__(self, initial: bytes = b"") -> None:
        self._buf = bytearray(initial)
        self._fragments: list[bytes] = []
        self._opcode = 0

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """Add ``data`` and return every message now complete."""
        buf = self._buf
        buf += data
        out: list[tuple[int, bytes]] = []
        while len(buf) >= 2:
            b0, b1 = buf[0], buf[1]
            n, pos = b1 & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    break
                n, pos = struct.unpack_from("!H", buf, 2)[0], 4
            elif n == 127:
                if len(buf) < 10:
                    break
                n, pos = struct.unpack_from("!Q", buf, 2)[0], 10
            key = b""
            if b1 & 0x80:
                key, pos = bytes(buf[pos : pos + 4]), pos + 4
            if len(buf) < pos + n:
                break
            payload = bytes(buf[pos : pos + n])
            del buf[: pos + n]
            if key:
                payload = mask(key, payload)
            opcode, fin = b0 & 0x0F, b0 & 0x80
            if opcode >= OP_CLOSE:
                out.append((opcode, payload))
            elif not fin:
                if opcode != OP_CONT:
                    self._opcode = opcode
                self._fragments.append(payload)
            elif opcode == OP_CONT:
                self._fragments.append(payload)
                out.append((self._opcode, b"".join(self._fragments)))
                self._fragments.clear()
            else:
                out.append((opcode, payload))
        return out
