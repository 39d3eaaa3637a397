"""The segment writer: one named thread that owns a connection, batches finals and commits them.

**Commit-before-report**: ``add(segment, on_committed=cb)`` calls ``cb(segment)`` (on the writer
thread) only after the transaction holding the row committed -- the service sends a transcript
back to the platform or shows it in the API only then. A re-delivered segment (same call and key)
is a no-op in the database and its callback still fires (the row is committed).

Batches commit every ``interval`` s or ``max_rows`` rows, whichever comes first. When the database
goes away the writer keeps every uncommitted row in memory, reports ``healthy = False``, and
reconnects with exponential backoff (``backoff_initial`` .. ``backoff_max`` s); when the database is
back the held rows commit in order and their callbacks fire. The memory is bounded: beyond
``max_pending`` uncommitted rows :meth:`SegmentWriter.add` raises
:class:`~actors.ingest.store.errors.BacklogFull` and the segment is **not** accepted (the caller
decides -- the service fails the call's readiness rather than block a live audio path).

A batch that fails for a reason other than the connection (a constraint the data breaks) is retried
row by row; a row that still fails is logged and dropped (its callback never fires), so one bad row
cannot wedge the writer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from actors.ingest.store._db import Connection
from actors.ingest.store.errors import BacklogFull, StoreUnavailable
from actors.ingest.store.models import Segment
from actors.ingest.store.store import INSERT_SEGMENT, TranscriptStore, segment_row

log = logging.getLogger(__name__)

OnCommitted = Callable[[Segment], None]


class SegmentWriter:
    """Batched, idempotent, commit-before-report writes of final segments (see the module docstring)."""

    def __init__(
        self,
        store: TranscriptStore,
        *,
        interval: float = 0.05,
        max_rows: int = 500,
        max_pending: int = 100_000,
        backoff_initial: float = 0.1,
        backoff_max: float = 5.0,
        name: str = "ingest-segment-writer",
    ) -> None:
        if interval <= 0 or max_rows < 1 or max_pending < max_rows:
            raise ValueError(
                f"SegmentWriter: need interval > 0, max_rows >= 1, max_pending >= max_rows "
                f"(got {interval!r}, {max_rows!r}, {max_pending!r})"
            )
        self._store = store
        self._interval = interval
        self._max_rows = max_rows
        self._max_pending = max_pending
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._cond = threading.Condition()
        self._pending: deque[tuple[Segment, OnCommitted | None]] = deque()
        self._stopping = False
        self._give_up_at: float | None = None
        self._healthy = True
        self._last_error: str | None = None
        self._dropped = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # -- the caller's side --------------------------------------------------------------------------

    def add(self, segment: Segment, on_committed: OnCommitted | None = None) -> None:
        """Queue ``segment``; ``on_committed(segment)`` runs on the writer thread once it is committed.

        Raises :class:`BacklogFull` when ``max_pending`` rows are already uncommitted, and
        :class:`RuntimeError` after :meth:`stop`.
        """
        with self._cond:
            if self._stopping:
                raise RuntimeError("SegmentWriter.add: the writer is stopped")
            if len(self._pending) >= self._max_pending:
                raise BacklogFull(
                    f"segment writer: {len(self._pending)} uncommitted rows (max_pending); "
                    f"the database is {'reachable' if self._healthy else 'unavailable'}"
                )
            self._pending.append((segment, on_committed))
            self._cond.notify_all()

    @property
    def healthy(self) -> bool:
        """False from a failed commit until the next successful one (for ``/readyz``)."""
        return self._healthy

    @property
    def last_error(self) -> str | None:
        """The message of the last failed commit (None once a commit succeeded)."""
        return self._last_error

    @property
    def pending(self) -> int:
        """Rows accepted but not yet committed."""
        with self._cond:
            return len(self._pending)

    @property
    def dropped(self) -> int:
        """Rows given up on (bad data, or still uncommitted when :meth:`stop` timed out)."""
        return self._dropped

    def wait_for_health(self, healthy: bool, timeout: float) -> bool:
        """Block until :attr:`healthy` equals ``healthy``; False if ``timeout`` s passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: self._healthy is healthy, timeout)

    def flush(self, timeout: float) -> bool:
        """Block until every row accepted so far is committed; False on timeout."""
        with self._cond:
            self._cond.notify_all()
            return self._cond.wait_for(lambda: not self._pending, timeout)

    def stop(self, timeout: float = 10.0) -> int:
        """Commit what is queued, then end and join the thread; return how many rows were lost.

        While the database is down the writer keeps retrying for up to ``timeout`` s; rows still
        uncommitted then are logged and dropped (the count is returned). Idempotent.
        """
        with self._cond:
            if not self._stopping:
                self._stopping = True
                self._give_up_at = time.monotonic() + timeout
            self._cond.notify_all()
        self._thread.join(timeout + 5.0)
        return self._dropped

    # -- the writer thread --------------------------------------------------------------------------

    def _next_batch(self) -> list[tuple[Segment, OnCommitted | None]] | None:
        """Wait for a batch (rows, then up to ``interval`` for more); None when stopped and empty."""
        with self._cond:
            self._cond.wait_for(lambda: self._pending or self._stopping)
            if not self._pending:
                return None
            deadline = time.monotonic() + self._interval
            while len(self._pending) < self._max_rows and not self._stopping:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            count = min(len(self._pending), self._max_rows)
            return [self._pending[i] for i in range(count)]

    def _set_health(self, healthy: bool, error: str | None) -> None:
        with self._cond:
            self._healthy = healthy
            self._last_error = error
            self._cond.notify_all()

    def _backoff(self, delay: float) -> bool:
        """Wait ``delay`` s (or less when stopping); False when stop's deadline has passed."""
        with self._cond:
            give_up = self._give_up_at
            if give_up is not None:
                delay = min(delay, max(0.0, give_up - time.monotonic()))
            self._cond.wait(delay)
            return self._give_up_at is None or time.monotonic() < self._give_up_at

    def _commit(self, conn: Connection, batch: list[tuple[Segment, OnCommitted | None]]) -> None:
        started = time.monotonic()
        with conn.transaction():
            conn.executemany(INSERT_SEGMENT, [segment_row(s) for s, _ in batch])
        observe = self._store.observe_commit
        if observe is not None:
            observe(time.monotonic() - started)

    def _commit_rows_one_by_one(
        self, conn: Connection, batch: list[tuple[Segment, OnCommitted | None]]
    ) -> list[tuple[Segment, OnCommitted | None]]:
        """After a data error: commit each row alone, drop (log) the bad ones; return the committed."""
        good = []
        for item in batch:
            try:
                self._commit(conn, [item])
            except StoreUnavailable:
                raise
            except Exception as exc:
                self._dropped += 1
                log.error(
                    "segment writer: dropped segment %r of call %r: %s", item[0].key, item[0].call_id, exc
                )
            else:
                good.append(item)
        return good

    def _run(self) -> None:
        conn: Connection | None = None
        delay = self._backoff_initial
        try:
            while True:
                batch = self._next_batch()
                if batch is None:
                    return
                try:
                    if conn is None:
                        conn = self._store.connect()
                    try:
                        self._commit(conn, batch)
                        committed = batch
                    except StoreUnavailable:
                        raise
                    except Exception:
                        committed = self._commit_rows_one_by_one(conn, batch)
                except StoreUnavailable as exc:
                    if conn is not None:
                        conn.close()
                        conn = None
                    if self._healthy:
                        log.warning(
                            "segment writer: database unavailable, holding %d rows: %s", self.pending, exc
                        )
                    self._set_health(False, str(exc))
                    if not self._backoff(delay):
                        self._give_up()
                        return
                    delay = min(delay * 2, self._backoff_max)
                    continue
                delay = self._backoff_initial
                with self._cond:
                    for _ in range(len(batch)):
                        self._pending.popleft()
                    self._healthy = True
                    self._last_error = None
                    self._cond.notify_all()
                for segment, callback in committed:
                    if callback is not None:
                        try:
                            callback(segment)
                        except Exception:
                            log.exception("segment writer: on_committed callback failed")
        finally:
            if conn is not None:
                conn.close()

    def _give_up(self) -> None:
        with self._cond:
            lost = len(self._pending)
            self._pending.clear()
            self._dropped += lost
            self._cond.notify_all()
        log.error("segment writer: stopped with the database unavailable; %d uncommitted rows lost", lost)
