"""Waiting for a condition that another process makes true (a database row, a status), by polling."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def poll(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait until ``check()`` is true (checked every 50 ms), failing with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    between = threading.Event()  # never set: its timed wait is the pause between two checks
    while not check():
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        between.wait(0.05)
