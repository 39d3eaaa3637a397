"""The durable transcript store of the ingestion service (SQLite or PostgreSQL).

* :func:`open_store` ``("sqlite:///PATH" | "postgresql://...")`` -> :class:`TranscriptStore`:
  connects, creates / migrates the schema, lifecycle writes (``start_call``, ``end_call``,
  ``add_request_id``, ``mark_interrupted``) and the API's reads (``list_calls``, ``get_call``).
* :class:`InstanceLeases`: several service instances on one database -- each one's lease, and the
  reaper that marks a dead instance's calls ``interrupted``.
* :class:`SegmentWriter`: batched, idempotent, commit-before-report writes of final segments,
  surviving a database outage with a bounded in-memory backlog.
"""

from __future__ import annotations

from actors.ingest.store._db import StoreURL, redact_url
from actors.ingest.store._schema import MIGRATIONS, SCHEMA_VERSION
from actors.ingest.store.errors import BacklogFull, SchemaTooNew, StoreError, StoreUnavailable, StoreURLError
from actors.ingest.store.instances import InstanceConflict, InstanceLeases, InstanceRow, Reaped
from actors.ingest.store.models import CallDetail, CallRecord, CallStatus, Segment, Word
from actors.ingest.store.store import CommitObserver, TranscriptStore, open_store
from actors.ingest.store.writer import OnCommitted, SegmentWriter

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "BacklogFull",
    "CallDetail",
    "CallRecord",
    "CallStatus",
    "CommitObserver",
    "InstanceConflict",
    "InstanceLeases",
    "InstanceRow",
    "OnCommitted",
    "Reaped",
    "SchemaTooNew",
    "Segment",
    "SegmentWriter",
    "StoreError",
    "StoreURL",
    "StoreURLError",
    "StoreUnavailable",
    "TranscriptStore",
    "Word",
    "open_store",
    "redact_url",
]
