"""Drive N Listen V1 streams with deepgram-sdk 7.16's asyncio client: one event loop, one pacer task.

Everything runs on one event-loop thread (``bench-sdk-async-loop``): per stream one ``start_listening()``
task (the SDK's receive loop, which calls the MESSAGE callback), and one pacer task that awaits
``send_media`` on every stream at its due time on the shared :class:`Schedule`, in the same order as
the other pacers. Handshakes run 8 at a time. The finish is ``send_close_stream()`` on every stream,
then waiting for the listen tasks to end (the server closes), then leaving each connection.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from benchlib.audio import SAMPLE_RATE, BenchAudio
from benchlib.driver_sdk import CONNECT_CONCURRENCY, FINISH_TIMEOUT, OPEN_TIMEOUT, sdk_environment
from benchlib.probe import StreamProbe
from benchlib.schedule import Schedule, by_phase

T = TypeVar("T")


class AsyncSdkDriver:
    """Runs the streams through ``deepgram.AsyncDeepgramClient`` on one event loop thread."""

    name = "deepgram-sdk async"
    #: The event loop's thread (the pacer is a task on it).
    fixed_threads = 1

    def __init__(self, url: str, audio: BenchAudio, probes: list[StreamProbe]) -> None:
        from deepgram import AsyncDeepgramClient

        self.client = AsyncDeepgramClient(api_key="bench-key", environment=sdk_environment(url))
        self.audio = audio
        self.probes = probes
        self._conns: list[Any] = []
        self._listeners: list[asyncio.Task[None]] = []
        self._exits = contextlib.AsyncExitStack()
        self._pacer: concurrent.futures.Future[None] | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="bench-sdk-async-loop")

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def open_all(self, on_first_open: Callable[[], None] | None = None) -> None:
        """Start the loop thread; connect every stream and start its listen task.

        ``on_first_open`` is called (on this thread) once the first stream is open.
        """
        self._thread.start()
        try:
            self._call(self._open_all(self.probes[:1]), OPEN_TIMEOUT)
            if on_first_open is not None:
                on_first_open()
            self._call(self._open_all(self.probes[1:]), OPEN_TIMEOUT)
        except BaseException:
            self._stop_loop()
            raise

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    async def _open_all(self, probes: list[StreamProbe]) -> None:
        from deepgram.core.events import EventType

        slots = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def connect(probe: StreamProbe) -> Any:
            async with slots:
                ctx = self.client.listen.v1.connect(
                    model="nova-3", encoding="linear16", sample_rate=str(SAMPLE_RATE)
                )
                return ctx, await ctx.__aenter__()

        opened = await asyncio.gather(*(connect(p) for p in probes))
        for probe, (ctx, conn) in zip(probes, opened, strict=True):
            self._exits.push_async_exit(ctx)
            conn.on(EventType.MESSAGE, probe)
            conn.on(EventType.ERROR, probe.error)
            self._conns.append(conn)
            self._listeners.append(asyncio.ensure_future(conn.start_listening()))

    def start_sending(self, schedule: Schedule) -> None:
        """Start the pacer task on ``schedule``."""
        self._pacer = asyncio.run_coroutine_threadsafe(self._pace(schedule), self._loop)

    async def _pace(self, schedule: Schedule) -> None:
        phases = by_phase([(c.send_media, p) for c, p in zip(self._conns, self.probes, strict=True)])
        for k, chunk in enumerate(self.audio.chunks):
            n = len(chunk)
            for first, sends in phases:
                delay = schedule.due(first, k) - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                for send, probe in sends:
                    try:
                        await send(chunk)
                    except Exception as error:  # a broken stream is reported; the others go on
                        probe.send_failed(error)
                        continue
                    probe.sent_bytes += n

    def wait_sent(self) -> None:
        """Block until the pacer task has sent every chunk."""
        if self._pacer is not None:
            self._pacer.result()

    def sent_chunks(self, index: int) -> int:
        """Chunks stream ``index`` has handed to ``send_media`` (awaited: written, or buffered in the
        transport)."""
        return self.probes[index].sent_bytes // len(self.audio.chunks[0])

    def finish_all(self) -> None:
        """CloseStream on every stream, wait for every server close, leave the connections, stop the loop."""
        try:
            self._call(self._finish_all(), FINISH_TIMEOUT + 10)
        finally:
            self._stop_loop()

    async def _finish_all(self) -> None:
        for conn, probe in zip(self._conns, self.probes, strict=True):
            try:
                await conn.send_close_stream()
            except Exception as error:
                probe.error(error)
        _, pending = await asyncio.wait(self._listeners, timeout=FINISH_TIMEOUT)
        for task in pending:
            task.cancel()
        for probe, task in zip(self.probes, self._listeners, strict=True):
            if task in pending:
                probe.error(f"no server close within {FINISH_TIMEOUT:g} s")
        await self._exits.aclose()
