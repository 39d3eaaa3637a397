"""`FeedRelay`: every instance's live feed events to every other instance, over PostgreSQL LISTEN/NOTIFY.

Several ``ingest`` instances share one PostgreSQL store; a browser's ``/v1/events`` socket reaches one
of them. The relay makes that one :class:`~actors.ingest.live_feed.LiveFeed` carry the calls of all:

* **Sender** (thread ``ingest-feed-notify``, a connection of its own): each event of this instance's
  calls (handed over by :meth:`LiveFeed.relay_to <actors.ingest.live_feed.LiveFeed.relay_to>`, so
  already committed: commit before report holds across instances) gets the next sequence number and
  waits in a bounded queue; the thread sends what is waiting as ``SELECT pg_notify(channel, payload)``
  in one transaction. The payload is ``{"instance", "run", "seq", "event"}``; an event too big for a
  NOTIFY (PostgreSQL takes less than 8000 bytes, e.g. a segment of many words) is sent as a reference
  ``"ref"`` to its row instead, which the receivers read back from the store: words are never cut.
  Handing over never blocks the call pipeline: a full queue drops the event and the next
  notification says ``"gap": true``. A broken connection is reopened with a backoff and the batch
  sent again (a batch that was delivered before the break is then skipped by its sequence numbers).
* **Listener** (thread ``ingest-feed-listen``, an autocommit connection of its own that ``LISTEN`` s)
  delivers the other instances' events to the local subscribers only (it never sends them on) and
  skips this instance's own.
* **No silent loss.** When the listener may have missed events -- its connection broke (told at
  once, and again once it listens again), a sender said ``gap``, a sender's sequence skipped, a
  reference could not be read -- every local subscriber is ended with a ``dropped`` event
  (:meth:`LiveFeed.resync <actors.ingest.live_feed.LiveFeed.resync>`): its page reloads and reconnects.

``run`` tells two runs of one instance id apart (each starts its sequence at 1). The service starts a
relay only on PostgreSQL (SQLite serves one instance). psycopg is imported only when it starts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING

import attrs

from actors.ingest.http_api import call_json, segment_json
from actors.ingest.live_feed import Event, LiveFeed, Ref
from actors.ingest.store import StoreError, TranscriptStore

if TYPE_CHECKING:
    import psycopg
    from psycopg.rows import TupleRow

log = logging.getLogger("actors.ingest.feed_relay")

#: The NOTIFY channel of the live feed.
CHANNEL = "actors_ingest_feed"
#: PostgreSQL refuses a NOTIFY payload of 8000 bytes or more (its default build).
MAX_PAYLOAD = 7999
#: Events of this instance that may wait for the sender before one is dropped.
QUEUE_SIZE = 4096
#: Notifications sent in one transaction at most.
BATCH = 256
#: How long the listener waits for notifications before it looks whether it should stop (s).
POLL = 0.2
#: Reconnection backoff of both threads: first and longest pause (s).
RETRY_FIRST, RETRY_MAX = 0.1, 5.0
#: How long :meth:`FeedRelay.start` waits for the listener's first ``LISTEN`` (s).
START_WAIT = 5.0


@attrs.frozen
class _Item:
    """One event of this instance waiting for the sender (``event`` None: a gap notice)."""

    seq: int
    event: Event | None
    ref: Ref | None


def _encode(message: Mapping[str, object]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


class FeedRelay:
    """Relays ``feed``'s own events to the other instances on ``store`` and theirs to ``feed`` (see the
    module docstring). :meth:`start`, then :meth:`stop` (which joins both threads).

    ``instance_id`` is this instance's (its own notifications are skipped); ``queue_size`` bounds the
    sender's queue. Counters for tests and logs: :attr:`sent`, :attr:`lost`, :attr:`resyncs`.
    """

    def __init__(
        self,
        store: TranscriptStore,
        feed: LiveFeed,
        instance_id: str,
        *,
        channel: str = CHANNEL,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        if store.backend != "postgresql":
            raise StoreError(f"FeedRelay: needs a PostgreSQL store, not {store.backend}")
        if queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, got {queue_size}")
        self._store = store
        self._feed = feed
        self.instance_id = instance_id
        self.channel = channel
        self._run = uuid.uuid4().hex
        self._queue: queue.Queue[_Item | None] = queue.Queue(maxsize=queue_size)
        self._seq_lock = threading.Lock()
        self._seq = 0
        self._gap = False  # an event was dropped: the next batch carries a gap notice
        self._stopping = threading.Event()  # finish what is queued, then end
        self._halt = threading.Event()  # end now
        self._listening = threading.Event()
        self._missed = False  # the listener may have missed notifications (read on its thread only)
        self._last: dict[tuple[str, str], int] = {}
        self._sender = threading.Thread(target=self._send_loop, name="ingest-feed-notify", daemon=True)
        self._listener = threading.Thread(target=self._listen_loop, name="ingest-feed-listen", daemon=True)
        self.sent = 0
        self.lost = 0
        self.resyncs = 0

    def __repr__(self) -> str:
        return f"<FeedRelay {self.instance_id!r} on {self.channel!r} of {self._store.url.display!r}>"

    @property
    def listening(self) -> bool:
        """True while the listener's connection ``LISTEN`` s."""
        return self._listening.is_set()

    def start(self, wait: float = START_WAIT) -> FeedRelay:
        """Start both threads, hook into the feed, and wait up to ``wait`` s for the first ``LISTEN``
        (the database may be away: the listener keeps trying, and resyncs the subscribers when it
        listens)."""
        self._listener.start()
        self._sender.start()
        self._feed.relay_to(self.forward)
        if not self._listening.wait(wait):
            log.warning("feed relay: not listening yet on %s (retrying)", self._store.url.display)
        return self

    def stop(self, flush_timeout: float = 5.0) -> None:
        """Unhook from the feed, send what is queued (for up to ``flush_timeout`` s), stop and join both
        threads (idempotent)."""
        self._feed.relay_to(None)
        self._stopping.set()
        if self._sender.is_alive():
            with contextlib.suppress(queue.Full):  # wakes the sender; a full queue wakes it anyway
                self._queue.put_nowait(None)
            self._sender.join(flush_timeout)
        self._halt.set()
        for thread in (self._sender, self._listener):
            if thread.is_alive():
                thread.join(RETRY_MAX + 10)

    # -- sender -------------------------------------------------------------------------------------

    def forward(self, event: Event, ref: Ref) -> None:
        """Queue one of this instance's events for the other instances; never blocks (a full queue
        drops it, and the receivers are told of the gap)."""
        with self._seq_lock:
            self._seq += 1
            try:
                self._queue.put_nowait(_Item(self._seq, event, ref))
            except queue.Full:
                self.lost += 1
                if not self._gap:
                    log.warning("feed relay: the sender's queue is full; events dropped (receivers resync)")
                self._gap = True

    def _take(self) -> list[_Item]:
        """The next batch: waits for one item, then takes what else is queued (up to :data:`BATCH`)."""
        try:
            first = self._queue.get(timeout=POLL)
        except queue.Empty:
            first = None
        items = [first] if first is not None else []
        while len(items) < BATCH:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                items.append(item)
        with self._seq_lock:
            if self._gap:
                self._gap = False
                self._seq += 1
                items.append(_Item(self._seq, None, None))
        return items

    def _payload(self, item: _Item) -> str | None:
        """The NOTIFY payload of ``item``: the event, else its reference; None if neither fits."""
        message: dict[str, object] = {"instance": self.instance_id, "run": self._run, "seq": item.seq}
        if item.event is None:
            return _encode({**message, "gap": True})
        text = _encode({**message, "event": item.event})
        if len(text.encode()) <= MAX_PAYLOAD:
            return text
        text = _encode({**message, "ref": item.ref})
        return text if len(text.encode()) <= MAX_PAYLOAD else None

    def _connect(self, role: str) -> psycopg.Connection[TupleRow]:
        """A new autocommit connection named ``ingest-feed-<role> <instance>`` (in ``pg_stat_activity``)."""
        import psycopg

        name = f"ingest-feed-{role} {self.instance_id}"[:63]
        return psycopg.connect(
            self._store.url.conninfo, autocommit=True, connect_timeout=5, application_name=name
        )

    def _send_loop(self) -> None:
        import psycopg

        conn: psycopg.Connection[TupleRow] | None = None
        pending: list[str] = []
        delay = RETRY_FIRST
        try:
            while not self._halt.is_set():
                if not pending:
                    if self._stopping.is_set() and self._queue.empty() and not self._gap:
                        return
                    pending = self._payloads(self._take())
                    if not pending:
                        continue
                try:
                    if conn is None:
                        conn = self._connect("notify")
                    with conn.transaction(), conn.cursor() as cursor:
                        cursor.executemany("SELECT pg_notify(%s, %s)", [(self.channel, p) for p in pending])
                except (psycopg.OperationalError, psycopg.InterfaceError) as exc:  # sent again once back
                    log.warning("feed relay: cannot notify (retrying in %.1f s): %s", delay, _first_line(exc))
                    if conn is not None:
                        conn.close()
                        conn = None
                    self._halt.wait(delay)
                    delay = min(delay * 2, RETRY_MAX)
                    continue
                except psycopg.Error as exc:  # not the connection: these events cannot be sent
                    log.error("feed relay: %d event(s) not sent: %s", len(pending), _first_line(exc))
                    self._lose(len(pending))
                    pending = []
                    continue
                self.sent += len(pending)
                pending = []
                delay = RETRY_FIRST
        finally:
            if pending:
                self.lost += len(pending)
                log.warning("feed relay: %d event(s) not sent at stop", len(pending))
            if conn is not None:
                conn.close()

    def _payloads(self, items: list[_Item]) -> list[str]:
        payloads: list[str] = []
        for item in items:
            payload = self._payload(item)
            if payload is None:
                log.error("feed relay: an event's reference does not fit a notification")
                self._lose(1)
            else:
                payloads.append(payload)
        return payloads

    def _lose(self, count: int) -> None:
        """``count`` events will not be sent: the next batch tells the receivers."""
        with self._seq_lock:
            self.lost += count
            self._gap = True

    # -- listener -----------------------------------------------------------------------------------

    def _listen_loop(self) -> None:
        import psycopg
        from psycopg import sql

        delay = RETRY_FIRST
        while not self._halt.is_set():
            try:
                conn = self._connect("listen")
            except psycopg.Error as exc:
                self._missed = True
                log.warning("feed relay: cannot listen (retrying in %.1f s): %s", delay, _first_line(exc))
                self._halt.wait(delay)
                delay = min(delay * 2, RETRY_MAX)
                continue
            try:
                conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                self._last.clear()  # a sequence skipped meanwhile is covered by this resync
                if self._missed:
                    self._missed = False
                    self._resync("the live feed of the other instances was interrupted; reload")
                self._listening.set()
                delay = RETRY_FIRST
                self._receive(conn)
            except psycopg.Error as exc:
                self._listening.clear()
                self._missed = True
                log.warning("feed relay: the listening connection broke: %s", _first_line(exc))
                self._resync("the live feed of the other instances broke; reload")
                self._halt.wait(delay)
                delay = min(delay * 2, RETRY_MAX)
            finally:
                self._listening.clear()
                conn.close()

    def _receive(self, conn: psycopg.Connection[TupleRow]) -> None:
        while not self._halt.is_set():
            for notify in conn.notifies(timeout=POLL):
                if notify.channel != self.channel:
                    continue
                try:
                    self._handle(notify.payload)
                except Exception:  # a bug must not end the listener: the subscribers resync instead
                    log.exception("feed relay: a notification could not be delivered")
                    self._resync("an event of another instance could not be delivered; reload")

    def _handle(self, payload: str) -> None:
        """Deliver one notification to the local subscribers (the listener's thread)."""
        try:
            message = json.loads(payload)
            instance, run, seq = str(message["instance"]), str(message["run"]), int(message["seq"])
        except (ValueError, KeyError, TypeError):
            log.warning("feed relay: a notification that is not the feed's was ignored")
            return
        if instance == self.instance_id:
            return
        last = self._last.get((instance, run))
        if last is not None and seq <= last:
            return  # sent again after a reconnect: delivered already
        self._last[(instance, run)] = seq
        if message.get("gap") or (last is not None and seq != last + 1):
            self._resync(f"events of instance {instance} were lost; reload")
            return
        if not self._feed.subscribers:
            return
        event = message.get("event")
        if not isinstance(event, dict):
            event = self._read_back(message.get("ref"))
            if event is None:
                self._resync(f"an event of instance {instance} could not be read; reload")
                return
        self._feed.publish(event)

    def _read_back(self, ref: object) -> Event | None:
        """The event a reference points to, read from the store (None: unknown or unreadable)."""
        if not isinstance(ref, dict) or not isinstance(ref.get("call_id"), str):
            return None
        call_id: str = ref["call_id"]
        try:
            detail = self._store.get_call(call_id)
        except StoreError as exc:
            log.warning("feed relay: call %s not read back: %s", call_id, exc)
            return None
        if detail is None:
            return None
        kind = ref.get("type")
        if kind == "call_started":
            return {"type": "call_started", "call": call_json(detail.call)}
        if kind == "call_ended":
            return {"type": "call_ended", "call_id": call_id, "status": detail.call.status}
        if kind == "segment":
            channels = detail.call.channels
            found = [s for s in detail.segments if s.key == ref.get("key")]
            if found:
                return {"type": "segment", "call_id": call_id, "segment": segment_json(found[0], channels)}
        return None

    def _resync(self, reason: str) -> None:
        self.resyncs += 1
        self._feed.resync(reason)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


__all__ = ["CHANNEL", "MAX_PAYLOAD", "QUEUE_SIZE", "FeedRelay"]
