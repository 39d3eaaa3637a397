"""`LiveFeed`: the calls as they happen -- call started, segment committed, call ended.

The call pipeline publishes from any thread (the writer thread for committed segments, the worker
pool for starts and ends, the lease thread for reaped calls); subscribers are the ``/v1/events``
WebSockets on the service's event loop. What it promises:

* **Never blocks the call pipeline.** Publishing only hands the event to the loop
  (``call_soon_threadsafe``); each subscriber has a bounded queue (``queue_size`` events). A
  subscriber whose queue is full is dropped: its queue is replaced by one ``{"type": "dropped"}``
  event and it ends (the page reconnects and reloads what it missed from ``/v1/calls``).
* **Commit before report.** A ``segment`` event is published only from the store writer's commit
  callback, so every word a page shows is in the store.
* Events are JSON-ready dicts: ``{"type": "call_started", "call": {...}}`` (the call as
  :func:`~actors.ingest.http_api.call_json` shows it, ``instance_id`` included),
  ``{"type": "segment", "call_id", "segment": {...}}``, ``{"type": "call_ended", "call_id", "status"}``
  (also ``interrupted``, for the calls of a dead instance this one reaped).

**Every instance's calls.** With several instances on one PostgreSQL store, a
:class:`~actors.ingest.feed_relay.FeedRelay` is given this instance's own events (:meth:`LiveFeed.relay_to`)
and sends them to the other instances, and :meth:`LiveFeed.publish` delivers theirs to the local subscribers
only. Whatever the relay may have missed (its queue overflowed, its connection broke) ends every
subscriber with a ``dropped`` event (:meth:`LiveFeed.resync`), so a page never silently misses words.
A SQLite store serves one instance: its feed is local only.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping

from actors.ingest.calls import CallStart
from actors.ingest.http_api import call_json, segment_json
from actors.ingest.store.models import CallRecord, CallStatus, Segment

log = logging.getLogger("actors.ingest.live_feed")

#: Events one subscriber may have waiting before it is dropped.
QUEUE_SIZE = 256

Event = Mapping[str, object]
DROPPED: Event = {"type": "dropped", "reason": "the feed fell behind; reload the calls and reconnect"}
#: Where an event's content is in the store, for a relay that cannot carry the event itself:
#: ``{"type": <the event's type>, "call_id": ..., "key": <a segment's key>}`` (no key for call events).
Ref = Mapping[str, str]
#: Receives each of this instance's own events with its :data:`Ref` (see :meth:`LiveFeed.relay_to`).
Forward = Callable[[Event, Ref], None]


def dropped(reason: str) -> Event:
    """A ``dropped`` event saying ``reason`` (the subscriber's feed ends after it)."""
    return {"type": "dropped", "reason": reason}


class Subscription:
    """One subscriber's bounded queue of events (from :meth:`LiveFeed.subscribe`); use on the loop."""

    def __init__(self, feed: LiveFeed, size: int) -> None:
        self._feed = feed
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=size)
        self.dropped = False

    async def next(self) -> Event:
        """The next event (waits for one); after a ``dropped`` event the subscription is over."""
        return await self.queue.get()

    def close(self) -> None:
        """Unsubscribe (idempotent)."""
        self._feed.unsubscribe(self)


class LiveFeed:
    """Fans call events out to subscribers on ``loop`` (see the module docstring).

    ``instance_id``: this instance's name, shown as the ``instance_id`` of the calls it starts.
    Thread-safe: publishing from any thread; :meth:`subscribe` on the loop.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        queue_size: int = QUEUE_SIZE,
        instance_id: str | None = None,
    ) -> None:
        if queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, got {queue_size}")
        self._loop = loop
        self._queue_size = queue_size
        self.instance_id = instance_id
        # Changed on the loop only; read from any thread to skip publishing when nobody listens (a
        # subscriber added meanwhile only misses events published before it subscribed).
        self._subscribers: set[Subscription] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._forward: Forward | None = None
        self.dropped_subscribers = 0

    def __repr__(self) -> str:
        relayed = ", relayed" if self._forward is not None else ""
        return f"<LiveFeed {len(self._subscribers)} subscriber(s){relayed}>"

    @property
    def subscribers(self) -> int:
        """How many subscribers are listening now."""
        return len(self._subscribers)

    def relay_to(self, forward: Forward | None) -> None:
        """Hand every event of this instance's calls to ``forward`` too (None: no more), whether or not
        anyone subscribed here; ``forward`` must not block (it runs on the publishing thread)."""
        self._forward = forward

    def publish(self, event: Event) -> None:
        """Hand ``event`` to the local subscribers only; never blocks, never raises (a closed loop
        drops it). A relay delivers the other instances' events with it.

        With nobody subscribed it does nothing (no wake-up of the loop per committed segment).
        """
        if not self._subscribers:
            return
        self._on_loop(self._deliver, event)

    def resync(self, reason: str) -> None:
        """End every current subscriber with a ``dropped`` event saying ``reason`` (events were lost, so
        its page must reload and reconnect); thread-safe, never blocks."""
        if not self._subscribers:
            return
        self._on_loop(self._drop_all, dropped(reason))

    def _on_loop(self, work: Callable[[Event], None], event: Event) -> None:
        with self._lock:
            if self._closed:
                return
            try:
                self._loop.call_soon_threadsafe(work, event)
            except RuntimeError:  # the loop closed meanwhile
                self._closed = True

    def close(self) -> None:
        """Deliver nothing more to local subscribers (the service stops); events of this instance's
        calls still go to the relay (the other instances' pages see the calls end)."""
        with self._lock:
            self._closed = True

    def _deliver(self, event: Event) -> None:
        for subscriber in list(self._subscribers):
            if subscriber.dropped:
                continue
            try:
                subscriber.queue.put_nowait(event)
            except asyncio.QueueFull:
                self._drop(subscriber, DROPPED)
                log.warning("live feed: a subscriber fell %d events behind and was dropped", self._queue_size)

    def _drop_all(self, event: Event) -> None:
        count = 0
        for subscriber in list(self._subscribers):
            if not subscriber.dropped:
                self._drop(subscriber, event)
                count += 1
        if count:
            log.warning("live feed: %d subscriber(s) told to resync: %s", count, event.get("reason"))

    def _drop(self, subscriber: Subscription, event: Event) -> None:
        subscriber.dropped = True
        self.dropped_subscribers += 1
        while not subscriber.queue.empty():
            subscriber.queue.get_nowait()
        subscriber.queue.put_nowait(event)

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

    def _own(self, build: Callable[[], Event], ref: Ref) -> None:
        """An event of this instance's calls: to the local subscribers and to the relay."""
        forward = self._forward
        if not self._subscribers and forward is None:
            return
        event = build()
        self.publish(event)
        if forward is not None:
            forward(event, ref)

    def call_started(self, start: CallStart, started_at: float) -> None:
        """A call was recorded in the store and its stream opened."""
        record = CallRecord(
            id=start.call_id,
            platform=start.platform,
            platform_ids=start.platform_ids,
            started_at=started_at,
            ended_at=None,
            status="active",
            request_ids=(),
            metadata=start.metadata,
            language=start.language,
            channels=start.channels,
            instance_id=self.instance_id,
        )
        self._own(
            lambda: {"type": "call_started", "call": call_json(record)},
            {"type": "call_started", "call_id": start.call_id},
        )

    def segment_committed(self, segment: Segment, channels: tuple[str, ...]) -> None:
        """A segment's row is committed (call from the store writer's commit callback only)."""
        self._own(
            lambda: {
                "type": "segment",
                "call_id": segment.call_id,
                "segment": segment_json(segment, channels),
            },
            {"type": "segment", "call_id": segment.call_id, "key": segment.key},
        )

    def call_ended(self, call_id: str, status: CallStatus) -> None:
        """A call's row was closed with ``status`` (every segment committed before), or marked
        ``interrupted`` by this instance's reaper."""
        self._own(
            lambda: {"type": "call_ended", "call_id": call_id, "status": status},
            {"type": "call_ended", "call_id": call_id},
        )

    def calls_reaped(self, call_ids: tuple[str, ...]) -> None:
        """This instance's reaper marked ``call_ids`` (a dead instance's) ``interrupted``."""
        for call_id in call_ids:
            self.call_ended(call_id, "interrupted")


__all__ = ["DROPPED", "QUEUE_SIZE", "Event", "Forward", "LiveFeed", "Ref", "Subscription", "dropped"]
