"""Drive N Listen V1 streams with actors: one Supervisor, one connection actor per stream.

Sending: one pacer thread calls ``send_audio`` on every stream at its due time (``send_audio``
only queues, so one thread is enough); the shared audio flusher writes each stream's queued audio
once per ``audio_flush_interval`` (the Supervisor's default, 50 ms). Results are not kept by the
streams (``keep_finals=False``, the default): the probe subscriber counts them.

``ACTORS_BENCH_FLUSH=<seconds>`` overrides the flush window (0 = write each chunk at once on the
pacer thread), for comparing the two write paths.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from benchlib.audio import SAMPLE_RATE, BenchAudio
from benchlib.probe import StreamProbe
from benchlib.procstat import counting_cpu
from benchlib.schedule import Schedule, by_phase, sleep_until

OPEN_TIMEOUT = 60.0
FINISH_TIMEOUT = 60.0


def _wait_open(handle: Any) -> None:
    """Block until ``handle``'s stream is open; ``TimeoutError`` after ``OPEN_TIMEOUT``."""
    if not handle.wait_open(OPEN_TIMEOUT):
        raise TimeoutError(f"{handle.stream_id} did not open within {OPEN_TIMEOUT}s")


class ActorsDriver:
    """Runs the streams through ``actors.runtime.supervisor.Supervisor`` (its own, or ``supervisor``)."""

    name = "actors"

    def __init__(
        self, url: str, audio: BenchAudio, probes: list[StreamProbe], supervisor: Any = None
    ) -> None:
        from actors.protocol.apis import LISTEN_V1
        from actors.protocol.auth import Auth
        from actors.protocol.listen_v1.options import ListenV1Options
        from actors.runtime import ConnectionConfig
        from actors.runtime.supervisor import DEFAULT_AUDIO_FLUSH_INTERVAL, Supervisor

        self.audio = audio
        self.probes = probes
        self.config = ConnectionConfig(
            api=LISTEN_V1,
            base_url=url,
            options=ListenV1Options(model="nova-3", encoding="linear16", sample_rate=SAMPLE_RATE),
            auth=Auth.token("bench-key"),
        )
        # A given (running) supervisor is someone else's, e.g. a Ray worker's: used, never started
        # or stopped here.
        self._own_supervisor = supervisor is None
        flush: float | None = None
        if supervisor is None:
            flush = float(os.environ.get("ACTORS_BENCH_FLUSH", DEFAULT_AUDIO_FLUSH_INTERVAL))
            supervisor = Supervisor(max_connections=max(1, len(probes)), audio_flush_interval=flush)
        self.supervisor = supervisor
        #: The coalescing window asked for (None: someone else's supervisor, its own setting).
        self.flush_interval = flush
        self.handles: list[Any] = []
        self._pacer: threading.Thread | None = None
        #: CPU (user, system seconds) of the driver's threads that ended while sending, by group:
        #: the pacer, gone before the per-thread reading at the end of sending.
        self.joined_threads: dict[str, tuple[float, float]] = {}
        #: (audio bytes, audio frames) written so far, summed over the streams (set by :meth:`finish_all`).
        self.wire: tuple[int, int] = (0, 0)

    @property
    def fixed_threads(self) -> int:
        """Threads that do not grow with the stream count: the supervisor's and this driver's pacer."""
        return self.supervisor.thread_budget() + 1

    def open_all(self, on_first_open: Callable[[], None] | None = None) -> None:
        """Open every stream; return once all are connected (raises on a failed one).

        ``on_first_open`` is called once the first stream is open, before the others are opened.
        """
        if self._own_supervisor:
            self.supervisor.start()
        for probe in self.probes:
            handle = self.supervisor.open_stream(self.config, [probe], stream_id=f"bench-{probe.index}")
            self.handles.append(handle)
            if on_first_open is not None and len(self.handles) == 1:
                _wait_open(handle)
                on_first_open()
        for handle in self.handles:
            _wait_open(handle)

    def start_sending(self, schedule: Schedule) -> None:
        """Start the pacer thread on ``schedule``."""
        self._pacer = threading.Thread(
            target=counting_cpu(self._pace, self.joined_threads), args=(schedule,), name="bench-actors-pacer"
        )
        self._pacer.start()

    def _pace(self, schedule: Schedule) -> None:
        # Each phase's streams and their bound send_audio, looked up once: the loop body is the
        # library call alone (the SDK driver likewise calls send_media in a bare loop).
        phases = by_phase([h.send_audio for h in self.handles])
        for k, chunk in enumerate(self.audio.chunks):
            for first, sends in phases:
                sleep_until(schedule.due(first, k))
                for send in sends:
                    send(chunk)

    def wait_sent(self) -> None:
        """Block until the pacer has queued every chunk."""
        if self._pacer is not None:
            self._pacer.join()

    def sent_chunks(self, index: int) -> int:
        """Chunks of stream ``index`` written to the socket (from the connection's own counter)."""
        # A plain counter read (the sampler asks for every stream 10 times a second, and its CPU
        # counts against the client): ``handle.metrics`` would build a snapshot under the lock.
        return self.handles[index].wire_bytes_sent // len(self.audio.chunks[0])

    def _wire_totals(self) -> tuple[int, int]:
        """Audio bytes and audio frames written so far, over all streams (public metrics)."""
        audio_bytes = frames = 0
        for handle in self.handles:
            snapshot = handle.metrics.connection
            if snapshot is not None:
                audio_bytes += int(snapshot.bytes_sent)
                frames += int(snapshot.frames_sent) - int(snapshot.control_messages_sent)
        return audio_bytes, frames

    def finish_all(self) -> None:
        """Finish every stream gracefully (CloseStream, last results) and stop the supervisor.

        :attr:`wire` is read first, from the streams' metrics: every audio frame but the last
        coalesced one of each stream (so the mean frame size is unbiased).
        """
        self.wire = self._wire_totals()

        def finish(handle: Any) -> None:
            result = handle.finish(timeout=FINISH_TIMEOUT)
            if result.error is not None:
                self.probes[int(handle.stream_id.split("-")[1])].error(result.error)

        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="bench-finish") as pool:
            list(pool.map(finish, self.handles))
        if self._own_supervisor:
            self.supervisor.stop()
        self._report_flusher()

    @staticmethod
    def _report_flusher() -> None:
        """One stderr line on how the shared audio flusher kept up (shown when a run is inspected;
        nothing when the runtime has no such flusher)."""
        try:
            from actors.runtime.flusher import shared_flusher
        except ImportError:
            return
        f = shared_flusher()
        if f.flushes:
            sys.stderr.write(
                f"actors flusher: {f.ticks} wake-ups, {f.flushes} flushes, busy {f.busy_seconds:.2f} s "
                f"({f.busy_seconds / f.flushes * 1e6:.1f} us per flush), longest wake-up "
                f"{f.max_tick_seconds * 1000:.1f} ms, "
                f"latest flush {f.max_late_seconds * 1000:.1f} ms after due\n"
            )
