"""Test helpers: open real WebSocket connections to a LocalServer and collect what it sends."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from actors.server import LocalServer

API_KEY = "test-key"


def open_ws(
    server: LocalServer,
    path: str,
    params: Iterable[tuple[str, Any]] | dict[str, Any] = (),
    headers: dict[str, str] | None = None,
    key: str | None = API_KEY,
) -> ClientConnection:
    """Connect to ``path`` with query ``params`` and ``Authorization: Token key``."""
    items = params.items() if isinstance(params, dict) else params
    query = urlencode([(k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in items])
    all_headers = {"Authorization": f"Token {key}"} if key else {}
    all_headers.update(headers or {})
    return connect(
        f"{server.url}{path}?{query}", additional_headers=all_headers, open_timeout=5, close_timeout=5
    )


def send_chunked(ws: ClientConnection, audio: bytes, chunk: int = 3200) -> None:
    """Send ``audio`` as binary frames of ``chunk`` bytes."""
    for start in range(0, len(audio), chunk):
        ws.send(audio[start : start + chunk])


def read_until(ws: ClientConnection, kind: str, timeout: float = 5.0) -> tuple[bytes, list[dict[str, Any]]]:
    """Read frames until a JSON message of ``kind``; return the audio and the messages seen."""
    audio = bytearray()
    messages: list[dict[str, Any]] = []
    while True:
        frame = ws.recv(timeout=timeout)
        if isinstance(frame, bytes):
            audio += frame
            continue
        messages.append(json.loads(frame))
        if messages[-1]["type"] == kind:
            return bytes(audio), messages


def drain(ws: ClientConnection) -> tuple[bytes, list[dict[str, Any]], int | None, str]:
    """Read audio and JSON messages until the server closes (5 s at most per frame); return the audio,
    the messages, and the close code and reason (None and "" when no close frame came)."""
    audio = bytearray()
    messages: list[dict[str, Any]] = []
    try:
        while True:
            frame = ws.recv(timeout=5)
            if isinstance(frame, bytes):
                audio += frame
            else:
                messages.append(json.loads(frame))
    except ConnectionClosed as closed:
        rcvd = closed.rcvd
        return bytes(audio), messages, rcvd.code if rcvd else None, rcvd.reason if rcvd else ""


def collect(ws: ClientConnection, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Read JSON messages until the server closes the connection (or ``timeout`` per message)."""
    out: list[dict[str, Any]] = []
    try:
        while True:
            frame = ws.recv(timeout=timeout)
            out.append(json.loads(frame))
    except ConnectionClosed:
        pass
    return out


def of_type(messages: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The messages whose ``type`` is ``kind``."""
    return [m for m in messages if m.get("type") == kind]


def final_words(messages: list[dict[str, Any]], channel: int = 0) -> list[dict[str, Any]]:
    """Every word of every final Results of ``channel``, in order."""
    return [
        word
        for m in of_type(messages, "Results")
        if m["is_final"] and m["channel_index"][0] == channel
        for word in m["channel"]["alternatives"][0]["words"]
    ]
