"""The ingestion benchmark's floor: a bare AudioHook sink, in its own process.

``python -m benchlib.audiohook_sink`` serves websockets on a free loopback port (the service's frame
limit and keepalive settings) and answers just enough AudioHook for a client to stream a call:
``open`` -> ``opened`` (the first offered media), ``ping`` -> ``pong``, ``close`` -> ``closed``. Binary
frames are counted and discarded. No signature check, no transcription, no store: its CPU per call
is what receiving the same frames costs in Python + websockets, the floor under the service's.

Prints ``{"port": P}`` once listening, runs until stdin closes (or SIGTERM), then prints
``{"sessions": ..., "frames": ..., "bytes": ...}``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

MAX_FRAME = 1 << 20  # as the service


class Sink:
    """The handler and its counters."""

    def __init__(self) -> None:
        self.sessions = 0
        self.frames = 0
        self.bytes = 0

    async def handle(self, ws: ServerConnection) -> None:
        """One AudioHook session: answer open/ping/close, discard audio."""
        self.sessions += 1
        seq = 0
        async for message in ws:
            if isinstance(message, bytes):
                self.frames += 1
                self.bytes += len(message)
                continue
            request = json.loads(message)
            kind = request.get("type")
            reply: tuple[str, dict[str, Any]] | None = None
            if kind == "open":
                reply = ("opened", {"media": request["parameters"]["media"][:1], "startPaused": False})
            elif kind == "ping":
                reply = ("pong", {})
            elif kind == "close":
                reply = ("closed", {})
            if reply is not None:
                seq += 1
                await ws.send(
                    json.dumps(
                        {
                            "version": "2",
                            "id": request["id"],
                            "type": reply[0],
                            "seq": seq,
                            "clientseq": request["seq"],
                            "parameters": reply[1],
                        },
                        separators=(",", ":"),
                    )
                )


async def main_async() -> dict[str, int]:
    """Serve until stdin closes or SIGTERM; return the counters."""
    sink = Sink()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    stdin = sys.stdin.fileno()
    loop.add_reader(stdin, lambda: None if os.read(stdin, 65536) else stop.set())  # EOF: stop
    async with serve(
        sink.handle, "127.0.0.1", 0, max_size=MAX_FRAME, ping_interval=20, ping_timeout=20
    ) as server:
        port = server.sockets[0].getsockname()[1]
        sys.stdout.write(json.dumps({"port": port}) + "\n")
        sys.stdout.flush()
        await stop.wait()
    return {"sessions": sink.sessions, "frames": sink.frames, "bytes": sink.bytes}


def main() -> int:
    """Run the sink; print its counters at the end."""
    counters = asyncio.run(main_async())
    sys.stdout.write(json.dumps(counters) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
