"""EventReader: ordered waiting on a connection's event queue."""

from __future__ import annotations

import queue
from types import SimpleNamespace
from typing import Any

import pytest

from actors.cli.eventwait import EventReader, is_type
from actors.errors import ConnectionClosedError, FinishTimeout, HandshakeError
from actors.runtime import events


def reader_of(*items: Any) -> tuple[EventReader, list[Any]]:
    inbox: queue.Queue[Any] = queue.Queue()
    for item in items:
        inbox.put(item)
    seen: list[Any] = []
    return EventReader(inbox, seen.append), seen


def test_until_returns_the_wanted_event_and_observes_all_before_it() -> None:
    a, b, c = SimpleNamespace(type="Welcome"), SimpleNamespace(type="Flushed"), SimpleNamespace(type="Other")
    reader, seen = reader_of(a, b, c)
    assert reader.until(is_type("Flushed"), 1.0, "Flushed") is b
    assert seen == [a, b]
    assert reader.poll(is_type("Flushed"), 0.0, "Flushed") is None
    assert seen == [a, b, c]


def test_timeout_names_what_was_awaited() -> None:
    reader, _ = reader_of()
    with pytest.raises(FinishTimeout, match="no Flushed from the server within 0 s"):
        reader.until(is_type("Flushed"), 0.05, "Flushed")


def test_early_close_raises_the_failure_or_the_close() -> None:
    reader, _ = reader_of(events.Closed(1011, "NET-0001"))
    with pytest.raises(ConnectionClosedError, match="1011"):
        reader.until(is_type("Flushed"), 1.0, "Flushed")
    failure = HandshakeError(401, "Invalid credentials.")
    reader, _ = reader_of(events.ConnectionFailed(failure), events.Closed(1006))
    with pytest.raises(HandshakeError) as info:
        reader.until(is_type("Flushed"), 1.0, "Flushed")
    assert info.value is failure
