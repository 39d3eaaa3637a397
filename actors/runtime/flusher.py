"""The audio flusher: ONE named thread that writes the audio queued by many connections.

With ``ConnectionConfig(audio_flush_interval=t)`` (t > 0), ``send_audio`` only queues; the
first chunk queued after a write puts the connection on the flusher's pending list, due ``t``
seconds later. The flusher wakes when the earliest pending connection is due and flushes, in that
one wake-up, EVERY pending connection -- one pass per window for all streams, whatever their
phase, and no timer entry per frame: scheduling is a dict insert under a lock. Each flush writes
everything the connection queued as one frame, without blocking
(:meth:`Flushable.flush_queued_audio`); a socket that cannot take it is handed to that
connection's own actor thread. So a call-center process with N streams pays about one wake-up
per window for all of them instead of one thread hop per chunk per stream.

The trade-off is latency: queued audio waits at most ``t`` seconds before it is written (plus
the time to flush the others of the same wake-up) -- about ``t / 2`` on average, since the
streams' windows are aligned to the flusher's wake-ups; a connection put on the list just before
a wake-up is flushed early, with less audio in its frame.

One process-wide instance (:func:`shared_flusher`), reference-counted: connections with an
interval call :meth:`AudioFlusher.acquire` when they start and :meth:`AudioFlusher.release` when
they end; the thread (``actors-audio-flusher``) starts with the first user and is stopped and
joined when the last one leaves.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

log = logging.getLogger(__name__)

THREAD_NAME = "actors-audio-flusher"


class Flushable(Protocol):
    """What the flusher drives: a connection with queued audio."""

    def flush_queued_audio(self) -> None:
        """Write what is queued without blocking (hand the rest to the connection's own thread)."""


class AudioFlusher:
    """Runs due flushes of many connections on one thread; see the module docstring."""

    def __init__(self, name: str = THREAD_NAME) -> None:
        self.name = name
        self._pending: dict[Flushable, None] = {}  # insertion-ordered, each connection once
        self._due: float | None = None  # when the earliest pending connection is due
        self._lock = threading.Lock()  # taken directly on the hot path (schedule)
        self._cond = threading.Condition(self._lock)
        self._life = threading.Lock()
        self._users = 0
        self._stopping = False
        self._thread: threading.Thread | None = None
        #: Wake-ups that flushed something, and flushes done (for tests and diagnostics).
        self.ticks = 0
        self.flushes = 0
        #: Seconds spent flushing, the longest wake-up, and the latest a flush ran after its due
        #: time (diagnostics: a flusher that cannot keep up shows here first).
        self.busy_seconds = 0.0
        self.max_tick_seconds = 0.0
        self.max_late_seconds = 0.0

    @property
    def thread(self) -> threading.Thread | None:
        """The running thread, or None while nobody uses the flusher."""
        return self._thread

    @property
    def users(self) -> int:
        """How many connections (or other owners) currently hold the flusher."""
        return self._users

    def acquire(self) -> AudioFlusher:
        """Become a user; the first user starts the thread. Returns self."""
        with self._life:
            self._users += 1
            if self._users == 1:
                with self._cond:
                    self._stopping = False
                    self._pending = {}
                    self._due = None
                thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread = thread
                thread.start()
        return self

    def release(self) -> None:
        """Stop being a user; the last user stops the thread and joins it."""
        with self._life:
            if self._users <= 0:
                raise RuntimeError("AudioFlusher.release() without a matching acquire()")
            self._users -= 1
            if self._users:
                return
            thread, self._thread = self._thread, None
            with self._cond:
                self._stopping = True
                self._pending = {}
                self._due = None
                self._cond.notify()
            if thread is not None and thread is not threading.current_thread():
                thread.join()

    def schedule(self, target: Flushable, interval: float) -> bool:
        """Flush ``target`` within ``interval`` seconds, in the next wake-up (shared with every other).

        A target already on the list stays on it once (the earlier time wins).

        Returns False (scheduling nothing) when the flusher is not running -- its last user
        released it, e.g. the connection ended meanwhile; the caller then writes another way.
        """
        due = time.monotonic() + interval
        with self._lock:
            if self._stopping or self._thread is None:
                return False
            self._pending[target] = None
            if self._due is None or due < self._due:
                self._due = due
                self._cond.notify()
        return True

    def _run(self) -> None:
        cond = self._cond
        while True:
            with cond:
                now = time.monotonic()
                while not self._stopping and (self._due is None or self._due > now):
                    cond.wait(None if self._due is None else self._due - now)
                    now = time.monotonic()
                if self._stopping:
                    return
                late = now - self._due if self._due is not None else 0.0
                batch, self._pending, self._due = self._pending, {}, None
            self.ticks += 1
            self.flushes += len(batch)
            for target in batch:
                try:
                    target.flush_queued_audio()
                except Exception:  # one broken connection must not stop the others' audio
                    log.exception("audio flush of %r failed", target)
            took = time.monotonic() - now
            self.busy_seconds += took
            if took > self.max_tick_seconds:
                self.max_tick_seconds = took
            if late + took > self.max_late_seconds:  # the last target of the batch was this late
                self.max_late_seconds = late + took


_shared = AudioFlusher()


def shared_flusher() -> AudioFlusher:
    """The process-wide flusher every connection with an ``audio_flush_interval`` uses."""
    return _shared


__all__ = ["THREAD_NAME", "AudioFlusher", "Flushable", "shared_flusher"]
