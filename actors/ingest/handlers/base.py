"""What every platform connection shares: one inbox, one consumer, the call's pipeline.

A :class:`CallConnection` serialises everything that happens to one platform socket through one
``asyncio.Queue``: the frames its reader task receives, and what other threads post with
:meth:`CallConnection.post` (committed utterances from the segment writer, an abort from the
pipeline, the end of a finish, a drain). The subclass's :meth:`CallConnection.consume` handles
them in order on the event loop, so a sans-I/O session is only ever touched by one coroutine.
Blocking work (the database, finishing a stream) runs on the service's worker pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import TYPE_CHECKING, TypeVar

import attrs
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from actors.errors import ActorsError, OptionsError
from actors.ingest.audiohook import transcripts
from actors.ingest.call import AbortKind, CallPipeline, CallServices
from actors.ingest.calls import CallAudio, CallEnd, CallPaused, CallStart, CallUpdated
from actors.ingest.store.errors import StoreError
from actors.ingest.store.models import CallStatus

if TYPE_CHECKING:
    from actors.ingest.admission import Admission

log = logging.getLogger("actors.ingest.connection")

#: WebSocket close codes the service ends a platform socket with (RFC 6455 and the IANA registry).
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001  # the service is draining
CLOSE_POLICY = 1008
CLOSE_INTERNAL_ERROR = 1011  # transcription failed
CLOSE_TRY_AGAIN_LATER = 1013  # refused for capacity
T = TypeVar("T")


@attrs.frozen
class Frame:
    """A frame the platform sent."""

    data: str | bytes = attrs.field(repr=lambda d: f"<{len(d)}>")


@attrs.frozen
class Lost:
    """The socket closed (for whatever reason); nothing more will be read."""


@attrs.frozen
class Utterance:
    """A committed utterance to report to the platform (AudioHook transcripts)."""

    segment: transcripts.Segment


@attrs.frozen
class Abort:
    """The pipeline gave up on the call (``capacity``: refused while waiting; ``failed``)."""

    kind: AbortKind
    reason: str


@attrs.frozen
class Finished:
    """The call's pipeline finished: every segment committed, the call row closed."""

    status: CallStatus


@attrs.frozen
class Drain:
    """The service is shutting down: end the call gracefully now."""


Item = Frame | Lost | Utterance | Abort | Finished | Drain


@attrs.frozen
class ConnectionContext:
    """The service's parts a connection uses."""

    loop: asyncio.AbstractEventLoop
    pool: Executor
    services: CallServices
    admission: Admission


class CallConnection:
    """One platform socket carrying one call; subclasses implement :meth:`consume`."""

    platform = "stream"

    def __init__(self, context: ConnectionContext, websocket: ServerConnection) -> None:
        self.context = context
        self.websocket = websocket
        self.inbox: asyncio.Queue[Item] = asyncio.Queue()
        self.pipeline: CallPipeline | None = None
        self._finishing: asyncio.Future[CallStatus] | None = None
        self.draining = False

    # -- driving ---------------------------------------------------------------------------------

    async def run(self) -> None:
        """Read and consume until the call is over; a finish in progress is awaited before returning."""
        reader = asyncio.create_task(self._read(), name=f"ingest-read-{id(self):x}")
        self.context.admission.connections.add(self)
        try:
            await self.consume()
        except ConnectionClosed:
            pass
        finally:
            reader.cancel()
            if self.pipeline is not None and self._finishing is None:
                self.finish_call(CallEnd(reason="disconnected", position=0.0, detail="connection lost"))
            if self._finishing is not None:
                try:
                    await self._finishing
                except Exception:
                    log.exception("call %s: finishing failed", self.call_id)
            self.context.admission.connections.discard(self)

    async def _read(self) -> None:
        try:
            async for message in self.websocket:
                self.inbox.put_nowait(Frame(message))
        except ConnectionClosed:
            pass
        finally:
            self.inbox.put_nowait(Lost())

    async def consume(self) -> None:
        """Handle inbox items until the call is over (subclasses)."""
        raise NotImplementedError

    def post(self, item: Item) -> None:
        """Queue ``item`` from any thread."""
        self.context.loop.call_soon_threadsafe(self.inbox.put_nowait, item)

    async def send(self, frames: list[str]) -> None:
        """Send text frames in order (a closed socket ends the loop through the reader's :class:`Lost`)."""
        for frame in frames:
            try:
                await self.websocket.send(frame)
            except ConnectionClosed:
                return

    async def wait_finished(self) -> None:
        """Wait until the call's finish is done (or the socket is gone); other items are dropped."""
        while not isinstance(await self.inbox.get(), Finished | Lost):
            pass

    async def close_socket(self, code: int, reason: str) -> None:
        """Close the platform socket with ``code`` (a socket already gone is fine)."""
        with contextlib.suppress(ConnectionClosed):
            await self.websocket.close(code, reason)

    async def close_after_finish(self, code: int, reason: str) -> None:
        """Close the socket once the call's finish (if one runs) is done: its finals are committed."""
        if self.finishing:
            await self.wait_finished()
        await self.close_socket(code, reason)

    async def blocking(self, work: Callable[[], T]) -> T:
        """Run ``work`` on the worker pool and await it."""
        return await self.context.loop.run_in_executor(self.context.pool, work)

    # -- the call ----------------------------------------------------------------------------------

    @property
    def call_id(self) -> str:
        """The call's id ("-" before its start)."""
        return self.pipeline.call_id if self.pipeline is not None else "-"

    async def start_call(self, start: CallStart, *, transcripts_wanted: bool) -> str | None:
        """Admit and begin the call; None when it runs, else why it was refused (already counted)."""
        admission = self.context.admission
        refusal = admission.refusal(start.platform)
        if refusal is not None:
            return refusal
        pipeline = CallPipeline(
            start,
            self.context.services,
            on_utterance=(lambda u: self.post(Utterance(u))) if transcripts_wanted else None,
            on_abort=lambda kind, reason: self.post(Abort(kind, reason)),
        )
        try:
            began = await self.blocking(pipeline.begin)
        except StoreError as exc:
            log.error("call %s refused: the store cannot record it: %s", start.call_id, exc)
            self.context.services.metrics.call_refused(start.platform, "store_unavailable")
            return "Service Unavailable: the transcript store is unavailable"
        except OptionsError as exc:
            log.error("call %s failed: Deepgram options rejected: %s", start.call_id, exc)
            return f"Internal Server Error: the transcription options are invalid: {exc}"
        except ActorsError as exc:  # the stream host cannot run it now (e.g. no Ray worker is alive)
            log.error("call %s failed: its stream could not be opened: %s", start.call_id, exc)
            return f"Service Unavailable: no transcription stream could be opened: {exc}"
        if not began:
            self.context.services.metrics.call_refused(start.platform, "bad_request")
            return f"a call with id {start.call_id!r} already exists"
        self.pipeline = pipeline
        return None

    def feed(self, event: object) -> None:
        """Hand an in-call event to the pipeline: audio, a pause, a language change, the end (a drain's
        end is marked so). A no-op before the call started (or when it was refused)."""
        pipeline = self.pipeline
        if pipeline is None:
            return
        if isinstance(event, CallAudio):
            pipeline.audio(event)
        elif isinstance(event, CallPaused):
            pipeline.paused()
        elif isinstance(event, CallUpdated):
            self.context.pool.submit(pipeline.retire, pipeline.switch_language(event.language))
        elif isinstance(event, CallEnd):
            self.finish_call(attrs.evolve(event, detail="drain") if self.draining else event)

    def finish_call(self, end: CallEnd) -> None:
        """Finish the call on the worker pool (once); :class:`Finished` is posted when it is done."""
        pipeline = self.pipeline
        if pipeline is None or self._finishing is not None:
            return
        future: Future[CallStatus] = self.context.pool.submit(pipeline.finish, end)
        self._finishing = asyncio.wrap_future(future, loop=self.context.loop)
        self._finishing.add_done_callback(self._finished)

    def _finished(self, future: asyncio.Future[CallStatus]) -> None:
        if future.cancelled():
            return
        if future.exception() is not None:
            log.error("call %s: finish failed: %r", self.call_id, future.exception())
            self.inbox.put_nowait(Finished("failed"))
        else:
            self.inbox.put_nowait(Finished(future.result()))

    @property
    def finishing(self) -> bool:
        """True once the call's finish has started."""
        return self._finishing is not None


__all__ = [
    "CLOSE_GOING_AWAY",
    "CLOSE_INTERNAL_ERROR",
    "CLOSE_NORMAL",
    "CLOSE_POLICY",
    "CLOSE_TRY_AGAIN_LATER",
    "Abort",
    "CallConnection",
    "ConnectionContext",
    "Drain",
    "Finished",
    "Frame",
    "Item",
    "Lost",
    "Utterance",
]
