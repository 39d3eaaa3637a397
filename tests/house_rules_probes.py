"""Run-time probes for the house-rule tests: thread recording and secret-leak detection.

* :class:`ThreadRecorder` -- records every thread started (by ``threading``) while it is active,
  whoever started it, so threads that come and go between two ``threading.enumerate()`` calls
  are still checked.
* :class:`SecretProbe` -- knows the fake secrets of a test and finds them in text, objects,
  exceptions (their chain included) and formatted log records.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections.abc import Iterable
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from _typeshed import TraceFunction

TraceEvent = Literal["call", "line", "return", "exception", "opcode"]

# What threading calls a thread it was not given a name for: "Thread-3" or "Thread-3 (target)";
# pykka names an actor thread after its class, "<ActorClass>-<n>", which is not ours to rename
# but is only meaningful if the class name is.
_GENERIC_THREAD_NAME = re.compile(r"^(Thread|Dummy)-\d+( \(.*\))?$")


def is_generic_thread_name(name: str) -> bool:
    """True for the names ``threading`` makes up (``Thread-7``, ``Thread-7 (handler)``)."""
    return bool(_GENERIC_THREAD_NAME.match(name))


class ThreadRecorder:
    """Context manager recording every thread that starts running while it is active.

    Uses ``threading.settrace``: each new thread calls the hook once, on its first Python frame;
    the hook records the thread and turns tracing off for that thread at once, so the cost is one
    call per thread. Names are read when :attr:`threads` is used, so a thread renamed after it
    started (pykka actors rename theirs in ``on_start``) is judged by its final name.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._previous: TraceFunction | None = None

    def _hook(self, frame: FrameType, event: TraceEvent, arg: Any) -> TraceFunction | None:
        # Hand the thread back to whatever tracer was installed before (coverage, a debugger).
        sys.settrace(self._previous)
        with self._lock:
            self._threads.append(threading.current_thread())
        return self._previous(frame, event, arg) if self._previous is not None else None

    def __enter__(self) -> ThreadRecorder:
        self._previous = threading.gettrace()
        threading.settrace(self._hook)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        threading.settrace(self._previous)

    @property
    def threads(self) -> list[threading.Thread]:
        """Every thread recorded so far, in start order."""
        with self._lock:
            return list(self._threads)


def wait_for_threads_to_end(threads: Iterable[threading.Thread], timeout: float) -> list[threading.Thread]:
    """Join each thread within one shared deadline; return those still alive after it."""
    deadline = time.monotonic() + timeout
    alive = []
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            alive.append(thread)
    return alive


class SecretProbe:
    """Finds fake secrets in anything a user can see: text, reprs, exceptions, log records.

    A secret counts as leaked when it appears whole or when its part before the last 4 characters
    does (``Auth.redacted()`` may show the last 4 characters of a long key on purpose).
    """

    def __init__(self, *secrets: str) -> None:
        if not secrets or any(len(s) < 12 for s in secrets):
            raise ValueError("SecretProbe needs secrets of at least 12 characters")
        self._needles = sorted({s for s in secrets} | {s[:-4] for s in secrets})

    def leaks_in(self, text: str) -> list[str]:
        """The secret fragments found in ``text`` (empty when clean)."""
        return [n for n in self._needles if n in text]

    def views_of(self, obj: object) -> dict[str, str]:
        """What a user sees of ``obj``: ``repr`` and ``str``; for an exception also its args,
        attributes and the same for every exception in its ``__cause__``/``__context__`` chain."""
        views = {"repr": repr(obj), "str": str(obj)}
        seen: set[int] = set()
        exc = obj if isinstance(obj, BaseException) else None
        depth = 0
        while exc is not None and id(exc) not in seen:
            seen.add(id(exc))
            views[f"exception[{depth}]"] = f"{type(exc).__name__}: {exc!s} {exc!r} {exc.args!r}"
            views[f"exception[{depth}].attrs"] = repr(vars(exc))
            exc = exc.__cause__ or exc.__context__
            depth += 1
        return views

    def leaks_of(self, obj: object) -> dict[str, list[str]]:
        """Per view of ``obj`` (see :meth:`views_of`), the secret fragments it shows."""
        return {view: found for view, text in self.views_of(obj).items() if (found := self.leaks_in(text))}


class RecordingHandler(logging.Handler):
    """A logging handler keeping every record fully formatted (message, exception, stack)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(threadName)s %(message)s"))
        self.lines: list[str] = []
        self._lines_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        """Format the record (with its traceback, if any) and keep the text."""
        text = self.format(record)
        with self._lines_lock:
            self.lines.append(text)

    def snapshot(self) -> list[str]:
        """The formatted records so far."""
        with self._lines_lock:
            return list(self.lines)


class CapturedLogs:
    """Context manager: every record of the ``actors`` logger tree at DEBUG, and WARNING+ of the rest.

    The ``websocket`` (websocket-client) and ``websockets`` loggers are captured at DEBUG too:
    they see the handshake headers the library hands them.
    """

    LOGGERS = ("actors", "websocket", "websockets")

    def __init__(self) -> None:
        self.handler = RecordingHandler()
        self._saved: list[tuple[logging.Logger, int]] = []

    def __enter__(self) -> CapturedLogs:
        for name in self.LOGGERS:
            logger = logging.getLogger(name)
            self._saved.append((logger, logger.level))
            logger.setLevel(logging.DEBUG)
        logging.getLogger().addHandler(self.handler)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        logging.getLogger().removeHandler(self.handler)
        for logger, level in self._saved:
            logger.setLevel(level)

    @property
    def lines(self) -> list[str]:
        """Every record captured so far, formatted."""
        return self.handler.snapshot()
