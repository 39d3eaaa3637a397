"""`LiveFeed`: this instance's calls as they happen -- call started, segment committed, call ended.

The call pipeline publishes from any thread (the writer thread for committed segments, the worker
pool for starts and ends); subscribers are the ``/v1/events`` WebSockets on the service's event loop.
What it promises:

* **Never blocks the call pipeline.** :meth:`LiveFeed.publish` only hands the event to the loop
  (``call_soon_threadsafe``); each subscriber has a bounded queue (``queue_size`` events). A
  subscriber whose queue is full is dropped: its queue is replaced by one ``{"type": "dropped"}``
  event and it ends (the page reconnects and reloads what it missed from ``/v1/calls``).
* **Commit before report.** A ``segment`` event is published only from the store writer's commit
  callback, so every word a page shows is in the store.
* Events are JSON-ready dicts: ``{"type": "call_started", "call": {...}}``,
  ``{"type": "segment", "call_id", "segment": {...}}``, ``{"type": "call_ended", "call_id", "status"}``.

Only this instance's calls are seen: with several instances, each instance's feed carries the live
words of the calls it owns (the page lists every call from the shared store through ``/v1/calls``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Mapping

from actors.ingest.calls import CallStart
from actors.ingest.http_api import iso_utc, segment_json
from actors.ingest.store.models import Segment

log = logging.getLogger("actors.ingest.live_feed")

#: Events one subscriber may have waiting before it is dropped.
QUEUE_SIZE = 256

Event = Mapping[str, object]
DROPPED: Event = {"type": "dropped", "reason": "the feed fell behind; reload the calls and reconnect"}


class Subscription:
    """One subscriber's bounded queue of events (from :meth:`LiveFeed.subscribe`); use on the loop."""

    def __init__(self, feed: LiveFeed, size: int) -> None:
        self._feed = feed
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=size)
        self.dropped = False

    async def next(self) -> Event:
        """The next event (waits for one); after :data:`DROPPED` the subscription is over."""
        return await self.queue.get()

    def close(self) -> None:
        """Unsubscribe (idempotent)."""
        self._feed.unsubscribe(self)


class LiveFeed:
    """Fans this instance's call events out to subscribers on ``loop`` (see the module docstring).

    Thread-safe: :meth:`publish` from any thread; :meth:`subscribe` on the loop.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, *, queue_size: int = QUEUE_SIZE) -> None:
        if queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, got {queue_size}")
        self._loop = loop
        self._queue_size = queue_size
        # Changed on the loop only; read from any thread to skip publishing when nobody listens (a
        # subscriber added meanwhile only misses events published before it subscribed).
        self._subscribers: set[Subscription] = set()
        self._lock = threading.Lock()
        self._closed = False
        self.dropped_subscribers = 0

    def __repr__(self) -> str:
        return f"<LiveFeed {len(self._subscribers)} subscriber(s)>"

    @property
    def subscribers(self) -> int:
        """How many subscribers are listening now."""
        return len(self._subscribers)

    def publish(self, event: Event) -> None:
        """Hand ``event`` to every subscriber; never blocks, never raises (a closed loop drops it).

        With nobody subscribed it does nothing (no wake-up of the loop per committed segment).
        """
        if not self._subscribers:
            return
        with self._lock:
            if self._closed:
                return
            try:
                self._loop.call_soon_threadsafe(self._deliver, event)
            except RuntimeError:  # the loop closed meanwhile
                self._closed = True

    def close(self) -> None:
        """Publish nothing more (the service stops)."""
        with self._lock:
            self._closed = True

    def _deliver(self, event: Event) -> None:
        for subscriber in list(self._subscribers):
            if subscriber.dropped:
                continue
            try:
                subscriber.queue.put_nowait(event)
            except asyncio.QueueFull:
                self._drop(subscriber)

    def _drop(self, subscriber: Subscription) -> None:
        subscriber.dropped = True
        self.dropped_subscribers += 1
        while not subscriber.queue.empty():
            subscriber.queue.get_nowait()
        subscriber.queue.put_nowait(DROPPED)
        log.warning("live feed: a subscriber fell %d events behind and was dropped", self._queue_size)

    def subscribe(self) -> Subscription:
        """A new subscription that receives every event published from now on; call on the loop
        and :meth:`Subscription.close` it when done."""
        subscription = Subscription(self, self._queue_size)
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop delivering to ``subscription`` (idempotent; on the loop)."""
        self._subscribers.discard(subscription)

    # -- what the call pipeline publishes ----------------------------------------------------------

    def call_started(self, start: CallStart, started_at: float) -> None:
        """A call was recorded in the store and its stream opened."""
        if not self._subscribers:
            return
        self.publish(
            {
                "type": "call_started",
                "call": {
                    "id": start.call_id,
                    "platform": start.platform,
                    "status": "active",
                    "started_at": iso_utc(started_at),
                    "channels": list(start.channels),
                    "language": start.language,
                    "metadata": dict(start.metadata),
                },
            }
        )

    def segment_committed(self, segment: Segment, channels: tuple[str, ...]) -> None:
        """A segment's row is committed (call from the store writer's commit callback only)."""
        if not self._subscribers:
            return
        self.publish(
            {"type": "segment", "call_id": segment.call_id, "segment": segment_json(segment, channels)}
        )

    def call_ended(self, call_id: str, status: str) -> None:
        """A call's row was closed with ``status`` (every segment committed before)."""
        self.publish({"type": "call_ended", "call_id": call_id, "status": status})


__all__ = ["DROPPED", "QUEUE_SIZE", "Event", "LiveFeed", "Subscription"]
