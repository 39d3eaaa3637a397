"""The cluster-wide admission book: at most ``limit`` leases at once, first come first served.

Pure bookkeeping (no Ray, no clock, no threads): `LeaseBook` is what the `AdmissionLimiter` Ray actor
holds. A lease is a connection slot held by one stream for its whole life (reconnects included), so
the streams of every worker together never open more than ``limit`` connections -- Deepgram's
per-project concurrency limit. Each lease names its ``holder`` (the worker that asked), so the
leases of a worker that died can be given back at once (`release_holder`).
"""

from __future__ import annotations

from collections import OrderedDict

import attrs


@attrs.frozen
class LeaseStats:
    """A snapshot of the book: the limit, leases held, requests waiting, the most ever held at once,
    and how many leases were granted in all."""

    limit: int
    active: int
    waiting: int
    peak: int
    granted: int


class LeaseBook:
    """Grants leases up to ``limit``; requests beyond it wait in arrival order.

    `request` returns True when the lease is granted at once; otherwise the request waits and a
    later `release` / `release_holder` / `cancel` returns it among the newly granted ones.
    Requesting a lease that is held or waiting is a no-op (returns whether it is held).
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit!r}")
        self.limit = limit
        self._held: dict[str, str] = {}  # lease -> holder
        self._waiting: OrderedDict[str, str] = OrderedDict()  # lease -> holder
        self._peak = 0
        self._granted = 0

    def request(self, holder: str, lease: str) -> bool:
        """Ask for ``lease`` on behalf of ``holder``; True if it is held now."""
        if lease in self._held:
            return True
        if lease not in self._waiting:
            self._waiting[lease] = holder
        return lease in self._grant()

    def holds(self, lease: str) -> bool:
        """Whether ``lease`` is granted and not yet released."""
        return lease in self._held

    def release(self, lease: str) -> list[str]:
        """Give ``lease`` back (or withdraw its request); return the leases granted in its place."""
        self._held.pop(lease, None)
        self._waiting.pop(lease, None)
        return self._grant()

    cancel = release

    def release_holder(self, holder: str) -> list[str]:
        """Give back every lease of ``holder`` and withdraw its requests (it died or restarted);
        return the leases granted in their place."""
        for lease in [k for k, h in self._held.items() if h == holder]:
            del self._held[lease]
        for lease in [k for k, h in self._waiting.items() if h == holder]:
            del self._waiting[lease]
        return self._grant()

    def is_waiting(self, lease: str) -> bool:
        """Whether ``lease`` is requested and not yet granted."""
        return lease in self._waiting

    def waiting_of(self, holder: str) -> list[str]:
        """The leases ``holder`` is still waiting for."""
        return [lease for lease, h in self._waiting.items() if h == holder]

    def holders(self) -> set[str]:
        """Every holder with a lease held or requested."""
        return set(self._held.values()) | set(self._waiting.values())

    def stats(self) -> LeaseStats:
        """The current figures (see `LeaseStats`)."""
        return LeaseStats(self.limit, len(self._held), len(self._waiting), self._peak, self._granted)

    def _grant(self) -> list[str]:
        granted: list[str] = []
        while self._waiting and len(self._held) < self.limit:
            lease, holder = self._waiting.popitem(last=False)
            self._held[lease] = holder
            granted.append(lease)
        self._granted += len(granted)
        self._peak = max(self._peak, len(self._held))
        return granted
