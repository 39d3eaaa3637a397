"""Ctrl-C while the CLI waits for calls: a wait that wakes for the signal, and a flag for Ray runs.

The kernel hands SIGINT to any thread of the process; Python runs its handler (raising
KeyboardInterrupt) only in the main thread, when that thread next runs. A main thread blocked in
an untimed ``future.result()`` while another thread took the signal would notice Ctrl-C only when
the call ends, minutes later: :func:`wait_interruptibly` wakes every `SIGNAL_CHECK_SECONDS` for it.
During a Ray run the handler is replaced by :class:`CtrlCFlag`'s, so the interrupt is raised where
the driver chooses instead of inside Ray's code.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import wait as futures_wait
from typing import Any

__all__ = ["SIGNAL_CHECK_SECONDS", "CtrlCFlag", "wait_interruptibly"]

#: How often the main thread wakes while it waits for a call, so that Ctrl-C is acted on at once.
SIGNAL_CHECK_SECONDS = 0.2


def wait_interruptibly(future: Future[Any], check: Callable[[], None] | None = None) -> None:
    """Wait until ``future`` is done, waking every `SIGNAL_CHECK_SECONDS`.

    The timed wait is for the signal only: the call's completion still ends it at once. ``check``
    (e.g. :meth:`CtrlCFlag.check`) is called at each wake-up and once more when the call is done.
    """
    while not futures_wait([future], timeout=SIGNAL_CHECK_SECONDS).done:
        if check is not None:
            check()
    if check is not None:
        check()


class CtrlCFlag:
    """While entered (on the main thread), Ctrl-C only sets a flag; :meth:`check` raises it.

    Python raises ``KeyboardInterrupt`` wherever the main thread happens to be, and during a Ray
    run that is often inside Ray's own code (submitting a task, resolving a result), which may
    catch it: the interrupt was then lost and the run went on to the end. Here the handler only
    records the signal; the driver raises ``KeyboardInterrupt`` at points it controls (between
    submissions, and in :func:`wait_interruptibly` with ``check=flag.check``). Leaving restores the
    previous handler (so a second Ctrl-C during the drain that follows acts as before); off the
    main thread it does nothing.
    """

    def __init__(self) -> None:
        self._set = threading.Event()
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> CtrlCFlag:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False

    def _handle(self, _signum: int, _frame: object) -> None:
        self._set.set()

    def check(self) -> None:
        """Raise ``KeyboardInterrupt`` if Ctrl-C was pressed since entering."""
        if self._set.is_set():
            raise KeyboardInterrupt
