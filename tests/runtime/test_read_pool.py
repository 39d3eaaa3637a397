"""ReadPool: a fixed few selector threads read many sockets and keep their deadlines."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from actors.runtime.read_pool import ReadPool


class Recorder:
    """A watched socket pair end that records reads and deadlines on the pool thread."""

    def __init__(self, pool: ReadPool, deadline_in: float | None = None) -> None:
        self.ours, self.peer = socket.socketpair()
        self.ours.setblocking(False)
        self.pool = pool
        self.data = bytearray()
        self.deadlines: list[float] = []
        self.threads: set[str] = set()
        self.deadline_in = deadline_in
        self.got = threading.Event()
        self.due = threading.Event()

    def fileno(self) -> int:
        return self.ours.fileno()

    def _next(self, now: float) -> float | None:
        return None if self.deadline_in is None else now + self.deadline_in

    def on_readable(self, now: float) -> float | None:
        self.threads.add(threading.current_thread().name)
        try:
            chunk = self.ours.recv(4096)
        except BlockingIOError:
            return self._next(now)
        if not chunk:
            self.pool.unwatch(self)
            return None
        self.data += chunk
        self.got.set()
        return self._next(now)

    def on_deadline(self, now: float) -> float | None:
        self.deadlines.append(now)
        self.due.set()
        return None  # once

    def close(self) -> None:
        self.ours.close()
        self.peer.close()


def test_many_sockets_are_read_by_the_fixed_threads_and_the_threads_end_with_the_last_user() -> None:
    pool = ReadPool(threads=2, prefix="test-read-")
    pool.acquire()
    recorders = [Recorder(pool) for _ in range(50)]
    try:
        for r in recorders:
            pool.watch(r)
        assert pool.watched == 50
        for i, r in enumerate(recorders):
            r.peer.sendall(f"hello {i}".encode())
        for i, r in enumerate(recorders):
            assert r.got.wait(5)
            assert bytes(r.data) == f"hello {i}".encode()
        names = set().union(*(r.threads for r in recorders))
        assert names == {"test-read-0", "test-read-1"}
        threads = pool.threads
    finally:
        for r in recorders:
            pool.unwatch(r)
            r.close()
        pool.release()
    assert pool.watched == 0
    assert not any(t.is_alive() for t in threads)
    assert pool.threads == ()


def test_a_deadline_wakes_the_loop_without_any_data() -> None:
    pool = ReadPool(threads=1, prefix="test-read-")
    pool.acquire()
    r = Recorder(pool)
    try:
        start = time.monotonic()
        pool.watch(r, deadline=start + 0.2)
        assert r.due.wait(5)
        assert r.deadlines[0] >= start + 0.2
        assert not r.data
    finally:
        pool.unwatch(r)
        r.close()
        pool.release()


def test_an_unwatched_socket_is_not_read_any_more() -> None:
    pool = ReadPool(threads=1, prefix="test-read-")
    pool.acquire()
    first, second = Recorder(pool), Recorder(pool)
    try:
        pool.watch(first)
        pool.watch(second)
        pool.unwatch(first)
        first.peer.sendall(b"ignored")
        second.peer.sendall(b"read")
        assert second.got.wait(5)
        assert not first.data
    finally:
        pool.unwatch(second)
        first.close()
        second.close()
        pool.release()


def test_a_pool_must_be_acquired_before_use_and_released_as_often() -> None:
    pool = ReadPool(threads=1)
    r = Recorder(pool)
    try:
        with pytest.raises(RuntimeError, match="acquired"):
            pool.watch(r)
        with pytest.raises(RuntimeError, match="without a matching acquire"):
            pool.release()
        with pytest.raises(ValueError, match="at least one thread"):
            ReadPool(threads=0)
    finally:
        r.close()
