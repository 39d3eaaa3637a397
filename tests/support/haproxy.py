"""haproxy from Debian's ``haproxy`` package, for the tests that put several ingest instances behind it."""

from __future__ import annotations

import os

import pytest

from actors.ingest.local_cluster import HAPROXY


def haproxy_binary() -> str:
    """The haproxy binary's path; skips the test when the package is not installed (scripts/test
    installs it)."""
    if not os.access(HAPROXY, os.X_OK):
        pytest.skip(f"Debian's haproxy package is not installed ({HAPROXY}; scripts/test installs it)")
    return HAPROXY
