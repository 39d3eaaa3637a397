"""`IngestService`: the ingestion service -- platform sockets in, durable transcripts out, one port.

Routes (one ``websockets`` asyncio server, one loop thread ``ingest-loop``):

* ``/api/v1/audiohook/ws`` -- Genesys Cloud AudioHook (signed upgrades, per the AudioHook protocol). The
  Transcription Connector (transcripts sent back as ``event`` messages) is on for
  ``/api/v1/voicetranscription/ws`` (the reference's route) and for ``/api/v1/audiohook/ws?transcripts=true``.
* ``/twilio`` -- Twilio Media Streams (``X-Twilio-Signature`` checked when a Twilio auth token is set).
* ``/v1/stream`` -- the plain ingress (``Authorization: Bearer <api token>`` when a token is set, or
  the offered subprotocols ``bearer, <api token>`` from a browser).
* ``/v1/events`` -- the live feed (:mod:`actors.ingest.live_feed`) as JSON text frames, authenticated
  like ``/v1/stream``: the calls of every instance sharing a PostgreSQL store
  (:mod:`actors.ingest.feed_relay`), of this one on SQLite; ``/``, ``/call``, ``/mic`` -- the browser pages.
* ``/healthz``, ``/readyz``, ``/metrics``, ``/v1/calls``, ``/v1/calls/{id}`` -- :mod:`actors.ingest.http_api`.

Parts and their threads: the store's :class:`~actors.ingest.store.writer.SegmentWriter`
(``ingest-segment-writer``), one :class:`~actors.ingest.streams.StreamHost` for every call's Deepgram
stream (``max_connections`` = ``max_calls`` x :data:`STREAMS_PER_CALL`): a
:class:`~actors.runtime.Supervisor` in this process, or with ``config.ray`` a
:class:`~actors.cluster.ClusterPool` on a Ray cluster (its limit held cluster-wide), a worker pool
(``ingest-worker_N``) for blocking work (database, finishing streams, HTTP answers that read the
store), the loop thread and, on PostgreSQL, the live feed's relay (``ingest-feed-notify``,
``ingest-feed-listen``). All are
started by :meth:`IngestService.start` and joined by :meth:`IngestService.stop`.

Several instances (behind a load balancer) may share one PostgreSQL store: each registers an
``instances`` row with a lease that its :class:`~actors.ingest.instances.LeaseKeeper` (thread
``ingest-lease``) renews, records itself as the owner of its calls, and reaps the instances whose
lease ran out (their ``active`` calls become ``interrupted``). A SQLite store serves one instance.

Lifecycle: at start, calls left ``active`` by a killed predecessor are marked ``interrupted`` (on
SQLite every active call; on PostgreSQL only those of this instance id's previous run -- other
instances whose lease expired are reaped by the keeper once its own lease has held for a whole
period, since right after a database outage live instances' leases have expired too). At stop,
calls still active are marked interrupted and the instance's row deleted.
:meth:`IngestService.drain` (SIGTERM) stops accepting calls (new upgrades get 503, ``/readyz`` says
draining), ends every call gracefully (its stream finished, every final committed and, for
AudioHook, sent), then stops.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from actors.errors import ActorsError, OptionsError
from actors.ingest.admission import Admission
from actors.ingest.audiohook.session import AudioHookSession, SessionConfig
from actors.ingest.audiohook.signatures import FAILURE_DELAY, SignatureError, VerifiedRequest, verify_request
from actors.ingest.call import CallServices, StreamSettings
from actors.ingest.config import IngestConfig
from actors.ingest.feed_relay import FeedRelay
from actors.ingest.handlers.audiohook import AudioHookConnection
from actors.ingest.handlers.base import CallConnection, ConnectionContext, Drain
from actors.ingest.handlers.plain import PlainConnection
from actors.ingest.handlers.twilio import TwilioConnection
from actors.ingest.http_api import BEARER_SUBPROTOCOL, HttpAnswer, OpsApi
from actors.ingest.instances import LeaseKeeper
from actors.ingest.live_feed import LiveFeed
from actors.ingest.live_socket import serve_feed
from actors.ingest.metrics import IngestMetrics
from actors.ingest.store.errors import StoreError
from actors.ingest.store.instances import InstanceLeases
from actors.ingest.store.store import TranscriptStore, open_store
from actors.ingest.store.writer import SegmentWriter
from actors.ingest.streams import StreamHost, open_stream_host
from actors.ingest.twilio import signature as twilio_signature
from actors.protocol.apis import LISTEN_V1, LISTEN_V2
from actors.protocol.auth import Auth
from actors.server.log_redaction import websockets_server_logger

log = logging.getLogger("actors.ingest")

AUDIOHOOK_PATH = "/api/v1/audiohook/ws"
TRANSCRIPTION_PATH = "/api/v1/voicetranscription/ws"
TWILIO_PATH = "/twilio"
STREAM_PATH = "/v1/stream"
EVENTS_PATH = "/v1/events"
#: The largest frame a platform may send (AudioHook's reference limit is 64 KiB; Twilio frames are small).
MAX_FRAME = 1 << 20
#: Deepgram streams one running call may hold: Flux transcribes one channel per stream, and a stereo
#: call's second stream must not queue behind its first (its channel would get nothing until the end).
STREAMS_PER_CALL = {LISTEN_V1: 1, LISTEN_V2: 2}
#: Worker threads for blocking work (database writes of call lifecycles, stream finishes).
WORKERS = 32


class ServiceError(ActorsError):
    """The service cannot start (bind failed, store unreachable, ...)."""


class IngestService:
    """The ingestion service (see the module docstring). ``start``, then ``drain`` or ``stop``.

    ``deepgram_url`` / ``api_key``: where calls are transcribed (Deepgram, or a compatible server);
    ``deepgram_ssl`` verifies a ``wss://`` Deepgram URL against a private CA (tests; not with
    ``config.ray``: an ``SSLContext`` cannot travel to a Ray worker, whose node verifies with its own
    trust store, ``SSL_CERT_FILE``);
    ``server_ssl`` serves the platform endpoints over TLS itself (else ``config.tls_cert``/``tls_key``
    do, or TLS is terminated in front).
    """

    def __init__(
        self,
        config: IngestConfig,
        *,
        deepgram_url: str,
        api_key: str,
        deepgram_ssl: ssl.SSLContext | None = None,
        server_ssl: ssl.SSLContext | None = None,
    ) -> None:
        config.check()
        if config.ray is not None and deepgram_ssl is not None:
            raise OptionsError(
                "deepgram_ssl",
                "an SSLContext cannot travel to the Ray workers that run the streams with ray set; "
                "give the nodes SSL_CERT_FILE (a private CA's bundle) instead",
            )
        self.config = config
        self._settings = StreamSettings(
            base_url=deepgram_url,
            auth=Auth.token(api_key),
            api=config.call_api,
            params=tuple(config.params),
            queue_seconds=config.queue_seconds,
            ssl_context=deepgram_ssl,
        )
        if server_ssl is None and config.tls_cert is not None and config.tls_key is not None:
            server_ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            try:
                server_ssl.load_cert_chain(config.tls_cert, config.tls_key)
            except (OSError, ssl.SSLError) as exc:
                raise ServiceError(f"cannot load --tls-cert/--tls-key: {exc}") from None
        self._server_ssl = server_ssl
        self.metrics = IngestMetrics()
        #: This instance's name in the store (``config.instance_id``, else a fresh UUID).
        self.instance_id = config.instance_id or str(uuid.uuid4())
        self._store: TranscriptStore | None = None
        self._leases: InstanceLeases | None = None
        self._keeper: LeaseKeeper | None = None
        self._writer: SegmentWriter | None = None
        self._stream_host: StreamHost | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: Server | None = None
        self._admission: Admission | None = None
        self._ops: OpsApi | None = None
        self._feed: LiveFeed | None = None
        self._relay: FeedRelay | None = None
        self._context: ConnectionContext | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._verified: dict[int, VerifiedRequest] = {}
        self._port = 0
        self.interrupted_at_start = 0

    def __repr__(self) -> str:
        return f"<IngestService {self.url if self._port else 'not started'}>"

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound TCP port (after :meth:`start`)."""
        return self._port

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` (``https`` with ``server_ssl``) of the running service."""
        scheme = "https" if self._server_ssl is not None else "http"
        host = self.config.host if ":" not in self.config.host else f"[{self.config.host}]"
        return f"{scheme}://{host}:{self._port}"

    @property
    def store(self) -> TranscriptStore:
        """The transcript store (after :meth:`start`)."""
        assert self._store is not None, "IngestService.start() first"
        return self._store

    @property
    def stream_host(self) -> StreamHost:
        """Where the calls' Deepgram streams run (after :meth:`start`): the local supervisor, or a
        :class:`~actors.ingest.streams.ClusterStreamHost` with ``config.ray``."""
        assert self._stream_host is not None, "IngestService.start() first"
        return self._stream_host

    @property
    def live_feed(self) -> LiveFeed:
        """The live feed ``/v1/events`` serves (after :meth:`start`)."""
        assert self._feed is not None, "IngestService.start() first"
        return self._feed

    def start(self) -> IngestService:
        """Open the store, register this instance's lease (marking calls a killed predecessor of this
        id left active as interrupted -- on SQLite every call left active) and start its keeper, the
        writer, the stream host (the supervisor, or the Ray cluster's pool), the worker pool and the
        server. Raises :class:`ServiceError` (a cluster that cannot be joined or used, too) or a
        :class:`~actors.ingest.store.errors.StoreError` (nothing is left running then), e.g.
        :class:`~actors.ingest.store.instances.InstanceConflict` when a live instance has this id."""
        config = self.config
        store = self._store = open_store(
            config.store, observe_commit=self.metrics.store_commit, instance_id=self.instance_id
        )
        try:
            interrupted = self._register(store)
            self.interrupted_at_start = len(interrupted)
            if interrupted:
                log.warning(
                    "%d call(s) left active by a previous run marked interrupted", self.interrupted_at_start
                )
            self._writer = SegmentWriter(store)
            streams = config.max_calls * STREAMS_PER_CALL[config.call_api]
            try:
                self._stream_host = open_stream_host(
                    config.ray,
                    workers=config.ray_workers,
                    max_connections=streams,
                    deepgram_url=self._settings.base_url,
                )
            except ActorsError as exc:  # the Ray cluster: not reachable, not usable, nodes that cannot dial
                if config.ray is None:
                    raise
                raise ServiceError(f"cannot run the streams on the Ray cluster {config.ray}: {exc}") from None
            self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="ingest-worker")
            self._admission = Admission(config.max_calls, config.max_waiting, self.metrics)
            self._ops = OpsApi(
                store,
                self.metrics,
                self._readiness,
                api_token=config.api_token,
                loopback_only=config.loopback_only,
            )
            loop = self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=loop.run_forever, name="ingest-loop", daemon=True)
            self._thread.start()
            feed = self._feed = LiveFeed(loop, instance_id=self.instance_id)
            if store.backend == "postgresql":  # the other instances' calls too
                self._relay = FeedRelay(store, feed, self.instance_id).start()
            if self._keeper is not None:
                self._keeper.on_reaped = feed.calls_reaped
            feed.calls_reaped(interrupted)  # the other instances' pages see them end
            self._context = ConnectionContext(
                loop=loop,
                pool=self._pool,
                services=CallServices(
                    stream_host=self._stream_host,
                    store=store,
                    writer=self._writer,
                    metrics=self.metrics,
                    settings=self._settings,
                    feed=self._feed,
                ),
                admission=self._admission,
            )
            try:
                self._server = asyncio.run_coroutine_threadsafe(self._open(), loop).result(timeout=30)
            except OSError as exc:
                raise ServiceError(
                    f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}"
                ) from None
            self._port = self._server.sockets[0].getsockname()[1] if self._server.sockets else config.port
        except BaseException:
            self._shutdown()
            raise
        self.metrics.set_store_up(True)
        log.info(
            "listening on %s (instance %s, store %s, max %d calls%s)",
            self.url,
            self.instance_id,
            store.url.display,
            config.max_calls,
            f", streams on the Ray cluster {config.ray}" if config.ray is not None else "",
        )
        return self

    def _register(self, store: TranscriptStore) -> tuple[str, ...]:
        """Register this instance's lease, take what a dead predecessor left, start the keeper; return
        the ids of the calls interrupted.

        On PostgreSQL only this id's own previous run is taken (by :meth:`InstanceLeases.register`):
        other instances' expired leases may be live instances' that could not renew during a database
        outage, so reaping them is left to the keeper, after a whole lease of its own renewals. SQLite
        is single-instance, so there every other registered instance, and every call still active, is
        dead (``exclusive``): all is reaped now.
        """
        leases = InstanceLeases(
            store, self.instance_id, self.config.lease_seconds, exclusive=store.backend == "sqlite"
        )
        try:
            marked = leases.register()
        except BaseException:  # not registered (e.g. the id is live elsewhere): nothing to release
            leases.close()
            raise
        self._leases = leases  # from here on, the stop releases the row
        keeper = LeaseKeeper(leases, metrics=self.metrics)
        if leases.exclusive:
            marked += keeper.reap().calls
        else:
            self.metrics.set_live_instances(len(leases.instances()))
        self._keeper = keeper.start()
        return marked

    async def _open(self) -> Server:
        return await serve(
            self._handle,
            self.config.host,
            self.config.port,
            process_request=self._process_request,
            ssl=self._server_ssl,
            max_size=MAX_FRAME,
            compression=None,  # call audio does not compress; deflate cost 10-17% CPU (bench_ingest)
            ping_interval=20,
            ping_timeout=20,
            select_subprotocol=_select_subprotocol,  # a browser's token comes as "bearer, <token>"
            logger=websockets_server_logger(),  # its DEBUG header lines would show keys and tokens
        )

    def drain(self, timeout: float | None = None) -> bool:
        """Stop accepting calls, end every call gracefully within ``timeout`` s, then stop.

        True when every call finished in time and no accepted segment was lost.
        """
        limit = self.config.drain_timeout if timeout is None else timeout
        loop = self._loop
        if loop is None:
            return True
        log.info("draining: no new calls; ending the %d open connection(s)", len(self._tasks))
        self.metrics.set_draining(True)
        try:
            finished = asyncio.run_coroutine_threadsafe(self._drain(limit), loop).result(timeout=limit + 10)
        except TimeoutError:
            finished = False
        lost = self._shutdown()
        return finished and lost == 0

    async def _drain(self, timeout: float) -> bool:
        assert self._admission is not None
        self._admission.draining = True
        for connection in list(self._admission.connections):
            connection.inbox.put_nowait(Drain())
        pending = await self._connections_done(timeout)
        if pending:
            log.error("drain: %d connection(s) still open after %g s", pending, timeout)
        return not pending

    async def _connections_done(self, timeout: float) -> int:
        """Wait up to ``timeout`` s for every open connection's handler to end; return how many are left."""
        if not self._tasks:
            return 0
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        return len(pending)

    def wait_idle(self, timeout: float) -> bool:
        """Block until no platform connection is open (every call finished and recorded); False on timeout."""
        loop = self._loop
        if loop is None:
            return True
        future = asyncio.run_coroutine_threadsafe(self._connections_done(timeout), loop)
        return future.result(timeout=timeout + 5) == 0

    def stop(self) -> None:
        """Stop at once: close every socket, commit what was accepted, join every thread (idempotent)."""
        self._shutdown()

    def _shutdown(self) -> int:
        """Tear down in dependency order; return the number of accepted segments lost."""
        loop, thread = self._loop, self._thread
        self._loop = None
        if self._feed is not None:
            self._feed.close()
        if loop is not None and thread is not None:
            if self._server is not None:
                server = self._server
                self._server = None

                async def close() -> None:
                    server.close()
                    await server.wait_closed()
                    await self._connections_done(10)

                try:
                    asyncio.run_coroutine_threadsafe(close(), loop).result(timeout=30)
                except Exception as exc:  # a stuck close must not keep the threads alive
                    log.error("closing the server: %r", exc)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=False)
            self._pool = None
        if self._stream_host is not None:
            self._stream_host.stop()
            self._stream_host = None
        lost = 0
        if self._writer is not None:
            lost = self._writer.stop()
            self._writer = None
        if self._keeper is not None:
            self._keeper.stop()
            self._keeper = None
        if self._leases is not None:
            leases, self._leases = self._leases, None
            try:
                left = leases.release()
            except StoreError as exc:  # the row expires and another instance reaps the calls
                log.error("instance %s: lease not released: %s", self.instance_id, exc)
            else:
                if left:
                    log.warning("%d call(s) still active at stop marked interrupted", len(left))
                    if self._feed is not None:  # closed here, but still relayed to the others
                        self._feed.calls_reaped(left)
        if self._relay is not None:  # after everything that publishes: the call ends reach the others
            self._relay.stop()
            self._relay = None
        if self._store is not None:
            self._store.close()
        return lost

    # -- HTTP side -------------------------------------------------------------------------------

    def _readiness(self) -> str | None:
        if self._admission is None or self._admission.draining:
            return "draining"
        writer = self._writer
        if writer is not None and not writer.healthy:
            self.metrics.set_store_up(False)
            return f"store unavailable: {writer.last_error or 'commit failed'}"
        if not self.store.ping():
            self.metrics.set_store_up(False)
            return "store unavailable"
        keeper = self._keeper
        if keeper is not None and not keeper.lease_ok:
            return "lease expired: the heartbeat could not renew it (other instances may reap this one)"
        self.metrics.set_store_up(True)
        return None

    async def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        path = parts.path
        # A plain dict for the platforms' signature checks; the ops API gets websockets' own
        # multi-valued headers, so a repeated Authorization is refused rather than half-read.
        headers = {name: value for name, value in request.headers.raw_items()}
        ops = self._ops
        assert ops is not None and self._admission is not None and self._context is not None
        if ops.handles(path):
            if path == "/metrics":  # the waiting gauge is only set at admissions; refresh it for the scrape
                self.metrics.set_waiting(self._admission.calls()[1])
            method = getattr(request, "method", "GET")  # websockets < 14 parses GET requests only
            answer = await self._context.loop.run_in_executor(
                self._context.pool, ops.answer, method, request.path, request.headers
            )
            return _response(answer)
        if path == EVENTS_PATH:
            if not ops.socket_ok(request.headers):
                return _text(401, "Unauthorized", "a valid Authorization: Bearer <api token> is required\n")
            return None
        if path not in (AUDIOHOOK_PATH, TRANSCRIPTION_PATH, TWILIO_PATH, STREAM_PATH):
            return _text(404, "Not Found", f"no route {path}\n")
        if self._admission.draining:
            return _text(503, "Service Unavailable", "the service is shutting down\n")
        if path in (AUDIOHOOK_PATH, TRANSCRIPTION_PATH):
            try:
                verified = verify_request(
                    target=request.path,
                    headers=headers,
                    client_secrets=self.config.audiohook_keys,
                    now=time.time(),
                    scheme="wss" if self._server_ssl is not None else "ws",
                )
            except SignatureError as exc:
                await asyncio.sleep(FAILURE_DELAY)  # the reference delays every failure (no timing oracle)
                self.metrics.call_refused("audiohook", "unauthorized")
                log.warning("AudioHook upgrade refused (%d): %s", exc.status, exc.info)
                return _text(
                    exc.status, "Unauthorized" if exc.status == 401 else "Bad Request", f"{exc.info}\n"
                )
            self._verified[id(connection)] = verified
        elif path == TWILIO_PATH and self.config.twilio_auth_token:
            public = self._public_url(request, headers)
            try:
                twilio_signature.check_upgrade(self.config.twilio_auth_token, public, headers)
            except twilio_signature.SignatureError as exc:
                self.metrics.call_refused("twilio", "unauthorized")
                log.warning("Twilio upgrade refused: %s", exc)
                return _text(403, "Forbidden", f"{exc}\n")
        elif path == STREAM_PATH and not ops.socket_ok(request.headers):
            self.metrics.call_refused("stream", "unauthorized")
            return _text(401, "Unauthorized", "a valid Authorization: Bearer <api token> is required\n")
        return None

    def _public_url(self, request: Request, headers: dict[str, str]) -> str:
        """The URL Twilio signed: ``--public-url`` + the request's path and query, else from ``Host``."""
        if self.config.public_url:
            return self.config.public_url.rstrip("/") + request.path
        host = next((v for k, v in headers.items() if k.lower() == "host"), f"localhost:{self._port}")
        return f"wss://{host}{request.path}"

    # -- WebSocket side ----------------------------------------------------------------------------

    async def _handle(self, websocket: ServerConnection) -> None:
        task = asyncio.current_task()
        assert task is not None and self._context is not None
        if websocket.request is not None and urlsplit(websocket.request.path).path == EVENTS_PATH:
            assert self._feed is not None
            await serve_feed(websocket, self._feed)  # not a call: a drain does not wait for it
            return
        self._tasks.add(task)
        try:
            connection = self._connection_for(websocket)
            await connection.run()
        except Exception:
            log.exception("connection on %s failed", websocket.request.path if websocket.request else "?")
        finally:
            self._tasks.discard(task)
            self._verified.pop(id(websocket), None)

    def _connection_for(self, websocket: ServerConnection) -> CallConnection:
        assert self._context is not None and websocket.request is not None
        parts = urlsplit(websocket.request.path)
        if parts.path in (AUDIOHOOK_PATH, TRANSCRIPTION_PATH):
            verified = self._verified.pop(id(websocket))
            wanted = parts.path == TRANSCRIPTION_PATH or parse_qs(parts.query).get("transcripts") == ["true"]
            session = AudioHookSession(verified, SessionConfig(transcription_connector=wanted))
            return AudioHookConnection(self._context, websocket, session=session)
        if parts.path == TWILIO_PATH:
            return TwilioConnection(self._context, websocket)
        return PlainConnection(self._context, websocket)


def _select_subprotocol(connection: ServerConnection, offered: Sequence[Subprotocol]) -> Subprotocol | None:
    """Accept ``bearer`` when offered (the token follows it; never echoed); else no subprotocol."""
    return Subprotocol(BEARER_SUBPROTOCOL) if BEARER_SUBPROTOCOL in offered else None


def _text(status: int, reason: str, body: str) -> Response:
    data = body.encode()
    headers = Headers(
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(data))),
            ("Connection", "close"),
        ]
    )
    return Response(status, reason, headers, data)


def _response(answer: HttpAnswer) -> Response:
    headers = Headers([*answer.all_headers(), ("Connection", "close")])
    return Response(answer.status, answer.reason, headers, answer.body)


__all__ = [
    "AUDIOHOOK_PATH",
    "EVENTS_PATH",
    "STREAM_PATH",
    "TRANSCRIPTION_PATH",
    "TWILIO_PATH",
    "IngestService",
    "ServiceError",
]
