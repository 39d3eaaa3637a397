"""haproxy from Debian's ``haproxy`` package, for the tests that put several ingest instances behind it."""

from __future__ import annotations

import os
import subprocess
import tempfile
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from actors.ingest.haproxy import Backend, haproxy_config
from actors.ingest.local_cluster import HAPROXY, free_port
from tests.support.polling import poll


def haproxy_binary() -> str:
    """The haproxy binary's path; skips the test when the package is not installed (scripts/test
    installs it)."""
    if not os.access(HAPROXY, os.X_OK):
        pytest.skip(f"Debian's haproxy package is not installed ({HAPROXY}; scripts/test installs it)")
    return HAPROXY


@contextmanager
def haproxy_in_front(ports: Sequence[int], timeout: float = 20.0) -> Iterator[str]:
    """A haproxy (:func:`~actors.ingest.haproxy.haproxy_config`) on a free loopback port in front of
    the services listening on loopback ``ports``; yields its ``http://`` URL once ``/readyz`` answers
    through it, and stops it after."""
    binary = haproxy_binary()
    backends = [Backend(f"ingest-{n}", f"127.0.0.1:{port}") for n, port in enumerate(ports, 1)]
    port = free_port("127.0.0.1")
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="actors-haproxy-test-") as folder:
        config = Path(folder) / "haproxy.cfg"
        config.write_text(haproxy_config(f"127.0.0.1:{port}", backends, maxconn=None))
        proc = subprocess.Popen(
            [binary, "-db", "-f", str(config)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
        )
        try:

            def ready() -> bool:
                assert proc.poll() is None, f"haproxy exited {proc.returncode}"
                try:
                    with urllib.request.urlopen(f"{url}/readyz", timeout=2) as answer:
                        return bool(answer.status == 200)
                except OSError:
                    return False

            poll(ready, timeout, "haproxy to answer /readyz")
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
