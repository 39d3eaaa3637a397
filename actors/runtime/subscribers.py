"""Delivery of events to subscribers: callables, offloaded callables, queues and pykka actors.

What each kind costs the delivering thread (the connection's reader; its actor for ``Opened``,
``Closed`` and notices) -- that is, how long one subscriber can stall the reader, and with it
keepalive bookkeeping, close handling and every other subscriber of the connection:

* A plain callable runs inline, on the delivering thread: the cheapest choice for fast callbacks,
  but the reader waits for as long as it runs (no bound). Each call is timed; the first time a
  callable takes longer than :data:`SLOW_CALLBACK_SECONDS` (100 ms) a warning names it and
  suggests :class:`Offload` (once per callable per process). If it raises, the error is reported
  to every subscriber as a :class:`~actors.runtime.events.SubscriberError` and it stays subscribed.
* :class:`Offload` ``(fn, ...)`` queues the event for ``fn`` (bounded by ``max_pending``) and runs
  it on the shared dispatcher pool (:mod:`actors.runtime.dispatch`): the reader only appends to a
  deque. When the queue is full: ``"drop_oldest"`` and ``"fail"`` never wait; ``"block"`` waits at
  most ``block_timeout`` for room, and only once per overflow episode (until the queue has drained
  to half, later events are dropped at once), so a stuck ``fn`` costs the reader at most
  ``block_timeout`` per episode. Lifecycle events (``Opened``, ``Closed``, ...) never wait and are
  never dropped (they may exceed the bound by the handful a connection has).
* A ``queue.Queue``: unbounded queues never block; a bounded queue that stays full for
  ``queue_put_timeout`` seconds loses that event (counted in the metrics and logged) -- at most
  that long per event.
* A ``pykka.ActorRef`` gets the event by ``tell`` (never blocks); a dead actor is unsubscribed.

Deliveries are serialised by one lock per connection, so a subscriber never sees two events at
once and always sees them in order. An offloaded ``fn`` also runs one event at a time, in order
(it needs no locks of its own), but on a pool thread, after the reader has moved on.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, Literal, Protocol

import pykka

from actors.errors import OptionsError, SubscriberOverflow
from actors.runtime.dispatch import DispatchPool, shared_pool
from actors.runtime.events import LIFECYCLE_EVENTS, SubscriberError

log = logging.getLogger(__name__)

#: An inline callable that runs longer than this (seconds) is reported once -- unless a subscriber it
#: forwarded the event to was the slow one (that one is named instead).
SLOW_CALLBACK_SECONDS = 0.1

OnFull = Literal["block", "drop_oldest", "fail"]
_ON_FULL_VALUES = ("block", "drop_oldest", "fail")
# A pool thread runs this many events of one subscriber, then lets the others have a turn.
_BATCH = 32
# Errors of an offloaded callable waiting to be reported as SubscriberError (oldest dropped).
_MAX_PENDING_REPORTS = 16
# Callables already warned about as slow; bounded so distinct lambdas cannot grow it forever.
_MAX_SLOW_WARNINGS = 1000


class Subscriber(Protocol):
    """An adapter that delivers one event to one target."""

    @property
    def target(self) -> object:
        """What the user subscribed (compared by identity)."""

    def deliver(self, event: object) -> DeliveryOutcome | None:
        """Deliver ``event``; None when the set has nothing to do (the usual case).

        Only a plain callable's own exception propagates (the set reports it).
        """


class DeliveryOutcome:
    """What a delivery left for the set to do: count lost events, report errors, unsubscribe.

    ``dropped`` events were lost; ``errors`` pairs each error to report (as ``SubscriberError``)
    with whether it counts as a subscriber error in the metrics; ``remove`` unsubscribes the
    subscriber for good (its actor stopped, or its ``Offload`` failed).
    """

    __slots__ = ("dropped", "errors", "remove")

    def __init__(self, dropped: int = 0, remove: bool = False) -> None:
        self.dropped = dropped
        self.errors: list[tuple[BaseException, bool]] = []
        self.remove = remove


# -- inline callables ------------------------------------------------------------------------


class _Blame(threading.local):
    """Per thread: how many slow deliveries were blamed on a subscriber (bumped on slow paths only).

    A callable that forwards events to other subscribers (a supervised stream's internal
    forwarder) is slow when one of *those* is; seeing the count move during its call tells it the
    slowness was already attributed to the subscriber that caused it.
    """

    count = 0


_blame = _Blame()
_slow_warned: set[str] = set()


def _describe(target: object) -> str:
    """``module.qualname`` of a function or method, else of the callable's class."""
    name = getattr(target, "__qualname__", None) or type(target).__qualname__
    module = getattr(target, "__module__", None) or type(target).__module__
    return f"{module}.{name}"


def _warn_slow(target: object, seconds: float) -> None:
    description = _describe(target)
    if description in _slow_warned or len(_slow_warned) >= _MAX_SLOW_WARNINGS:
        return
    _slow_warned.add(description)
    log.warning(
        "subscriber %s took %.0f ms on its connection's thread; every other subscriber and "
        "the connection's writes and close handling waited for it. Subscribe "
        "actors.runtime.Offload(%s) instead to run it on the dispatcher pool "
        "(this warning is given once per callable)",
        description,
        seconds * 1000,
        getattr(target, "__name__", "callback"),
    )


class CallableSubscriber:
    """Calls ``target(event)`` inline and warns once if a call is slow (see the module docstring)."""

    __slots__ = ("target",)

    def __init__(self, target: Callable[[Any], object]) -> None:
        self.target = target

    def deliver(self, event: object) -> None:
        """Call the target; its exceptions propagate to the set, which reports them."""
        blamed = _blame.count
        started = time.monotonic()
        try:
            self.target(event)
        finally:
            elapsed = time.monotonic() - started
            if elapsed > SLOW_CALLBACK_SECONDS:
                self._slow(elapsed, blamed)

    def _slow(self, elapsed: float, blamed_before: int) -> None:
        if _blame.count == blamed_before:  # nothing it delivered to was blamed: the time is its own
            _warn_slow(self.target, elapsed)
        _blame.count += 1


# -- offloaded callables ---------------------------------------------------------------------


def _check_offload_args(fn: object, max_pending: object, on_full: object, block_timeout: object) -> None:
    if isinstance(fn, Offload) or not callable(fn):
        what = "an Offload (it is offloaded already)" if isinstance(fn, Offload) else type(fn).__name__
        raise TypeError(f"Offload(fn): fn must be a plain callable taking one event, got {what}")
    if isinstance(max_pending, bool) or not isinstance(max_pending, int) or max_pending < 1:
        raise OptionsError("max_pending", f"must be a whole number >= 1, got {max_pending!r}", max_pending)
    if on_full not in _ON_FULL_VALUES:
        raise OptionsError("on_full", f"must be one of {_ON_FULL_VALUES}, got {on_full!r}", on_full)
    if isinstance(block_timeout, bool) or not isinstance(block_timeout, int | float) or not block_timeout > 0:
        raise OptionsError("block_timeout", f"must be seconds > 0, got {block_timeout!r}", block_timeout)


class Offload:
    """Subscribe ``Offload(fn)`` instead of ``fn`` to run ``fn`` off the connection's thread.

    Events are queued for ``fn`` (in order, at most ``max_pending`` waiting) and run on the
    shared dispatcher pool (or ``pool``), one at a time: ``fn`` never runs twice at once, so it
    needs no locks. The connection is never held up by ``fn`` itself. When ``max_pending`` events
    are waiting, ``on_full`` decides what happens to the next one:

    * ``"block"`` (default) -- the reader waits up to ``block_timeout`` seconds for room, then the
      event is lost; until the queue has drained to half, further events are lost without waiting;
    * ``"drop_oldest"`` -- the oldest waiting event is discarded to make room (never waits);
    * ``"fail"`` -- the event is lost and this subscriber is unsubscribed for good (``failed``).

    Losses are counted (``dropped`` here, ``events_dropped`` in the connection's metrics) and
    reported once per overflow episode to every subscriber as ``SubscriberError`` whose ``error``
    is a :class:`~actors.errors.SubscriberOverflow`. Lifecycle events (``Opened``, ``Closed``,
    ``ConnectionFailed``, ``Reconnecting``, ``Reconnected``) are always queued, never dropped nor
    waited for. If ``fn`` raises, the error is logged, counted and reported as ``SubscriberError``
    when the connection delivers its next event (it stays subscribed).

    ``Connection.finish()`` does not wait for offloaded events; :meth:`wait_idle` does. One
    ``Offload`` may be subscribed to several connections: their events share its queue and order.
    """

    def __init__(
        self,
        fn: Callable[[Any], object],
        *,
        max_pending: int = 1024,
        on_full: OnFull = "block",
        block_timeout: float = 5.0,
        pool: DispatchPool | None = None,
    ) -> None:
        _check_offload_args(fn, max_pending, on_full, block_timeout)
        self.fn = fn
        self.max_pending = max_pending
        self.on_full: OnFull = on_full
        self.block_timeout = float(block_timeout)
        self._pool = pool
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)
        self._idle = threading.Condition(self._lock)
        self._queue: deque[tuple[object, object]] = deque()  # (event, the set that delivered it)
        self._scheduled = False  # queued on, or running in, the pool
        self._overflowing = False  # an overflow episode is in progress
        self._dropped = 0
        self._errors = 0
        self._failed: SubscriberOverflow | None = None
        self._reports: deque[tuple[object, BaseException]] = deque(maxlen=_MAX_PENDING_REPORTS)

    def __repr__(self) -> str:
        return f"Offload({self.fn!r})"

    @property
    def pending(self) -> int:
        """Events queued and not yet started."""
        return len(self._queue)

    @property
    def dropped(self) -> int:
        """Events lost so far (overflow, or discarded by a pool shutdown)."""
        return self._dropped

    @property
    def errors(self) -> int:
        """How many times ``fn`` raised."""
        return self._errors

    @property
    def failed(self) -> SubscriberOverflow | None:
        """The overflow that unsubscribed it (``on_full="fail"``); None while it is healthy."""
        return self._failed

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every queued event has run; True if that happened within ``timeout`` seconds."""
        with self._lock:
            return self._idle.wait_for(lambda: not self._scheduled, timeout)

    # -- the delivering side (reader / actor thread, under the set's delivery lock) -----------

    def offer(self, event: object, origin: object = None) -> DeliveryOutcome | None:
        """Queue ``event`` (delivered by ``origin``); what the set must act on, or None (usual case)."""
        notice = isinstance(event, SubscriberError)
        outcome: DeliveryOutcome | None = None
        with self._lock:
            if self._failed is not None:
                return DeliveryOutcome(remove=True)
            if self._reports and not notice and origin is not None:
                outcome = self._take_reports_locked(origin)
            if len(self._queue) >= self.max_pending and not isinstance(event, LIFECYCLE_EVENTS):
                if notice:  # a notice (not a server event) to a full queue is skipped, never waited for
                    log.debug("%r is full; skipped %r", self, event)
                    return outcome
                outcome, accepted = self._overflow_locked(outcome)
                if not accepted:
                    return outcome
            self._queue.append((event, origin))
            schedule = not self._scheduled
            self._scheduled = True
        if schedule:
            (self._pool if self._pool is not None else shared_pool()).schedule(self)
        return outcome

    def _overflow_locked(self, outcome: DeliveryOutcome | None) -> tuple[DeliveryOutcome | None, bool]:
        """The queue is full: apply ``on_full``; returns the outcome and whether to queue the new event."""
        policy = self.on_full
        if policy == "block" and not self._overflowing:
            self._room.wait_for(lambda: len(self._queue) < self.max_pending, self.block_timeout)
            if len(self._queue) < self.max_pending:
                return outcome, True
        accepted = policy == "drop_oldest" and self._drop_oldest_locked()
        self._dropped += 1
        outcome = outcome if outcome is not None else DeliveryOutcome()
        outcome.dropped += 1
        if policy == "fail":
            self._failed = SubscriberOverflow(repr(self), policy, self._dropped, len(self._queue))
            outcome.errors.append((self._failed, True))
            outcome.remove = True
            log.warning("%s", self._failed)
        elif not self._overflowing:
            self._overflowing = True
            overflow = SubscriberOverflow(repr(self), policy, self._dropped, len(self._queue))
            outcome.errors.append((overflow, False))
            log.warning("%s", overflow)
        return outcome, accepted

    def _drop_oldest_locked(self) -> bool:
        """Discard the oldest queued event that is not a lifecycle event; False if there is none."""
        for index, (queued, _origin) in enumerate(self._queue):
            if not isinstance(queued, LIFECYCLE_EVENTS):
                del self._queue[index]
                return True
        return False

    def _take_reports_locked(self, origin: object) -> DeliveryOutcome | None:
        mine = [error for source, error in self._reports if source is origin]
        if not mine:
            return None
        kept = [(source, error) for source, error in self._reports if source is not origin]
        self._reports.clear()
        self._reports.extend(kept)
        outcome = DeliveryOutcome()
        outcome.errors.extend((error, True) for error in mine)
        return outcome

    # -- the pool side (SerialWork) ----------------------------------------------------------

    def run_batch(self) -> None:
        """Run up to a batch of queued events on this pool thread, in order; reschedule if more wait."""
        fn = self.fn
        lock = self._lock
        for _ in range(_BATCH):
            with lock:
                if not self._queue:
                    break
                event, origin = self._queue.popleft()
                if self._overflowing and len(self._queue) <= self.max_pending // 2:
                    self._overflowing = False
                self._room.notify()
            try:
                fn(event)
            except BaseException as error:  # user code: report it, keep serving
                self._record_error(origin, error)
        with lock:
            again = bool(self._queue)
            if not again:
                self._scheduled = False
                self._idle.notify_all()
        if again:
            (self._pool if self._pool is not None else shared_pool()).schedule(self)

    def discard(self) -> None:
        """The pool stopped before running these events: drop and count them."""
        with self._lock:
            lost = len(self._queue)
            self._queue.clear()
            self._dropped += lost
            self._scheduled = False
            self._overflowing = False
            self._idle.notify_all()
            self._room.notify_all()
        if lost:
            log.warning("dispatcher pool stopped: %d queued event(s) for %r were discarded", lost, self)

    def _record_error(self, origin: object, error: BaseException) -> None:
        log.warning("offloaded subscriber %r raised %r; it stays subscribed", self, error)
        with self._lock:
            self._errors += 1
            if origin is not None:
                self._reports.append((origin, error))


class OffloadSubscriber:
    """Hands events to an :class:`Offload` on behalf of one subscriber set (its ``origin``)."""

    __slots__ = ("origin", "target")

    def __init__(self, target: Offload, origin: object) -> None:
        self.target = target
        self.origin = origin

    def deliver(self, event: object) -> DeliveryOutcome | None:
        """Queue the event; a :class:`DeliveryOutcome` when events were lost or errors must be reported."""
        return self.target.offer(event, self.origin)


# -- queues and actors -----------------------------------------------------------------------


class QueueSubscriber:
    """Puts events on a ``queue.Queue``; bounded queues wait at most ``put_timeout`` seconds."""

    __slots__ = ("put_timeout", "target")

    def __init__(self, target: queue.Queue[Any], put_timeout: float) -> None:
        self.target = target
        self.put_timeout = put_timeout

    def deliver(self, event: object) -> DeliveryOutcome | None:
        """Put the event; one event lost (and logged) if a bounded queue stayed full."""
        try:
            self.target.put(event, timeout=self.put_timeout)
        except queue.Full:
            log.warning("subscriber %r stayed full; dropped %s", self.target, type(event).__name__)
            return DeliveryOutcome(dropped=1)
        return None


class ActorSubscriber:
    """Tells events to a pykka actor."""

    __slots__ = ("target",)

    def __init__(self, target: pykka.ActorRef[Any]) -> None:
        self.target = target

    def deliver(self, event: object) -> DeliveryOutcome | None:
        """Tell the actor; unsubscribe it if it has stopped."""
        try:
            self.target.tell(event)
        except pykka.ActorDeadError:
            return DeliveryOutcome(remove=True)
        return None


def adapt(target: object, queue_put_timeout: float = 5.0, origin: object = None) -> Subscriber:
    """Wrap a subscriber target in its adapter; ``TypeError`` names what was given if it is none of them.

    ``origin`` identifies the subscriber set an :class:`Offload` reports its errors back to.
    """
    if isinstance(target, Offload):
        return OffloadSubscriber(target, origin)
    if isinstance(target, pykka.ActorRef):
        return ActorSubscriber(target)
    if isinstance(target, queue.Queue):
        return QueueSubscriber(target, queue_put_timeout)
    if callable(target):
        return CallableSubscriber(target)
    raise TypeError(
        "a subscriber must be a callable, an actors.runtime.Offload, a queue.Queue or a pykka.ActorRef, "
        f"got {type(target).__name__}"
    )


class SubscriberSet:
    """The subscribers of one connection; safe to change from any thread while events flow.

    ``on_dropped`` / ``on_error`` are called (under the delivery lock) to count lost events and
    subscriber failures.
    """

    def __init__(
        self,
        targets: Iterable[object] = (),
        queue_put_timeout: float = 5.0,
        on_dropped: Callable[[], None] | None = None,
        on_error: Callable[[], None] | None = None,
    ) -> None:
        self._queue_put_timeout = queue_put_timeout
        self._on_dropped = on_dropped
        self._on_error = on_error
        self._subscribers: tuple[Subscriber, ...] = tuple(adapt(t, queue_put_timeout, self) for t in targets)
        self._change_lock = threading.Lock()
        self._deliver_lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._subscribers)

    def add(self, target: object) -> None:
        """Subscribe ``target`` (adding the same target twice delivers to it once)."""
        adapter = adapt(target, self._queue_put_timeout, self)
        with self._change_lock:
            if not any(s.target is target for s in self._subscribers):
                self._subscribers = (*self._subscribers, adapter)

    def remove(self, target: object) -> bool:
        """Unsubscribe ``target``; True if it was subscribed."""
        with self._change_lock:
            kept = tuple(s for s in self._subscribers if s.target is not target)
            removed = len(kept) != len(self._subscribers)
            self._subscribers = kept
        return removed

    def broadcast(self, event: object) -> None:
        """Deliver ``event`` to every subscriber, in subscription order; never raises."""
        with self._deliver_lock:
            failures = self._deliver_all(event)
            for subscriber, error, counts in failures:
                self._report(subscriber, error, counts)

    def _deliver_all(self, event: object) -> list[tuple[Subscriber, BaseException, bool]]:
        failures: list[tuple[Subscriber, BaseException, bool]] = []
        for subscriber in self._subscribers:
            try:
                outcome = subscriber.deliver(event)
            except BaseException as error:  # a callable's SystemExit must not reach an actor either
                failures.append((subscriber, error, True))
                continue
            if outcome is None:
                continue
            if outcome.dropped or outcome.errors:
                _blame.count += 1  # a wait or a loss here is not the forwarding callable's fault
            self._count_dropped(outcome.dropped)
            if outcome.remove:
                self.remove(subscriber.target)
            failures.extend((subscriber, error, counts) for error, counts in outcome.errors)
        return failures

    def _count_dropped(self, count: int) -> None:
        if self._on_dropped is not None:
            for _ in range(count):
                self._on_dropped()

    def _report(self, subscriber: Subscriber, error: BaseException, counts_as_error: bool) -> None:
        if counts_as_error and self._on_error is not None:
            self._on_error()
        if not isinstance(subscriber, OffloadSubscriber):  # an Offload logged it where it happened
            log.warning("subscriber %r raised %r; it stays subscribed", subscriber.target, error)
        notice = SubscriberError(subscriber=repr(subscriber.target), error=error)
        for other in self._subscribers:
            try:
                other.deliver(notice)
            except BaseException:  # a failing error handler is only logged, never recursed into
                log.debug("subscriber %r failed on SubscriberError", other.target, exc_info=True)


__all__ = [
    "SLOW_CALLBACK_SECONDS",
    "ActorSubscriber",
    "CallableSubscriber",
    "DeliveryOutcome",
    "Offload",
    "OffloadSubscriber",
    "QueueSubscriber",
    "Subscriber",
    "SubscriberSet",
    "adapt",
]
