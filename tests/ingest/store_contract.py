"""The store's contract, run against every backend: each backend's test module imports these tests
and defines a ``store_url`` fixture (a URL of a new, empty store)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from actors.ingest.calls import CallStart
from actors.ingest.store import (
    SCHEMA_VERSION,
    BacklogFull,
    SchemaTooNew,
    Segment,
    SegmentWriter,
    StoreError,
    TranscriptStore,
    open_store,
)
from actors.ingest.store._db import connect
from actors.ingest.store._schema import current_version, migrate


def call_start(call_id: str = "call-1", **kwargs: object) -> CallStart:
    """A two-channel AudioHook call start."""
    fields: dict[str, object] = {
        "platform": "audiohook",
        "call_id": call_id,
        "encoding": "mulaw",
        "sample_rate": 8000,
        "channels": ("external", "internal"),
        "platform_ids": {"conversationId": "conv-9", "participantId": "p-1"},
        "language": "en-US",
        "metadata": {"queue": "billing"},
    }
    fields.update(kwargs)
    return CallStart(**fields)  # type: ignore[arg-type]


def seg(call_id: str, channel: int, start: float, text: str = "hello", **kwargs: object) -> Segment:
    """A final segment one second long."""
    return Segment(call_id=call_id, channel=channel, start=start, end=start + 1.0, transcript=text, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def store(store_url: str) -> Iterator[TranscriptStore]:
    """An open store on a new database, closed at the end."""
    opened = open_store(store_url)
    try:
        yield opened
    finally:
        opened.close()


def test_call_lifecycle_round_trips(store: TranscriptStore) -> None:
    assert store.start_call(call_start(), started_at=100.0) is True
    assert store.start_call(call_start(), started_at=200.0) is False  # a replayed start is a no-op
    assert store.add_request_id("call-1", "req-a")
    assert store.add_request_id("call-1", "req-b")
    assert store.add_request_id("call-1", "req-a")  # once only
    assert not store.add_request_id("nope", "req-a")
    assert store.set_language("call-1", "es")
    detail = store.get_call("call-1")
    assert detail is not None
    call = detail.call
    assert (call.platform, call.status, call.started_at, call.ended_at) == (
        "audiohook",
        "active",
        100.0,
        None,
    )
    assert call.platform_ids == {"conversationId": "conv-9", "participantId": "p-1"}
    assert call.request_ids == ("req-a", "req-b")
    assert call.metadata == {"queue": "billing"}
    assert (call.language, call.channels) == ("es", ("external", "internal"))
    assert store.end_call("call-1", "completed", ended_at=160.0)
    detail = store.get_call("call-1")
    assert detail is not None and (detail.call.status, detail.call.ended_at) == ("completed", 160.0)
    assert detail.call.stats == {}
    assert store.end_call("call-1", "completed", ended_at=161.0, stats={"audio_seconds": 59.5, "segments": 3})
    detail = store.get_call("call-1")
    assert detail is not None and detail.call.stats == {"audio_seconds": 59.5, "segments": 3}
    assert not store.end_call("nope", "failed")
    with pytest.raises(StoreError, match="'active' is not one of"):
        store.end_call("call-1", "active")
    assert store.get_call("nope") is None


def test_segments_are_idempotent_and_ordered(store: TranscriptStore) -> None:
    store.start_call(call_start())
    words = ({"word": "hello", "start": 2.0, "end": 2.4, "confidence": 0.9},)
    store.add_segments([seg("call-1", 1, 2.0, "later", words=words, speaker=1, confidence=0.9)])
    store.add_segments([seg("call-1", 0, 2.0, "same time"), seg("call-1", 0, 0.5, "first")])
    store.add_segments([seg("call-1", 1, 2.0, "later (re-delivered)")])  # same key: ignored
    detail = store.get_call("call-1")
    assert detail is not None
    assert [(s.channel, s.start, s.transcript) for s in detail.segments] == [
        (0, 0.5, "first"),
        (0, 2.0, "same time"),
        (1, 2.0, "later"),
    ]
    last = detail.segments[2]
    assert (last.words, last.speaker, last.confidence, last.key) == (words, 1, 0.9, "1:2000:3000")
    # A caller-given key makes two finals with equal timing distinct.
    store.add_segments([seg("call-1", 0, 9.0, key="a"), seg("call-1", 0, 9.0, key="b")])
    detail = store.get_call("call-1")
    assert detail is not None and len(detail.segments) == 5


def test_list_calls_filters(store: TranscriptStore) -> None:
    for n, at in enumerate((10.0, 20.0, 30.0)):
        store.start_call(call_start(f"c{n}"), started_at=at)
    store.end_call("c1", "failed")
    assert [c.id for c in store.list_calls()] == ["c2", "c1", "c0"]
    assert [c.id for c in store.list_calls(active=True)] == ["c2", "c0"]
    assert [c.id for c in store.list_calls(active=False)] == ["c1"]
    assert [c.id for c in store.list_calls(since=20.0)] == ["c2", "c1"]
    assert [c.id for c in store.list_calls(limit=1)] == ["c2"]
    with pytest.raises(StoreError, match="limit"):
        store.list_calls(limit=0)


def test_mark_interrupted_marks_only_active_calls(store: TranscriptStore) -> None:
    store.start_call(call_start("a"))
    store.start_call(call_start("b"))
    store.end_call("b", "completed", ended_at=5.0)
    assert store.mark_interrupted(at=7.0) == 1
    assert store.mark_interrupted() == 0
    a, b = store.get_call("a"), store.get_call("b")
    assert a is not None and (a.call.status, a.call.ended_at) == ("interrupted", 7.0)
    assert b is not None and (b.call.status, b.call.ended_at) == ("completed", 5.0)


def test_writer_reports_only_after_commit(store_url: str) -> None:
    commit_times: list[float] = []
    store = open_store(store_url, observe_commit=commit_times.append)
    store.start_call(call_start())
    reader = open_store(store_url)  # another connection: sees only committed rows
    writer = SegmentWriter(store, interval=0.02, max_rows=7)
    seen_by_reader: list[bool] = []
    all_done = threading.Event()

    def on_committed(segment: Segment) -> None:
        detail = reader.get_call(segment.call_id)
        seen_by_reader.append(detail is not None and any(s.key == segment.key for s in detail.segments))
        if len(seen_by_reader) == 40:
            all_done.set()

    try:
        for n in range(20):
            writer.add(seg("call-1", n % 2, float(n)), on_committed)
        for n in range(20):  # re-delivered: stored once, reported again (the row is committed)
            writer.add(seg("call-1", n % 2, float(n)), on_committed)
        assert all_done.wait(10)
        assert writer.flush(5)
    finally:
        assert writer.stop() == 0
        reader.close()
    assert all(seen_by_reader)
    assert writer.healthy and writer.pending == 0
    assert len(commit_times) >= 40 // 7 and all(t >= 0 for t in commit_times)
    detail = store.get_call("call-1")
    assert detail is not None and len(detail.segments) == 20
    store.close()
    assert not any(t.name == "ingest-segment-writer" for t in threading.enumerate())


def test_writer_stop_flushes_what_is_queued(store: TranscriptStore) -> None:
    store.start_call(call_start())
    writer = SegmentWriter(store, interval=5.0, max_rows=1000)  # would wait 5 s for more rows
    for n in range(10):
        writer.add(seg("call-1", 0, float(n)))
    assert writer.stop(timeout=5) == 0
    detail = store.get_call("call-1")
    assert detail is not None and len(detail.segments) == 10
    with pytest.raises(RuntimeError, match="stopped"):
        writer.add(seg("call-1", 0, 99.0))


def test_writer_backlog_is_bounded(store_url: str) -> None:
    store = open_store(store_url)
    store.start_call(call_start())
    gate = threading.Event()
    entered = threading.Event()

    def block(_seconds: float) -> None:  # holds the writer thread after its first commit
        entered.set()
        gate.wait(10)

    store.observe_commit = block
    writer = SegmentWriter(store, interval=0.01, max_rows=1, max_pending=3)
    try:
        writer.add(seg("call-1", 0, 0.0))
        assert entered.wait(5)
        writer.add(seg("call-1", 0, 1.0))
        writer.add(seg("call-1", 0, 2.0))
        with pytest.raises(BacklogFull, match="3 uncommitted rows"):
            writer.add(seg("call-1", 0, 3.0))
    finally:
        store.observe_commit = None
        gate.set()
        assert writer.stop() == 0
    detail = store.get_call("call-1")
    assert detail is not None and len(detail.segments) == 3
    store.close()


def test_schema_reopen_is_a_noop_and_newer_is_refused(store_url: str) -> None:
    open_store(store_url).close()
    parsed = open_store(store_url)
    conn = parsed.connect()
    try:
        assert current_version(conn) == SCHEMA_VERSION
        assert migrate(conn) == 0
        with conn.transaction():
            conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    finally:
        conn.close()
        parsed.close()
    with pytest.raises(SchemaTooNew, match=f"version {SCHEMA_VERSION + 1}, newer than this service knows"):
        open_store(store_url)


def test_a_later_migration_applies_on_open(store_url: str) -> None:
    from actors.ingest.store import MIGRATIONS, StoreURL

    open_store(store_url).close()
    conn = connect(StoreURL.parse(store_url))
    try:
        v2 = (*MIGRATIONS, ("ALTER TABLE calls ADD COLUMN tenant TEXT",))
        assert migrate(conn, v2) == 1
        assert current_version(conn) == SCHEMA_VERSION + 1
        assert conn.execute("SELECT tenant FROM calls") == []
        assert migrate(conn, v2) == 0
    finally:
        conn.close()


def test_a_version_1_database_with_calls_migrates_to_stats(store_url: str) -> None:
    from actors.ingest.store import MIGRATIONS, StoreURL

    conn = connect(StoreURL.parse(store_url))
    try:
        assert migrate(conn, MIGRATIONS[:1]) == 1  # as the first release left it
        with conn.transaction():
            conn.execute(
                "INSERT INTO calls (id, platform, platform_ids, started_at, ended_at, status, request_ids,"
                " metadata, language, channels)"
                " VALUES ('v1', 'twilio', '{}', 1.0, NULL, 'active', '[]', '{}', NULL, '[\"inbound\"]')"
            )
    finally:
        conn.close()
    store = open_store(store_url)
    try:
        detail = store.get_call("v1")
        assert detail is not None and detail.call.stats == {} and detail.call.channels == ("inbound",)
    finally:
        store.close()


CHILD = """
import sys
from actors.ingest.calls import CallStart
from actors.ingest.store import Segment, SegmentWriter, open_store

store = open_store(sys.argv[1])
store.start_call(CallStart("twilio", "killed", "mulaw", 8000, ("inbound",)))
writer = SegmentWriter(store, interval=0.01, max_rows=50)

def acked(segment):
    sys.stdout.write(segment.key + "\\n")
    sys.stdout.flush()

n = 0
while True:
    writer.add(Segment("killed", 0, n * 0.01, n * 0.01 + 0.01, f"word {n}", key=str(n)), acked)
    n += 1
    if n % 100 == 0:
        writer.flush(5)
"""


@pytest.mark.timeout(60)
def test_sigkill_mid_batch_loses_no_reported_segment(store_url: str) -> None:
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    repo = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": repo}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, store_url], stdout=subprocess.PIPE, text=True, env=env
    )
    assert child.stdout is not None
    acked: list[str] = []
    try:
        for line in child.stdout:  # blocks on the pipe, no sleeping
            acked.append(line.strip())
            if len(acked) >= 500:
                break
    finally:
        child.send_signal(signal.SIGKILL)
        rest, _ = child.communicate(timeout=10)
    acked += [k for k in rest.splitlines() if k]
    assert child.returncode == -signal.SIGKILL
    store = open_store(store_url)
    try:
        detail = store.get_call("killed")
        assert detail is not None
        stored = {s.key for s in detail.segments}
        assert set(acked) <= stored, f"{len(set(acked) - stored)} acknowledged segments lost"
        assert store.mark_interrupted() == 1
        detail = store.get_call("killed")
        assert detail is not None and detail.call.status == "interrupted"
    finally:
        store.close()


def test_writer_drops_a_bad_row_and_keeps_the_rest(store: TranscriptStore) -> None:
    store.start_call(call_start())
    writer = SegmentWriter(store, interval=0.05, max_rows=100)
    reported: list[str] = []
    bad = Segment("call-1", 0, 5.0, 6.0, None)  # type: ignore[arg-type]  # violates NOT NULL
    try:
        writer.add(seg("call-1", 0, 1.0), lambda s: reported.append(s.key))
        writer.add(bad, lambda s: reported.append(s.key))
        writer.add(seg("call-1", 0, 2.0), lambda s: reported.append(s.key))
        assert writer.flush(5)
    finally:
        assert writer.stop() == 1
    assert reported == ["0:1000:2000", "0:2000:3000"]
    assert writer.healthy
    detail = store.get_call("call-1")
    assert detail is not None and [s.start for s in detail.segments] == [1.0, 2.0]
