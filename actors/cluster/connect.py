"""Joining a Ray cluster for the pool: ``auto``, ``local`` or ``HOST:PORT``, with clear errors.

* ``auto``: the cluster already running on this machine (``ray start --head``; Ray finds it through
  its address file under ``RAY_TMPDIR``, default ``/tmp/ray``), or the one ``RAY_ADDRESS`` names.
* ``local``: a private single-node cluster started for this process (as many CPUs as the machine).
* ``HOST:PORT`` (or ``ray://HOST:PORT``): the head node's GCS address. It is probed over TCP first,
  because ``ray.init`` itself retries an unreachable address for minutes.

Ray's own chatter is kept out of the caller's output (``log_to_driver=False``, warnings only).
Ray's token authentication (``RAY_AUTH_MODE``, ``RAY_AUTH_TOKEN``) is the cluster's business and is
left as the environment sets it.
"""

from __future__ import annotations

import os
import signal
import socket
import threading

import attrs

from actors.errors import ActorsError

#: How long the TCP probe of a cluster address may take.
PROBE_SECONDS = 5.0
#: Whether `join_cluster` connected this process (so `leave_cluster` disconnects it).
_joined_here = False


class ClusterError(ActorsError):
    """The Ray cluster could not be joined or used; the message says which address and why."""


def require_ray() -> None:
    """Raise `ClusterError` naming the extra to install when Ray is not importable."""
    try:
        import ray  # noqa: F401
    except ImportError as exc:
        raise ClusterError(
            f"the Ray cluster needs the ray extra ({exc.name} is missing): pip install 'actors-deepgram[ray]'"
        ) from None


@attrs.frozen
class ClusterAddress:
    """A parsed ``--ray`` value: ``kind`` is ``auto``, ``local`` or ``address`` (then ``host``/``port``)."""

    kind: str
    host: str = ""
    port: int = 0

    @property
    def text(self) -> str:
        """The address as ``ray.init`` takes it."""
        return f"{self.host}:{self.port}" if self.kind == "address" else self.kind


def parse_address(text: str) -> ClusterAddress:
    """Parse ``auto``, ``local``, ``HOST:PORT`` or ``ray://HOST:PORT``; `ClusterError` otherwise."""
    value = text.strip()
    if value in ("auto", "local"):
        return ClusterAddress(value)
    bare = value.removeprefix("ray://")
    host, sep, port = bare.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ClusterError(
            f"Ray address {text!r}: expected auto, local or HOST:PORT (the head's GCS port, e.g. 6379)"
        )
    return ClusterAddress("address", host.strip("[]"), int(port))


def join_cluster(text: str, *, namespace: str = "actors") -> str:
    """Connect this process to the cluster ``text`` names (see the module docstring) unless it is
    connected already; return a description of it for the user. Raises `ClusterError`."""
    require_ray()
    import ray

    global _joined_here
    address = parse_address(text)
    if ray.is_initialized():
        return _describe(ray)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    kwargs: dict[str, object] = {"namespace": namespace, "log_to_driver": False, "logging_level": "WARNING"}
    if address.kind == "address":
        try:
            socket.create_connection((address.host, address.port), timeout=PROBE_SECONDS).close()
        except OSError as exc:
            raise ClusterError(
                f"cannot reach the Ray cluster at {address.text}: {exc.strerror or exc} "
                "(is the head node running? `ray start --head` prints its address)"
            ) from None
        kwargs["address"] = address.text
    elif address.kind == "auto":
        kwargs["address"] = os.environ.get("RAY_ADDRESS") or "auto"
    else:
        kwargs["include_dashboard"] = False
    sigterm = (
        signal.getsignal(signal.SIGTERM) if threading.current_thread() is threading.main_thread() else None
    )
    try:
        ray.init(**kwargs)  # type: ignore[arg-type]
    except ConnectionError as exc:
        raise ClusterError(f"cannot join the Ray cluster ({address.text}): {exc}") from None
    finally:
        if sigterm is not None:  # ray.init installs its own (a bare sys.exit): the caller's drain wins
            signal.signal(signal.SIGTERM, sigterm)
    _joined_here = True
    return _describe(ray)


def leave_cluster() -> None:
    """Disconnect from the cluster if `join_cluster` connected this process (a ``local`` cluster it
    started stops with it); a connection made by someone else is left alone."""
    global _joined_here
    if not _joined_here:
        return
    import ray

    ray.shutdown()
    _joined_here = False


def _describe(ray: object) -> str:
    import ray as ray_module

    nodes = [n for n in ray_module.nodes() if n.get("Alive")]
    cpus = int(ray_module.cluster_resources().get("CPU", 0))
    return f"Ray cluster: {len(nodes)} node{'s' if len(nodes) != 1 else ''}, {cpus} CPUs"


def node_addresses() -> set[str]:
    """The IP addresses of the cluster's live nodes."""
    import ray

    return {str(n["NodeManagerAddress"]) for n in ray.nodes() if n.get("Alive")}


def driver_address() -> str:
    """The IP address Ray uses for this process's node."""
    import ray

    return str(ray.util.get_node_ip_address())


def unreachable_nodes(url: str, nodes: set[str], driver: str) -> set[str]:
    """The cluster nodes (IP addresses) that cannot reach ``url``: every node but this machine's
    (``driver``) when the URL's host is loopback (the embedded server's, or a local ``--url``), else none."""
    from urllib.parse import urlsplit

    from actors._hosts import is_loopback

    if not is_loopback(urlsplit(url).hostname or ""):
        return set()
    return nodes - {driver}
