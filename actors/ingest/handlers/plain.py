"""The plain ``/v1/stream`` connection driver (protocol: :mod:`actors.ingest.plain.session`).

After ``stop`` the call is finished and every final committed; then the server sends
``{"type": "stopped", "call_id": ..., "status": "completed"|"failed", "segments": N}`` and closes
with 1000 -- so a client knows its transcript is durable before it lets go. Service-side endings
send ``{"type": "error", "code": ..., "message": ...}`` first: ``capacity`` (close 1013, try again
later), ``going_away`` (drain, 1001), ``transcription_failed`` (1011), ``duplicate_call`` /
``capacity`` / ``unavailable`` at start (1008 / 1013 / 1013).
"""

from __future__ import annotations

import json
import logging

from actors.ingest.admission import CAPACITY_REFUSAL
from actors.ingest.calls import CallEnd, CallEvent, CallStart
from actors.ingest.handlers.base import (
    CLOSE_GOING_AWAY,
    CLOSE_INTERNAL_ERROR,
    CLOSE_NORMAL,
    CLOSE_POLICY,
    CLOSE_TRY_AGAIN_LATER,
    Abort,
    CallConnection,
    Drain,
    Finished,
    Frame,
    Item,
    Lost,
)
from actors.ingest.plain.session import PlainProtocolError, PlainSession

log = logging.getLogger("actors.ingest.stream")


def error_frame(code: str, message: str) -> str:
    """A protocol ``error`` message."""
    return json.dumps({"type": "error", "code": code, "message": message})


class PlainConnection(CallConnection):
    """One ``/v1/stream`` call on one socket (see the module docstring)."""

    platform = "stream"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.session = PlainSession()
        self._stopped = False

    async def consume(self) -> None:
        """Drive the session until the call is stopped, fails or its socket is gone."""
        while True:
            item: Item = await self.inbox.get()
            if isinstance(item, Lost):
                if not self.finishing:
                    await self._events(self.session.connection_lost())
                return
            if isinstance(item, Frame):
                try:
                    data = item.data
                    events = (
                        self.session.receive_text(data)
                        if isinstance(data, str)
                        else self.session.receive_bytes(data)
                    )
                except PlainProtocolError as error:
                    await self.send(self.session.data_to_send())
                    await self._events(list(error.events))
                    await self.close_after_finish(error.close_code, str(error)[:120])
                    return
                outgoing = self.session.data_to_send()  # ``started`` only once the call is admitted
                if not await self._events(events):
                    return
                await self.send(outgoing)
            elif isinstance(item, Abort):
                capacity = item.kind == "capacity"
                await self.send(
                    [error_frame("capacity" if capacity else "transcription_failed", item.reason)]
                )
                self.finish_call(CallEnd(reason="error", position=self.session.position, detail=item.reason))
                await self.close_after_finish(
                    CLOSE_TRY_AGAIN_LATER if capacity else CLOSE_INTERNAL_ERROR, item.reason[:120]
                )
                return
            elif isinstance(item, Drain):
                self.draining = True
                await self.send([error_frame("going_away", "the service is shutting down")])
                self.finish_call(CallEnd(reason="completed", position=self.session.position, detail="drain"))
                await self.close_after_finish(CLOSE_GOING_AWAY, "the service is shutting down")
                return
            elif isinstance(item, Finished) and self._stopped:
                pipeline = self.pipeline
                stopped = {
                    "type": "stopped",
                    "call_id": self.call_id,
                    "status": item.status,
                    "segments": pipeline.segments_stored if pipeline is not None else 0,
                }
                await self.send([json.dumps(stopped)])
                await self.close_socket(CLOSE_NORMAL, "")
                return

    async def _events(self, events: list[CallEvent]) -> bool:
        """Apply call events; False when the connection is done (refused at start)."""
        for event in events:
            if isinstance(event, CallStart):
                refusal = await self.start_call(event, transcripts_wanted=False)
                if refusal is not None:
                    duplicate = "already exists" in refusal
                    code = "duplicate_call" if duplicate else "unavailable"
                    if refusal.startswith(CAPACITY_REFUSAL):
                        code = "capacity"  # the same code as a waiting call refused later
                    await self.send([error_frame(code, refusal)])
                    await self.close_socket(
                        CLOSE_POLICY if duplicate else CLOSE_TRY_AGAIN_LATER, refusal[:120]
                    )
                    return False
            else:
                if isinstance(event, CallEnd):
                    self._stopped = event.reason == "completed" and self.pipeline is not None
                self.feed(event)
        return True


__all__ = ["PlainConnection", "error_frame"]
