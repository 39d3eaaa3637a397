"""Admission control: connection cap, FIFO queue, priority restarts, 429 pause (pure)."""

from __future__ import annotations

import pytest

from actors.runtime.admission import Admission
from actors.runtime.policy import Backoff


def test_caps_concurrent_connections_and_queues_the_rest() -> None:
    adm = Admission(max_connections=2)
    for key in "abcd":
        adm.request(key)
    admitted, wake = adm.admit(0.0)
    assert admitted == ["a", "b"] and wake is None
    assert adm.active == 2 and adm.waiting == 2
    assert adm.admit(0.0) == ([], None)
    adm.release("a")
    assert adm.admit(0.0)[0] == ["c"]


def test_priority_requests_jump_the_queue() -> None:
    adm = Admission(max_connections=1)
    adm.request("new-1")
    adm.request("new-2")
    adm.request("restart", priority=True)
    assert adm.admit(0.0)[0] == ["restart"]


def test_duplicate_requests_and_cancel() -> None:
    adm = Admission(max_connections=1)
    adm.request("a")
    adm.request("a")
    assert adm.waiting == 1
    adm.cancel("a")
    assert adm.waiting == 0
    adm.request("b")
    adm.admit(0.0)
    assert adm.holds_slot("b")
    adm.cancel("b")
    assert adm.active == 0


def test_rate_limit_pauses_admission_with_growing_delay() -> None:
    adm = Admission(max_connections=10, rate_limit_backoff=Backoff(initial=1.0, maximum=8.0, jitter=0.0))
    adm.request("a")
    assert adm.rate_limited(now=100.0) == 101.0
    assert adm.admit(100.5) == ([], 101.0)
    assert adm.rate_limited(now=101.0) == 103.0  # second 429 in a row: pause doubles
    assert adm.admit(102.0) == ([], 103.0)
    assert adm.admit(103.0)[0] == ["a"]
    adm.connected()
    assert adm.rate_limited(now=200.0) == 201.0  # streak reset by a successful handshake
    assert adm.rate_limited_count == 3


def test_rejects_non_positive_cap() -> None:
    with pytest.raises(ValueError, match="max_connections"):
        Admission(max_connections=0)
