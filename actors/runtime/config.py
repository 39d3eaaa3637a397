"""ConnectionConfig: everything needed to open one connection, validated before any socket exists."""

from __future__ import annotations

import ssl
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import attrs

from actors._lean_attrs import LeanFrozen
from actors.protocol.session import SessionRules
from actors.runtime.backpressure import SendBufferPolicy, audio_bytes_per_second
from actors.runtime.keepalive import KeepalivePlan

if TYPE_CHECKING:
    from actors.protocol.apis import ApiSpec
    from actors.protocol.auth import Auth

#: Liveness defaults of a plain ``Connection`` (``ConnectionConfig.ping_interval`` / ``ping_timeout``).
DEFAULT_PING_INTERVAL = 5.0
DEFAULT_PING_TIMEOUT = 10.0
_SECRET_HEADERS = frozenset({"authorization", "sec-websocket-protocol", "cookie", "x-api-key"})


def _to_headers(value: Mapping[str, str] | None) -> dict[str, str]:
    return dict(value or {})


def _to_pairs(value: Sequence[tuple[str, str]] | Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    if not value:
        return ()
    items = value.items() if isinstance(value, Mapping) else value
    pairs: list[tuple[str, str]] = []
    for item in items:
        try:
            key, val = item
        except (TypeError, ValueError):
            raise TypeError(f"extra_query items must be (name, value) pairs, got {item!r}") from None
        pairs.append((str(key), str(val)))
    return tuple(pairs)


def _positive(name: str) -> Any:
    def check(_inst: object, _attr: object, value: float) -> None:
        if not value > 0:
            raise ValueError(f"ConnectionConfig.{name} must be > 0 seconds, got {value!r}")

    return check


def _check_base_url(_inst: object, _attr: object, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("ws", "wss") or not parts.netloc:
        raise ValueError(
            f"ConnectionConfig.base_url must look like ws://host:port or wss://host, got {value!r}"
        )


def _masked_headers(headers: Mapping[str, str]) -> str:
    shown = {k: ("***" if k.lower() in _SECRET_HEADERS else v) for k, v in headers.items()}
    return repr(shown)


@attrs.frozen(kw_only=True, repr=False, eq=False)
class ConnectionConfig(LeanFrozen):
    """How to open one connection to one API.

    * ``api`` -- an ``ApiSpec`` (``LISTEN_V1``, ``LISTEN_V2``, ``SPEAK_V1``, ``AGENT_V1``).
    * ``base_url`` -- ``ws://127.0.0.1:PORT`` or ``wss://api.deepgram.com``; the API's path is appended.
    * ``options`` -- the API's validated options object (``ListenV1Options``...) or None.
    * ``auth`` -- ``Auth.token(key)`` / ``Auth.bearer(jwt)`` or None; sent as the ``Authorization``
      header, or as the ``Sec-WebSocket-Protocol`` form when ``auth_in_subprotocol``.
    * ``headers`` -- extra handshake headers; ``extra_query`` -- extra query pairs passed through
      unvalidated (for parameters newer than this library).
    * ``keepalive`` -- keep idle connections open (``keepalive_interval`` overrides the API default).
    * ``connect_timeout`` -- TCP + TLS + upgrade deadline; ``send_timeout`` -- a socket write that
      blocks longer (server stopped reading) fails the connection; ``close_timeout`` -- how long
      ``close()`` waits for the server's close frame before dropping the socket.
    * ``send_buffer`` -- bound and policy for queued outgoing audio.
    * ``queue_put_timeout`` -- the longest a full subscriber queue may stall the reader per event.
    * ``coalesce_audio`` / ``max_frame_bytes`` -- audio queued while the socket was busy is sent
      as one frame of at most ``max_frame_bytes``.
    * ``audio_flush_interval`` -- seconds (0 to 1). ``0`` = immediate: ``send_audio`` writes the
      frame on the caller's thread when nothing is queued ahead of it (else the connection's
      actor writes it), adding no latency. ``t > 0`` = a coalescing window: audio is queued and
      written, as one frame, within ``t`` seconds by the one shared flusher thread
      (:mod:`actors.runtime.flusher`) -- far less CPU per stream for many streams, at the cost of
      up to ``t`` of added latency. A chunk holding ``t`` or more of audio (byte rate known) is
      written at once, as when immediate: it has nothing to wait for. ``None`` = the runtime's
      default: immediate for a ``Connection``; the ``Supervisor``'s own ``audio_flush_interval``
      for supervised streams.
    * ``bytes_per_second`` -- audio byte rate, derived from the options when None.
    * ``ssl_context`` -- the ``ssl.SSLContext`` for a ``wss://`` connection (a private CA bundle,
      a corporate TLS proxy, client certificates). None (default) = one context shared by every
      connection: the system trust store, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set.
    * ``read_timeout`` -- seconds (default 10). A server that stops in the *middle of a frame*
      (a header promising N bytes, part of them, then nothing while the socket stays open) fails
      the connection after this long with no new byte: ``ConnectionClosedError(1006, ...)``,
      retryable. It is not an idle timeout: a healthy connection may stay silent *between* frames
      for any time (that is what keepalive and the liveness pings, ``ping_interval``, watch). The
      clock restarts with every byte received, so a slow but moving frame is never cut; 10 s
      outlasts several TCP retransmissions.
    * ``ping_interval`` / ``ping_timeout`` -- liveness: when the server has sent nothing at all
      (no message, no audio, no pong) for ``ping_interval`` s, a WebSocket ping goes out
      (whatever the client is sending); if nothing comes back within ``ping_timeout`` s the
      connection fails (1006, "no pong ..."). A server that is alive answers pings even while it
      has no results to send, so silence or a slow transcriber never ends a connection. None =
      the runtime's default: 5 s / 10 s for a ``Connection``; for supervised streams, half the
      ``Supervisor``'s ``stall_timeout`` each (so a dead server is replaced within it).
      ``ping_interval=0`` turns liveness pings off. Independent of ``keepalive``.

    The repr never shows the credentials or secret headers.
    """

    api: ApiSpec
    base_url: str = attrs.field(validator=_check_base_url)
    options: Any = None
    auth: Auth | None = attrs.field(default=None, repr=False)
    auth_in_subprotocol: bool = False
    headers: dict[str, str] = attrs.field(factory=dict, converter=_to_headers, repr=_masked_headers)
    extra_query: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_to_pairs)
    keepalive: bool = True
    keepalive_interval: float | None = None
    connect_timeout: float = attrs.field(default=10.0, validator=_positive("connect_timeout"))
    send_timeout: float = attrs.field(default=10.0, validator=_positive("send_timeout"))
    close_timeout: float = attrs.field(default=2.0, validator=_positive("close_timeout"))
    send_buffer: SendBufferPolicy = attrs.field(factory=SendBufferPolicy)
    queue_put_timeout: float = attrs.field(default=5.0, validator=_positive("queue_put_timeout"))
    coalesce_audio: bool = True
    max_frame_bytes: int = 256 * 1024
    bytes_per_second: float | None = None
    audio_flush_interval: float | None = None
    ssl_context: ssl.SSLContext | None = attrs.field(default=None, repr=False)
    read_timeout: float = attrs.field(default=10.0, validator=_positive("read_timeout"))
    ping_interval: float | None = None
    ping_timeout: float | None = None

    def __attrs_post_init__(self) -> None:
        name = getattr(self.api, "name", None)
        if not isinstance(name, str) or not hasattr(self.api, "path"):
            raise TypeError(f"ConnectionConfig.api must be an ApiSpec (LISTEN_V1, ...), got {self.api!r}")
        if not isinstance(getattr(self.api, "session", None), SessionRules):
            raise TypeError(f"ConnectionConfig.api {name!r} declares no SessionRules (api.session)")
        if self.keepalive_interval is not None and not self.keepalive_interval > 0:
            raise ValueError(
                f"ConnectionConfig.keepalive_interval must be > 0, got {self.keepalive_interval!r}"
            )
        if self.options is not None and not hasattr(self.options, "to_query"):
            raise TypeError(
                f"ConnectionConfig.options must be an options object with to_query() "
                f"(e.g. ListenV1Options.from_kwargs(...)), got {type(self.options).__name__}"
            )
        interval = self.audio_flush_interval
        if interval is not None and not (isinstance(interval, int | float) and 0 <= interval <= 1.0):
            raise ValueError(
                "ConnectionConfig.audio_flush_interval must be None or 0..1 seconds (0 = write at once), "
                f"got {interval!r}"
            )
        if self.ssl_context is not None and not isinstance(self.ssl_context, ssl.SSLContext):
            raise TypeError(
                f"ConnectionConfig.ssl_context must be an ssl.SSLContext or None, got "
                f"{type(self.ssl_context).__name__}"
            )
        if self.ping_interval is not None and not (
            isinstance(self.ping_interval, int | float) and self.ping_interval >= 0
        ):
            raise ValueError(
                "ConnectionConfig.ping_interval must be None, 0 (no liveness pings) or > 0 seconds, "
                f"got {self.ping_interval!r}"
            )
        if self.ping_timeout is not None and not (
            isinstance(self.ping_timeout, int | float) and self.ping_timeout > 0
        ):
            raise ValueError(
                f"ConnectionConfig.ping_timeout must be None or > 0 seconds, got {self.ping_timeout!r}"
            )
        if self.max_frame_bytes < 1:
            raise ValueError(f"ConnectionConfig.max_frame_bytes must be >= 1, got {self.max_frame_bytes!r}")
        # Fail now, not at the first send, when max_seconds cannot be converted.
        self.send_buffer.limit_bytes(self.audio_bytes_per_second())

    def audio_bytes_per_second(self) -> float | None:
        """The outgoing audio byte rate: ``bytes_per_second`` or what the options imply (else None)."""
        if self.bytes_per_second is not None:
            return self.bytes_per_second
        opts = self.options
        if opts is None:
            return None
        encoding = getattr(opts, "encoding", None)
        sample_rate = getattr(opts, "sample_rate", None)
        channels = getattr(opts, "channels", None)
        enc = getattr(encoding, "value", encoding)
        try:
            rate = int(sample_rate) if sample_rate is not None else None
            chans = int(channels) if channels is not None else None
        except (TypeError, ValueError):
            return None
        return audio_bytes_per_second(enc if isinstance(enc, str) else None, rate, chans)

    def keepalive_plan(self) -> KeepalivePlan | None:
        """The keepalive and liveness plan of this connection, or None when both are off."""
        plan = KeepalivePlan.for_session(self.api.session).with_interval(self.keepalive_interval)
        ping_after = DEFAULT_PING_INTERVAL if self.ping_interval is None else float(self.ping_interval)
        timeout = DEFAULT_PING_TIMEOUT if self.ping_timeout is None else float(self.ping_timeout)
        plan = plan.with_liveness(ping_after or None, timeout)
        if not self.keepalive:
            plan = plan.without_idle_keepalive()
        return plan if plan.active else None


__all__ = ["ConnectionConfig", "SendBufferPolicy"]
