"""Fixtures shared by the runtime tests."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest


@pytest.fixture
def server_url() -> Iterator[str]:
    """A local server in a child process (deterministic engine); its URL, stopped at teardown.

    For tests that count the threads of this process, which an in-process server would add to.
    """
    command = [sys.executable, "-m", "actors", "serve", "--port", "0", "--engine", "deterministic"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # "serving on ws://127.0.0.1:PORT (engine ...)"
        assert line.startswith("serving on ws://"), line
        yield line.split()[2]
    finally:
        process.terminate()
        process.wait(timeout=10)
