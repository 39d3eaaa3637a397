"""A test client for the plain ``/v1/stream`` ingress: the start message, audio frames and stop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed


def start_message(
    call_id: str = "call-1",
    *,
    encoding: str = "linear16",
    sample_rate: int = 16000,
    channels: int | Sequence[str] = 1,
    language: str | None = None,
    metadata: Mapping[str, str] | None = None,
    version: int | None = 1,
) -> str:
    """The start text frame (fields left out when ``None``)."""
    message: dict[str, object] = {
        "type": "start",
        "call_id": call_id,
        "encoding": encoding,
        "sample_rate": sample_rate,
        "channels": channels if isinstance(channels, int) else list(channels),
    }
    if version is not None:
        message["version"] = version
    if language is not None:
        message["language"] = language
    if metadata is not None:
        message["metadata"] = dict(metadata)
    return json.dumps(message)


def audio_frames(
    audio: bytes, *, frame_bytes: int, frame_ms: int = 20, sample_rate: int = 16000
) -> list[bytes]:
    """``audio`` cut into binary frames of ``frame_ms`` (whole sample frames of ``frame_bytes`` each)."""
    size = max(1, sample_rate * frame_ms // 1000) * frame_bytes
    return [audio[i : i + size] for i in range(0, len(audio), size)]


def stop_message() -> str:
    """The stop text frame."""
    return json.dumps({"type": "stop"})


async def messages_until_closed(ws: ClientConnection, timeout: float = 20.0) -> list[dict[str, object]]:
    """The JSON messages the service sends on ``ws`` until it closes the socket (``timeout`` s at
    most for each; a longer silence raises ``TimeoutError``)."""
    received: list[dict[str, object]] = []
    try:
        while True:
            received.append(json.loads(await asyncio.wait_for(ws.recv(), timeout)))
    except ConnectionClosed:
        return received
