"""Sequential reading of a connection's events, for commands that follow a scripted exchange.

`EventReader` wraps the ``queue.Queue`` a connection delivers to and waits for the event a
command needs next, with a deadline, passing every event to an observer on the way and turning
an early end of the connection into the exception that explains it.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from typing import Any

from actors.errors import ConnectionClosedError, FinishTimeout
from actors.runtime import events


class EventReader:
    """Waits on a connection's event queue; ``observe`` sees every event taken from it."""

    def __init__(self, inbox: queue.Queue[Any], observe: Callable[[Any], None] | None = None) -> None:
        self.inbox = inbox
        self.observe = observe or (lambda _event: None)
        self.closed: events.Closed | None = None
        self._failure: BaseException | None = None

    def until(self, wanted: Callable[[Any], bool], timeout: float, what: str) -> Any:
        """Return the first event for which ``wanted`` is true.

        Raises `FinishTimeout` naming ``what`` if none arrives within ``timeout`` seconds, and the
        connection's failure (or `ConnectionClosedError`) if the connection ends first.
        """
        deadline = time.monotonic() + timeout
        while True:
            if self.closed is not None:
                raise self._failure or ConnectionClosedError(self.closed.code, self.closed.reason)
            remaining = deadline - time.monotonic()
            try:  # a zero or spent timeout still takes what is already queued
                event = self.inbox.get(timeout=remaining) if remaining > 0 else self.inbox.get_nowait()
            except queue.Empty:
                if time.monotonic() >= deadline:
                    raise FinishTimeout(f"no {what} from the server within {timeout:.0f} s") from None
                continue
            self.observe(event)
            if isinstance(event, events.ConnectionFailed):
                self._failure = event.error
            elif isinstance(event, events.Closed):
                self.closed = event
                if wanted(event):
                    return event
                continue
            if wanted(event):
                return event

    def poll(self, wanted: Callable[[Any], bool], timeout: float, what: str) -> Any | None:
        """Like `until`, but return None instead of raising when ``timeout`` passes."""
        try:
            return self.until(wanted, timeout, what)
        except FinishTimeout:
            return None

    def drain(self) -> None:
        """Pass every event already queued to the observer without waiting."""
        while True:
            try:
                self.observe(self.inbox.get_nowait())
            except queue.Empty:
                return


def is_type(*names: str) -> Callable[[Any], bool]:
    """A predicate matching protocol messages whose wire ``type`` is one of ``names``."""
    return lambda event: getattr(event, "type", None) in names
