"""The live calls page through haproxy in front of two instances on one PostgreSQL, in headless Chromium:
the words of a call streamed to the instance the page's feed is *not* connected to appear live.

Screenshots are saved to tests.support.browser.artifacts_dir() (the path is printed).
"""

from __future__ import annotations

import asyncio
import threading

import pytest
import websockets

from actors.ingest.service import STREAM_PATH, IngestService
from actors.server import LocalServer
from tests.support.browser import chromium, screenshot
from tests.support.haproxy import haproxy_in_front
from tests.support.ingest import conversation, ingest_service, ws_url
from tests.support.plain_client import audio_frames, messages_until_closed, start_message, stop_message
from tests.support.polling import poll

pytestmark = pytest.mark.timeout(60)

TOKEN = "web-cluster-token-0123456789"
FIRST = conversation(
    [(0, ["my", "card", "was", "charged"])], channels=1, sample_rate=16000, encoding="linear16"
)
SECOND = conversation([(0, ["thanks", "a", "lot"])], channels=1, sample_rate=16000, encoding="linear16")


class HeldCall(threading.Thread):
    """Streams FIRST to ``service``, holds the call open until ``release``, then SECOND and stop."""

    def __init__(self, service: IngestService, call_id: str) -> None:
        super().__init__(name="web-cluster-held-call", daemon=True)
        self.service, self.call_id = service, call_id
        self.release = threading.Event()
        self.replies: list[dict[str, object]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._call())
        except BaseException as exc:  # reported by the test
            self.error = exc

    async def _call(self) -> None:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with websockets.connect(ws_url(self.service, STREAM_PATH), additional_headers=headers) as ws:
            await ws.send(start_message(self.call_id))
            for frame in audio_frames(FIRST.audio, frame_bytes=2, frame_ms=100):
                await ws.send(frame)
            released = await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 30)
            assert released, "the test never saw the words"
            for frame in audio_frames(SECOND.audio, frame_bytes=2, frame_ms=100):
                await ws.send(frame)
            await ws.send(stop_message())
            self.replies = await messages_until_closed(ws)


def test_the_live_page_shows_the_words_of_a_call_on_another_instance(postgres_url: str) -> None:
    from playwright.sync_api import expect

    with (
        LocalServer(engine="deterministic") as deepgram,
        ingest_service(postgres_url, deepgram=deepgram, instance_id="A", api_token=TOKEN) as a,
        ingest_service(postgres_url, deepgram=deepgram, instance_id="B", api_token=TOKEN) as b,
        haproxy_in_front([a.port, b.port]) as url,
        chromium() as browser,
    ):
        page = browser.new_page()
        page.goto(url + "/")
        expect(page.locator("#login")).to_be_visible()
        page.fill("#token", TOKEN)
        page.click("#login-submit")
        expect(page.locator("#status")).to_have_text("live", timeout=10_000)
        poll(lambda: a.live_feed.subscribers + b.live_feed.subscribers == 1, 10, "the page's feed")
        other = b if a.live_feed.subscribers else a  # the instance the page is not connected to
        call = HeldCall(other, "elsewhere")
        call.start()
        try:
            box = page.locator('[data-call-id="elsewhere"]')
            expect(box.locator(".words")).to_have_text("my card was charged", timeout=15_000)
            assert call.is_alive(), "the words showed while the call streams"
            expect(box.locator(".status")).to_have_text("active")
            screenshot(page, "ingest-cluster-live-page-streaming")
        finally:
            call.release.set()
            call.join(30)
        assert call.error is None, call.error
        expect(box.locator(".words")).to_have_text("my card was charged thanks a lot", timeout=15_000)
        expect(box.locator(".status")).to_have_text("completed", timeout=15_000)
        detail = other.store.get_call("elsewhere")
        assert detail is not None and detail.call.instance_id == other.instance_id
        screenshot(page, "ingest-cluster-live-page-ended")
