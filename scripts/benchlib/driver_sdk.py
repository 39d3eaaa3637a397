"""Drive N Listen V1 streams with deepgram-sdk 7.16's sync client, as its documentation does.

Per stream: one thread opens ``client.listen.v1.connect(...)`` and sends the audio in real time
with ``send_media``; another runs ``start_listening()`` which calls the MESSAGE callback. The
finish is ``send_close_stream()`` and waiting for the server's close.
"""

from __future__ import annotations

import threading
from typing import Any

from benchlib.audio import SAMPLE_RATE, BenchAudio
from benchlib.probe import StreamProbe
from benchlib.schedule import Schedule, sleep_until

OPEN_TIMEOUT = 60.0
#: Concurrent handshakes, like actors' Supervisor default of 8 connector threads.
CONNECT_CONCURRENCY = 8


class SdkDriver:
    """Runs the streams through ``deepgram.DeepgramClient`` (sync)."""

    name = "deepgram-sdk"

    def __init__(self, url: str, audio: BenchAudio, probes: list[StreamProbe]) -> None:
        from deepgram import DeepgramClient, DeepgramClientEnvironment

        http = url.replace("ws://", "http://", 1)
        env = DeepgramClientEnvironment(base=http, production=url, agent=url, agent_rest=http)
        self.client = DeepgramClient(api_key="bench-key", environment=env)
        self.audio = audio
        self.probes = probes
        self._connect_slots = threading.Semaphore(CONNECT_CONCURRENCY)
        self._opened = threading.Semaphore(0)
        self._go = threading.Event()
        self._sent = threading.Event()
        self._sent_count = 0
        self._sent_lock = threading.Lock()
        self._schedule: Schedule | None = None
        self._threads = [
            threading.Thread(target=self._stream, args=(p,), name=f"bench-sdk-send-{p.index}") for p in probes
        ]

    def open_all(self) -> None:
        """Start one thread per stream; return once every stream is connected and listening."""
        for thread in self._threads:
            thread.start()
        for _ in self.probes:
            if not self._opened.acquire(timeout=OPEN_TIMEOUT):
                raise TimeoutError(f"deepgram-sdk streams did not all open within {OPEN_TIMEOUT}s")

    def start_sending(self, schedule: Schedule) -> None:
        """Release every stream thread onto ``schedule``."""
        self._schedule = schedule
        self._go.set()

    def wait_sent(self) -> None:
        """Block until every stream has sent all its audio."""
        self._sent.wait()

    def sent_chunks(self, index: int) -> int:
        """Chunks stream ``index`` has handed to ``send_media`` (which returns once written)."""
        return self.probes[index].sent_bytes // len(self.audio.chunks[0])

    def finish_all(self) -> None:
        """Join the stream threads (each sends CloseStream and waits for the server's close)."""
        for thread in self._threads:
            thread.join()

    def _stream(self, probe: StreamProbe) -> None:
        from deepgram.core.events import EventType

        opened = sent = False
        try:
            with self._connect_slots:
                ctx = self.client.listen.v1.connect(
                    model="nova-3", encoding="linear16", sample_rate=str(SAMPLE_RATE)
                )
                conn = ctx.__enter__()
            try:
                conn.on(EventType.MESSAGE, probe)
                conn.on(EventType.ERROR, probe.error)
                listener = threading.Thread(
                    target=conn.start_listening, name=f"bench-sdk-listen-{probe.index}"
                )
                listener.start()
                opened = True
                self._opened.release()
                self._go.wait()
                self._send(conn, probe)
                sent = True
                self._mark_sent()
                conn.send_close_stream()
                listener.join()
            finally:
                ctx.__exit__(None, None, None)
        except Exception as error:  # reported in the run's errors; the run goes on
            probe.error(error)
            if not opened:
                self._opened.release()
            if not sent:
                self._mark_sent()

    def _send(self, conn: Any, probe: StreamProbe) -> None:
        schedule = self._schedule
        assert schedule is not None
        i = probe.index
        for k, chunk in enumerate(self.audio.chunks):
            sleep_until(schedule.due(i, k))
            conn.send_media(chunk)
            probe.sent_bytes += len(chunk)

    def _mark_sent(self) -> None:
        with self._sent_lock:
            self._sent_count += 1
            if self._sent_count == len(self.probes):
                self._sent.set()
