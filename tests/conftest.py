"""Shared fixtures: local Deepgram-compatible servers on ephemeral ports.

* ``local_server``: one server for the whole test session (deterministic engine, any key,
  default 10 s idle timeout). Do not add fault rules to it; use ``make_server``.
* ``make_server(**kwargs)``: a fresh, started ``LocalServer`` with custom settings
  (``api_keys=``, ``idle_timeout=``, ``engine=``...), stopped when the test ends.
* ``server_env``: ``(url, api_key)`` of ``local_server`` for code that only needs a URL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from actors.server import LocalServer

TEST_API_KEY = "test-key"


@pytest.fixture(scope="session")
def local_server() -> Iterator[LocalServer]:
    """A started local server shared by the whole session (deterministic engine)."""
    server = LocalServer(engine="deterministic")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def make_server() -> Iterator[Callable[..., LocalServer]]:
    """Factory: ``make_server(**LocalServer kwargs)`` returns a started server, stopped at teardown."""
    servers: list[LocalServer] = []

    def factory(**kwargs: Any) -> LocalServer:
        kwargs.setdefault("engine", "deterministic")
        server = LocalServer(**kwargs)
        server.start()
        servers.append(server)
        return server

    try:
        yield factory
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def server_env(local_server: LocalServer) -> tuple[str, str]:
    """``(base_url, api_key)`` for the shared local server."""
    return local_server.url, TEST_API_KEY
