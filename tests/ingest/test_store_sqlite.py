"""The transcript store on SQLite: the shared contract plus file modes and URL parsing."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from actors.ingest.store import Segment, SegmentWriter, StoreURL, StoreURLError, open_store
from tests.ingest.store_contract import *  # noqa: F403 -- the shared contract tests
from tests.ingest.store_contract import call_start


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """A new SQLite store file under the test's temp dir."""
    return f"sqlite://{tmp_path / 'sub' / 'calls.db'}"


def test_sqlite_files_are_owner_only_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "calls.db"
    store = open_store(f"sqlite://{path}")
    store.start_call(call_start())
    writer = SegmentWriter(store)
    writer.add(Segment("call-1", 0, 0.0, 1.0, "hi"))
    assert writer.flush(5)
    try:
        for name in ("calls.db", "calls.db-wal", "calls.db-shm"):
            mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
            assert mode == 0o600, f"{name}: {oct(mode)}"
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        writer.stop()
        store.close()


def test_sqlite_relative_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    open_store("sqlite:rel/calls.db").close()
    assert (tmp_path / "rel" / "calls.db").exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "empty"),
        ("mysql://u:hunter2@db/x", "unknown scheme 'mysql'"),
        ("sqlite://host/x.db", "has no host"),
        ("sqlite:///:memory:", "needs a database file path"),
        ("sqlite:///x.db?mode=ro", "no query"),
        ("postgresql://", "needs a host or a database name"),
        ("postgresql://u:hunter2@db:notaport/x", "the port is not a number"),
        ("postgresql://u:hunter2@db/x?bogus=1", "invalid PostgreSQL URL.*bogus"),
    ],
)
def test_bad_urls_are_named_without_the_password(url: str, message: str) -> None:
    with pytest.raises(StoreURLError, match=message) as caught:
        StoreURL.parse(url)
    assert "hunter2" not in str(caught.value)
    if "u:" in url:
        assert "u:***@" in str(caught.value)
