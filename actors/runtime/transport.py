"""Opening a websocket-client socket for a :class:`ConnectionConfig`.

* The URL is ``base_url + api.path`` plus the options' query and ``extra_query``.
* Credentials go in the ``Authorization`` header (or the ``token, <key>`` subprotocol form); they
  never appear in a URL, a log line or an exception message.
* ``wss://`` connections share one ``SSLContext`` (building one per socket costs ~46 ms and
  ~850 KiB, measured): the system trust store, or the bundle named by ``SSL_CERT_FILE`` /
  ``SSL_CERT_DIR`` (read when a connection opens; one shared context per value). A connection
  whose ``ConnectionConfig.ssl_context`` is set uses that context instead (a private CA, a
  corporate TLS proxy, client certificates). A certificate that does not verify raises
  ``ssl.SSLCertVerificationError`` naming the host and the reason.
* UTF-8 validation in websocket-client is skipped: its pure-Python check costs ~1 ms per
  message. Our frame layer checks every whole text message in C instead and fails the
  connection with 1007 (:mod:`actors.runtime.frames`).
* A refused upgrade becomes :class:`~actors.errors.HandshakeError` with the HTTP status,
  ``dg-error``, ``dg-request-id`` and body. Network errors are ``OSError`` subclasses.
* After the handshake websocket-client steps aside: the socket is made non-blocking, frames are
  built and parsed by :class:`~actors.runtime.connection_core.ConnectionCore`, written by
  :class:`SocketWriter` and read by the shared :mod:`~actors.runtime.read_pool`. A blocking
  socket with a timeout makes CPython poll before every send and recv, and websocket-client
  reads each frame in several small recv calls -- each a GIL hand-off and a syscall on the
  audio hot path (``scripts/bench_frames.py`` measures its framing against ours).
"""

from __future__ import annotations

import os
import select
import socket
import ssl
import threading
from typing import Any
from urllib.parse import urlencode, urlsplit

import attrs
import websocket

from actors._lean_attrs import LeanFrozen
from actors.errors import HandshakeError
from actors.runtime.config import ConnectionConfig

USER_AGENT = "actors/0.1 (websocket-client)"

#: The shared client contexts, one per (``SSL_CERT_FILE``, ``SSL_CERT_DIR``) value seen.
_ssl_contexts: dict[tuple[str | None, str | None], ssl.SSLContext] = {}
_ssl_lock = threading.Lock()
_TRUST_ENV_VARS = ("SSL_CERT_FILE", "SSL_CERT_DIR")


def shared_ssl_context() -> ssl.SSLContext:
    """The process-wide TLS client context (hostname checking on) for the current trust settings.

    Trusts the system store, or what ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` name (OpenSSL reads
    them when the context is built). The variables are looked at on every call, so setting them
    after a first connection takes effect; each distinct value builds one context, once.
    """
    key = (os.environ.get(_TRUST_ENV_VARS[0]), os.environ.get(_TRUST_ENV_VARS[1]))
    context = _ssl_contexts.get(key)
    if context is not None:
        return context
    with _ssl_lock:
        context = _ssl_contexts.get(key)
        if context is None:
            context = _ssl_contexts[key] = ssl.create_default_context()
        return context


def _tls_context(config: ConnectionConfig) -> ssl.SSLContext:
    return config.ssl_context if config.ssl_context is not None else shared_ssl_context()


def _verification_error(config: ConnectionConfig, exc: ssl.SSLCertVerificationError) -> ssl.SSLError:
    host = urlsplit(config.base_url).hostname or config.base_url
    reason = exc.verify_message or exc.reason or "the certificate was not accepted"
    if config.ssl_context is not None:
        trusted = "the ssl_context given"
    else:
        named = [f"{name}={os.environ[name]}" for name in _TRUST_ENV_VARS if os.environ.get(name)]
        trusted = f"the default trust store ({', '.join(named)})" if named else "the system trust store"
    error = ssl.SSLCertVerificationError(
        exc.errno or 1,
        f"TLS certificate verification failed for {host}: {reason} (trusting {trusted}; to trust a "
        "private CA pass ssl_context=... or set SSL_CERT_FILE to its bundle)",
    )
    error.verify_code = exc.verify_code
    error.verify_message = exc.verify_message
    return error


def build_url(config: ConnectionConfig) -> str:
    """The full WebSocket URL of ``config``: base URL, API path, options' query, then ``extra_query``."""
    pairs: list[tuple[str, str]] = []
    if config.options is not None:
        pairs.extend(config.options.to_query())
    pairs.extend(config.extra_query)
    url = config.base_url.rstrip("/") + config.api.path
    return f"{url}?{urlencode(pairs)}" if pairs else url


def build_headers(config: ConnectionConfig) -> tuple[list[str], list[str] | None]:
    """Handshake header lines and subprotocols (None = no subprotocol offered)."""
    headers = {"User-Agent": USER_AGENT}
    subprotocols: list[str] | None = None
    if config.auth is not None:
        if config.auth_in_subprotocol:
            subprotocols = list(config.auth.subprotocols())
        else:
            name, value = config.auth.header()
            headers[name] = value
    headers.update(config.headers)
    return [f"{k}: {v}" for k, v in headers.items()], subprotocols


@attrs.frozen(repr=False, eq=False)
class OpenSocket(LeanFrozen):
    """A connected socket and what the handshake told us.

    ``early_data`` holds bytes the server sent right after its handshake response that were read
    with it (the start of the first frames): feed them to the frame parser before the socket.
    """

    ws: websocket.WebSocket
    request_id: str | None
    url_path: str
    headers: dict[str, str]
    early_data: bytes = b""


class _ReadAheadSocket:
    """The socket websocket-client's handshake reads from, in 4 KiB pieces.

    websocket-client reads the response headers one byte per ``recv`` call (about 200 system
    calls and Python round trips per handshake); this reads what has arrived and hands it out
    from a buffer. What is left after the headers is the start of the first frames
    (:attr:`OpenSocket.early_data`). Everything else is the real socket's.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.raw = sock
        self.buffer = bytearray()

    def recv(self, bufsize: int) -> bytes:
        buffer = self.buffer
        if not buffer:
            data = self.raw.recv(max(bufsize, _HANDSHAKE_READ))
            if len(data) <= bufsize:
                return data
            buffer += data
        out = bytes(buffer[:bufsize])
        del buffer[:bufsize]
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


#: One read of the handshake response takes up to this much.
_HANDSHAKE_READ = 4096


def _connect_tcp(config: ConnectionConfig, url: str) -> socket.socket:
    """The TCP (and, for ``wss://``, TLS) connection of ``url``, before the WebSocket handshake."""
    parts = urlsplit(url)
    secure = parts.scheme == "wss"
    host = parts.hostname or ""
    port = parts.port or (443 if secure else 80)
    # An ASCII host goes to getaddrinfo as bytes: a str is encoded with the idna codec, whose first
    # use imports encodings.idna, stringprep and unicodedata (about 2 ms of a cold start).
    address: str | bytes = host.encode("ascii") if host.isascii() else host
    sock = socket.create_connection((address, port), timeout=config.connect_timeout)  # type: ignore[arg-type]
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # audio frames go out at once
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        if secure:
            return _tls_context(config).wrap_socket(sock, server_hostname=host)
    except BaseException:
        sock.close()
        raise
    return sock


def _proxied(url: str) -> bool:
    """Whether the environment names a proxy for ``url`` (websocket-client then connects itself).

    websocket-client reads ``https_proxy`` for ``wss://`` and ``http_proxy`` for ``ws://`` (either
    case), with ``no_proxy`` exceptions that it applies itself.
    """
    name = "https_proxy" if url.startswith("wss:") else "http_proxy"
    return bool(os.environ.get(name) or os.environ.get(name.upper()))


def _where(config: ConnectionConfig) -> str:
    return f"{urlsplit(config.base_url).netloc}{config.api.path}"


def _handshake_error(exc: websocket.WebSocketBadStatusException) -> HandshakeError:
    headers = {str(k).lower(): str(v) for k, v in (exc.resp_headers or {}).items()}
    body_raw: Any = exc.resp_body
    if isinstance(body_raw, bytes | bytearray):
        body: str | None = bytes(body_raw).decode("utf-8", "replace")
    else:
        body = None if body_raw is None else str(body_raw)
    return HandshakeError(
        status=int(exc.status_code),
        dg_error=headers.get("dg-error"),
        request_id=headers.get("dg-request-id"),
        body=body,
        headers=headers,
    )


def open_socket(config: ConnectionConfig) -> OpenSocket:
    """Connect and upgrade; the socket is left non-blocking (write it with :class:`SocketWriter`).

    Raises ``HandshakeError`` when the server refuses the upgrade, ``TimeoutError`` when
    ``connect_timeout`` passes, ``ssl.SSLCertVerificationError`` when the server's certificate
    does not verify, and ``ConnectionError`` (an ``OSError``) for other network or
    protocol failures during the handshake.
    """
    url = build_url(config)
    header, subprotocols = build_headers(config)
    sslopt: dict[str, Any] = {"context": _tls_context(config)} if url.startswith("wss:") else {}
    ws = websocket.WebSocket(skip_utf8_validation=True, enable_multithread=True, sslopt=sslopt)
    ws.settimeout(config.connect_timeout)
    read_ahead: _ReadAheadSocket | None = None
    try:
        if _proxied(url):  # websocket-client knows the proxy variables: it connects itself
            ws.connect(url, header=header, subprotocols=subprotocols, suppress_origin=True)
        else:
            read_ahead = _ReadAheadSocket(_connect_tcp(config, url))
            ws.connect(url, header=header, subprotocols=subprotocols, suppress_origin=True, socket=read_ahead)
    except websocket.WebSocketBadStatusException as exc:
        ws.shutdown()
        raise _handshake_error(exc) from None
    except (websocket.WebSocketTimeoutException, TimeoutError):
        ws.shutdown()
        _close(read_ahead)
        raise TimeoutError(
            f"connecting to {_where(config)} took longer than {config.connect_timeout}s"
        ) from None
    except ssl.SSLCertVerificationError as exc:
        ws.shutdown()
        _close(read_ahead)
        raise _verification_error(config, exc) from None
    except websocket.WebSocketException as exc:
        ws.shutdown()
        _close(read_ahead)
        raise ConnectionError(f"WebSocket handshake with {_where(config)} failed: {exc}") from None
    except BaseException:  # OSError (refused, reset, DNS) and anything else: no socket left behind
        ws.shutdown()
        _close(read_ahead)
        raise
    early = b""
    if read_ahead is not None:
        ws.sock = read_ahead.raw
        early = bytes(read_ahead.buffer)
    sock = ws.sock
    if sock is not None:
        sock.settimeout(0.0)  # non-blocking from now on: SocketWriter and the read pool wait with poll()
    headers = {str(k).lower(): str(v) for k, v in (ws.getheaders() or {}).items()}
    return OpenSocket(
        ws=ws,
        request_id=headers.get("dg-request-id"),
        url_path=config.api.path,
        headers=headers,
        early_data=early,
    )


def _close(read_ahead: _ReadAheadSocket | None) -> None:
    if read_ahead is not None:
        read_ahead.raw.close()


_WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantWriteError, ssl.SSLWantReadError)
_POLL_OUT = select.POLLOUT | select.POLLHUP | select.POLLERR


class SendTimeout(TimeoutError):
    """A socket write could not complete within ``send_timeout``: the peer stopped reading."""


class SocketWriter:
    """Writes bytes to a connected non-blocking socket in order, and never blocks.

    What the kernel does not take at once is kept as the *backlog* and goes out before anything
    written later, so frames stay whole and ordered. Every call but :meth:`wait_writable` is made
    with the owner's lock held (:class:`~actors.runtime.socket_link.SocketLink`); a thread that
    may block waits for the socket with :meth:`wait_writable` *without* the lock, so the lock is
    only ever held for non-blocking work. A broken socket raises ``OSError``.
    """

    __slots__ = ("_backlog", "_sock", "sent_bytes")

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._backlog: list[memoryview] = []
        #: Bytes the kernel took so far (a blocking flush watches it for progress).
        self.sent_bytes = 0

    @property
    def has_backlog(self) -> bool:
        """True when part of an earlier write still waits to go out."""
        return bool(self._backlog)

    def send_nowait(self, data: bytes) -> bool:
        """Write ``data`` after the backlog, as far as the socket takes it now; True when all is out."""
        if not self._backlog:  # the usual case: straight to the socket
            if not data:
                return True
            try:
                sent = self._sock.send(data)
            except _WOULD_BLOCK:
                sent = 0
            self.sent_bytes += sent
            if sent == len(data):
                return True
            self._backlog.append(memoryview(data)[sent:])
            return False
        if data:
            self._backlog.append(memoryview(data))
        return self.flush_nowait()

    def flush_nowait(self) -> bool:
        """Write as much of the backlog as the socket takes now; True when nothing is left."""
        backlog = self._backlog
        send = self._sock.send
        while backlog:
            view = backlog[0]
            try:
                sent = send(view)
            except _WOULD_BLOCK:
                return False
            self.sent_bytes += sent
            if sent < len(view):
                backlog[0] = view[sent:]
                return False
            del backlog[0]
        return True

    def wait_writable(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the socket to take data (call without the lock)."""
        poller = select.poll()
        try:
            poller.register(self._sock.fileno(), _POLL_OUT)
        except (OSError, ValueError):
            return  # closed meanwhile: the next write reports it
        poller.poll(max(1, int(timeout * 1000)))


__all__ = [
    "USER_AGENT",
    "OpenSocket",
    "SendTimeout",
    "SocketWriter",
    "build_headers",
    "build_url",
    "open_socket",
    "shared_ssl_context",
]
