"""The transcript store: call lifecycle writes and the JSON API's reads, over SQLite or PostgreSQL.

:func:`open_store` parses the URL, connects, migrates the schema and returns a
:class:`TranscriptStore`. The store's own methods share one connection under a lock (they are
rare: a few per call); final segments go through a :class:`~actors.ingest.store.writer.SegmentWriter`,
which owns a second connection and batches. A broken connection raises
:class:`~actors.ingest.store.errors.StoreUnavailable` and is reopened on the next call.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

from actors.ingest.calls import CallStart
from actors.ingest.store._db import Connection, Param, Row, StoreURL, connect
from actors.ingest.store._schema import migrate
from actors.ingest.store.errors import StoreError, StoreUnavailable
from actors.ingest.store.models import CALL_STATUSES, CallDetail, CallRecord, CallStatus, Segment

#: Receives the seconds one store commit took (for the metrics layer's histogram).
CommitObserver = Callable[[float], None]

_CALL_COLUMNS = (
    "id, platform, platform_ids, started_at, ended_at, status, request_ids, metadata, language, channels,"
    " stats, instance_id"
)
_SEGMENT_COLUMNS = "call_id, segment_key, channel, start_s, end_s, transcript, words, speaker, confidence"
INSERT_SEGMENT = (
    f"INSERT INTO segments ({_SEGMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (call_id, segment_key) DO NOTHING"
)


def segment_row(segment: Segment) -> tuple[Param, ...]:
    """``segment`` as the parameter row of :data:`INSERT_SEGMENT`."""
    return (
        segment.call_id,
        segment.key,
        segment.channel,
        segment.start,
        segment.end,
        segment.transcript,
        json.dumps([dict(w) for w in segment.words], separators=(",", ":")),
        segment.speaker,
        segment.confidence,
    )


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _float(value: object) -> float:
    return float(str(value))


def _call(row: Row) -> CallRecord:
    status = str(row[5])
    assert status in CALL_STATUSES
    return CallRecord(
        id=str(row[0]),
        platform=str(row[1]),
        platform_ids=json.loads(str(row[2])),
        started_at=_float(row[3]),
        ended_at=None if row[4] is None else _float(row[4]),
        status=status,
        request_ids=tuple(json.loads(str(row[6]))),
        metadata=json.loads(str(row[7])),
        language=None if row[8] is None else str(row[8]),
        channels=tuple(json.loads(str(row[9]))),
        stats=json.loads(str(row[10])),
        instance_id=None if row[11] is None else str(row[11]),
    )


def _segment(row: Row) -> Segment:
    return Segment(
        call_id=str(row[0]),
        key=str(row[1]),
        channel=int(str(row[2])),
        start=_float(row[3]),
        end=_float(row[4]),
        transcript=str(row[5]),
        words=json.loads(str(row[6])),
        speaker=None if row[7] is None else int(str(row[7])),
        confidence=None if row[8] is None else _float(row[8]),
    )


class TranscriptStore:
    """Durable calls and final segments; thread-safe. Close it with :meth:`close`.

    ``instance_id`` (the service instance this store serves, see
    :mod:`actors.ingest.store.instances`) is recorded as the owner of every call :meth:`start_call`
    records; None records calls without an owner.
    """

    def __init__(
        self,
        url: StoreURL,
        *,
        observe_commit: CommitObserver | None = None,
        instance_id: str | None = None,
    ) -> None:
        self.url = url
        self.observe_commit = observe_commit
        self.instance_id = instance_id
        self._lock = threading.Lock()
        self._conn: Connection | None = connect(url)
        try:
            migrate(self._conn)
        except BaseException:
            self._conn.close()
            raise

    def __repr__(self) -> str:
        return f"TranscriptStore({self.url.display!r})"

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.url.backend

    def connect(self) -> Connection:
        """A new connection of this store's database (the segment writer owns one)."""
        return connect(self.url)

    @contextmanager
    def _transaction(self, write: bool = True) -> Iterator[Connection]:
        with self._lock:
            if self._conn is None:
                self._conn = connect(self.url)
            conn = self._conn
            started = time.monotonic()
            try:
                with conn.transaction(write):
                    yield conn
            except StoreUnavailable:
                conn.close()
                self._conn = None
                raise
            if self.observe_commit is not None:
                self.observe_commit(time.monotonic() - started)

    def _query(self, sql: str, params: Sequence[Param] = ()) -> list[Row]:
        with self._lock:
            if self._conn is None:
                self._conn = connect(self.url)
            try:
                return self._conn.execute(sql, params)
            except StoreUnavailable:
                self._conn.close()
                self._conn = None
                raise

    # -- lifecycle writes ---------------------------------------------------------------------------

    def start_call(self, start: CallStart, *, started_at: float | None = None) -> bool:
        """Record an ``active`` call from its :class:`CallStart`, owned by :attr:`instance_id`; False if
        the call id already exists (recorded by this instance or by any other sharing the database)."""
        at = time.time() if started_at is None else started_at
        with self._transaction() as conn:
            rows = conn.execute(
                f"INSERT INTO calls ({_CALL_COLUMNS}) "
                "VALUES (?, ?, ?, ?, NULL, 'active', '[]', ?, ?, ?, '{}', ?) "
                "ON CONFLICT (id) DO NOTHING RETURNING id",
                (
                    start.call_id,
                    start.platform,
                    _dumps(dict(start.platform_ids)),
                    at,
                    _dumps(dict(start.metadata)),
                    start.language,
                    _dumps(list(start.channels)),
                    self.instance_id,
                ),
            )
        return bool(rows)

    def end_call(
        self,
        call_id: str,
        status: CallStatus,
        *,
        ended_at: float | None = None,
        stats: Mapping[str, float] | None = None,
    ) -> bool:
        """Set a call's final ``status`` (not ``active``), end time and ``stats`` (the call's own
        figures: audio seconds, segments, reconnects, ...); False if the call is unknown."""
        if status not in CALL_STATUSES or status == "active":
            raise StoreError(f"end_call status: {status!r} is not one of completed, failed, interrupted")
        at = time.time() if ended_at is None else ended_at
        with self._transaction() as conn:
            rows = conn.execute(
                "UPDATE calls SET status = ?, ended_at = ?, stats = ? WHERE id = ? RETURNING id",
                (status, at, _dumps(dict(stats or {})), call_id),
            )
        return bool(rows)

    def set_language(self, call_id: str, language: str) -> bool:
        """Record a mid-call language change; False if the call is unknown."""
        with self._transaction() as conn:
            rows = conn.execute(
                "UPDATE calls SET language = ? WHERE id = ? RETURNING id", (language, call_id)
            )
        return bool(rows)

    def add_request_id(self, call_id: str, request_id: str) -> bool:
        """Append a Deepgram request id to the call (once); False if the call is unknown."""
        with self._transaction() as conn:
            lock = " FOR UPDATE" if conn.backend == "postgresql" else ""
            rows = conn.execute(f"SELECT request_ids FROM calls WHERE id = ?{lock}", (call_id,))
            if not rows:
                return False
            ids: list[str] = json.loads(str(rows[0][0]))
            if request_id not in ids:
                ids.append(request_id)
                conn.execute("UPDATE calls SET request_ids = ? WHERE id = ?", (_dumps(ids), call_id))
        return True

    def mark_interrupted(self, *, at: float | None = None) -> int:
        """At service start: every call still ``active`` (its process died) becomes ``interrupted``.

        Returns how many calls were marked. Only call this when no other live service instance
        shares the database (it cannot tell their active calls from dead ones): the single-instance
        SQLite store does; instances sharing PostgreSQL use the leases of
        :mod:`actors.ingest.store.instances` instead.
        """
        when = time.time() if at is None else at
        with self._transaction() as conn:
            rows = conn.execute(
                "UPDATE calls SET status = 'interrupted', ended_at = COALESCE(ended_at, ?) "
                "WHERE status = 'active' RETURNING id",
                (when,),
            )
        return len(rows)

    def add_segments(self, segments: Sequence[Segment]) -> int:
        """Store ``segments`` in one transaction, synchronously (duplicates are skipped); return the count.

        For a live call use a :class:`~actors.ingest.store.writer.SegmentWriter` instead (batched).
        """
        with self._transaction() as conn:
            conn.executemany(INSERT_SEGMENT, [segment_row(s) for s in segments])
        return len(segments)

    # -- reads --------------------------------------------------------------------------------------

    def list_calls(
        self, *, active: bool | None = None, since: float | None = None, limit: int = 100
    ) -> list[CallRecord]:
        """Calls newest first: only active (True), only ended (False) or all (None); ``since``: Unix s."""
        if not 1 <= limit <= 10_000:
            raise StoreError(f"list_calls limit: {limit!r} is not between 1 and 10000")
        where: list[str] = []
        params: list[Param] = []
        if active is not None:
            where.append("status = 'active'" if active else "status <> 'active'")
        if since is not None:
            where.append("started_at >= ?")
            params.append(float(since))
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self._query(
            f"SELECT {_CALL_COLUMNS} FROM calls{clause} ORDER BY started_at DESC, id LIMIT ?",
            (*params, int(limit)),
        )
        return [_call(r) for r in rows]

    def get_call(self, call_id: str) -> CallDetail | None:
        """The call and its segments ordered by ``(start, channel)``; None if unknown."""
        with self._transaction(write=False) as conn:
            calls = conn.execute(f"SELECT {_CALL_COLUMNS} FROM calls WHERE id = ?", (call_id,))
            if not calls:
                return None
            segments = conn.execute(
                f"SELECT {_SEGMENT_COLUMNS} FROM segments WHERE call_id = ? "
                "ORDER BY start_s, channel, segment_key",
                (call_id,),
            )
        return CallDetail(_call(calls[0]), tuple(_segment(s) for s in segments))

    def ping(self) -> bool:
        """True if the database answers ``SELECT 1`` now (for ``/readyz``); reconnects if it can."""
        try:
            self._query("SELECT 1")
        except StoreUnavailable:
            return False
        return True

    def close(self) -> None:
        """Close the store's connection (writers have their own; stop them first)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def open_store(
    url: str, *, observe_commit: CommitObserver | None = None, instance_id: str | None = None
) -> TranscriptStore:
    """Parse ``url`` (``sqlite:///PATH`` or ``postgresql://...``), connect and migrate; return the store
    (``instance_id``: the owner it records for new calls).

    Raises :class:`~actors.ingest.store.errors.StoreURLError` for a bad URL,
    :class:`~actors.ingest.store.errors.StoreUnavailable` when the database cannot be reached and
    :class:`~actors.ingest.store.errors.SchemaTooNew` for a database migrated by a newer service.
    """
    return TranscriptStore(StoreURL.parse(url), observe_commit=observe_commit, instance_id=instance_id)


__all__ = ["CommitObserver", "TranscriptStore", "open_store"]
