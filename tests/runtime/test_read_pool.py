"""ReadPool: a fixed few selector threads read many sockets and keep their deadlines."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

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
        self.read_at: list[float] = []  # the ``now`` of each read with data
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
        self.read_at.append(now)
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


@contextlib.contextmanager
def one_loop(
    sockets: int, *, watch: int | None = None, **gather: float
) -> Iterator[tuple[ReadPool, list[Recorder]]]:
    """A started one-thread pool and ``sockets`` recorders, the first ``watch`` (all) of them watched."""
    pool = ReadPool(threads=1, prefix="test-read-", **gather)
    pool.acquire()
    recorders = [Recorder(pool) for _ in range(sockets)]
    try:
        for r in recorders[: sockets if watch is None else watch]:
            pool.watch(r)
        yield pool, recorders
    finally:
        for r in recorders:
            pool.unwatch(r)
            r.close()
        pool.release()


def test_what_arrives_within_the_gather_window_after_a_read_is_read_in_one_batch() -> None:
    # Two sockets watched, 0.5 s per socket: after a read, the loop polls again 1 s later.
    with one_loop(2, gather_per_socket=0.5, max_gather=5.0) as (_, (first, second)):
        first.peer.sendall(b"a")
        assert first.got.wait(5)
        first.got.clear()
        first.peer.sendall(b"b")
        second.peer.sendall(b"c")
        assert first.got.wait(5) and second.got.wait(5)
        assert first.read_at[1] == second.read_at[0]  # one poll, one batch
        assert first.read_at[1] - first.read_at[0] >= 1.0
        assert bytes(first.data) == b"ab" and bytes(second.data) == b"c"


def test_a_new_socket_and_stop_end_the_gather_window_early() -> None:
    with one_loop(2, watch=1, gather_per_socket=60.0, max_gather=60.0) as (pool, (first, late)):
        first.peer.sendall(b"a")
        assert first.got.wait(5)  # a 60 s window starts now
        started = time.monotonic()
        pool.watch(late)  # wakes the loop: the window ends
        late.peer.sendall(b"late")
        assert late.got.wait(5)
        threads = pool.threads
    # Leaving released the pool: stop wakes the loop too.
    assert time.monotonic() - started < 30
    assert not any(t.is_alive() for t in threads)


def test_the_first_read_after_a_quiet_spell_is_not_held_back() -> None:
    with one_loop(1, gather_per_socket=0.5, max_gather=0.5) as (_, (r,)):
        r.peer.sendall(b"a")
        assert r.got.wait(5)
        r.got.clear()
        quiet = threading.Event()
        assert not quiet.wait(0.8)  # longer than the window: the loop is back in its poll
        sent = time.monotonic()
        r.peer.sendall(b"b")
        assert r.got.wait(5)
        assert r.read_at[1] - sent < 0.4  # read as it came, not at the end of another window


def test_set_gather_applies_to_a_running_pool_and_zero_reads_at_once() -> None:
    with one_loop(1, gather_per_socket=60.0, max_gather=60.0) as (pool, (r,)):
        pool.set_gather(0, 0)
        for data in (b"a", b"b", b"c"):  # each read must come without a window in between
            r.got.clear()
            r.peer.sendall(data)
            assert r.got.wait(5)
        assert bytes(r.data) == b"abc"


@pytest.mark.parametrize(("per_socket", "cap"), [(-1.0, 0.005), (10e-6, float("nan"))])
def test_a_negative_or_nan_gather_window_is_refused(per_socket: float, cap: float) -> None:
    with pytest.raises(ValueError, match="gather_per_socket and max_gather must be >= 0"):
        ReadPool(threads=1, gather_per_socket=per_socket, max_gather=cap)
    with pytest.raises(ValueError, match="gather_per_socket and max_gather must be >= 0"):
        ReadPool(threads=1).set_gather(per_socket, cap)


def test_the_window_grows_with_the_sockets_a_loop_watches_up_to_its_cap() -> None:
    pool = ReadPool(threads=1, gather_per_socket=0.001, max_gather=0.005)
    assert pool.gather_window(2) == pytest.approx(0.002)
    assert pool.gather_window(1000) == 0.005
    pool.set_gather(0, 0)
    assert pool.gather_window(1000) == 0
    assert ReadPool().gather_window(500) == pytest.approx(0.005)  # defaults: 10 us per socket, 5 ms cap
