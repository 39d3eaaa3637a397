"""Delivery of events to subscribers: plain callables, thread-safe queues and pykka actors.

* A callable is called in the delivering thread (the connection's reader, or its actor for
  ``Opened``/``Closed``). It must return quickly; if it raises, the error is reported to every
  subscriber as a :class:`~actors.runtime.events.SubscriberError` and the reader keeps going.
* A ``queue.Queue``: unbounded queues never block; a bounded queue that stays full for
  ``queue_put_timeout`` seconds loses that event (counted in the metrics and logged), so one
  stuck consumer cannot stall the reader for longer than that.
* A ``pykka.ActorRef`` gets the event by ``tell``; a dead actor is unsubscribed.

Deliveries are serialised by one lock per connection, so a subscriber never sees two events at
once and always sees them in order.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeAlias

import pykka

from actors.runtime.events import SubscriberError

log = logging.getLogger(__name__)

#: What users may subscribe: a callable taking one event, a ``queue.Queue`` or a pykka ``ActorRef``.
SubscriberTarget: TypeAlias = "Callable[[Any], object] | queue.Queue[Any] | pykka.ActorRef[Any]"


class Subscriber(Protocol):
    """An adapter that delivers one event to one target."""

    @property
    def target(self) -> object:
        """What the user subscribed (compared by identity)."""

    def deliver(self, event: object) -> None:
        """Deliver ``event``; raise only for a failure the set must report or act on."""


class _DeadSubscriber(Exception):
    """The subscriber can never receive again (its actor stopped)."""


class _Dropped(Exception):
    """This one event could not be delivered in time (bounded queue full)."""


class CallableSubscriber:
    """Calls ``target(event)``."""

    __slots__ = ("target",)

    def __init__(self, target: Callable[[Any], object]) -> None:
        self.target = target

    def deliver(self, event: object) -> None:
        """Call the target; its exceptions propagate to the set, which reports them."""
        self.target(event)


class QueueSubscriber:
    """Puts events on a ``queue.Queue``; bounded queues wait at most ``put_timeout`` seconds."""

    __slots__ = ("put_timeout", "target")

    def __init__(self, target: queue.Queue[Any], put_timeout: float) -> None:
        self.target = target
        self.put_timeout = put_timeout

    def deliver(self, event: object) -> None:
        """Put the event; raise ``_Dropped`` if a bounded queue stayed full."""
        try:
            self.target.put(event, timeout=self.put_timeout)
        except queue.Full:
            raise _Dropped from None


class ActorSubscriber:
    """Tells events to a pykka actor."""

    __slots__ = ("target",)

    def __init__(self, target: pykka.ActorRef[Any]) -> None:
        self.target = target

    def deliver(self, event: object) -> None:
        """Tell the actor; raise ``_DeadSubscriber`` if it has stopped."""
        try:
            self.target.tell(event)
        except pykka.ActorDeadError:
            raise _DeadSubscriber from None


def adapt(target: object, queue_put_timeout: float = 5.0) -> Subscriber:
    """Wrap a subscriber target in its adapter; ``TypeError`` names what was given if it is none of them."""
    if isinstance(target, pykka.ActorRef):
        return ActorSubscriber(target)
    if isinstance(target, queue.Queue):
        return QueueSubscriber(target, queue_put_timeout)
    if callable(target):
        return CallableSubscriber(target)
    raise TypeError(
        f"a subscriber must be a callable, a queue.Queue or a pykka.ActorRef, got {type(target).__name__}"
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
        self._subscribers: tuple[Subscriber, ...] = tuple(adapt(t, queue_put_timeout) for t in targets)
        self._change_lock = threading.Lock()
        self._deliver_lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._subscribers)

    def add(self, target: object) -> None:
        """Subscribe ``target`` (adding the same target twice delivers to it once)."""
        adapter = adapt(target, self._queue_put_timeout)
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
            for subscriber, error in failures:
                self._report(subscriber, error)

    def _deliver_all(self, event: object) -> list[tuple[Subscriber, BaseException]]:
        failures: list[tuple[Subscriber, BaseException]] = []
        for subscriber in self._subscribers:
            try:
                subscriber.deliver(event)
            except _Dropped:
                if self._on_dropped is not None:
                    self._on_dropped()
                log.warning("subscriber %r stayed full; dropped %s", subscriber.target, type(event).__name__)
            except _DeadSubscriber:
                self.remove(subscriber.target)
            except BaseException as error:  # a callable's SystemExit must not reach an actor either
                failures.append((subscriber, error))
        return failures

    def _report(self, subscriber: Subscriber, error: BaseException) -> None:
        if self._on_error is not None:
            self._on_error()
        log.warning("subscriber %r raised %r; it stays subscribed", subscriber.target, error)
        notice = SubscriberError(subscriber=repr(subscriber.target), error=error)
        for other in self._subscribers:
            try:
                other.deliver(notice)
            except BaseException:  # a failing error handler is only logged, never recursed into
                log.debug("subscriber %r failed on SubscriberError", other.target, exc_info=True)


__all__ = [
    "ActorSubscriber",
    "CallableSubscriber",
    "QueueSubscriber",
    "Subscriber",
    "SubscriberSet",
    "SubscriberTarget",
    "adapt",
]
