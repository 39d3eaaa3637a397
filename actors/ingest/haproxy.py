"""The haproxy configuration that puts one address in front of several ``ingest`` instances.

:func:`haproxy_config` renders it; the files under ``deploy/`` are its output (a test keeps them in
step), and :mod:`actors.ingest.local_cluster` renders one for the instances it starts.

What it does (haproxy 2.6, Debian 12's): ``mode http`` carries the
WebSocket upgrade and then tunnels the call (``timeout tunnel`` bounds an idle call, not a long one);
``balance leastconn`` sends each new call to the instance with the fewest open connections, and a call
stays on the instance that took it (one TCP connection); ``option httpchk GET /readyz`` takes an
instance out of rotation while it drains (SIGTERM), loses its store, or is dead (``fall 2`` checks one
second apart), and ``option redispatch`` + ``retries`` + ``retry-on`` retry on another instance a
connection a dead instance refused, or a call a draining one answered 503 (before the next check
took it out). Only new calls move: a call on an instance that dies ends (the platform reconnects, which is
a new call); its committed transcripts stay in the store and its row is marked ``interrupted`` by the
others once its lease runs out.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs


@attrs.frozen
class Backend:
    """One ``ingest`` instance as haproxy dials it: a server ``name`` and ``address`` (``HOST:PORT``)."""

    name: str
    address: str


def haproxy_config(
    bind: str,
    backends: Sequence[Backend],
    *,
    resolvers: str | None = None,
    tls_pem: str | None = None,
    stats: str | None = None,
    maxconn: int | None = 20000,
) -> str:
    """The configuration text: listen on ``bind`` (``HOST:PORT``; TLS with the ``tls_pem`` certificate +
    key file), balance over ``backends``. ``resolvers`` (a DNS ``HOST:PORT``, e.g. Docker's
    ``127.0.0.11:53``) re-resolves server names at run time; ``stats`` (``HOST:PORT``) serves haproxy's
    own status page there. ``maxconn`` bounds haproxy's connections (each call holds two file
    descriptors, so the open-files limit must be above twice it); None lets haproxy derive it from
    that limit."""
    if not backends:
        raise ValueError("haproxy_config: at least one backend")
    tls = f" ssl crt {tls_pem} alpn http/1.1" if tls_pem else ""
    lines = [
        "# haproxy in front of several `python -m actors ingest` instances sharing one PostgreSQL store.",
        "# Rendered by actors.ingest.haproxy.haproxy_config; see deploy/README.md.",
        "global",
        *([f"    maxconn {maxconn}"] if maxconn else []),
        "",
        "defaults",
        "    mode http",
        "    option forwardfor",
        "    timeout connect 5s",
        "    timeout client 1h",
        "    timeout server 1h",
        "    timeout tunnel 1h",
        "    timeout client-fin 30s",
        "    timeout http-request 10s",
        "",
    ]
    if resolvers:
        lines += ["resolvers dns", f"    nameserver dns1 {resolvers}", "    hold valid 5s", ""]
    if stats:
        lines += [
            "frontend stats",
            f"    bind {stats}",
            "    stats enable",
            "    stats uri /",
            "    stats refresh 5s",
            "",
        ]
    lines += [
        "frontend ingest",
        f"    bind {bind}{tls}",
        "    default_backend ingest",
        "",
        "backend ingest",
        "    balance leastconn",
        "    option httpchk GET /readyz",
        "    http-check expect status 200",
        "    option redispatch",
        "    retries 2",
        "    retry-on conn-failure empty-response 503",
        "    default-server check inter 1s fall 2 rise 1 init-addr last,libc,none"
        + (" resolvers dns" if resolvers else ""),
    ]
    lines += [f"    server {b.name} {b.address}" for b in backends]
    return "\n".join(lines) + "\n"


__all__ = ["Backend", "haproxy_config"]
