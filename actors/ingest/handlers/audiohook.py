"""The AudioHook connection driver: an :class:`~actors.ingest.audiohook.session.AudioHookSession` on a socket.

The upgrade was verified by the service (signatures, §1.2). This driver feeds frames to the session,
runs the call's pipeline from the session's call events, sends committed utterances back as
Transcription Connector ``event`` messages, and completes the close transaction: on ``close`` the
stream is finished and every final committed and sent *before* ``closed`` (the AudioHook protocol).

Service-side endings: a call refused for capacity or whose transcription failed gets ``disconnect``
``error`` ("Service Unavailable: ..." / "Internal Server Error: ..."); a drain
asks the client to close with ``disconnect`` ``completed``, keeps transcribing until that ``close``,
then completes the close transaction as above.
"""

from __future__ import annotations

import asyncio
import logging
import time

from actors.ingest.audiohook.session import AudioHookSession, ClientReportedError, CloseReceived, State
from actors.ingest.audiohook.transcripts import transcript_entity
from actors.ingest.calls import CallStart
from actors.ingest.handlers.base import (
    Abort,
    CallConnection,
    Drain,
    Finished,
    Frame,
    Item,
    Lost,
    Utterance,
)

log = logging.getLogger("actors.ingest.audiohook")


class AudioHookConnection(CallConnection):
    """One AudioHook session on one socket (see the module docstring)."""

    platform = "audiohook"

    def __init__(self, *args: object, session: AudioHookSession, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.session = session
        self._close_pending = False

    async def consume(self) -> None:
        """Drive the session until it is closed or its socket is gone."""
        session = self.session
        while True:
            deadline = session.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                item: Item | None = await asyncio.wait_for(self.inbox.get(), timeout)
            except TimeoutError:
                item = None
            now = time.monotonic()
            if item is None:
                session.tick(now)
            elif isinstance(item, Lost):
                session.connection_lost()
            else:
                self._apply(item, now)
            # ``opened`` goes out before the call is recorded (a burst of calls queues on the store;
            # the client's open timeout is 5 s); a refusal then follows as ``disconnect``.
            await self.send(session.take_outgoing())
            await self._handle_events()
            await self.send(session.take_outgoing())
            if session.transport_done or isinstance(item, Lost):
                return
            if session.state is State.CLOSED and not self.finishing_pending:
                await self.websocket.close()
                return

    @property
    def finishing_pending(self) -> bool:
        """True while a finish runs (the socket must stay until ``closed`` went out)."""
        return self.finishing and self._close_pending

    def _apply(self, item: Item, now: float) -> None:
        session = self.session
        if isinstance(item, Frame):
            if isinstance(item.data, str):
                session.receive_text(item.data, now)
            else:
                session.receive_binary(item.data, now)
        elif isinstance(item, Utterance):
            if session.wants_transcripts:
                session.send_event((transcript_entity(item.segment, base=0.0, language=session.language),))
        elif isinstance(item, Abort):
            prefix = "Service Unavailable" if item.kind == "capacity" else "Internal Server Error"
            reason = item.reason if item.reason.startswith(prefix) else f"{prefix}: {item.reason}"
            session.disconnect("error", reason, now)
        elif isinstance(item, Finished):
            if self._close_pending:
                self._close_pending = False
                session.send_closed()
        elif isinstance(item, Drain):
            # Ask the client to close; the call goes on (its audio counts) until that close, which
            # then runs the normal close transaction: last transcripts, then ``closed``.
            self.draining = True
            graceful = self.pipeline is not None and not self.finishing
            session.disconnect("completed", "the service is shutting down", now, graceful=graceful)

    async def _handle_events(self) -> None:
        session = self.session
        for event in session.take_events():
            if isinstance(event, CallStart):
                refusal = await self.start_call(
                    event, transcripts_wanted=session.config.transcription_connector
                )
                if refusal is not None:
                    session.disconnect("error", refusal, time.monotonic())
            elif isinstance(event, CloseReceived):
                if self.finishing:
                    self._close_pending = True  # ``closed`` goes out once every final is committed and sent
                else:
                    session.send_closed()
            elif isinstance(event, ClientReportedError):
                log.warning(
                    "call %s: the client reported error %d: %s", self.call_id, event.code, event.message
                )
            else:
                self.feed(event)


__all__ = ["AudioHookConnection"]
