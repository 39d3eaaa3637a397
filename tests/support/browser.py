"""Headless Chromium for the ingest pages' tests: Debian's ``chromium`` driven by Playwright.

Playwright's own browser downloads are never used (``playwright install`` cannot work offline);
``scripts/test`` installs Debian's chromium, which :func:`chromium_path` finds. Screenshots go to
:func:`artifacts_dir` (``$ACTORS_TEST_ARTIFACTS``, else ``test-artifacts/`` in the checkout).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.resolver import REPO_ROOT

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

#: Where Debian's chromium may be, fastest first.
CANDIDATES = (
    "/usr/lib/chromium/chromium-headless-shell",
    "/usr/lib/chromium/chromium",
    "/usr/bin/chromium",
)
#: Quiet, offline, root-safe flags (the sandbox refuses root; no update or sync traffic).
BASE_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
)


def chromium_path() -> str | None:
    """The first Chromium executable found, or None."""
    return next((p for p in CANDIDATES if os.access(p, os.X_OK)), None)


def artifacts_dir() -> Path:
    """The folder for test artifacts (created): ``$ACTORS_TEST_ARTIFACTS`` or ``<repo>/test-artifacts``."""
    folder = Path(os.environ.get("ACTORS_TEST_ARTIFACTS") or REPO_ROOT / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def fake_microphone_args(wav: Path) -> list[str]:
    """Flags that grant the microphone without asking and feed it ``wav`` (looped)."""
    return [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}",
        "--autoplay-policy=no-user-gesture-required",
    ]


@contextmanager
def chromium(extra_args: Sequence[str] = ()) -> Iterator[BrowserContext]:
    """A headless Chromium under Playwright with its own profile; skips the test if none is installed."""
    path = chromium_path()
    if path is None:
        pytest.skip(f"no Chromium at {', '.join(CANDIDATES)} (scripts/test installs Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the test extra installs playwright")
    with tempfile.TemporaryDirectory(prefix="actors-chromium-") as profile, sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=path,
            headless=True,
            args=[*BASE_ARGS, *extra_args],
        )
        try:
            yield context
        finally:
            context.close()


def screenshot(page: Page, name: str) -> Path:
    """Save ``page``'s screenshot as ``<artifacts>/<name>.png``, print and return the path."""
    path = artifacts_dir() / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path
