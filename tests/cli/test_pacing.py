"""The real-time pacer: timing against a fake clock, and prompt stop."""

from __future__ import annotations

import threading
import time

import pytest

from actors.cli.pacing import Pacer


def test_unpaced_never_waits() -> None:
    pacer = Pacer(None)
    start = time.monotonic()
    assert all(pacer.wait_until(t) for t in (1.0, 100.0, 1000.0))
    assert time.monotonic() - start < 0.5


def test_paces_at_the_given_speed() -> None:
    pacer = Pacer(2.0)
    start = time.monotonic()
    assert pacer.wait_until(0.0)
    assert pacer.wait_until(0.3)  # 0.15 s of wall time at 2x
    elapsed = time.monotonic() - start
    assert 0.14 <= elapsed < 0.6


def test_stop_interrupts_a_wait() -> None:
    stop = threading.Event()
    pacer = Pacer(1.0, stop)
    pacer.wait_until(0.0)
    threading.Timer(0.05, stop.set).start()
    start = time.monotonic()
    assert pacer.wait_until(30.0) is False
    assert time.monotonic() - start < 5.0


def test_rejects_non_positive_speed() -> None:
    with pytest.raises(ValueError, match="speed must be positive"):
        Pacer(0.0)
