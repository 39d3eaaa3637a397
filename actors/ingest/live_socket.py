"""``/v1/events``: one WebSocket subscriber of the :class:`~actors.ingest.live_feed.LiveFeed`.

The server sends JSON text frames: first ``{"type": "subscribed"}`` (every event after it is seen),
then the feed's events in order -- of every instance's calls when several share a PostgreSQL store
(:mod:`actors.ingest.feed_relay`). When the subscriber falls behind, or the relay may have missed
events, the last frame is the feed's ``{"type": "dropped", "reason": ...}`` and the socket closes with
1013 (try again later): the client reconnects and reloads what it missed from ``/v1/calls``. Frames from the
client are ignored. Why a WebSocket and not server-sent events: the service is one ``websockets``
server, which answers plain HTTP with whole bodies only, and a browser authenticates a WebSocket
the same way as its ``/v1/stream`` (the token as a subprotocol), with no token in a URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from actors.ingest.live_feed import LiveFeed

#: Close code after a ``dropped`` event: the client may reconnect later.
CLOSE_TRY_AGAIN = 1013


async def serve_feed(websocket: ServerConnection, feed: LiveFeed) -> None:
    """Send ``feed``'s events on ``websocket`` until either side ends (returns; never raises)."""
    subscription = feed.subscribe()
    closed = asyncio.ensure_future(websocket.wait_closed())
    try:
        await websocket.send(json.dumps({"type": "subscribed"}))
        while True:
            following = asyncio.ensure_future(subscription.next())
            done, _ = await asyncio.wait({following, closed}, return_when=asyncio.FIRST_COMPLETED)
            if following not in done:
                following.cancel()
                return
            event = following.result()
            await websocket.send(json.dumps(event, ensure_ascii=False, separators=(",", ":")))
            if event.get("type") == "dropped":
                await websocket.close(CLOSE_TRY_AGAIN, "resync")
                return
    except ConnectionClosed:
        return
    finally:
        subscription.close()
        closed.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await closed


__all__ = ["CLOSE_TRY_AGAIN", "serve_feed"]
