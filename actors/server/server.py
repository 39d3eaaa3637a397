"""`LocalServer`: the Deepgram-compatible WebSocket server, in-process, thread per connection.

Built on ``websockets.sync.server``: one accept thread (owned and joined by the server) and,
per connection, websockets' handler thread plus its reader (both renamed after the request id).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Sequence
from types import TracebackType
from typing import Any

from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve
from websockets.typing import Subprotocol

from actors.errors import OptionsError
from actors.server.faults import FaultRegistry
from actors.server.handshake import (
    Accepted,
    Rejected,
    evaluate,
    find_credential,
    new_request_id,
    offered_subprotocols,
    rejection_response,
)
from actors.server.log_redaction import websockets_server_logger
from actors.server.session import Endpoint, SessionContext, load_endpoints

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
    ) -> None:
        if engine not in ENGINE_NAMES:
            raise OptionsError("engine", f"expected one of {', '.join(ENGINE_NAMES)}, got {engine!r}", engine)
        if idle_timeout <= 0:
            raise OptionsError("idle_timeout", f"must be > 0 seconds, got {idle_timeout!r}", idle_timeout)
        if not 0 <= port <= 65535:
            raise OptionsError("port", f"must be 0..65535, got {port!r}", port)
        self.host = host
        self.engine_name = engine
        self.api_keys = frozenset(api_keys) if api_keys is not None else None
        self.idle_timeout = float(idle_timeout)
        self.stamp_send_time = bool(stamp_send_time)
        self.faults = FaultRegistry()
        self._requested_port = port
        self._close_timeout = close_timeout
        self._engine: Any = None
        self._endpoints: dict[str, type[Endpoint]] = {}
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._accepted: dict[int, Accepted] = {}
        self._accepted_lock = threading.Lock()

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
        self._server = serve(
            self._handle,
            self.host,
            self._requested_port,
            process_request=self._process_request,
            process_response=self._process_response,
            select_subprotocol=self._select_subprotocol,
            compression=None,  # Deepgram audio does not compress; deflate would cost CPU per frame
            ping_interval=None,  # no keepalive thread per connection; pings are still answered
            close_timeout=self._close_timeout,
            max_size=8 * 2**20,
            server_header=None,
            logger=websockets_server_logger(),  # its DEBUG header lines would show client keys
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"actors-server-accept-{self.port}", daemon=True
        )
        self._thread.start()
        log.info("local server listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Close every connection (1001), stop accepting, join the accept thread. Idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.close()

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
        return int(self._server.socket.getsockname()[1])

    @property
    def url(self) -> str:
        """Base WebSocket URL, e.g. ``ws://127.0.0.1:PORT`` (no trailing slash)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}"

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
        # websockets starts the handler and reader threads unnamed ("Thread-N (handler)")
        threading.current_thread().name = f"actors-server-handshake-{request_id[:8]}"
        connection.recv_events_thread.name = f"actors-server-recv-{request_id[:8]}"
        try:
            accepted = evaluate(request, self._endpoints, self.api_keys, self.faults, request_id)
        except Rejected as rejected:
            log.info("handshake refused: %s %s", rejected.status, rejected.err_code)
            return rejection_response(rejected, request_id)
        with self._accepted_lock:
            self._accepted[id(connection)] = accepted
        return None

    def _process_response(
        self, connection: ServerConnection, request: Request, response: Response
    ) -> Response | None:
        with self._accepted_lock:
            if response.status_code == 101:
                accepted = self._accepted.get(id(connection))
            else:  # refused after acceptance (e.g. shutting down): forget it
                accepted = self._accepted.pop(id(connection), None)
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

    def _handle(self, connection: ServerConnection) -> None:
        with self._accepted_lock:
            accepted = self._accepted.pop(id(connection), None)
        if accepted is None:  # pragma: no cover - process_request always records acceptance
            connection.close(1011, "NET-0000")
            return
        threading.current_thread().name = f"actors-server-{accepted.path}-{accepted.request_id[:8]}"
        connection.recv_events_thread.name = f"actors-server-recv-{accepted.request_id[:8]}"
        context = SessionContext(
            connection=connection,
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
        accepted.endpoint(context).run()
