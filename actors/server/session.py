"""The per-connection endpoint base class of the local server, and the path registry.

One :class:`Endpoint` instance serves one WebSocket connection. Its hooks are called in order::

    on_open()                         right after the handshake
    on_text(text) / on_binary(data)   for every client frame
    on_tick()                         every ``tick_interval`` seconds (None: never)
    on_idle_timeout()                 when no client frame arrived for ``idle_timeout`` seconds
    on_finish()                       always, last (the socket may already be closed)

Endpoints talk back with :meth:`send_message` (a JSON object), :meth:`send_binary`,
:meth:`close` and :meth:`drop`. A module registers its endpoint class with
``@register_endpoint("/v1/speak")``; when it starts, the server imports the module of every API
in :func:`actors.protocol.apis.all_apis` (``actors.server.speak_v1`` for ``speak.v1``).

Where the hooks run (``actors.server.transport``): when the engine never blocks
(``engine.nonblocking``, the deterministic engine) they run on the server's event-loop thread, one
call per frame, with loop timers for ticks and the idle timeout; otherwise :meth:`Endpoint.run`
runs them on a thread of the connection's own. Either way one connection's hooks never run
concurrently, so endpoint state needs no locks -- and a hook must not block when it runs inline.

Endpoints keep :attr:`Endpoint.audio_seconds` up to date (audio received, or for Speak sent):
the fault rule of the connection fires on it.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import attrs
import orjson
from websockets.exceptions import ConnectionClosed

from actors.server.faults import FaultRule
from actors.server.transport import TransportClosed

log = logging.getLogger("actors.server")

#: Close reason Deepgram sends when the client was silent too long (verbatim).
NET_0001_REASON = (
    "Deepgram did not receive audio data or a text message within the timeout window. "
    "See https://dpgr.am/net0001"
)
GARBAGE_FRAME = "\x00garbage{not json"
UNKNOWN_TYPE = "ActorsUnknownType"


@attrs.frozen
class SessionContext:
    """What the server knows about a connection when it hands it to an endpoint.

    ``options`` is whatever the endpoint's :meth:`Endpoint.parse_query` returned.
    """

    #: The endpoint's way to its WebSocket: an ``actors.server.transport`` Inline/ThreadedTransport.
    connection: Any
    request_id: str
    path: str
    query: list[tuple[str, str]]
    headers: Mapping[str, str]
    options: Any
    engine: Any
    idle_timeout: float
    fault: FaultRule | None
    stopping: threading.Event
    #: Benchmarks: add ``actors_sent_at`` (``time.time()`` just before the send) to every JSON message.
    stamp_send_time: bool = False


class Endpoint:
    """Base of every endpoint: a frame loop with hooks, helpers to answer, and fault firing.

    Subclasses set ``path`` and override the hooks they need; every hook runs on the
    connection's thread, so endpoint state needs no locks.
    """

    path: ClassVar[str] = ""
    #: Seconds between ``on_tick`` calls; None disables ticks (no timer cost).
    tick_interval: ClassVar[float | None] = None

    def __init__(self, context: SessionContext) -> None:
        self.context = context
        self.connection = context.connection
        self.request_id = context.request_id
        self.options = context.options
        self.audio_seconds = 0.0
        self.closed = False
        self._fault = context.fault
        #: ``time.monotonic()`` of the latest client frame (the idle timeout counts from it).
        self.last_frame_at = time.monotonic()

    @classmethod
    def runs_inline(cls, engine: Any) -> bool:
        """Whether this endpoint's hooks may run on the server's event loop (they never block).

        Default: when the engine says its calls never block (``engine.nonblocking``). An endpoint
        whose hooks block for other reasons overrides this to return False.
        """
        return bool(getattr(engine, "nonblocking", False))

    # -- query validation (runs at handshake, before the endpoint exists) --------------------

    @classmethod
    def parse_query(cls, query: Sequence[tuple[str, str]]) -> Any:
        """Validate the query string; return the endpoint's options or raise ``OptionsError``."""
        return list(query)

    # -- hooks --------------------------------------------------------------------------------

    def on_open(self) -> None:
        """Called once after the handshake, before any frame is read."""

    def on_text(self, text: str) -> None:
        """Called for every text frame from the client."""

    def on_binary(self, data: bytes) -> None:
        """Called for every binary frame from the client."""

    def on_tick(self) -> None:
        """Called every ``tick_interval`` seconds while the connection is open."""

    def on_idle_timeout(self) -> None:
        """Called when no client frame arrived for ``idle_timeout`` seconds; default: close 1011 NET-0001."""
        self.close(1011, NET_0001_REASON)

    def on_finish(self) -> None:
        """Called once when the loop ends, whatever the reason; release resources here."""

    # -- helpers ------------------------------------------------------------------------------

    def send_message(self, message: Mapping[str, Any]) -> None:
        """Send one JSON text frame (no-op once closed).

        With ``stamp_send_time`` on, the message gets an extra ``actors_sent_at`` field (wall-clock
        seconds) so a benchmark can measure server send -> client callback delay.
        """
        if self.context.stamp_send_time:
            message = {**message, "actors_sent_at": time.time()}
        self.send_text(orjson.dumps(message).decode())

    def send_text(self, text: str) -> None:
        """Send one raw text frame (no-op once closed)."""
        if not self.closed and not self.connection.send(text):
            self.closed = True

    def send_binary(self, data: bytes) -> None:
        """Send one binary frame (no-op once closed)."""
        if not self.closed and not self.connection.send(bytes(data)):
            self.closed = True

    def close(self, code: int | None = 1000, reason: str = "") -> None:
        """Close with ``code`` and ``reason``; ``code=None`` sends a close frame without a status."""
        if self.closed:
            return
        self.closed = True
        self.connection.close(code, reason)

    def drop(self) -> None:
        """Cut the TCP connection without a close frame (the client sees 1006)."""
        self.closed = True
        self.connection.close_socket()

    def decode_json(self, text: str) -> dict[str, Any] | None:
        """Parse a client text frame; None when it is not a JSON object."""
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None

    # -- inline driving (called by InlineTransport on the loop thread) --------------------------

    def open_inline(self) -> None:
        """``on_open`` and a fault due at once (the inline counterpart of :meth:`run`'s start)."""
        self._guarded(self.on_open)
        self._check_fault()

    def deliver(self, frame: bytes | str) -> None:
        """One client frame: its hook, then the fault check (no-op once closed)."""
        if self.closed:
            return
        self.last_frame_at = time.monotonic()
        if type(frame) is bytes:
            self._guarded(self.on_binary, frame)
        else:
            self._guarded(self.on_text, frame)
        self._check_fault()

    def tick_inline(self) -> None:
        """A tick timer fired."""
        if not self.closed:
            self._guarded(self.on_tick)
            self._check_fault()

    def idle_timeout_inline(self) -> None:
        """The idle timer expired: ``on_idle_timeout``; the connection ends after it."""
        if not self.closed:
            self._guarded(self.on_idle_timeout)

    def end_inline(self) -> None:
        """The connection is over: close it if the endpoint did not (1001 when the server stops,
        else 1000 as websockets does when a handler returns), then ``on_finish``."""
        try:
            if not self.closed and self.context.stopping.is_set():
                self.close(1001, "server shutting down")
            elif not self.closed:
                self.close()
        finally:
            try:
                self.on_finish()
            except Exception:
                log.exception("endpoint %s: on_finish failed", self.path)

    # -- the threaded loop ----------------------------------------------------------------------

    def run(self) -> None:
        """Serve the connection on the calling thread until it closes; always calls ``on_finish``."""
        try:
            self._guarded(self.on_open)
            self._check_fault()
            self._loop()
            if self.context.stopping.is_set() and not self.closed:
                self.close(1001, "server shutting down")
        finally:
            try:
                self.on_finish()
            except Exception:
                log.exception("endpoint %s: on_finish failed", self.path)

    def _loop(self) -> None:
        idle_timeout = self.context.idle_timeout
        tick = self.tick_interval
        next_tick = time.monotonic() + tick if tick else float("inf")
        while not self.closed and not self.context.stopping.is_set():
            now = time.monotonic()
            wake = min(self.last_frame_at + idle_timeout, next_tick)
            try:
                frame = self.connection.recv(timeout=max(0.0, wake - now))
            except TimeoutError:
                frame = None
            except (TransportClosed, ConnectionClosed):
                self.closed = True
                break
            now = time.monotonic()
            if frame is not None:
                self.last_frame_at = now
                if isinstance(frame, bytes):
                    self._guarded(self.on_binary, frame)
                else:
                    self._guarded(self.on_text, frame)
            elif now - self.last_frame_at >= idle_timeout:
                self._guarded(self.on_idle_timeout)
                break
            if tick and now >= next_tick and not self.closed:
                next_tick = now + tick
                self._guarded(self.on_tick)
            self._check_fault()

    def _guarded(self, hook: Callable[..., None], *args: Any) -> None:
        """Run a hook; a bug in it closes the connection with 1011 instead of hanging the client."""
        try:
            hook(*args)
        except (TransportClosed, ConnectionClosed):
            self.closed = True
        except Exception:
            log.exception("endpoint %s: %s failed", self.path, getattr(hook, "__name__", hook))
            if not self.closed:
                self.close(1011, "NET-0000")

    # -- faults -------------------------------------------------------------------------------

    def _check_fault(self) -> None:
        fault = self._fault
        if fault is None or self.closed or self.audio_seconds < fault.after_audio_seconds:
            return
        self._fault = None  # a rule fires once per connection
        log.info("endpoint %s: injecting fault %s", self.path, fault.kind)
        if fault.kind == "drop":
            self.drop()
        elif fault.kind == "close":
            self.close(fault.code, fault.reason)
        elif fault.kind == "stall":  # threaded: blocks here; inline: reading pauses, hooks wait
            self.connection.stall(fault.duration)
            self.last_frame_at = time.monotonic()
        elif fault.kind == "garbage":
            self.send_text(GARBAGE_FRAME)
        elif fault.kind == "unknown_type":
            self.send_message({"type": UNKNOWN_TYPE, "detail": "injected by a fault rule"})


E = TypeVar("E", bound=type[Endpoint])

_REGISTRY: dict[str, type[Endpoint]] = {}
_REGISTRY_LOCK = threading.Lock()


def register_endpoint(path: str) -> Callable[[E], E]:
    """Class decorator: serve connections on ``path`` with the decorated :class:`Endpoint` subclass."""

    def decorate(cls: E) -> E:
        cls.path = path
        with _REGISTRY_LOCK:
            _REGISTRY[path] = cls
        return cls

    return decorate


def load_endpoints() -> dict[str, type[Endpoint]]:
    """Import each API's endpoint module (``actors.server.listen_v1``) that exists; return path -> class."""
    from actors.protocol.apis import all_apis

    for api in all_apis():
        module = "actors.server." + api.name.replace(".", "_")
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    with _REGISTRY_LOCK:
        return dict(_REGISTRY)
