"""The ingest pages in headless Chromium (Debian's, under Playwright): the live calls page shows a
call's words while it streams, and /mic turns a fake microphone's speech into the expected transcript.

Screenshots are saved to tests.support.browser.artifacts_dir() (the path is printed).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from actors.ingest.service import EVENTS_PATH, IngestService
from actors.server.engines.deterministic import silence, synthesize_words
from tests.support.browser import chromium, fake_microphone_args, screenshot
from tests.support.held_call import ALL_WORDS, FIRST_WORDS, HeldCall
from tests.support.ingest import ingest_service, stored_words, ws_url
from tests.support.wav import write_wav

pytestmark = pytest.mark.timeout(60)

TOKEN = "web-pages-token-0123456789"


def audio_time(seconds: float) -> str:
    """The pages' m:ss.t of a call time."""
    minutes = int(seconds // 60)
    return f"{minutes}:{seconds - 60 * minutes:04.1f}"


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/ingest.sqlite3"


def log_in(page: object, service: IngestService, route: str) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.goto(service.url + route)
    expect(page.locator("#login")).to_be_visible()
    page.fill("#token", TOKEN)
    page.click("#login-submit")
    expect(page.locator("#main")).to_be_visible()


def test_the_live_page_shows_a_calls_words_while_it_streams(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with ingest_service(sqlite_url(tmp_path), api_token=TOKEN) as service, chromium() as browser:
        page = browser.new_page()
        log_in(page, service, "/")
        expect(page.locator("#status")).to_have_text("live", timeout=10_000)
        call = HeldCall(service, "live-page-call", TOKEN)
        call.start()
        try:
            box = page.locator('[data-call-id="live-page-call"]')
            expect(box.locator(".words")).to_have_text(FIRST_WORDS, timeout=15_000)
            # still streaming: the socket is held open, the call is active in the store and on the page
            assert call.is_alive()
            detail = service.store.get_call("live-page-call")
            assert detail is not None and detail.call.status == "active"
            expect(box.locator(".status")).to_have_text("active")
            expect(page.locator("#calls")).to_contain_text("live-page-call")
            screenshot(page, "ingest-live-page-streaming")
        finally:
            call.end()
        expect(box.locator(".words")).to_have_text(ALL_WORDS, timeout=15_000)
        expect(box.locator(".status")).to_have_text("completed", timeout=15_000)
        screenshot(page, "ingest-live-page-ended")
        # the finished call's transcript page, with audio times
        box.locator("h3 a").click()
        expect(page.locator("#title")).to_have_text("Call live-page-call")
        stored = service.store.get_call("live-page-call")
        assert stored is not None
        detail_segments = stored.segments
        segments = page.locator("#segments .segment")
        expect(segments).to_have_count(len(detail_segments))
        assert " ".join(segments.locator(".words").all_inner_texts()) == ALL_WORDS
        first = detail_segments[0]
        assert (
            segments.first.locator(".time").inner_text()
            == f"{audio_time(first.start)}-{audio_time(first.end)}"
        )
        screenshot(page, "ingest-call-page")


def start_and_wait_for_first_segment(service: IngestService, call: HeldCall) -> None:
    """Starts ``call`` and waits on /v1/events (a real socket, subscribed before the call starts;
    no token: the service is on loopback without one) for its first committed segment."""
    from websockets.sync.client import connect

    with connect(ws_url(service, EVENTS_PATH), open_timeout=10) as feed:
        assert json.loads(feed.recv(timeout=10)) == {"type": "subscribed"}
        call.start()
        while True:
            event = json.loads(feed.recv(timeout=20))
            if event["type"] == "segment" and event["call_id"] == call.call_id:
                return


def test_on_loopback_without_a_token_a_page_opened_mid_call_shows_the_words_said_before_once(
    tmp_path: Path,
) -> None:
    """No token configured, loopback only: no login form; the page, opened after a call's first
    words were committed, shows them (rebuilt from the store when its feed subscribes) and then the
    rest as events, each segment once."""
    from playwright.sync_api import expect

    with ingest_service(sqlite_url(tmp_path)) as service, chromium() as browser:
        assert service.config.api_token is None and service.config.loopback_only
        call = HeldCall(service, "mid-call", None)
        try:
            start_and_wait_for_first_segment(service, call)
            page = browser.new_page()
            page.goto(service.url + "/")
            expect(page.locator("#main")).to_be_visible()
            expect(page.locator("#login")).to_be_hidden()
            expect(page.locator("#logout")).to_be_hidden()
            expect(page.locator("#status")).to_have_text("live", timeout=10_000)
            box = page.locator('[data-call-id="mid-call"]')
            expect(box.locator(".words")).to_have_text(FIRST_WORDS, timeout=15_000)
            expect(box.locator(".status")).to_have_text("active")
            expect(page.locator("#summary")).to_contain_text("1 active call(s) across all instances")
            screenshot(page, "ingest-live-page-opened-mid-call")
        finally:
            call.end()
        expect(box.locator(".status")).to_have_text("completed", timeout=15_000)
        expect(box.locator(".words")).to_have_text(ALL_WORDS)
        stored = service.store.get_call("mid-call")
        assert stored is not None
        expect(page.locator("#summary")).to_contain_text(f"{len(stored.segments)} segment(s) shown")


def test_the_mic_page_turns_the_microphone_into_the_expected_transcript(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    words = ["hello", "from", "the", "browser"]
    wav = write_wav(
        tmp_path / "speech.wav", synthesize_words(words, 16000, leading_ms=300) + silence(1.5, 16000)
    )
    with (
        ingest_service(sqlite_url(tmp_path), api_token=TOKEN) as service,
        chromium(fake_microphone_args(wav)) as browser,
    ):
        page = browser.new_page()
        log_in(page, service, "/mic")
        page.click("#start")
        expect(page.locator("#state")).to_have_text("streaming", timeout=10_000)
        expect(page.locator("#transcript")).to_contain_text(" ".join(words), timeout=15_000)
        screenshot(page, "ingest-mic-page")
        call_id = page.inner_text("#call-id")
        page.click("#stop")
        expect(page.locator("#state")).to_have_text("ended: completed", timeout=15_000)
        detail = service.store.get_call(call_id)
        assert detail is not None and detail.call.status == "completed"
        assert detail.call.metadata["source"] == "mic page"
        stored = [w.word for w in stored_words(service, call_id)]
        assert stored[: len(words)] == words  # the fake device loops the file: it may have begun again
