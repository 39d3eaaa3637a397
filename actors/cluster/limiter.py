"""`AdmissionLimiter`: the one named Ray actor that holds the cluster-wide connection limit.

Every `SupervisorWorker` of a pool asks it for a lease before a stream connects and gives the lease
back when the stream ends, so all the workers together never hold more than ``limit`` Deepgram
connections (the project's concurrency limit), wherever Ray placed them. It is an async Ray actor:
a waiting ``acquire`` costs no thread, and grants are first come first served (`LeaseBook`).

A worker that dies loses its leases twice over: Ray restarts it under the same name and its new
incarnation calls `release_holder` first thing; a worker that is gone for good is noticed by the
limiter itself, which checks the holders of the leases while requests wait (`REAP_SECONDS`).
"""

from __future__ import annotations

import asyncio

from actors.cluster.leases import LeaseBook, LeaseStats

#: While requests wait, how often the limiter checks that the holders of leases still exist.
REAP_SECONDS = 2.0


class AdmissionLimiter:
    """Leases of the cluster-wide limit, as a Ray actor (create it with `limiter_handle`).

    ``namespace`` is the Ray namespace the pool's workers are named in (used to tell whether a
    holder still exists).
    """

    def __init__(self, limit: int, namespace: str) -> None:
        self._book = LeaseBook(limit)
        self._namespace = namespace
        self._granted: dict[str, asyncio.Event] = {}

    async def acquire(self, holder: str, lease: str) -> bool:
        """Wait until ``lease`` is granted to ``holder``; False if the request was withdrawn first
        (`release` of the lease, or `release_holder` of its holder)."""
        if self._book.request(holder, lease):
            return True
        event = self._granted.setdefault(lease, asyncio.Event())
        try:
            while not self._book.holds(lease):
                if not self._book.is_waiting(lease):
                    return False
                try:
                    await asyncio.wait_for(event.wait(), timeout=REAP_SECONDS)
                except TimeoutError:
                    self._reap()
            return True
        finally:
            self._granted.pop(lease, None)

    def release(self, lease: str) -> None:
        """Give ``lease`` back (or withdraw its request)."""
        self._wake(self._book.release(lease))
        self._wake([lease])

    def release_holder(self, holder: str) -> None:
        """Give back every lease of ``holder`` (a worker that restarted or stopped)."""
        waiting = self._book.waiting_of(holder)
        self._wake(self._book.release_holder(holder))
        self._wake(waiting)

    def stats(self) -> LeaseStats:
        """The limit, leases held and waiting, the most ever held at once, and grants in all."""
        return self._book.stats()

    def set_limit(self, limit: int) -> LeaseStats:
        """Change the limit (a lower one takes effect as leases are given back)."""
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit!r}")
        self._book.limit = limit
        self._wake(self._book.release(""))  # releasing no lease grants what the new limit allows
        return self._book.stats()

    def _wake(self, leases: list[str]) -> None:
        for lease in leases:
            event = self._granted.get(lease)
            if event is not None:
                event.set()

    def _reap(self) -> None:
        """Give back the leases of holders that no longer exist as Ray actors."""
        import ray

        for holder in self._book.holders():
            try:
                ray.get_actor(holder, namespace=self._namespace)
            except ValueError:
                self.release_holder(holder)
