"""The schema and its migrations: an ordered list, applied by the service itself on open.

``schema_version`` holds one row, the version the database is at. Opening a store applies every
migration after it, each in its own transaction together with the version bump; a database at a
version newer than :data:`MIGRATIONS` knows is refused (:class:`SchemaTooNew`).
"""

from __future__ import annotations

from actors.ingest.store._db import Connection
from actors.ingest.store.errors import SchemaTooNew

# Timestamps are Unix seconds (DOUBLE PRECISION in both backends); JSON columns are TEXT so the SQL is
# the same on both (the API reads them whole; nothing queries inside them).
_V1 = (
    "CREATE TABLE calls ("
    " id TEXT PRIMARY KEY,"
    " platform TEXT NOT NULL,"
    " platform_ids TEXT NOT NULL,"
    " started_at DOUBLE PRECISION NOT NULL,"
    " ended_at DOUBLE PRECISION,"
    " status TEXT NOT NULL CHECK (status IN ('active', 'completed', 'failed', 'interrupted')),"
    " request_ids TEXT NOT NULL,"
    " metadata TEXT NOT NULL,"
    " language TEXT,"
    " channels TEXT NOT NULL)",
    "CREATE INDEX calls_by_status ON calls (status)",
    "CREATE INDEX calls_by_start ON calls (started_at)",
    "CREATE TABLE segments ("
    " call_id TEXT NOT NULL,"
    " segment_key TEXT NOT NULL,"
    " channel INTEGER NOT NULL,"
    " start_s DOUBLE PRECISION NOT NULL,"
    " end_s DOUBLE PRECISION NOT NULL,"
    " transcript TEXT NOT NULL,"
    " words TEXT NOT NULL,"
    " speaker INTEGER,"
    " confidence DOUBLE PRECISION,"
    " PRIMARY KEY (call_id, segment_key))",
    "CREATE INDEX segments_in_order ON segments (call_id, start_s, channel)",
)

# Version 2: each call keeps its own figures at its end (audio seconds, segments, reconnects, latencies).
_V2 = ("ALTER TABLE calls ADD COLUMN stats TEXT NOT NULL DEFAULT '{}'",)

# Version 3: several service instances share one database. Each instance holds a row with a lease
# (renewed by its heartbeat, on the database's clock); each call records the instance that owns it, so
# another instance can mark the calls of a dead one interrupted (actors.ingest.store.instances).
_V3 = (
    "CREATE TABLE instances ("
    " id TEXT PRIMARY KEY,"
    " host TEXT NOT NULL,"
    " pid INTEGER NOT NULL,"
    " started_at DOUBLE PRECISION NOT NULL,"
    " heartbeat_at DOUBLE PRECISION NOT NULL,"
    " lease_expires_at DOUBLE PRECISION NOT NULL)",
    "ALTER TABLE calls ADD COLUMN instance_id TEXT",
    "CREATE INDEX calls_by_instance ON calls (instance_id, status)",
)

#: Migration N (1-based) is ``MIGRATIONS[N - 1]``: the statements that take version N-1 to N.
MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2, _V3)
SCHEMA_VERSION = len(MIGRATIONS)
#: The PostgreSQL advisory lock key that serialises concurrent migrations (any fixed 64-bit number).
MIGRATION_LOCK = 0x6163746F7273  # "actors"


def current_version(conn: Connection) -> int:
    """The version the database is at (0 for an empty database)."""
    if conn.backend == "sqlite":
        found = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        )
    else:
        found = conn.execute("SELECT to_regclass('schema_version')")
        found = [r for r in found if r[0] is not None]
    if not found:
        return 0
    rows = conn.execute("SELECT version FROM schema_version")
    return int(str(rows[0][0])) if rows else 0


def migrate(conn: Connection, migrations: tuple[tuple[str, ...], ...] = MIGRATIONS) -> int:
    """Bring the database to ``len(migrations)``; return how many migrations ran (0 when current)."""
    target = len(migrations)
    with conn.transaction():
        if conn.backend == "postgresql":
            # Instances starting together on an empty database would race on CREATE TABLE IF NOT
            # EXISTS (a unique violation in pg_type); this lock, held until the commit, serialises them.
            conn.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        if not conn.execute("SELECT version FROM schema_version"):
            conn.execute("INSERT INTO schema_version (version) VALUES (0)")
    version = current_version(conn)
    if version > target:
        raise SchemaTooNew(
            f"the store's schema is at version {version}, newer than this service knows ({target}); "
            "upgrade the service (or open a different store)"
        )
    ran = 0
    for number in range(version + 1, target + 1):
        with conn.transaction():
            # Re-check inside the transaction: another process may have migrated meanwhile.
            lock = " FOR UPDATE" if conn.backend == "postgresql" else ""
            rows = conn.execute("SELECT version FROM schema_version" + lock)
            if int(str(rows[0][0])) >= number:
                continue
            for statement in migrations[number - 1]:
                conn.execute(statement)
            conn.execute("UPDATE schema_version SET version = ?", (number,))
        ran += 1
    return ran
