"""A throwaway certificate authority for TLS tests, made with the ``openssl`` command at test time.

:func:`make_test_pki` writes, into a directory:

* ``ca.pem`` / ``ca.key`` -- a self-signed test CA (nothing else trusts it);
* ``leaf.pem`` / ``leaf.key`` -- a server certificate signed by it for the given host names
  (subjectAltName DNS entries), e.g. ``api.deepgram.com`` and ``agent.deepgram.com``;
* ``other-ca.pem`` -- a second, unrelated CA: a client trusting only it must reject the leaf.

Keys are EC P-256 (fast to generate). Nothing is cached between test sessions.

:func:`deepgram_over_tls` runs the local server as Deepgram on it, recording each handshake in a
:class:`Handshakes`.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import attrs

from actors.server import LocalServer
from actors.server.observed import HandshakeSeen

#: Deepgram's production host names, which the production-path tests resolve to a local TLS server.
API_HOST = "api.deepgram.com"
AGENT_HOST = "agent.deepgram.com"

#: Seconds any one ``openssl`` invocation may take.
OPENSSL_TIMEOUT = 30.0


@attrs.frozen
class ThrowawayPki:
    """Paths of a test CA, a leaf certificate for ``hosts`` signed by it, and an unrelated CA."""

    ca_cert: Path
    leaf_cert: Path
    leaf_key: Path
    other_ca_cert: Path
    hosts: tuple[str, ...]

    def server_context(self) -> ssl.SSLContext:
        """A fresh server-side context presenting the leaf certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.leaf_cert, self.leaf_key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context trusting only the test CA (hostname checking on)."""
        return ssl.create_default_context(cafile=str(self.ca_cert))

    def wrong_client_context(self) -> ssl.SSLContext:
        """A client context trusting only the unrelated CA: the leaf must not verify."""
        return ssl.create_default_context(cafile=str(self.other_ca_cert))


def _openssl(*args: str, cwd: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:  # pragma: no cover - the test image has it
        raise RuntimeError("the TLS tests need the openssl command on PATH")
    done = subprocess.run(
        [openssl, *args], cwd=cwd, capture_output=True, text=True, timeout=OPENSSL_TIMEOUT, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {done.stderr.strip()}")


def _make_ca(directory: Path, name: str, common_name: str) -> None:
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN={common_name}",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )  # fmt: skip


def make_test_pki(directory: Path, hosts: Sequence[str]) -> ThrowawayPki:
    """Generate a test CA, a leaf for ``hosts`` signed by it, and an unrelated CA, in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    _make_ca(directory, "ca", "actors test CA")
    _make_ca(directory, "other-ca", "actors unrelated test CA")
    san = ",".join(f"DNS:{host}" for host in hosts)
    (directory / "leaf.ext").write_text(
        f"subjectAltName={san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n", encoding="ascii"
    )
    _openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", f"/CN={hosts[0]}",
        cwd=directory,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "leaf.pem", "-days", "2", "-extfile", "leaf.ext",
        cwd=directory,
    )  # fmt: skip
    return ThrowawayPki(
        ca_cert=directory / "ca.pem",
        leaf_cert=directory / "leaf.pem",
        leaf_key=directory / "leaf.key",
        other_ca_cert=directory / "other-ca.pem",
        hosts=tuple(hosts),
    )


class Handshakes:
    """A ``LocalServer(on_handshake=...)`` recorder: what the server saw, one record per upgrade request."""

    def __init__(self) -> None:
        self._seen: list[HandshakeSeen] = []
        self._lock = threading.Lock()

    def __call__(self, seen: HandshakeSeen) -> None:
        with self._lock:
            self._seen.append(seen)

    def take(self) -> list[HandshakeSeen]:
        """Every record since the last call."""
        with self._lock:
            seen, self._seen = self._seen, []
        return seen


@contextmanager
def deepgram_over_tls(
    pki: ThrowawayPki, keys: Collection[str], handshakes: Handshakes
) -> Iterator[LocalServer]:
    """The local server standing in for Deepgram: the deterministic engine, TLS with ``pki``'s leaf
    certificate, only ``keys`` accepted, every handshake recorded in ``handshakes``."""
    with LocalServer(
        engine="deterministic", ssl_context=pki.server_context(), api_keys=set(keys), on_handshake=handshakes
    ) as server:
        yield server


__all__ = ["Handshakes", "ThrowawayPki", "deepgram_over_tls", "make_test_pki"]
