"""Run one piece of test work on many threads at once and collect what each returned or raised."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def run_together(
    count: int, work: Callable[[int], Any], *, name: str, start_timeout: float, join_timeout: float
) -> dict[int, Any]:
    """Run ``work(i)`` for each ``i`` below ``count`` on its own thread (``NAME-i``), all released
    together by a barrier (``start_timeout`` s at most); return each ``i``'s result, or the exception
    it raised. Fails the test if a thread is still running ``join_timeout`` s after its start."""
    results: dict[int, Any] = {}
    lock = threading.Lock()
    barrier = threading.Barrier(count)

    def body(i: int) -> None:
        barrier.wait(start_timeout)
        try:
            outcome = work(i)
        except BaseException as exc:  # reported to the test as the thread's result
            outcome = exc
        with lock:
            results[i] = outcome

    threads = [threading.Thread(target=body, args=(i,), name=f"{name}-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(join_timeout)
    assert not [t.name for t in threads if t.is_alive()]
    return results
