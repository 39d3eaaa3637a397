"""`SocketLink`: one open socket and its :class:`~actors.runtime.connection_core.ConnectionCore`.

The one place the core is driven. Every driver holds :attr:`SocketLink.lock` while it talks to
the core and writes what the core queued, and the lock is only ever held for non-blocking work:

* a shared read-pool thread (:mod:`actors.runtime.read_pool`) calls :meth:`~SocketLink.on_readable`
  (read, parse, answer pings and close frames) and :meth:`~SocketLink.on_deadline` (keepalive,
  liveness ping, pong and read-stall deadlines);
* the connection's actor, the caller's thread (immediate audio) and the audio flusher call
  :meth:`~SocketLink.write_items` and :meth:`~SocketLink.flush_nowait`.

A write the kernel does not take whole leaves a backlog; the link then asks its owner (the
actor, ``on_backlog``) to finish it with :meth:`~SocketLink.flush_blocking`, which waits for the
socket without the lock. What the core reports (messages, the close, a lost connection) goes to
``on_events`` on the pool thread after the lock is released -- one link is only ever read by one
pool thread, so batches arrive in wire order -- while :attr:`SocketLink.delivering` is held, so
:meth:`SocketLink.detach` can wait for a delivery in progress to end.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable

from actors.runtime.connection_core import CloseReceived, ConnectionCore, CoreEvent
from actors.runtime.metrics import MetricsRecorder
from actors.runtime.read_pool import ReadPool
from actors.runtime.transport import SendTimeout, SocketWriter

__all__ = ["READ_SIZE", "SocketLink"]

log = logging.getLogger(__name__)

#: One read takes up to this much; the bytes object shrinks to what arrived.
READ_SIZE = 64 * 1024
_monotonic = time.monotonic
_WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


class SocketLink:
    """A live socket, its protocol core and its writer, behind one lock; see the module docstring.

    ``on_events`` receives each non-empty batch of core events on the pool thread (the lock not
    held: it may deliver them to subscribers); ``on_backlog`` is called when a write left a
    backlog that someone allowed to block must finish.
    """

    __slots__ = (
        "_detached",
        "_fd",
        "_metrics",
        "_on_backlog",
        "_on_events",
        "_pending",
        "_pool",
        "_recv",
        "core",
        "delivering",
        "lock",
        "writer",
    )

    def __init__(
        self,
        sock: socket.socket,
        core: ConnectionCore,
        metrics: MetricsRecorder,
        pool: ReadPool,
        on_events: Callable[[list[CoreEvent]], None],
        on_backlog: Callable[[], None],
    ) -> None:
        self.core = core
        self.writer = SocketWriter(sock)
        #: Held by whoever drives the core or writes; never held while blocking.
        self.lock = threading.Lock()
        #: Held by the pool thread while it hands a batch of events on (never with ``lock``).
        self.delivering = threading.Lock()
        self._fd = sock.fileno()
        self._recv = sock.recv
        self._pending = getattr(sock, "pending", None)  # TLS: decrypted bytes epoll cannot see
        self._metrics = metrics
        self._pool = pool
        self._on_events = on_events
        self._on_backlog = on_backlog
        self._detached = False

    def fileno(self) -> int:
        """The socket's file descriptor (as it was when the link was made)."""
        return self._fd

    def start(self, early_data: bytes = b"") -> None:
        """Start reading on the pool; ``early_data`` (read with the handshake) is handled first, here."""
        with self.lock:
            if early_data:
                self.core.receive_data(early_data, time.monotonic())
            step = self._after_core()
        self._pool.watch(self, self._hand_on(step))

    def detach(self, wait: float) -> CloseReceived | None:
        """Stop reading and driving the core (idempotent); the server's close frame if it came first.

        Waits up to ``wait`` seconds for a delivery in progress on the pool thread to end (none
        starts afterwards); a delivery still running then is logged and left behind.
        """
        with self.lock:
            self._detached = True
            received = self.core.received_close
        self._pool.unwatch(self)
        if self.delivering.acquire(timeout=wait):
            self.delivering.release()
        else:
            log.warning("a subscriber of this connection did not return within %ss; its end goes on", wait)
        return received

    # -- the read pool's side ------------------------------------------------------------------

    def on_readable(self, now: float) -> float | None:
        """Read what the socket has, feed the core, write its answers, hand on its events."""
        with self.lock:
            if self._detached:
                return None
            core = self.core
            recv = self._recv
            pending = self._pending
            while True:
                try:
                    data = recv(READ_SIZE)
                except _WOULD_BLOCK:
                    break  # woken without a whole TLS record, or spuriously
                except OSError as error:
                    core.receive_eof(error)
                    break
                if not data:
                    core.receive_eof(None)
                    break
                core.receive_data(data, now)
                if core.ended or pending is None or not pending():
                    break
            step = self._after_core()
        return self._hand_on(step)

    def on_deadline(self, now: float) -> float | None:
        """Do what the core has due (keepalive, ping, a timeout) and return its next deadline."""
        with self.lock:
            if self._detached:
                return None
            core = self.core
            before = core.keepalives_sent
            core.handle_deadline(now)
            self._metrics.keepalives_sent += core.keepalives_sent - before
            step = self._after_core()
        return self._hand_on(step)

    def _after_core(self) -> tuple[list[CoreEvent], float | None, bool]:
        # Lock held: write what the core queued (never blocking); return its events, its next
        # deadline and whether it ended. The delivery lock is taken before the link lock is
        # released, so a detach that waits for it sees every batch taken out before it.
        core = self.core
        out = core.data_to_send()
        if out or self.writer.has_backlog:
            try:
                if not self.writer.send_nowait(out):
                    self._on_backlog()
            except OSError as error:
                core.receive_eof(error)
        events = core.events()
        if events:
            self.delivering.acquire()
        return events, core.next_deadline(), core.ended

    def _hand_on(self, step: tuple[list[CoreEvent], float | None, bool]) -> float | None:
        # Lock released: deliver the events, stop watching an ended socket, return the deadline.
        events, deadline, ended = step
        if events:
            try:
                if not self._detached:
                    self._on_events(events)
            finally:
                self.delivering.release()
        if ended:
            self._pool.unwatch(self)
        return deadline

    # -- the writers' side (lock held by the caller) -----------------------------------------------

    def write_items(self, items: list[bytes | str], queued_at: float) -> bool:
        """Frame queued audio (bytes) and text (str) and write them now; False = a backlog is left.

        Lock held. Raises ``OSError`` when the socket is broken. Items are dropped once our close
        frame is out (RFC 6455 5.5.1: no data frames after it).
        """
        now = time.monotonic()
        batch = self.core.send_batch(items, now)
        if batch is None:
            return True
        done = self.writer.send_nowait(self.core.data_to_send())
        self._metrics.record_batch_sent(
            batch.audio_bytes, batch.audio_frames, batch.control_frames, queued_at, time.monotonic()
        )
        return done

    def write_audio(self, data: bytes) -> bool:
        """Frame one audio chunk and write it now; False = a backlog is left (lock held).

        Raises ``OSError`` when the socket is broken; the chunk is dropped once our close frame
        is out.
        """
        now = _monotonic()
        frame = self.core.send_audio_frame(data, now)
        if frame is None:
            return True
        done = self.writer.send_nowait(frame)
        self._metrics.record_audio_sent(len(data), now)
        return done

    def flush_nowait(self) -> bool:
        """Write what the core queued and any backlog, as far as the socket takes it; True when all out.

        Lock held. Raises ``OSError`` when the socket is broken.
        """
        return self.writer.send_nowait(self.core.data_to_send())

    # -- the owner's side (lock NOT held) ----------------------------------------------------------

    def flush_blocking(self, send_timeout: float) -> None:
        """Write everything queued, waiting for the socket (without the lock) as needed.

        Raises :class:`~actors.runtime.transport.SendTimeout` when the socket takes nothing for
        ``send_timeout`` seconds, ``OSError`` when it is broken.
        """
        writer = self.writer
        deadline = time.monotonic() + send_timeout
        while True:
            with self.lock:
                before = writer.sent_bytes
                done = self.flush_nowait()
                progressed = writer.sent_bytes != before
            if done:
                return
            now = time.monotonic()
            if progressed:
                deadline = now + send_timeout
            elif now >= deadline:
                raise SendTimeout(f"the socket took nothing for {send_timeout}s")
            writer.wait_writable(deadline - now)
