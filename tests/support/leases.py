"""Ageing an ingest instance's lease in a shared store, as if the instance had stopped renewing it."""

from __future__ import annotations

from actors.ingest.store import TranscriptStore


def expire_lease(store: TranscriptStore, instance_id: str) -> None:
    """Move ``instance_id``'s lease into the past (the database's clock decides what has expired)."""
    conn = store.connect()
    try:
        with conn.transaction():
            conn.execute("UPDATE instances SET lease_expires_at = 0 WHERE id = ?", (instance_id,))
    finally:
        conn.close()
