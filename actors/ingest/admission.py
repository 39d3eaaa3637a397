"""Who may start a call now: the service's drain flag and the bound on calls waiting for a slot.

Deepgram's concurrency limit is the supervisor's ``max_connections`` (``--max-calls``): calls over
it wait, their audio buffered. At most ``max_waiting`` calls may wait; a call arriving beyond that
(or while the service drains) is refused at once, in the platform's own way, and counted.
Touched only on the event loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from actors.ingest.metrics import IngestMetrics

if TYPE_CHECKING:
    from actors.ingest.handlers.base import CallConnection


#: How every capacity refusal begins (drivers that have a code for it look for this prefix).
CAPACITY_REFUSAL = "Service Unavailable: no transcription capacity"


class Admission:
    """The live connections, the drain flag, and the refusal rule (see the module docstring)."""

    def __init__(self, max_calls: int, max_waiting: int, metrics: IngestMetrics) -> None:
        self.max_calls = max_calls
        self.max_waiting = max_waiting
        self.metrics = metrics
        self.connections: set[CallConnection] = set()
        self.draining = False

    def calls(self) -> tuple[int, int]:
        """``(running, waiting)``: calls with a pipeline, and those of them waiting for a slot."""
        running = waiting = 0
        for connection in self.connections:
            pipeline = connection.pipeline
            if pipeline is not None and not connection.finishing:
                running += 1
                waiting += pipeline.waiting
        return running, waiting

    def refusal(self, platform: str) -> str | None:
        """None if a new call may start now, else the reason it is refused (and counted)."""
        if self.draining:
            self.metrics.call_refused(platform, "draining")
            return "Service Unavailable: the service is shutting down"
        running, waiting = self.calls()
        self.metrics.set_waiting(waiting)
        if running >= self.max_calls and waiting >= self.max_waiting:
            self.metrics.call_refused(platform, "capacity")
            return f"{CAPACITY_REFUSAL} ({self.max_calls} calls running, {waiting} waiting)"
        return None


__all__ = ["CAPACITY_REFUSAL", "Admission"]
