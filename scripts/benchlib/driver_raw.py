"""The floor column: N Listen V1 streams on ONE thread with plain non-blocking sockets and one selector.

Nothing a real client needs beyond the wire: handshakes by hand (:mod:`benchlib.rawws`, done one after
the other on the caller's thread), C masking, JSON parsing of every message (orjson when installed) and
the probe's per-message work. The one loop thread sends each chunk as one frame at its due time (the
shared :class:`Schedule`, in the same order as the other drivers' pacers), reads and parses results,
answers pings, and at the finish sends CloseStream and answers the server's close. No reconnects, no
buffering for replay, no keepalive: it is the cost of the bytes alone, a lower bound for any Python client.
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence

from benchlib import rawws
from benchlib.audio import SAMPLE_RATE, BenchAudio
from benchlib.probe import StreamProbe
from benchlib.schedule import Schedule, by_phase

OPEN_TIMEOUT = 10.0
_CLOSE_STREAM_JSON = b'{"type":"CloseStream"}'


class _Stream:
    """One connection's state, touched only by the loop thread (after the handshake)."""

    __slots__ = ("closed", "out", "out_audio", "probe", "reader", "sock")

    def __init__(self, sock: socket.socket, rest: bytes, probe: StreamProbe) -> None:
        self.sock = sock
        self.reader = rawws.FrameReader(rest)
        self.probe = probe
        self.out = bytearray()  # bytes the kernel did not take yet
        self.out_audio = 0  # audio bytes inside ``out`` (counted as sent once written)
        self.closed = False


class RawDriver:
    """Runs the streams on one selector thread (``bench-raw-loop``); the floor to compare clients with."""

    name = "raw floor"
    #: The loop thread.
    fixed_threads = 1

    def __init__(self, url: str, audio: BenchAudio, probes: list[StreamProbe]) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        query = urllib.parse.urlencode(
            {"model": "nova-3", "encoding": "linear16", "sample_rate": SAMPLE_RATE}
        )
        self.target = f"{parts.path.rstrip('/')}/v1/listen?{query}"
        self.audio = audio
        self.probes = probes
        self.streams: list[_Stream] = []
        self._schedule: Schedule | None = None
        self._finish = False
        self._sent = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._sel = selectors.DefaultSelector()
        self._open = 0  # streams not ended yet (the loop thread's, once started)
        self._thread = threading.Thread(target=self._run, name="bench-raw-loop")

    @property
    def implementation(self) -> str:
        """What masks and parses (shown in the table)."""
        return f"mask {rawws.MASK_IMPL}, json {rawws.JSON_IMPL}"

    def open_all(self, on_first_open: Callable[[], None] | None = None) -> None:
        """Handshake every stream (one after the other), then start the loop thread;
        ``on_first_open`` is called once the first handshake is done."""
        headers = {"Authorization": "Token bench-key"}
        for probe in self.probes:
            sock, rest = rawws.handshake(self.host, self.port, self.target, headers, OPEN_TIMEOUT)
            sock.setblocking(False)
            stream = _Stream(sock, rest, probe)
            self.streams.append(stream)
            self._sel.register(sock, selectors.EVENT_READ, stream)
            if on_first_open is not None and len(self.streams) == 1:
                on_first_open()
        self._wake_r.setblocking(False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._open = len(self.streams)
        self._thread.start()

    def start_sending(self, schedule: Schedule) -> None:
        """Hand ``schedule`` to the loop thread."""
        self._schedule = schedule
        self._wake_w.send(b"s")

    def wait_sent(self) -> None:
        """Block until the loop has written every chunk of every stream."""
        self._sent.wait()

    def sent_chunks(self, index: int) -> int:
        """Chunks of stream ``index`` written to its socket."""
        return self.probes[index].sent_bytes // len(self.audio.chunks[0])

    def finish_all(self) -> None:
        """Ask the loop to send CloseStream everywhere; return once every server has closed."""
        self._finish = True
        self._wake_w.send(b"f")
        self._thread.join()
        self._sel.close()
        self._wake_r.close()
        self._wake_w.close()

    # -- the loop thread ------------------------------------------------------------------------

    def _plan(self, schedule: Schedule) -> Iterator[tuple[float, int, Sequence[_Stream]]]:
        """(due, chunk index, streams) in the pacers' order: chunk by chunk, phase by phase."""
        phases = by_phase(self.streams)
        for k in range(len(self.audio.chunks)):
            for first, streams in phases:
                yield schedule.due(first, k), k, streams

    def _run(self) -> None:
        plan: Iterator[tuple[float, int, Sequence[_Stream]]] | None = None
        step: tuple[float, int, Sequence[_Stream]] | None = None
        finishing = False
        chunks = self.audio.chunks
        select = self._sel.select
        while self._open:
            timeout = None if step is None else max(0.0, step[0] - time.monotonic())
            for key, events in select(timeout):
                stream = key.data
                if stream is None:
                    self._wake_r.recv(64)
                    if plan is None and self._schedule is not None:
                        plan = self._plan(self._schedule)
                        step = next(plan, None)
                    if self._finish and not finishing:
                        finishing = True
                        frame = rawws.client_frame(rawws.OP_TEXT, _CLOSE_STREAM_JSON)
                        for s in self.streams:
                            if not s.closed:
                                self._write(s, frame, 0)
                    continue
                if events & selectors.EVENT_WRITE:
                    self._drain(stream)
                if events & selectors.EVENT_READ and not stream.closed:
                    self._read(stream)
            while step is not None and step[0] <= time.monotonic():
                _, k, streams = step
                chunk = chunks[k]
                for s in streams:
                    if not s.closed:
                        self._write(s, rawws.client_frame(rawws.OP_BINARY, chunk), len(chunk))
                step = next(plan, None) if plan is not None else None
                if step is None:
                    self._sent.set()
        self._sent.set()

    def _write(self, stream: _Stream, frame: bytes, audio_bytes: int) -> None:
        if stream.closed:
            return
        if stream.out:
            stream.out += frame
            stream.out_audio += audio_bytes
            return
        try:
            n = stream.sock.send(frame)
        except BlockingIOError:
            n = 0
        except OSError as error:
            self._fail(stream, error)
            return
        if n == len(frame):
            stream.probe.sent_bytes += audio_bytes
            return
        stream.out += frame[n:]
        stream.out_audio += audio_bytes
        self._sel.modify(stream.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, stream)

    def _drain(self, stream: _Stream) -> None:
        try:
            n = stream.sock.send(stream.out)
        except BlockingIOError:
            return
        except OSError as error:
            self._fail(stream, error)
            return
        del stream.out[:n]
        if not stream.out:
            stream.probe.sent_bytes += stream.out_audio
            stream.out_audio = 0
            self._sel.modify(stream.sock, selectors.EVENT_READ, stream)

    def _read(self, stream: _Stream) -> None:
        """Read what is there and handle every complete message (the server's close ends the stream)."""
        try:
            data = stream.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError as error:
            self._fail(stream, error)
            return
        if not data:
            if not self._finish:
                stream.probe.error("connection closed by the server before the finish")
            self._end(stream)
            return
        for opcode, payload in stream.reader.feed(data):
            if opcode == rawws.OP_TEXT:
                stream.probe.on_json(rawws.loads(payload))
            elif opcode == rawws.OP_PING:
                self._write(stream, rawws.client_frame(rawws.OP_PONG, payload), 0)
            elif opcode == rawws.OP_CLOSE:
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                if code != 1000:
                    stream.probe.error(f"server closed with {code} {payload[2:]!r}")
                self._write(stream, rawws.client_frame(rawws.OP_CLOSE, payload[:2]), 0)
                self._end(stream)
                return

    def _fail(self, stream: _Stream, error: OSError) -> None:
        stream.probe.error(error)
        self._end(stream)

    def _end(self, stream: _Stream) -> None:
        if stream.closed:
            return
        stream.closed = True
        self._open -= 1
        self._sel.unregister(stream.sock)
        stream.sock.close()
