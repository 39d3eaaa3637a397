"""Whether a host name given to a server binds to this machine only (shared by ``serve`` and ``ingest``)."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine: ``localhost`` or a loopback IP address.

    Any other name (even one that resolves to a loopback address) counts as reachable from
    elsewhere, so the check does not depend on name resolution.
    """
    if host.rstrip(".").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


__all__ = ["is_loopback"]
