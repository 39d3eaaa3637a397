"""The Twilio Media Streams connection driver (Twilio's Media Streams docs).

The upgrade's ``X-Twilio-Signature`` was checked by the service when a Twilio auth token is set.
Frames go to a :class:`~actors.ingest.twilio.session.TwilioSession`; its call events run the
pipeline. Twilio has no message for "refused" or "failed": the service closes the socket --
1013 (try again later) when refused for capacity or while draining, 1011 when transcription failed,
the protocol's own code for bad input, 1000 after ``stop`` once every final is committed.
"""

from __future__ import annotations

import logging

from actors.ingest.calls import CallEnd, CallStart
from actors.ingest.handlers.base import (
    CLOSE_GOING_AWAY,
    CLOSE_INTERNAL_ERROR,
    CLOSE_NORMAL,
    CLOSE_TRY_AGAIN_LATER,
    Abort,
    CallConnection,
    Drain,
    Finished,
    Frame,
    Item,
    Lost,
)
from actors.ingest.twilio.messages import TwilioProtocolError
from actors.ingest.twilio.session import DtmfReceived, TwilioEvent, TwilioSession

log = logging.getLogger("actors.ingest.twilio")


class TwilioConnection(CallConnection):
    """One Twilio Media Stream on one socket (see the module docstring)."""

    platform = "twilio"

    def __init__(self, *args: object, session: TwilioSession | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.session = session or TwilioSession()
        self._close: tuple[int, str] | None = None

    async def consume(self) -> None:
        """Drive the session until the stream stops, fails or its socket is gone."""
        while True:
            item: Item = await self.inbox.get()
            if isinstance(item, Lost):
                await self._events(self.session.connection_lost())
                return
            if isinstance(item, Frame):
                try:
                    events = self.session.receive(item.data)
                except TwilioProtocolError as error:
                    log.warning("call %s: Twilio protocol error: %s", self.call_id, error)
                    await self._events(list(error.events))
                    await self.close_after_finish(error.close_code, str(error)[:120])
                    return
                await self._events(events)
            elif isinstance(item, Abort):
                code = CLOSE_TRY_AGAIN_LATER if item.kind == "capacity" else CLOSE_INTERNAL_ERROR
                self.finish_call(CallEnd(reason="error", position=0.0, detail=item.reason))
                await self.close_after_finish(code, item.reason[:120])
                return
            elif isinstance(item, Drain):
                self.draining = True
                self.finish_call(CallEnd(reason="completed", position=0.0, detail="drain"))
                await self.close_after_finish(CLOSE_GOING_AWAY, "the service is shutting down")
                return
            elif isinstance(item, Finished):
                await self.close_socket(CLOSE_NORMAL, "")
                return
            if self._close is not None:
                code, reason = self._close
                await self.close_socket(code, reason)
                return

    async def _events(self, events: list[TwilioEvent]) -> None:
        for event in events:
            if isinstance(event, CallStart):
                refusal = await self.start_call(event, transcripts_wanted=False)
                if refusal is not None:
                    self._close = (CLOSE_TRY_AGAIN_LATER, refusal[:120])
                    return
            elif isinstance(event, DtmfReceived):
                log.debug("call %s: DTMF %s", self.call_id, event.digit)
            else:
                self.feed(event)
                if isinstance(event, CallEnd) and event.reason == "completed" and self.finishing:
                    await self.wait_finished()
                    self._close = (CLOSE_NORMAL, "")


__all__ = ["TwilioConnection"]
