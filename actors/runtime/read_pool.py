"""Shared reads: a small fixed pool of selector threads that read every connection's socket.

Instead of one reader thread per connection, each live socket is *watched* by one of
``threads`` loops (``actors-read-0``, ``actors-read-1``, ...), assigned in turn. A loop waits in
``epoll`` for any of its sockets to become readable or for the earliest deadline one of them
asked for, and calls the watched object on that thread:

* :meth:`Watched.on_readable` when its socket has data (or ended);
* :meth:`Watched.on_deadline` when the deadline it last returned has come.

Both return the watched object's next deadline (None: none), so deadlines (keepalive, pong,
read stall) need no timer thread either. They must not block on the socket; what they deliver to
subscribers runs here too (a connection whose subscribers are slow moves its deliveries to its
own actor, see :mod:`actors.runtime.connection`). :func:`in_read_thread` tells code whether it
runs on one of these threads. A watched object stops being watched
with :meth:`ReadPool.unwatch`, from any thread (its own callbacks included).

**Gathering.** A loop that has just read waits a short window before it polls again, so what
arrives meanwhile is read in one batch: ``gather_per_socket`` seconds per socket it watches, at
most ``max_gather`` (defaults: 10 us and 5 ms, i.e. nothing for a few streams, 1 ms at 100 sockets
per loop, 5 ms from 500). Each read releases and retakes the GIL, so reads spread one by one
across the chunk period hand the GIL back and forth with the threads sending audio; read in
batches, they do so far less often (at 1,000 streams writing 50 ms chunks at once: about 20% less
CPU in the read threads and lower p99 audio lag in most runs; no change at 200 streams; see
``docs/design/performance.md``). A result waits at most the window, and only when it arrives
within the window after the loop's previous read: the first one after a quiet spell is read at
once. A wake-up (a new socket, stop) ends the window. :meth:`ReadPool.set_gather` changes it;
``set_gather(0, 0)`` turns it off (latency first).

One process-wide pool (:func:`shared_read_pool`), reference-counted like the audio flusher:
connections :meth:`~ReadPool.acquire` it when they start and :meth:`~ReadPool.release` it when they
end; its threads start with the first user and are stopped and joined when the last one leaves.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_READ_THREADS",
    "GATHER_PER_SOCKET",
    "MAX_GATHER",
    "THREAD_PREFIX",
    "ReadPool",
    "Watched",
    "in_read_thread",
    "shared_read_pool",
]

THREAD_PREFIX = "actors-read-"
#: Reader threads per process: parsing is cheap next to decoding and delivery (done on each
#: connection's actor), so two loops serve thousands of sockets.
DEFAULT_READ_THREADS = 2
_EPOLL_IN = select.EPOLLIN | select.EPOLLPRI | select.EPOLLHUP | select.EPOLLERR | select.EPOLLRDHUP
#: The gather window per watched socket, and its cap (seconds; see the module docstring).
GATHER_PER_SOCKET = 10e-6
MAX_GATHER = 0.005
# With nothing timed a loop still wakes this often (it costs nothing and bounds any lost wake-up).
_LONGEST_WAIT = 30.0
# How long the last user waits for a loop stuck in a subscriber before leaving it behind.
_STOP_JOIN_TIMEOUT = 5.0
_on_loop = threading.local()


def in_read_thread() -> bool:
    """True when the calling thread is one of a read pool's threads (a subscriber callback runs there)."""
    return getattr(_on_loop, "active", False)


class Watched(Protocol):
    """A socket owner the pool reads for; its callbacks run on a pool thread and must not block."""

    def fileno(self) -> int:
        """The socket's file descriptor (valid while watched)."""

    def on_readable(self, now: float) -> float | None:
        """Read what the socket has; return the next deadline (monotonic seconds) or None."""

    def on_deadline(self, now: float) -> float | None:
        """The deadline returned last has come; do what is due and return the next one or None."""


class _Loop:
    """One selector thread: its sockets, its deadline heap, its wake-up socket pair."""

    def __init__(self, name: str, gather_window: Callable[[int], float]) -> None:
        self.name = name
        self._gather_window = gather_window  # the pool's: seconds to wait after a read, by sockets watched
        self._epoll = select.epoll()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._epoll.register(self._wake_r.fileno(), select.EPOLLIN)
        # Watches the wake-up socket alone: what a gather window waits on.
        self._wake_epoll = select.epoll()
        self._wake_epoll.register(self._wake_r.fileno(), select.EPOLLIN)
        self._by_fd: dict[int, Watched] = {}
        self._fd_of: dict[Watched, int] = {}
        self._armed: dict[Watched, float] = {}
        self._heap: list[tuple[float, int, Watched]] = []
        self._seq = itertools.count()
        self._incoming: list[tuple[Watched, float | None]] = []
        self._lock = threading.Lock()  # guards _incoming only; the heap is this thread's alone
        self._stopping = False
        self._abandoned = False  # the owner stopped waiting for this thread; it closes up itself
        self._close_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    @property
    def watched(self) -> int:
        return len(self._by_fd)

    def start(self) -> None:
        self._thread.start()

    def watch(self, target: Watched, fd: int, deadline: float | None) -> None:
        self._by_fd[fd] = target
        self._fd_of[target] = fd
        with self._lock:
            self._incoming.append((target, deadline))
        self._epoll.register(fd, _EPOLL_IN)
        self._wake()

    def unwatch(self, target: Watched) -> None:
        fd = self._fd_of.pop(target, -1)
        if self._by_fd.get(fd) is target:
            del self._by_fd[fd]
            with contextlib.suppress(OSError, ValueError):  # already closed: epoll forgot it
                self._epoll.unregister(fd)
        self._armed.pop(target, None)

    def stop(self) -> None:
        self._stopping = True
        self._wake()
        if self._thread is not threading.current_thread():
            self._thread.join(_STOP_JOIN_TIMEOUT)
        with self._close_lock:
            if self._thread.is_alive():
                log.warning("%s did not stop in time (a subscriber callback may be blocking)", self.name)
                self._abandoned = True  # it closes its own resources when it gets out
                return
            self._close()

    def _close(self) -> None:
        self._epoll.close()
        self._wake_epoll.close()
        self._wake_r.close()
        self._wake_w.close()

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):  # a wake-up already pending is enough
            self._wake_w.send(b"\0")

    def _arm(self, target: Watched, deadline: float | None) -> None:
        if deadline is None:
            self._armed.pop(target, None)
            return
        armed = self._armed.get(target)
        if armed is not None and armed <= deadline:
            return  # the earlier wake-up stays; it will ask again
        self._armed[target] = deadline
        heapq.heappush(self._heap, (deadline, next(self._seq), target))

    def _run(self) -> None:
        _on_loop.active = True
        try:
            self._loop()
        finally:
            with self._close_lock:
                if self._abandoned:
                    self._close()

    def _loop(self) -> None:
        poll = self._epoll.poll
        by_fd = self._by_fd
        heap = self._heap
        wake_fd = self._wake_r.fileno()
        wait_for_wake = self._wake_epoll.poll
        gather_window = self._gather_window
        gather_until = 0.0  # no poll before this: the window after a read (module docstring)
        while not self._stopping:
            if self._incoming:
                with self._lock:
                    incoming, self._incoming = self._incoming, []
                for target, deadline in incoming:
                    if target in self._fd_of:
                        self._arm(target, deadline)
            now = time.monotonic()
            if gather_until > now:
                with contextlib.suppress(InterruptedError):
                    wait_for_wake(gather_until - now)  # returns early on a wake-up
                gather_until = 0.0
                now = time.monotonic()
            timeout = min(heap[0][0] - now, _LONGEST_WAIT) if heap else _LONGEST_WAIT
            try:
                ready = poll(max(0.0, timeout))
            except InterruptedError:
                continue
            now = time.monotonic()
            read = False
            for fd, _mask in ready:
                if fd == wake_fd:
                    with contextlib.suppress(BlockingIOError):
                        self._wake_r.recv(4096)
                    continue
                readable = by_fd.get(fd)
                if readable is not None:
                    read = True
                    self._call(readable, readable.on_readable, now)
            if read:
                window = gather_window(len(by_fd))
                if window > 0:
                    gather_until = now + window
            while heap and heap[0][0] <= now:
                deadline, _, target = heapq.heappop(heap)
                if self._armed.get(target) != deadline:
                    continue  # superseded or no longer watched
                del self._armed[target]
                self._call(target, target.on_deadline, now)

    def _call(self, target: Watched, callback: Callable[[float], float | None], now: float) -> None:
        try:
            deadline = callback(now)
        except Exception:  # one broken connection must not stop the others' reads
            log.exception("%s: reading for %r failed", self.name, target)
            return
        if target in self._fd_of:  # still watched
            self._arm(target, deadline)


class ReadPool:
    """A fixed number of selector threads shared by every connection; see the module docstring."""

    def __init__(
        self,
        threads: int = DEFAULT_READ_THREADS,
        prefix: str = THREAD_PREFIX,
        *,
        gather_per_socket: float = GATHER_PER_SOCKET,
        max_gather: float = MAX_GATHER,
    ) -> None:
        if threads < 1:
            raise ValueError(f"a read pool needs at least one thread, got {threads!r}")
        self.size = threads
        self.prefix = prefix
        self._loops: list[_Loop] = []
        self._where: dict[Watched, _Loop] = {}
        self._next = itertools.count()
        self._life = threading.Lock()
        self._users = 0
        self._gather: tuple[float, float]  # (per socket, cap): one value, so a loop never sees half a change
        self.set_gather(gather_per_socket, max_gather)

    @property
    def threads(self) -> tuple[threading.Thread, ...]:
        """The running threads (empty while nobody uses the pool)."""
        return tuple(loop.thread for loop in self._loops)

    @property
    def users(self) -> int:
        """How many connections currently hold the pool."""
        return self._users

    @property
    def watched(self) -> int:
        """How many sockets are being watched now."""
        return sum(loop.watched for loop in self._loops)

    def set_gather(self, gather_per_socket: float, max_gather: float) -> None:
        """Set the gather window (module docstring): seconds per watched socket and its cap.

        Takes effect from each loop's next read; ``set_gather(0, 0)`` reads every socket as soon
        as it has data. Raises ``ValueError`` for a negative or NaN value.
        """
        if not (gather_per_socket >= 0 and max_gather >= 0):  # written so that NaN fails too
            raise ValueError(
                f"gather_per_socket and max_gather must be >= 0, got {gather_per_socket!r}, {max_gather!r}"
            )
        self._gather = (gather_per_socket, max_gather)

    def gather_window(self, watched: int) -> float:
        """How long a loop watching ``watched`` sockets waits after a read before it polls again."""
        per_socket, cap = self._gather
        return min(cap, per_socket * watched)

    def acquire(self) -> ReadPool:
        """Become a user; the first user starts the threads. Returns self."""
        with self._life:
            self._users += 1
            if self._users == 1:
                self._loops = [_Loop(f"{self.prefix}{i}", self.gather_window) for i in range(self.size)]
                for loop in self._loops:
                    loop.start()
        return self

    def release(self) -> None:
        """Stop being a user; the last user stops the threads and joins them."""
        with self._life:
            if self._users <= 0:
                raise RuntimeError("ReadPool.release() without a matching acquire()")
            self._users -= 1
            if self._users:
                return
            loops, self._loops = self._loops, []
            self._where.clear()
        for loop in loops:
            loop.stop()

    def watch(self, target: Watched, deadline: float | None = None) -> None:
        """Start reading for ``target`` (its socket non-blocking), first deadline ``deadline``.

        Raises ``RuntimeError`` when the pool has no user (acquire it first).
        """
        loops = self._loops
        if not loops:
            raise RuntimeError("ReadPool.watch() on a pool nobody acquired")
        loop = loops[next(self._next) % len(loops)]
        self._where[target] = loop
        loop.watch(target, target.fileno(), deadline)

    def unwatch(self, target: Watched) -> None:
        """Stop reading for ``target`` (idempotent; safe from any thread, its callbacks included)."""
        loop = self._where.pop(target, None)
        if loop is not None:
            loop.unwatch(target)


_shared = ReadPool()


def shared_read_pool() -> ReadPool:
    """The process-wide read pool every connection uses."""
    return _shared
