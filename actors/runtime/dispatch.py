"""The dispatcher pool: a fixed number of named threads, shared by the whole process, that run
the events of offloaded subscribers (:class:`~actors.runtime.subscribers.Offload`).

The pool knows nothing about events. It runs *serial work*: an object with its own queue that
is scheduled here when it gets something to do and, when a pool thread picks it up, runs a
batch (:meth:`SerialWork.run_batch`) and schedules itself again if more is left. Since a work
object is scheduled at most once at a time, its items run one at a time and in order, while
different work objects run in parallel on different pool threads.

* Threads (``actors-dispatch-0`` .. ``actors-dispatch-<size-1>``) start together, lazily, with
  the first work scheduled; the count is fixed, however many connections offload to them.
* :meth:`DispatchPool.shutdown` waits (bounded) for the queued work to run, then stops and joins
  the threads; work left over is discarded (each work object counts what it lost). Work
  scheduled later starts the threads again, so tests and long-lived services can shut down and
  go on. The shared pool is also shut down at interpreter exit (then nothing restarts it).
* Pool threads are daemon threads so a callback that never returns cannot hang interpreter
  exit; :meth:`~DispatchPool.shutdown` reports such a thread (returns False, logs its name).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import deque
from typing import Protocol

from actors.errors import OptionsError

log = logging.getLogger(__name__)

#: Threads of the shared pool unless :func:`configure_shared_pool` says otherwise. Offloaded
#: callbacks usually wait on I/O (a database, a queue, an HTTP call), so the size is not tied
#: to the number of cores; it is what bounds how many slow callbacks run at once.
DEFAULT_POOL_SIZE = 4
#: Name prefix of the shared pool's threads.
THREAD_PREFIX = "actors-dispatch"
_EXIT_TIMEOUT = 2.0


class SerialWork(Protocol):
    """Something with its own queue that the pool runs one batch at a time."""

    def run_batch(self) -> None:
        """Run some queued items on the calling pool thread; schedule itself again if more are left."""

    def discard(self) -> None:
        """The pool stopped before this work ran: drop what is queued (and account for it)."""


class _Generation:
    """The threads started together; a shutdown stops one generation, later work starts the next."""

    __slots__ = ("stopped", "threads")

    def __init__(self) -> None:
        self.stopped = False
        self.threads: list[threading.Thread] = []


class DispatchPool:
    """A fixed number of named threads that run scheduled :class:`SerialWork`; thread-safe.

    ``size`` threads named ``<name>-0`` ... start on the first :meth:`schedule`.
    """

    def __init__(self, size: int = DEFAULT_POOL_SIZE, name: str = THREAD_PREFIX) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise OptionsError(
                "size", f"a dispatcher pool needs a whole number of threads >= 1, got {size!r}"
            )
        self._size = size
        self._name = name
        self._lock = threading.Lock()
        self._has_work = threading.Condition(self._lock)
        self._went_idle = threading.Condition(self._lock)
        self._ready: deque[SerialWork] = deque()
        self._busy = 0
        self._generation: _Generation | None = None
        self._closed = False  # interpreter exit: never start again

    @property
    def size(self) -> int:
        """How many threads the pool runs while started."""
        return self._size

    @property
    def name(self) -> str:
        """The prefix of its thread names."""
        return self._name

    def threads(self) -> tuple[threading.Thread, ...]:
        """The threads of the running generation (empty before the first work and after shutdown)."""
        with self._lock:
            generation = self._generation
            return tuple(generation.threads) if generation is not None else ()

    def schedule(self, work: SerialWork) -> None:
        """Queue ``work`` to run on a pool thread (starting the threads if needed).

        The caller guarantees ``work`` is not already queued. After the pool was closed for
        interpreter exit the work is discarded at once.
        """
        with self._lock:
            if not self._closed:
                if self._generation is None:
                    self._start_locked()
                self._ready.append(work)
                self._has_work.notify()
                return
        work.discard()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until nothing is queued or running; True if that happened within ``timeout``."""
        with self._lock:
            return self._went_idle.wait_for(self._idle_locked, timeout)

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Let queued work run (for up to ``timeout`` s), then stop and join the threads.

        Work still queued at the deadline is discarded. True if every thread ended in time;
        False names (in the log) a thread still stuck in a callback -- it ends when that returns.
        Safe to call at any time and more than once; later :meth:`schedule` calls start anew.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            generation = self._generation
            if generation is None:
                return True
            self._went_idle.wait_for(self._idle_locked, timeout)
            generation.stopped = True
            self._generation = None
            leftovers = list(self._ready)
            self._ready.clear()
            self._has_work.notify_all()
        for work in leftovers:
            work.discard()
        for thread in generation.threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [t.name for t in generation.threads if t.is_alive() and t is not threading.current_thread()]
        if stuck:
            log.warning("dispatcher threads still running a callback after shutdown: %s", ", ".join(stuck))
        return not stuck

    def close_for_exit(self, timeout: float = _EXIT_TIMEOUT) -> None:
        """Shut down for good (interpreter exit): later work is discarded instead of restarting threads."""
        with self._lock:
            self._closed = True
        self.shutdown(timeout)

    # -- internals ------------------------------------------------------------------------------

    def _idle_locked(self) -> bool:
        return not self._ready and self._busy == 0

    def _start_locked(self) -> None:
        generation = _Generation()
        for index in range(self._size):
            thread = threading.Thread(
                target=self._work, args=(generation,), name=f"{self._name}-{index}", daemon=True
            )
            generation.threads.append(thread)
        self._generation = generation
        for thread in generation.threads:
            thread.start()

    def _work(self, generation: _Generation) -> None:
        lock = self._lock
        ready = self._ready
        while True:
            with lock:
                while not ready and not generation.stopped:
                    self._has_work.wait()
                if generation.stopped:
                    return
                work = ready.popleft()
                self._busy += 1
            try:
                work.run_batch()
            except BaseException:  # run_batch guards user code; this is a bug, keep the thread alive
                log.exception("dispatcher work %r failed", work)
            finally:
                with lock:
                    self._busy -= 1
                    if self._busy == 0 and not ready:
                        self._went_idle.notify_all()


_shared_lock = threading.Lock()
_shared: DispatchPool | None = None


def shared_pool() -> DispatchPool:
    """The process-wide pool offloaded subscribers use unless given another (created on first use)."""
    global _shared
    pool = _shared
    if pool is not None:
        return pool
    with _shared_lock:
        if _shared is None:
            _shared = DispatchPool(DEFAULT_POOL_SIZE)
        return _shared


def configure_shared_pool(size: int) -> DispatchPool:
    """Set the shared pool's thread count; call before offloading (or after :func:`shutdown_shared_pool`).

    Raises :class:`~actors.errors.OptionsError` if the shared pool is running with another size.
    """
    global _shared
    replacement = DispatchPool(size)
    with _shared_lock:
        current = _shared
        if current is not None and current.size != size and current.threads():
            raise OptionsError(
                "size",
                f"the shared dispatcher pool is running with {current.size} threads; "
                "call shutdown_shared_pool() before resizing it",
                size,
            )
        if current is None or current.size != size:
            current = _shared = replacement
        return current


def shutdown_shared_pool(timeout: float = 5.0) -> bool:
    """Shut down the shared pool (see :meth:`DispatchPool.shutdown`); True if its threads ended."""
    pool = _shared
    return True if pool is None else pool.shutdown(timeout)


def _close_shared_pool_at_exit() -> None:
    pool = _shared
    if pool is not None:
        pool.close_for_exit()


atexit.register(_close_shared_pool_at_exit)

__all__ = [
    "DEFAULT_POOL_SIZE",
    "THREAD_PREFIX",
    "DispatchPool",
    "SerialWork",
    "configure_shared_pool",
    "shared_pool",
    "shutdown_shared_pool",
]
