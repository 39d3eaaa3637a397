"""Make chosen host names resolve to loopback for this process only; refuse every other remote name.

:func:`loopback_resolver` (a context manager) replaces ``socket.getaddrinfo`` and
``socket.gethostbyname`` while it is active:

* a mapped ``(host, port)`` -- e.g. ``("api.deepgram.com", 443)`` -- resolves to the local
  address it maps to (``("127.0.0.1", 54321)``): the client believes it talks to that host on
  443 (SNI, ``Host`` header, certificate check) while the TCP connection goes to the test server;
* loopback names and addresses (``localhost``, ``127.0.0.0/8``, ``::1``, no host) resolve as usual,
  and so do this machine's own addresses given as literals (the unspecified ``0.0.0.0`` / ``::``
  and the addresses of its network interfaces: Ray binds and probes those): no DNS query, no
  packet leaves the machine;
* anything else -- a mapped host on another port, any other name, any non-loopback address -- is
  recorded and refused with ``socket.gaierror``, so no DNS query leaves the machine. Leaving the
  block raises ``AssertionError`` listing what was refused (the test fails).

For a child process, :func:`subprocess_env` returns environment variables for a child whose
``PYTHONPATH`` starts with ``tests/support/sitecustomize``: ``sitecustomize/sitecustomize.py`` installs
the same resolver from ``ACTORS_TEST_RESOLVE`` at interpreter start and appends every refused lookup
to the file named by ``ACTORS_TEST_RESOLVE_LOG``; :func:`refused_in_child` reads it back.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: ``host:port=address:port,...`` -- the mapping a child process installs at start.
RESOLVE_ENV = "ACTORS_TEST_RESOLVE"
#: A file the child appends each refused lookup to (one line each).
RESOLVE_LOG_ENV = "ACTORS_TEST_RESOLVE_LOG"
SITECUSTOMIZE_DIR = Path(__file__).resolve().parent / "sitecustomize"
REPO_ROOT = Path(__file__).resolve().parents[2]

Endpoint = tuple[str, int]


def is_loopback(host: str | bytes | None) -> bool:
    """True for no host, ``localhost`` and loopback IP literals."""
    if host is None or host in ("", b""):
        return True
    name = host.decode() if isinstance(host, bytes) else host
    if name.lower().rstrip(".") in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


_own_addresses: frozenset[str] | None = None


def is_own_address(host: str | bytes | None) -> bool:
    """True for an IP literal of this machine: the unspecified address or one of its interfaces'."""
    global _own_addresses
    name = (host.decode() if isinstance(host, bytes) else host or "").strip("[]")
    try:
        address = ipaddress.ip_address(name.partition("%")[0])
    except ValueError:
        return False  # a name: only DNS could tell, and no lookup may leave the machine
    if address.is_unspecified:
        return True
    if _own_addresses is None:
        try:
            import psutil
        except ImportError:  # pragma: no cover - the test environment has it
            _own_addresses = frozenset()
        else:
            _own_addresses = frozenset(
                str(ipaddress.ip_address(a.address.partition("%")[0]))
                for nic in psutil.net_if_addrs().values()
                for a in nic
                if a.family in (socket.AF_INET, socket.AF_INET6)
            )
    return str(address) in _own_addresses


class LoopbackResolver:
    """The replacement lookups: mapped names to loopback, loopback and own addresses as usual, the rest
    refused."""

    def __init__(self, mapping: Mapping[Endpoint, Endpoint], on_refused: Any = None) -> None:
        for (host, port), (address, _) in mapping.items():
            if not is_loopback(address):
                raise ValueError(f"{host}:{port} must map to a loopback address, not {address!r}")
        self.mapping = {(host.lower(), int(port)): target for (host, port), target in mapping.items()}
        self.refused: list[str] = []
        self._lock = threading.Lock()
        self._on_refused = on_refused
        self._original_getaddrinfo = socket.getaddrinfo
        self._original_gethostbyname = socket.gethostbyname

    def _refuse(self, what: str) -> socket.gaierror:
        with self._lock:
            self.refused.append(what)
        if self._on_refused is not None:
            self._on_refused(what)
        return socket.gaierror(socket.EAI_NONAME, f"test resolver refused to look up {what}")

    def getaddrinfo(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        """``socket.getaddrinfo`` for the rules above."""
        name = host.decode() if isinstance(host, bytes) else host
        key = (str(name).lower().rstrip("."), int(port) if port not in (None, "") else 0)
        target = self.mapping.get(key)
        if target is not None:
            return self._original_getaddrinfo(target[0], target[1], *args, **kwargs)
        if is_loopback(name) or is_own_address(name):
            return self._original_getaddrinfo(host, port, *args, **kwargs)
        raise self._refuse(f"{name}:{port}")

    def gethostbyname(self, host: str) -> str:
        """``socket.gethostbyname``: loopback and own addresses only (mapped names have no port here:
        refused)."""
        if is_loopback(host) or is_own_address(host):
            return self._original_gethostbyname(host)
        raise self._refuse(f"{host} (gethostbyname)")

    def install(self) -> None:
        """Replace the ``socket`` module's lookups (process-wide, every thread)."""
        socket.getaddrinfo = self.getaddrinfo  # type: ignore[assignment]
        socket.gethostbyname = self.gethostbyname

    def uninstall(self) -> None:
        """Put the original lookups back."""
        socket.getaddrinfo = self._original_getaddrinfo
        socket.gethostbyname = self._original_gethostbyname


@contextmanager
def loopback_resolver(mapping: Mapping[Endpoint, Endpoint]) -> Iterator[LoopbackResolver]:
    """Install a :class:`LoopbackResolver` for ``mapping``; fail on exit if anything was refused."""
    resolver = LoopbackResolver(mapping)
    resolver.install()
    try:
        yield resolver
    finally:
        resolver.uninstall()
    assert not resolver.refused, f"lookups of non-loopback names were attempted: {resolver.refused}"


def encode_mapping(mapping: Mapping[Endpoint, Endpoint]) -> str:
    """``mapping`` as the ``ACTORS_TEST_RESOLVE`` value."""
    return ",".join(f"{h}:{p}={a}:{ap}" for (h, p), (a, ap) in mapping.items())


def decode_mapping(value: str) -> dict[Endpoint, Endpoint]:
    """The inverse of :func:`encode_mapping` (raises ``ValueError`` on a malformed entry)."""
    mapping: dict[Endpoint, Endpoint] = {}
    for entry in filter(None, value.split(",")):
        source, _, target = entry.partition("=")
        host, _, port = source.rpartition(":")
        address, _, target_port = target.rpartition(":")
        if not (host and port and address and target_port):
            raise ValueError(f"bad {RESOLVE_ENV} entry {entry!r}; expected host:port=address:port")
        mapping[(host, int(port))] = (address, int(target_port))
    return mapping


def subprocess_env(
    mapping: Mapping[Endpoint, Endpoint], log: Path, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Environment for a child that resolves like :func:`loopback_resolver` (refusals go to ``log``)."""
    env = dict(os.environ if base is None else base)
    env[RESOLVE_ENV] = encode_mapping(mapping)
    env[RESOLVE_LOG_ENV] = str(log)
    env["PYTHONPATH"] = os.pathsep.join([str(SITECUSTOMIZE_DIR), str(REPO_ROOT)])
    for proxy in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        env.pop(proxy, None)  # a proxy would be looked up (and refused) instead of the mapped host
    return env


def refused_in_child(log: Path) -> list[str]:
    """The lookups a child refused (empty when it refused none)."""
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def install_from_environment(log_env: str = RESOLVE_LOG_ENV) -> LoopbackResolver | None:
    """Install the resolver ``ACTORS_TEST_RESOLVE`` describes (None when it is unset), logging refusals
    to the file the variable ``log_env`` names; for sitecustomize."""
    value = os.environ.get(RESOLVE_ENV)
    if not value:
        return None
    log_path = os.environ.get(log_env)

    def record(what: str) -> None:
        if log_path:
            with open(log_path, "a", encoding="utf-8") as log:
                log.write(what + "\n")

    resolver = LoopbackResolver(decode_mapping(value), on_refused=record)
    resolver.install()
    return resolver


__all__ = [
    "RESOLVE_ENV",
    "RESOLVE_LOG_ENV",
    "LoopbackResolver",
    "decode_mapping",
    "encode_mapping",
    "install_from_environment",
    "is_loopback",
    "is_own_address",
    "loopback_resolver",
    "refused_in_child",
    "subprocess_env",
]
