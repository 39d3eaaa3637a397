"""The live feed and the pages' routes over real sockets: /v1/events, token refusals, served files."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from actors.ingest.http_api import PAGES
from actors.ingest.live_feed import DROPPED, LiveFeed
from actors.ingest.service import EVENTS_PATH, STREAM_PATH, IngestService
from tests.support.ingest import conversation, ingest_service, stored_words, ws_url
from tests.support.plain_client import audio_frames, messages_until_closed, start_message, stop_message

TOKEN = "web-feed-token-0123456789"
CALL = conversation(
    [(0, ["my", "card", "was", "charged"]), (0, ["thanks"])],
    channels=1,
    sample_rate=16000,
    encoding="linear16",
)


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/ingest.sqlite3"


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_a_slow_subscriber_is_dropped_with_an_event_saying_so() -> None:
    async def run() -> None:
        feed = LiveFeed(asyncio.get_running_loop(), queue_size=2)
        slow = feed.subscribe()
        for n in range(5):
            feed.publish({"type": "tick", "n": n})  # never blocks, whatever the subscribers do
        assert await slow.next() is DROPPED
        assert feed.dropped_subscribers == 1
        fresh = feed.subscribe()
        feed.publish({"type": "tick", "n": 5})
        assert await fresh.next() == {"type": "tick", "n": 5}
        slow.close()
        fresh.close()
        assert feed.subscribers == 0

    asyncio.run(run())


async def stream_call(service: IngestService, call_id: str, **connect: object) -> list[dict[str, object]]:
    async with websockets.connect(ws_url(service, STREAM_PATH), **connect) as ws:  # type: ignore[arg-type]
        await ws.send(start_message(call_id))
        for frame in audio_frames(CALL.audio, frame_bytes=2, frame_ms=100):
            await ws.send(frame)
        await ws.send(stop_message())
        return await messages_until_closed(ws)


async def feed_of_one_call(service: IngestService, call_id: str) -> list[dict[str, object]]:
    """The /v1/events frames from subscribing to the end of ``call_id`` (streamed meanwhile)."""
    events: list[dict[str, object]] = []
    async with websockets.connect(ws_url(service, EVENTS_PATH)) as feed:
        assert json.loads(await asyncio.wait_for(feed.recv(), 10)) == {"type": "subscribed"}
        streaming = asyncio.ensure_future(stream_call(service, call_id))
        while True:
            event = json.loads(await asyncio.wait_for(feed.recv(), 30))
            if event.get("call_id", event.get("call", {}).get("id")) != call_id:
                continue
            if event["type"] == "segment":  # commit before report: the row is already there
                detail = service.store.get_call(call_id)
                assert detail is not None
                assert event["segment"]["transcript"] in [s.transcript for s in detail.segments]
            events.append(event)
            if event["type"] == "call_ended":
                break
        await streaming
    return events


def test_the_feed_reports_start_committed_segments_and_end_in_order(tmp_path: Path) -> None:
    with ingest_service(sqlite_url(tmp_path)) as service:
        events = asyncio.run(feed_of_one_call(service, "feed-1"))
        kinds = [e["type"] for e in events]
        assert kinds[0] == "call_started" and kinds[-1] == "call_ended"
        assert set(kinds[1:-1]) == {"segment"}
        assert events[0]["call"]["channels"] == ["0"]  # type: ignore[index]
        assert events[-1]["status"] == "completed"
        words = [str(w["word"]) for e in events[1:-1] for w in e["segment"]["words"]]  # type: ignore[index]
        assert words == [w.word for w in stored_words(service, "feed-1")] == [w.word for w in CALL.words]


def test_with_a_token_the_feed_and_the_stream_refuse_a_socket_without_it(tmp_path: Path) -> None:
    async def refused(path: str, **connect: object) -> int:
        with pytest.raises(InvalidStatus) as caught:
            async with websockets.connect(ws_url(service, path), **connect):  # type: ignore[arg-type]
                pass
        return caught.value.response.status_code

    async def accepted_feed(**connect: object) -> str | None:
        async with websockets.connect(ws_url(service, EVENTS_PATH), **connect) as ws:  # type: ignore[arg-type]
            assert json.loads(await ws.recv()) == {"type": "subscribed"}
            return ws.subprotocol

    with ingest_service(sqlite_url(tmp_path), api_token=TOKEN) as service:
        assert asyncio.run(refused(EVENTS_PATH)) == 401
        assert asyncio.run(refused(EVENTS_PATH, subprotocols=["bearer", "wrong-token"])) == 401
        assert asyncio.run(refused(STREAM_PATH)) == 401
        assert asyncio.run(refused(STREAM_PATH, subprotocols=["bearer", "wrong-token"])) == 401
        header = {"additional_headers": {"Authorization": f"Bearer {TOKEN}"}}
        assert asyncio.run(accepted_feed(**header)) is None
        # a browser's way: the token offered as the second subprotocol; only "bearer" comes back
        assert asyncio.run(accepted_feed(subprotocols=["bearer", TOKEN])) == "bearer"
        replies = asyncio.run(stream_call(service, "token-call", subprotocols=["bearer", TOKEN]))
        assert replies[0]["type"] == "started"
        assert [w.word for w in stored_words(service, "token-call")] == [w.word for w in CALL.words]
        status, _, _ = http_get(service.url + "/v1/calls")
        assert status == 401
        status, _, _ = http_get(service.url + "/v1/calls", {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200


_EXTERNAL = re.compile(
    r"""(?:src|href|action)\s*=\s*["']?\s*(?:[a-z]+:)?//|https?://|url\(\s*["']?(?:[a-z]+:)?//""", re.I
)


def test_the_pages_are_served_without_a_token_and_fetch_nothing_from_outside(tmp_path: Path) -> None:
    with ingest_service(sqlite_url(tmp_path), api_token=TOKEN) as service:
        for route in PAGES:
            status, headers, body = http_get(service.url + route)
            assert status == 200, route
            assert headers["Content-Type"] == PAGES[route][1]
            assert "connect-src 'self'" in headers["Content-Security-Policy"]
            text = body.decode()
            assert "<!-- shared:" not in text, f"{route} has a fragment left in"
            if PAGES[route][1].startswith("text/html"):  # every page: the shared head and header
                assert 'rel="icon"' in text and 'id="login"' in text and 'id="logout"' in text, route
            # an SVG's namespace name is an identifier, never fetched
            text = text.replace('xmlns="http://www.w3.org/2000/svg"', "")
            assert not _EXTERNAL.search(text), f"{route} refers outside: {_EXTERNAL.search(text)}"
            for reference in re.findall(r"""(?:src|href)="(/[^"]*)\"""", text):
                if reference.startswith("/web/"):
                    assert reference in PAGES, f"{route} loads {reference}, which is not served"
