"""The live feed's relay between instances on one real PostgreSQL (LISTEN/NOTIFY): two relays side by
side, then two services behind a real haproxy with a ``/v1/events`` client on one of them."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import pytest
import websockets

from actors.ingest.calls import CallStart
from actors.ingest.config import IngestConfig
from actors.ingest.feed_relay import MAX_PAYLOAD, FeedRelay
from actors.ingest.http_api import call_json, segment_json
from actors.ingest.live_feed import Event, LiveFeed, Subscription
from actors.ingest.service import EVENTS_PATH, STREAM_PATH, IngestService
from actors.ingest.store import InstanceLeases, Segment, TranscriptStore, open_store
from actors.server import LocalServer
from tests.support.haproxy import haproxy_in_front
from tests.support.ingest import conversation, ingest_service, ws_url
from tests.support.leases import expire_lease
from tests.support.plain_client import audio_frames, messages_until_closed, start_message, stop_message
from tests.support.polling import poll

pytestmark = pytest.mark.timeout(60)

START = CallStart("stream", "relay-call", "linear16", 16000, ("agent", "customer"), metadata={"queue": "a"})


class Side:
    """One instance's half: an event loop thread, its LiveFeed and (once started) its FeedRelay."""

    def __init__(self, store: TranscriptStore, name: str, *, queue_size: int = 64) -> None:
        self.name = name
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=f"relay-test-{name}", daemon=True)
        self.thread.start()
        self.feed = LiveFeed(self.loop, instance_id=name)
        self.relay = FeedRelay(store, self.feed, name, queue_size=queue_size)

    def subscribe(self) -> Subscription:
        async def make() -> Subscription:
            return self.feed.subscribe()

        return asyncio.run_coroutine_threadsafe(make(), self.loop).result(5)

    def next(self, subscription: Subscription, timeout: float = 10) -> Event:
        return asyncio.run_coroutine_threadsafe(subscription.next(), self.loop).result(timeout)

    def stop(self) -> None:
        self.relay.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@contextmanager
def two_sides(postgres_url: str, *, start_a: bool = True, a_queue: int = 64) -> Iterator[tuple[Side, Side]]:
    store = open_store(postgres_url)
    a, b = Side(store, "A", queue_size=a_queue), Side(store, "B")
    try:
        if start_a:
            a.relay.start()
        b.relay.start()
        assert b.relay.listening
        yield a, b
    finally:
        a.stop()
        b.stop()
        store.close()
    assert not [t.name for t in threading.enumerate() if t.name.startswith("ingest-feed-")]


def terminate(postgres_url: str, application_name: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (application_name,),
        ).fetchall()
    assert rows == [(True,)], rows


def test_events_of_one_instance_reach_the_other_and_never_come_back(postgres_url: str) -> None:
    with two_sides(postgres_url) as (a, b):
        on_a, on_b = a.subscribe(), b.subscribe()
        started = time.time()
        a.feed.call_started(START, started)
        segment = Segment("relay-call", 1, 0.5, 1.0, "hello", words=[{"word": "hello", "start": 0.5}])
        a.feed.segment_committed(segment, START.channels)
        a.feed.call_ended("relay-call", "completed")
        mine = [a.next(on_a) for _ in range(3)]
        theirs = [b.next(on_b) for _ in range(3)]
        assert theirs == mine
        assert [e["type"] for e in theirs] == ["call_started", "segment", "call_ended"]
        call = theirs[0]["call"]
        assert (
            isinstance(call, dict)
            and call["instance_id"] == "A"
            and call["channels"] == ["agent", "customer"]
        )
        assert theirs[1]["segment"] == segment_json(segment, START.channels)
        # B's own event reaches A after A's own notifications, which A's listener skipped
        b.feed.call_ended("other-call", "failed")
        assert b.next(on_b) == {"type": "call_ended", "call_id": "other-call", "status": "failed"}
        assert a.next(on_a) == {"type": "call_ended", "call_id": "other-call", "status": "failed"}
        assert on_a.queue.empty() and on_b.queue.empty()
        assert a.relay.resyncs == b.relay.resyncs == 0


def test_a_segment_too_big_for_a_notification_arrives_whole(postgres_url: str) -> None:
    store = open_store(postgres_url)
    try:
        assert store.start_call(START)
        words = [
            {"word": f"word{n}", "start": n / 10, "end": n / 10 + 0.05, "confidence": 0.9} for n in range(300)
        ]
        big = Segment("relay-call", 0, 0.0, 30.0, " ".join(str(w["word"]) for w in words), words=words)
        store.add_segments([big])
    finally:
        store.close()
    expected = {"type": "segment", "call_id": "relay-call", "segment": segment_json(big, START.channels)}
    assert len(json.dumps(expected).encode()) > 2 * MAX_PAYLOAD
    with two_sides(postgres_url) as (a, b):
        on_b = b.subscribe()
        a.feed.call_started(START, time.time())
        a.feed.segment_committed(big, START.channels)
        assert b.next(on_b)["type"] == "call_started"
        got = b.next(on_b)
        assert got == expected
        assert len(got["segment"]["words"]) == 300  # type: ignore[index]


def test_a_broken_listener_tells_the_subscribers_to_resync_then_resumes(postgres_url: str) -> None:
    with two_sides(postgres_url) as (a, b):
        old = b.subscribe()
        terminate(postgres_url, "ingest-feed-listen B")
        assert b.next(old)["type"] == "dropped"
        old.close()
        poll(lambda: b.relay.listening, 10, "B's listener to listen again")
        fresh = b.subscribe()
        a.feed.call_ended("after-reconnect", "completed")
        assert b.next(fresh) == {"type": "call_ended", "call_id": "after-reconnect", "status": "completed"}
        assert b.relay.resyncs >= 1


def test_a_broken_sender_sends_its_batch_again(postgres_url: str) -> None:
    with two_sides(postgres_url) as (a, b):
        on_b = b.subscribe()
        a.feed.call_ended("before", "completed")
        assert b.next(on_b)["call_id"] == "before"
        terminate(postgres_url, "ingest-feed-notify A")
        a.feed.call_ended("after", "completed")  # the dead connection fails; sent on a new one
        assert b.next(on_b) == {"type": "call_ended", "call_id": "after", "status": "completed"}
        assert a.relay.lost == 0 and b.relay.resyncs == 0


def test_events_the_sender_had_to_drop_make_the_receivers_resync(postgres_url: str) -> None:
    with two_sides(postgres_url, start_a=False, a_queue=2) as (a, b):
        on_b = b.subscribe()
        for n in range(5):  # A's sender is not running yet: its queue of 2 overflows
            a.relay.forward({"type": "call_ended", "call_id": f"c{n}", "status": "completed"}, {})
        assert a.relay.lost == 3
        a.relay.start()
        got = [b.next(on_b)]
        while got[-1]["type"] != "dropped":
            got.append(b.next(on_b))
        # what was delivered before the gap (a resync empties the subscriber's queue: it reloads anyway)
        assert [e["call_id"] for e in got[:-1]] == ["c0", "c1"][: len(got) - 1]
        assert b.relay.resyncs == 1


def test_a_relay_needs_postgresql(tmp_path: object) -> None:
    store = open_store(f"sqlite:///{tmp_path}/feed.sqlite3")
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(Exception, match="PostgreSQL"):
            FeedRelay(store, LiveFeed(loop), "solo")
    finally:
        loop.close()
        store.close()


# -- two services behind haproxy -------------------------------------------------------------------

CALL = conversation(
    [(0, ["rising", "tide"]), (1, ["lifts", "boats"])], channels=2, sample_rate=16000, encoding="linear16"
)


async def stream_call(port: int, call_id: str) -> list[dict[str, object]]:
    async with websockets.connect(ws_url(port, STREAM_PATH)) as ws:
        await ws.send(start_message(call_id, channels=["agent", "customer"]))
        for frame in audio_frames(CALL.audio, frame_bytes=4, frame_ms=100):
            await ws.send(frame)
        await ws.send(stop_message())
        return await messages_until_closed(ws)


@contextmanager
def two_services(postgres_url: str) -> Iterator[tuple[IngestService, IngestService, str]]:
    """Instances ``A`` and ``B`` on one database, one Deepgram-compatible server, haproxy in front."""
    with (
        LocalServer(engine="deterministic") as deepgram,
        ingest_service(postgres_url, deepgram=deepgram, instance_id="A") as a,
        ingest_service(postgres_url, deepgram=deepgram, instance_id="B") as b,
        haproxy_in_front([a.port, b.port]) as url,
    ):
        yield a, b, url


def test_a_feed_client_on_one_instance_sees_a_call_on_the_other(postgres_url: str) -> None:
    async def run(services: tuple[IngestService, IngestService, str]) -> tuple[str, list[dict[str, object]]]:
        a, b, url = services
        async with websockets.connect(url.replace("http", "ws", 1) + EVENTS_PATH) as feed:
            assert json.loads(await asyncio.wait_for(feed.recv(), 10)) == {"type": "subscribed"}
            here = a if a.live_feed.subscribers else b
            other = b if here is a else a
            replies = asyncio.ensure_future(stream_call(other.port, "cross-call"))
            events: list[dict[str, object]] = []
            while not events or events[-1]["type"] != "call_ended":
                event = json.loads(await asyncio.wait_for(feed.recv(), 30))
                if event["type"] == "segment":  # commit before report, across instances too
                    detail = here.store.get_call("cross-call")
                    assert detail is not None and event["segment"]["transcript"] in [
                        s.transcript for s in detail.segments
                    ]
                events.append(event)
            assert (await replies)[-1]["status"] == "completed"
            stored = here.store.get_call("cross-call")
            assert stored is not None and set(events[0]["call"]) == set(call_json(stored.call))  # type: ignore[arg-type]
            return other.instance_id, events

    with two_services(postgres_url) as services:
        owner, events = asyncio.run(run(services))
    assert events[0]["type"] == "call_started" and events[-1] == {
        "type": "call_ended",
        "call_id": "cross-call",
        "status": "completed",
    }
    call = events[0]["call"]
    assert isinstance(call, dict) and call["id"] == "cross-call" and call["instance_id"] == owner
    segments = [e["segment"] for e in events[1:-1]]
    assert all(e["type"] == "segment" for e in events[1:-1])
    words = sorted((w["start"], w["word"]) for s in segments for w in s["words"])  # type: ignore[index]
    assert [w for _, w in words] == [w.word for w in sorted(CALL.words, key=lambda w: w.start)]


def test_calls_of_a_dead_instance_end_interrupted_on_the_feed(postgres_url: str) -> None:
    async def until_ended(service: IngestService) -> dict[str, object]:
        async with websockets.connect(ws_url(service, EVENTS_PATH)) as feed:
            assert json.loads(await asyncio.wait_for(feed.recv(), 10)) == {"type": "subscribed"}
            await asyncio.to_thread(dead_instance_with_a_call, postgres_url, "gone", "orphan")
            while True:
                event = json.loads(await asyncio.wait_for(feed.recv(), 15))
                if event["type"] == "call_ended":
                    return dict(event)

    with ingest_service(postgres_url, instance_id="reaper", lease_seconds=0.6) as service:
        assert asyncio.run(until_ended(service)) == {
            "type": "call_ended",
            "call_id": "orphan",
            "status": "interrupted",
        }


def dead_instance_with_a_call(url: str, instance_id: str, call_id: str) -> None:
    """Register ``instance_id`` with a lease already over, owning one ``active`` call."""
    store = open_store(url, instance_id=instance_id)
    leases = InstanceLeases(store, instance_id, 30.0)
    try:
        leases.register()
        store.start_call(CallStart("stream", call_id, "linear16", 16000, ("0",)))
        expire_lease(store, instance_id)
    finally:
        leases.close()
        store.close()


async def feed_until_ended(
    watcher: IngestService, call_id: str, cause: Callable[[], object]
) -> dict[str, object]:
    """Subscribe to ``watcher``'s /v1/events, run ``cause`` (in a thread), return ``call_id``'s
    ``call_ended`` event."""
    async with websockets.connect(ws_url(watcher, EVENTS_PATH)) as feed:
        assert json.loads(await asyncio.wait_for(feed.recv(), 10)) == {"type": "subscribed"}
        await asyncio.to_thread(cause)
        while True:
            event = json.loads(await asyncio.wait_for(feed.recv(), 15))
            if event["type"] == "call_ended" and event["call_id"] == call_id:
                return dict(event)


def test_calls_a_restarted_instance_takes_from_its_dead_run_end_interrupted_on_every_feed(
    postgres_url: str,
) -> None:
    """A killed instance restarted under its id interrupts its dead run's calls at start; the page
    of another instance (whose own keeper has not reaped them yet) sees them end."""

    def restart() -> None:
        dead_instance_with_a_call(postgres_url, "phoenix", "left-by-phoenix")
        with ingest_service(postgres_url, instance_id="phoenix") as reborn:
            assert reborn.interrupted_at_start == 1

    with ingest_service(postgres_url, instance_id="watcher") as watcher:
        event = asyncio.run(feed_until_ended(watcher, "left-by-phoenix", restart))
    assert event == {"type": "call_ended", "call_id": "left-by-phoenix", "status": "interrupted"}


def test_calls_still_active_at_a_clean_stop_end_interrupted_on_every_feed(postgres_url: str) -> None:
    """A call of this instance's that is still ``active`` in the store when it stops (here, one the
    pipeline does not hold) is marked interrupted by the lease's release and announced."""

    def stop_leaving_a_call() -> None:
        leaving = IngestService(
            IngestConfig(host="127.0.0.1", port=0, store=postgres_url, instance_id="leaving"),
            deepgram_url=server.url,
            api_key="local",
        ).start()
        try:
            store = open_store(postgres_url, instance_id="leaving")
            try:
                store.start_call(CallStart("stream", "left-at-stop", "linear16", 16000, ("0",)))
            finally:
                store.close()
        finally:
            leaving.stop()

    with (
        LocalServer(engine="deterministic") as server,
        ingest_service(postgres_url, instance_id="watcher") as watcher,
    ):
        event = asyncio.run(feed_until_ended(watcher, "left-at-stop", stop_leaving_a_call))
        detail = watcher.store.get_call("left-at-stop")
    assert event == {"type": "call_ended", "call_id": "left-at-stop", "status": "interrupted"}
    assert detail is not None and detail.call.status == "interrupted"
