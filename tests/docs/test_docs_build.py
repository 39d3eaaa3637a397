"""The documentation site builds with ``mkdocs build --strict`` and fetches nothing from outside.

Runs in the test command, so a broken page, a dangling link, a nav entry without a file, a
docstring mkdocstrings cannot render or an example the pages include that is gone fails the
suite. About 3 s (the API reference is rendered from the docstrings by static analysis; nothing
is imported).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs", reason="the docs extra is not installed")
pytest.importorskip("mkdocstrings_handlers.python", reason="the docs extra is not installed")

ROOT = Path(__file__).resolve().parents[2]
#: Pages that must come out of the build (one per use, the design notes, the API reference).
PAGES = (
    "index.html",
    "getting-started/index.html",
    "uses/sdk-port/index.html",
    "uses/batch/index.html",
    "uses/ingest/index.html",
    "uses/threaded-server/index.html",
    "uses/cluster/index.html",
    "examples/index.html",
    "contributing/index.html",
    "changelog/index.html",
    "api/client/index.html",
    "api/runtime/index.html",
    "api/supervisor/index.html",
    "api/protocol/index.html",
    "api/errors/index.html",
    "api/ingest/index.html",
    "api/cluster/index.html",
)
#: An attribute that makes a browser fetch something as the page loads.
FETCHING = re.compile(
    r"<(?:script|img|link|iframe|source|video|audio)\b[^>]*\b(?:src|href)=[\"']([^\"']+)", re.I
)
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.I)
#: A stylesheet reference to another host (``@import url(//...)``, ``url(https://...)``: web fonts).
REMOTE_CSS = re.compile(r"(?:@import\s+|url\(\s*)[\"']?(?:https?:)?//", re.I)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built strictly into a temporary directory."""
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"
    assert "WARNING" not in done.stderr, done.stderr
    return out


def test_every_page_is_built(site: Path) -> None:
    missing = [page for page in PAGES if not (site / page).is_file()]
    assert not missing, missing


def test_the_api_reference_is_rendered_from_the_docstrings(site: Path) -> None:
    supervisor = (site / "api/supervisor/index.html").read_text(encoding="utf-8")
    assert "open_stream" in supervisor and "max_connections" in supervisor
    client = (site / "api/client/index.html").read_text(encoding="utf-8")
    assert "DeepgramClient" in client and "finish_timeout" in client


def test_the_examples_are_in_the_pages(site: Path) -> None:
    page = (site / "examples/index.html").read_text(encoding="utf-8")
    for example in sorted((ROOT / "examples").glob("*.py")):
        assert example.name in page, f"{example.name} is not on the examples page"


def test_no_page_fetches_anything_from_outside(site: Path) -> None:
    external = [
        f"{page.relative_to(site)}: {url}"
        for page in site.rglob("*.html")
        for url in FETCHING.findall(page.read_text(encoding="utf-8"))
        if EXTERNAL.match(url)
    ]
    assert not external, external
    for css in site.rglob("*.css"):  # no @import of web fonts or url(https://...) in the stylesheets
        text = css.read_text(encoding="utf-8", errors="replace")
        assert not REMOTE_CSS.search(text), css


def test_rest_roles_become_markdown_code_spans() -> None:
    spec = importlib.util.spec_from_file_location("rst_roles", ROOT / "scripts" / "mkdocs_rst_roles.py")
    assert spec is not None and spec.loader is not None
    roles = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(roles)
    text = "See :class:`~actors.runtime.stream.StreamHandle`, :meth:`finish` or :func:`the helper <a.b>`::"
    assert roles.markdown_docstring(text) == "See `StreamHandle`, `finish` or `the helper`:"
    assert roles.markdown_docstring("``literal`` stays") == "``literal`` stays"
