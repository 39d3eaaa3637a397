"""Drive N Listen V1 streams with deepgram-sdk 7.16's sync client, sending from ONE pacer thread.

Sending is driven as actors is: one pacer thread (``bench-sdk-pacer``) calls ``send_media`` on every
stream at its due time, on the shared :class:`Schedule` (``send_media`` writes the frame on the calling
thread; on a local socket it does not block). Receiving is the SDK's own cost: its sync socket is a
``websockets.sync`` connection, which reads on one background thread per connection and pings from
another (its keepalive), and the SDK delivers messages only from ``start_listening()``, a blocking
loop, so each stream needs one more thread to run it (``bench-sdk-listen-<i>``): 3 threads per
stream, which the table counts. Handshakes
run 8 at a time (like actors' Supervisor default of 8 connector threads). The finish is
``send_close_stream()`` on every stream, then waiting for each server close (the listen loops end).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any

from benchlib.audio import SAMPLE_RATE, BenchAudio
from benchlib.probe import StreamProbe
from benchlib.procstat import counting_cpu
from benchlib.schedule import Schedule, by_phase, sleep_until

OPEN_TIMEOUT = 60.0
FINISH_TIMEOUT = 60.0
#: Concurrent handshakes, like actors' Supervisor default of 8 connector threads.
CONNECT_CONCURRENCY = 8


def sdk_environment(url: str) -> Any:
    """The SDK's environment pointing every API at the local server ``url`` (``ws://host:port``)."""
    from deepgram import DeepgramClientEnvironment

    http = url.replace("ws://", "http://", 1)
    return DeepgramClientEnvironment(base=http, production=url, agent=url, agent_rest=http)


class SdkDriver:
    """Runs the streams through ``deepgram.DeepgramClient`` (sync): one pacer, the SDK's receive threads."""

    name = "deepgram-sdk"
    #: The pacer thread (the per-connection threads are counted per stream).
    fixed_threads = 1

    def __init__(self, url: str, audio: BenchAudio, probes: list[StreamProbe]) -> None:
        from deepgram import DeepgramClient

        self.client = DeepgramClient(api_key="bench-key", environment=sdk_environment(url))
        self.audio = audio
        self.probes = probes
        self._contexts: list[AbstractContextManager[Any] | None] = [None] * len(probes)
        self._conns: list[Any] = [None] * len(probes)
        self._listeners: list[threading.Thread | None] = [None] * len(probes)
        self._pacer: threading.Thread | None = None
        #: CPU (user, system seconds) of the driver's threads that ended while sending, by group:
        #: the pacer, gone before the per-thread reading at the end of sending.
        self.joined_threads: dict[str, tuple[float, float]] = {}

    def open_all(self, on_first_open: Callable[[], None] | None = None) -> None:
        """Connect every stream (the first alone, then 8 handshakes at a time) and start its listen
        thread; ``on_first_open`` is called once the first stream is open."""
        try:
            first, rest = self.probes[:1], self.probes[1:]
            for probe in first:
                self._open(probe)
            if on_first_open is not None:
                on_first_open()
            with ThreadPoolExecutor(CONNECT_CONCURRENCY, thread_name_prefix="bench-sdk-connect") as pool:
                for future in [pool.submit(self._open, p) for p in rest]:
                    future.result(timeout=OPEN_TIMEOUT)
        except BaseException:
            self._close_opened()
            raise

    def _close_opened(self) -> None:
        """After a failed open: leave every opened connection (its listen loop ends) and join."""
        for ctx in self._contexts:
            if ctx is not None:
                ctx.__exit__(None, None, None)
        for listener in self._listeners:
            if listener is not None:
                listener.join(FINISH_TIMEOUT)

    def _open(self, probe: StreamProbe) -> None:
        from deepgram.core.events import EventType

        ctx = self.client.listen.v1.connect(model="nova-3", encoding="linear16", sample_rate=str(SAMPLE_RATE))
        conn = ctx.__enter__()
        self._contexts[probe.index] = ctx
        self._conns[probe.index] = conn
        conn.on(EventType.MESSAGE, probe)
        conn.on(EventType.ERROR, probe.error)
        listener = threading.Thread(target=conn.start_listening, name=f"bench-sdk-listen-{probe.index}")
        self._listeners[probe.index] = listener
        listener.start()

    def start_sending(self, schedule: Schedule) -> None:
        """Start the pacer thread on ``schedule``."""
        self._pacer = threading.Thread(
            target=counting_cpu(self._pace, self.joined_threads), args=(schedule,), name="bench-sdk-pacer"
        )
        self._pacer.start()

    def _pace(self, schedule: Schedule) -> None:
        # As the actors pacer: each phase's streams with their bound send_media, looked up once.
        phases = by_phase([(c.send_media, p) for c, p in zip(self._conns, self.probes, strict=True)])
        for k, chunk in enumerate(self.audio.chunks):
            n = len(chunk)
            for first, sends in phases:
                sleep_until(schedule.due(first, k))
                for send, probe in sends:
                    try:
                        send(chunk)
                    except Exception as error:  # a broken stream is reported; the others go on
                        probe.send_failed(error)
                        continue
                    probe.sent_bytes += n

    def wait_sent(self) -> None:
        """Block until the pacer has sent every chunk."""
        if self._pacer is not None:
            self._pacer.join()

    def sent_chunks(self, index: int) -> int:
        """Chunks stream ``index`` has handed to ``send_media`` (which returns once written)."""
        return self.probes[index].sent_bytes // len(self.audio.chunks[0])

    def finish_all(self) -> None:
        """CloseStream on every stream, then wait for each server close and leave each connection."""
        for conn, probe in zip(self._conns, self.probes, strict=True):
            try:
                conn.send_close_stream()
            except Exception as error:
                probe.error(error)
        for listener, ctx, probe in zip(self._listeners, self._contexts, self.probes, strict=True):
            assert listener is not None and ctx is not None
            listener.join(FINISH_TIMEOUT)
            if listener.is_alive():
                probe.error(f"no server close within {FINISH_TIMEOUT:g} s")
            ctx.__exit__(None, None, None)
