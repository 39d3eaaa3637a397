"""`LeaseKeeper`: this service instance's heartbeat in the shared store, and the reaper of dead instances.

One named thread (``ingest-lease``) wakes every ``lease_seconds / 3`` (or when stopped: it waits on an
:class:`threading.Event`, never sleeps): it renews this instance's lease, then reaps every other
instance whose lease expired (its ``active`` calls become ``interrupted``; see
:mod:`actors.ingest.store.instances`). With a 15 s lease, a killed instance's calls are marked at
most about 20 s after its last heartbeat (the lease, plus up to one heartbeat period of the reaper).

A failed renewal or reap (the database is away) is logged and retried at the next tick; once the last
renewal is older than the lease, :attr:`LeaseKeeper.lease_ok` is False (``/readyz`` then says so: the
other instances may be taking this one's calls for dead).

**No reaping right after an outage.** When the database was unreachable for longer than the lease,
every instance's lease ran out, live ones included. So the keeper reaps only once its own renewals
have succeeded for a whole lease period without a failure (also after its own start): by then every
live instance has renewed too, and only the dead ones are still expired. The service does not reap
other instances at start either (only its own id's previous run, at registration), so an instance
started right after an outage leaves the others' calls alone until this guard has passed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from actors.ingest.metrics import IngestMetrics
from actors.ingest.store import InstanceLeases, Reaped, StoreError

log = logging.getLogger("actors.ingest.instances")

#: Renewals per lease: the lease survives two missed heartbeats.
HEARTBEATS_PER_LEASE = 3


class LeaseKeeper:
    """Renews ``leases`` and reaps dead instances on a named thread until :meth:`stop` (see the module).

    Each reap (:meth:`reap`: the thread's, or the service's own at start on a single-instance SQLite
    store, where no guard is needed) is logged and reported to ``metrics`` (when given): the reaped
    instances and calls and the number of instances still registered (the live ones, this one
    included). :attr:`on_reaped` (when set) then gets the ids of the calls it marked ``interrupted``
    (the service announces them on its live feed).
    """

    #: Called with the calls each reap marked ``interrupted`` (when any); must not block. Its errors
    #: are logged, never raised to the reaper.
    on_reaped: Callable[[tuple[str, ...]], None] | None = None

    def __init__(
        self,
        leases: InstanceLeases,
        *,
        metrics: IngestMetrics | None = None,
    ) -> None:
        self._leases = leases
        self._metrics = metrics
        self.interval = leases.lease_seconds / HEARTBEATS_PER_LEASE
        self._stop = threading.Event()
        self._renewed_at = time.monotonic()
        self._healthy_since: float | None = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="ingest-lease", daemon=True)

    def __repr__(self) -> str:
        return f"<LeaseKeeper {self._leases.instance_id!r} every {self.interval:g} s>"

    def start(self) -> LeaseKeeper:
        """Start the thread (the lease was registered just before, so it counts as renewed now)."""
        self._renewed_at = self._healthy_since = time.monotonic()
        self._thread.start()
        return self

    @property
    def lease_ok(self) -> bool:
        """False once the last successful renewal is older than the lease."""
        return time.monotonic() - self._renewed_at < self._leases.lease_seconds

    @property
    def may_reap(self) -> bool:
        """True once the renewals have succeeded for a whole lease period without a failure."""
        since = self._healthy_since
        return since is not None and time.monotonic() - since >= self._leases.lease_seconds

    def reap(self) -> Reaped:
        """Reap the dead instances now, log and count what was taken; raises ``StoreError``."""
        reaped = self._leases.reap()
        live = len(self._leases.instances()) if self._metrics is not None else 0
        if reaped.instances or reaped.calls:
            log.warning(
                "reaped dead instance(s) %s: %d call(s) marked interrupted",
                ", ".join(reaped.instances) or "-",
                len(reaped.calls),
            )
        if self._metrics is not None:
            self._metrics.reaped(len(reaped.instances), len(reaped.calls))
            self._metrics.set_live_instances(live)
        callback = self.on_reaped
        if callback is not None and reaped.calls:
            try:
                callback(reaped.calls)
            except Exception:
                log.exception("announcing the reaped calls failed")
        return reaped

    def tick(self) -> Reaped | None:
        """Renew, then reap if :attr:`may_reap`, once (the thread's step); the reap's result, None when
        it did not reap (the database failed, or too soon after a failure)."""
        try:
            if not self._leases.renew():
                log.error(
                    "instance %s: its lease had expired and was taken by another instance (its calls "
                    "were marked interrupted); registered again",
                    self._leases.instance_id,
                )
                self._healthy_since = None  # it was cut off: so may the others have been
            now = time.monotonic()
            self._renewed_at = now
            if self._healthy_since is None:
                self._healthy_since = now
            if not self.may_reap:
                return None
            return self.reap()
        except StoreError as exc:
            self._healthy_since = None
            log.warning("instance %s: lease renewal or reap failed: %s", self._leases.instance_id, exc)
            return None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()

    def stop(self) -> None:
        """Stop and join the thread (idempotent; the lease itself is released by the service)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(self.interval + 30)


__all__ = ["HEARTBEATS_PER_LEASE", "LeaseKeeper"]
