"""The live calls page through haproxy in front of two instances on one PostgreSQL, in headless Chromium:
the words of a call streamed to the instance the page's feed is *not* connected to appear live.

Screenshots are saved to tests.support.browser.artifacts_dir() (the path is printed).
"""

from __future__ import annotations

import pytest

from actors.server import LocalServer
from tests.support.browser import chromium, screenshot
from tests.support.haproxy import haproxy_in_front
from tests.support.held_call import ALL_WORDS, FIRST_WORDS, HeldCall
from tests.support.ingest import ingest_service
from tests.support.polling import poll

pytestmark = pytest.mark.timeout(60)

TOKEN = "web-cluster-token-0123456789"


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
        call = HeldCall(other, "elsewhere", TOKEN)
        call.start()
        try:
            box = page.locator('[data-call-id="elsewhere"]')
            expect(box.locator(".words")).to_have_text(FIRST_WORDS, timeout=15_000)
            assert call.is_alive(), "the words showed while the call streams"
            expect(box.locator(".status")).to_have_text("active")
            screenshot(page, "ingest-cluster-live-page-streaming")
        finally:
            call.end()
        expect(box.locator(".words")).to_have_text(ALL_WORDS, timeout=15_000)
        expect(box.locator(".status")).to_have_text("completed", timeout=15_000)
        detail = other.store.get_call("elsewhere")
        assert detail is not None and detail.call.instance_id == other.instance_id
        screenshot(page, "ingest-cluster-live-page-ended")
