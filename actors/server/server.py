"""`LocalServer`: the Deepgram-compatible WebSocket server, in-process, on one event loop.

Built on ``websockets.asyncio.server``: one loop thread (``actors-server-loop-<port>``, owned and
joined by the server) accepts, handshakes and reads every connection. Endpoint hooks run on that
loop when the engine never blocks, else on one thread per connection
(``actors-server-<path>-<rid8>``); see ``actors.server.transport``.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
import weakref
from collections.abc import Callable, Collection, Sequence
from types import TracebackType
from typing import Any, cast

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.typing import Subprotocol

from actors.errors import OptionsError
from actors.server.faults import FaultRegistry
from actors.server.handshake import (
    Rejected,
    evaluate,
    find_credential,
    new_request_id,
    offered_subprotocols,
    rejection_response,
)
from actors.server.log_redaction import websockets_server_logger
from actors.server.observed import HandshakeSeen, ServerNames
from actors.server.session import Endpoint, SessionContext, load_endpoints
from actors.server.transport import EndpointConnection, InlineTransport, ThreadedTransport

log = logging.getLogger("actors.server")

ENGINE_NAMES = ("deterministic", "real")


def _load_engine(name: str) -> Any:
    from actors.server.engines import get_engine

    return get_engine(name)


class LocalServer:
    """A local server speaking Deepgram's four WebSocket APIs.

    ``port=0`` binds an ephemeral port (read it from :attr:`port` after :meth:`start`).
    ``api_keys=None`` accepts any credential; a collection restricts keys and tokens to it.
    ``idle_timeout`` is how long a connection may stay without a client frame (Deepgram: ~10 s).
    ``stamp_send_time=True`` (benchmarks) adds ``actors_sent_at`` (wall-clock send time) to every
    JSON message the server sends.
    ``ssl_context`` (a server-side ``ssl.SSLContext`` with a certificate loaded) serves TLS:
    :attr:`url` is then ``wss://``. ``on_handshake`` is called (on the server's loop; keep it
    quick) with a :class:`~actors.server.observed.HandshakeSeen` for every upgrade request --
    path, headers, and the TLS server name (SNI; to learn it the server installs an
    ``sni_callback`` on ``ssl_context``, keeping any callback already set).
    ``max_connections`` caps concurrent WebSocket connections (None: no cap): a handshake beyond it
    is refused with 503 ``dg-error`` "Too many concurrent connections ..."; a slot frees when a
    connection ends. :attr:`connection_count` is the number of connections holding a slot.
    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        engine: str = "deterministic",
        api_keys: Collection[str] | None = None,
        idle_timeout: float = 10.0,
        close_timeout: float = 5.0,
        stamp_send_time: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        on_handshake: Callable[[HandshakeSeen], None] | None = None,
        max_connections: int | None = None,
    ) -> None:
        if engine not in ENGINE_NAMES:
            raise OptionsError("engine", f"expected one of {', '.join(ENGINE_NAMES)}, got {engine!r}", engine)
        if idle_timeout <= 0:
            raise OptionsError("idle_timeout", f"must be > 0 seconds, got {idle_timeout!r}", idle_timeout)
        if not 0 <= port <= 65535:
            raise OptionsError("port", f"must be 0..65535, got {port!r}", port)
        if max_connections is not None and (isinstance(max_connections, bool) or max_connections < 1):
            raise OptionsError(
                "max_connections", f"must be >= 1 or None, got {max_connections!r}", max_connections
            )
        self.max_connections = max_connections
        #: Connections holding a slot (touched only on the loop thread).
        self._slots: set[ServerConnection] = set()
        self._peak_slots = 0
        self.host = host
        self.engine_name = engine
        self.api_keys = frozenset(api_keys) if api_keys is not None else None
        self.idle_timeout = float(idle_timeout)
        self.stamp_send_time = bool(stamp_send_time)
        self.faults = FaultRegistry()
        if ssl_context is not None and not isinstance(ssl_context, ssl.SSLContext):
            raise OptionsError("ssl_context", f"expected an ssl.SSLContext, got {type(ssl_context).__name__}")
        self.ssl_context = ssl_context
        self.on_handshake = on_handshake
        self._server_names = (
            ServerNames(ssl_context) if ssl_context is not None and on_handshake is not None else None
        )
        self._requested_port = port
        self._close_timeout = close_timeout
        self._engine: Any = None
        self._endpoints: dict[str, type[Endpoint]] = {}
        self._server: Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._port = 0
        self._stopping = threading.Event()
        self._live: set[InlineTransport | ThreadedTransport] = set()
        self._connections: weakref.WeakSet[EndpointConnection] = weakref.WeakSet()

    def __repr__(self) -> str:
        state = f"port={self.port}" if self._server else "stopped"
        return f"LocalServer({self.host!r}, {state}, engine={self.engine_name!r})"

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> LocalServer:
        """Bind and start accepting connections; returns self. Raises ``OSError`` if the port is taken."""
        if self._server is not None:
            return self
        self._engine = _load_engine(self.engine_name)
        self._endpoints = load_endpoints()
        self._stopping.clear()
        self._slots.clear()
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="actors-server-loop", daemon=True)
        thread.start()
        try:
            server = asyncio.run_coroutine_threadsafe(self._open(), loop).result()
        except BaseException:
            self._release(loop, thread)
            raise
        self._loop, self._thread, self._server = loop, thread, server
        self._port = int(server.sockets[0].getsockname()[1])
        thread.name = f"actors-server-loop-{self._port}"
        log.info("local server listening on %s", self.url)
        return self

    async def _open(self) -> Server:
        return await serve(
            self._handle,
            self.host,
            self._requested_port,
            # serve() only calls the factory as it would call the class.
            create_connection=cast("type[ServerConnection]", self._new_connection),
            process_request=self._process_request,
            process_response=self._process_response,
            select_subprotocol=self._select_subprotocol,
            ssl=self.ssl_context,
            compression=None,  # Deepgram audio does not compress; deflate would cost CPU per frame
            ping_interval=None,  # no keepalive timer per connection; pings are still answered
            close_timeout=self._close_timeout,
            max_size=8 * 2**20,
            server_header=None,
            logger=websockets_server_logger(),  # its DEBUG header lines would show client keys
        )

    def stop(self) -> None:
        """Close every connection (1001), stop accepting, join the accept thread. Idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        loop, self._loop = self._loop, None
        thread, self._thread = self._thread, None
        assert loop is not None and thread is not None
        asyncio.run_coroutine_threadsafe(self._close(server), loop).result()
        self._release(loop, thread)

    def _release(self, loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
        """Stop the loop, join its thread, close it, then close the engine (worker processes)."""
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.close()

    def _new_connection(self, *args: Any, **kwargs: Any) -> EndpointConnection:
        """websockets' connection factory: an ``EndpointConnection``, remembered for :meth:`_close`."""
        connection = EndpointConnection(*args, **kwargs)
        self._connections.add(connection)
        return connection

    async def _close(self, server: Server) -> None:
        """Every endpoint closes (1001) and ends, then websockets closes the rest and the listener.

        Connections still in their opening handshake are cut: websockets would wait up to its
        open timeout (10 s) for their request, and one accepted while the listener closes only
        gets its handler task after websockets' close is done -- a task the loop would then
        destroy pending. So the loop is left only when no task but this one remains.
        """
        for transport in list(self._live):
            transport.shutdown()
        server.close(close_connections=True, code=1001, reason="server shutting down")
        loop = asyncio.get_running_loop()
        # Bounded so a task that is not the server's cannot hold stop() forever; handlers are
        # still waited for below, as websockets does (a threaded endpoint's thread is joined).
        deadline = loop.time() + self._close_timeout + 1.0
        this = asyncio.current_task()
        while loop.time() < deadline:
            self._abort_handshakes()
            others = [task for task in asyncio.all_tasks() if task is not this]
            if not others:
                break
            await asyncio.wait(others, timeout=0.05)
        await server.wait_closed()

    def _abort_handshakes(self) -> None:
        """Cut the TCP connection of every connection still in its opening handshake."""
        for connection in list(self._connections):
            transport = getattr(connection, "transport", None)
            if connection.protocol.state is State.CONNECTING and transport is not None:
                transport.abort()

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound TCP port (raises ``RuntimeError`` before :meth:`start`)."""
        if self._server is None:
            raise RuntimeError("LocalServer is not started; call start() first")
        return self._port

    @property
    def url(self) -> str:
        """Base WebSocket URL, e.g. ``ws://127.0.0.1:PORT`` (``wss://`` with TLS; no trailing slash)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'wss' if self.ssl_context is not None else 'ws'}://{host}:{self.port}"

    @property
    def engine(self) -> Any:
        """The speech engine serving connections (after :meth:`start`)."""
        return self._engine

    @property
    def endpoints(self) -> dict[str, type[Endpoint]]:
        """Registered path -> endpoint class (after :meth:`start`)."""
        return dict(self._endpoints)

    # -- handshake ------------------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        request_id = new_request_id()
        if self.on_handshake is not None:
            self._report_handshake(connection, request)
        try:
            accepted = evaluate(request, self._endpoints, self.api_keys, self.faults, request_id)
        except Rejected as rejected:
            log.info("handshake refused: %s %s", rejected.status, rejected.err_code)
            return rejection_response(rejected, request_id)
        if not self._take_slot(connection):
            log.info("handshake refused: 503, %d connections open (max_connections)", len(self._slots))
            return rejection_response(Rejected(503, self._full_message()), request_id)
        if isinstance(connection, EndpointConnection):
            connection.accepted = accepted
        return None

    def _report_handshake(self, connection: ServerConnection, request: Request) -> None:
        ssl_object = connection.transport.get_extra_info("ssl_object")
        seen = HandshakeSeen(
            path=request.path,
            headers={name.lower(): value for name, value in request.headers.raw_items()},
            server_name=self._server_names.name_of(ssl_object) if self._server_names else None,
            tls=ssl_object is not None,
        )
        try:
            assert self.on_handshake is not None
            self.on_handshake(seen)
        except Exception as exc:  # an observer's bug must not break the handshake
            log.error("on_handshake callback failed: %s", type(exc).__name__)

    def _take_slot(self, connection: ServerConnection) -> bool:
        """Count ``connection`` against ``max_connections``; False when the server is full.

        The slot is given back when the TCP connection is lost, however the connection ends
        (websockets resolves ``connection_lost_waiter`` then, on this loop).
        """
        if self.max_connections is None:
            return True
        if len(self._slots) >= self.max_connections:
            return False
        self._slots.add(connection)
        self._peak_slots = max(self._peak_slots, len(self._slots))
        connection.connection_lost_waiter.add_done_callback(lambda _done: self._slots.discard(connection))
        return True

    def _full_message(self) -> str:
        return (
            f"Too many concurrent connections: this server accepts at most {self.max_connections} "
            "(max_connections). Try again when one has closed."
        )

    @property
    def connection_count(self) -> int:
        """Connections currently counted against ``max_connections`` (0 when there is no cap)."""
        return len(self._slots)

    @property
    def peak_connection_count(self) -> int:
        """The most connections that held a slot at once (0 when there is no cap)."""
        return self._peak_slots

    def _process_response(
        self, connection: ServerConnection, request: Request, response: Response
    ) -> Response | None:
        accepted = getattr(connection, "accepted", None)
        if "dg-request-id" not in response.headers:
            response.headers["dg-request-id"] = accepted.request_id if accepted else new_request_id()
        return None

    def _select_subprotocol(
        self, connection: ServerConnection, subprotocols: Sequence[Subprotocol]
    ) -> Subprotocol | None:
        # Echo the auth scheme the browser form offered ("token" / "bearer"), as Deepgram does.
        request = connection.request
        headers: Headers = request.headers if request is not None else Headers()
        lowered = {name.lower(): value for name, value in headers.raw_items()}
        credential = find_credential(lowered, offered_subprotocols(headers))
        if credential is None or credential.via != "subprotocol":
            return None
        for proto in subprotocols:
            if proto.lower() == credential.scheme:
                return proto
        return None

    # -- connections ----------------------------------------------------------------------------

    async def _handle(self, connection: ServerConnection) -> None:
        accepted = getattr(connection, "accepted", None)
        if accepted is None or not isinstance(connection, EndpointConnection):  # pragma: no cover
            await connection.close(1011, "NET-0000")  # process_request always records acceptance
            return
        transport: InlineTransport | ThreadedTransport
        if accepted.endpoint.runs_inline(self._engine):
            transport = InlineTransport(connection, self._stopping)
        else:
            name = f"actors-server-{accepted.path}-{accepted.request_id[:8]}"
            transport = ThreadedTransport(connection, self._stopping, name)
        context = SessionContext(
            connection=transport,
            request_id=accepted.request_id,
            path=accepted.path,
            query=accepted.query,
            headers=accepted.headers,
            options=accepted.options,
            engine=self._engine,
            idle_timeout=self.idle_timeout,
            fault=accepted.fault,
            stopping=self._stopping,
            stamp_send_time=self.stamp_send_time,
        )
        self._live.add(transport)
        try:
            await transport.serve(accepted.endpoint(context))
        finally:
            self._live.discard(transport)
