"""Service instances sharing one store: each holds a lease in ``instances``; a dead one's calls are reaped.

Every ``ingest`` instance registers a row (its id, host, pid) with ``lease_expires_at`` = now +
``lease_seconds``, and renews it from its heartbeat. Every call row records the instance that owns it
(``calls.instance_id``). An instance that dies (SIGKILL, power loss) stops renewing; once its lease
has expired, any other instance's :meth:`InstanceLeases.reap` takes it -- in **one transaction** it
marks the dead instance's ``active`` calls ``interrupted`` (their committed segments stay), and
deletes its row. :meth:`InstanceLeases.register` (at start) takes only this id's own previous run
(and, ``exclusive``, every other row): right after a database outage every lease has expired, live
ones too, so reaping others is left to the caller once its own lease has held for a whole period.
``FOR UPDATE SKIP LOCKED`` (PostgreSQL) lets several reapers run at once without waiting on, or
double-handling, the same dead instance; SQLite serialises writers anyway.

Times are the **database's clock** (so instances on machines with skewed clocks agree on expiry).
``active`` calls whose owner has no row (recorded before schema version 3, or by an instance that
was already reaped) are reaped too: no live instance serves them.

An instance whose lease was taken while it still ran (its heartbeat could not reach the database for
longer than the lease) finds its row gone at the next renewal; :meth:`InstanceLeases.renew` registers
it again and returns False. Its calls were marked ``interrupted`` meanwhile; each that then ends
normally records its real final status (``end_call`` overwrites it).

Not thread-safe: one owner (the service's lease thread, plus start and stop around it). The leases
hold a connection of their own, reopened after :class:`~actors.ingest.store.errors.StoreUnavailable`.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from typing import TypeVar

import attrs

from actors.ingest.store._db import Connection, Param
from actors.ingest.store.errors import StoreError, StoreUnavailable
from actors.ingest.store.store import TranscriptStore

#: The database's clock in Unix seconds, per backend.
_NOW = {
    "postgresql": "EXTRACT(EPOCH FROM clock_timestamp())::double precision",
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
}


class InstanceConflict(StoreError):
    """Another live instance holds this instance id's lease (two instances were given one id)."""


@attrs.frozen
class Reaped:
    """What one :meth:`InstanceLeases.reap` took: the dead instances' ids and the calls it interrupted."""

    instances: tuple[str, ...] = ()
    calls: tuple[str, ...] = ()


@attrs.frozen
class InstanceRow:
    """One registered instance as stored (times are Unix seconds on the database's clock)."""

    id: str
    host: str
    pid: int
    started_at: float
    heartbeat_at: float
    lease_expires_at: float


T = TypeVar("T")


def _placeholders(count: int) -> str:
    return ", ".join("?" for _ in range(count))


class InstanceLeases:
    """One instance's lease in the store's ``instances`` table, and the reaper of dead instances.

    ``exclusive`` (the single-instance SQLite store): :meth:`register` treats every other row as dead
    and takes over a live-looking row of the same id (its previous run was killed); otherwise a live
    row of the same id raises :class:`InstanceConflict`.
    """

    def __init__(
        self, store: TranscriptStore, instance_id: str, lease_seconds: float, *, exclusive: bool = False
    ) -> None:
        if not instance_id:
            raise StoreError("InstanceLeases: the instance id is empty")
        if not lease_seconds > 0:
            raise StoreError(f"InstanceLeases: lease_seconds must be > 0, got {lease_seconds!r}")
        self._store = store
        self.instance_id = instance_id
        self.lease_seconds = float(lease_seconds)
        self.exclusive = exclusive
        self._now = _NOW[store.backend]
        self._lock_clause = " FOR UPDATE SKIP LOCKED" if store.backend == "postgresql" else ""
        self._conn: Connection | None = None

    def __repr__(self) -> str:
        return f"InstanceLeases({self.instance_id!r}, {self.lease_seconds:g} s, {self._store!r})"

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = self._store.connect()
        return self._conn

    def _in_transaction(self, work: Callable[[Connection], T]) -> T:
        conn = self._connection()
        try:
            with conn.transaction():
                return work(conn)
        except StoreUnavailable:
            conn.close()
            self._conn = None
            raise

    # -- this instance ------------------------------------------------------------------------------

    def register(self) -> tuple[str, ...]:
        """Insert this instance's row with a fresh lease; return the ids of the calls it marked
        interrupted.

        A row of the same id whose lease expired is a previous run of this instance that died: its
        ``active`` calls (and any left by a run whose row was already reaped) are marked
        ``interrupted`` and the row is taken over, in one transaction. Raises :class:`InstanceConflict`
        when that row's lease is still live (unless ``exclusive``: then every other row, and its
        calls, are taken for dead too). Other instances are left alone: whether an expired lease
        is a dead instance's, or a live one's that could not renew during a database outage, only
        :meth:`reap` after a whole lease of this instance's own renewals can tell (see
        :class:`~actors.ingest.instances.LeaseKeeper`).
        """

        def work(conn: Connection) -> tuple[str, ...]:
            marked: list[str] = []
            if self.exclusive:
                marked += self._interrupt_owned_by(conn, self._other_ids(conn))
                conn.execute("DELETE FROM instances WHERE id <> ?", (self.instance_id,))
            rows = conn.execute(
                f"SELECT host, pid, lease_expires_at - {self._now} FROM instances WHERE id = ? FOR UPDATE"
                if conn.backend == "postgresql"
                else f"SELECT host, pid, lease_expires_at - {self._now} FROM instances WHERE id = ?",
                (self.instance_id,),
            )
            if rows:
                left = float(str(rows[0][2]))
                if left > 0 and not self.exclusive:
                    raise InstanceConflict(
                        f"instance id {self.instance_id!r} is held by a live lease (host {rows[0][0]}, "
                        f"pid {rows[0][1]}, {left:.1f} s left): give every instance its own id, or wait "
                        "for the lease of a killed run to expire"
                    )
                conn.execute("DELETE FROM instances WHERE id = ?", (self.instance_id,))
            # Calls of this id still active are a previous run's (row reaped or not): none is ours yet.
            marked += self._interrupt_owned_by(conn, [self.instance_id])
            if not self._insert(conn):
                raise InstanceConflict(
                    f"instance id {self.instance_id!r} was registered at the same moment by another "
                    "instance: give every instance its own id"
                )
            return tuple(marked)

        return self._in_transaction(work)

    def _insert(self, conn: Connection) -> bool:
        """Insert this instance's row; False if a row of this id appeared meanwhile (a concurrent twin)."""
        rows = conn.execute(
            "INSERT INTO instances (id, host, pid, started_at, heartbeat_at, lease_expires_at) "
            f"VALUES (?, ?, ?, {self._now}, {self._now}, {self._now} + ?) "
            "ON CONFLICT (id) DO NOTHING RETURNING id",
            (self.instance_id, socket.gethostname(), os.getpid(), self.lease_seconds),
        )
        return bool(rows)

    def renew(self) -> bool:
        """Extend this instance's lease by ``lease_seconds`` from now; False if the row was gone (it was
        reaped: another instance took it for dead) -- it is registered again then."""

        def work(conn: Connection) -> bool:
            rows = conn.execute(
                f"UPDATE instances SET heartbeat_at = {self._now}, lease_expires_at = {self._now} + ? "
                "WHERE id = ? RETURNING id",
                (self.lease_seconds, self.instance_id),
            )
            if rows:
                return True
            self._insert(conn)
            return False

        return self._in_transaction(work)

    def release(self) -> tuple[str, ...]:
        """At a clean stop: mark this instance's calls still ``active`` interrupted and delete its row
        (one transaction); return the ids of the calls marked. Closes the leases' connection."""

        def work(conn: Connection) -> tuple[str, ...]:
            marked = self._interrupt_owned_by(conn, [self.instance_id])
            conn.execute("DELETE FROM instances WHERE id = ?", (self.instance_id,))
            return tuple(marked)

        try:
            return self._in_transaction(work)
        finally:
            self.close()

    # -- every instance: the reaper -----------------------------------------------------------------

    def reap(self) -> Reaped:
        """Take every other instance whose lease expired: mark its ``active`` calls, and calls whose
        owner is not registered, ``interrupted``; delete its row. One transaction; rows another reaper
        holds are skipped (it handles them)."""

        def work(conn: Connection) -> Reaped:
            dead = [
                str(r[0])
                for r in conn.execute(
                    f"SELECT id FROM instances WHERE lease_expires_at < {self._now} AND id <> ?"
                    f"{self._lock_clause}",
                    (self.instance_id,),
                )
            ]
            calls = self._interrupt_owned_by(conn, dead)
            if dead:
                conn.execute(f"DELETE FROM instances WHERE id IN ({_placeholders(len(dead))})", dead)
            orphans = conn.execute(
                f"UPDATE calls SET status = 'interrupted', ended_at = COALESCE(ended_at, {self._now}) "
                "WHERE status = 'active' AND (instance_id IS NULL OR "
                "NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = calls.instance_id)) RETURNING id"
            )
            return Reaped(tuple(dead), tuple(calls) + tuple(str(r[0]) for r in orphans))

        return self._in_transaction(work)

    def _other_ids(self, conn: Connection) -> list[str]:
        return [
            str(r[0]) for r in conn.execute("SELECT id FROM instances WHERE id <> ?", (self.instance_id,))
        ]

    def _interrupt_owned_by(self, conn: Connection, ids: Sequence[str]) -> list[str]:
        """Mark the ``active`` calls owned by ``ids`` interrupted; return their ids."""
        if not ids:
            return []
        params: list[Param] = list(ids)
        rows = conn.execute(
            f"UPDATE calls SET status = 'interrupted', ended_at = COALESCE(ended_at, {self._now}) "
            f"WHERE status = 'active' AND instance_id IN ({_placeholders(len(ids))}) RETURNING id",
            params,
        )
        return [str(r[0]) for r in rows]

    # -- reads --------------------------------------------------------------------------------------

    def instances(self) -> list[InstanceRow]:
        """Every registered instance (live or expired but not yet reaped), oldest first."""
        rows = self._in_transaction(
            lambda conn: conn.execute(
                "SELECT id, host, pid, started_at, heartbeat_at, lease_expires_at FROM instances "
                "ORDER BY started_at, id"
            )
        )
        return [
            InstanceRow(
                str(r[0]), str(r[1]), int(str(r[2])), float(str(r[3])), float(str(r[4])), float(str(r[5]))
            )
            for r in rows
        ]

    def close(self) -> None:
        """Close the leases' own connection (idempotent; it reopens on the next use)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


__all__ = ["InstanceConflict", "InstanceLeases", "InstanceRow", "Reaped"]
