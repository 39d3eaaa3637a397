"""Where the CLI connects: Deepgram, the embedded local server, or a URL the user gives.

Rules (the issue's): ``--url`` wins; otherwise ``--local`` or no ``DEEPGRAM_API_KEY`` starts the
embedded local server (real offline engines) for the duration of the command; otherwise Deepgram
(``wss://api.deepgram.com``, agent ``wss://agent.deepgram.com``).

TLS (Deepgram, or a ``wss://`` ``--url``): certificates are verified against the system trust
store; set ``SSL_CERT_FILE`` (or ``SSL_CERT_DIR``) to a CA bundle to trust a private CA, e.g. a
corporate TLS proxy. A certificate that does not verify fails the command with an error naming it.
"""

from __future__ import annotations

import argparse
import os
import ssl
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import attrs

from actors.errors import ActorsError, OptionsError
from actors.protocol.auth import Auth
from actors.runtime import ConnectionConfig

DEEPGRAM_URL = "wss://api.deepgram.com"
DEEPGRAM_AGENT_URL = "wss://agent.deepgram.com"
LOCAL_KEY = "local"  # the embedded server accepts any key; this placeholder is not a secret

TargetKind = Literal["deepgram", "embedded", "url"]


@attrs.frozen
class Target:
    """A resolved destination: base URLs per host and the key to authenticate with."""

    kind: TargetKind
    url: str
    agent_url: str
    api_key: str = attrs.field(repr=False)
    engine_workers: int | None = None  # the embedded server's recognizer processes, when known

    def base_url(self, host: str) -> str:
        """The base URL for an `ApiSpec.host` ("production" or "agent")."""
        return self.agent_url if host == "agent" else self.url

    def connection_config(self, api: Any, **config: Any) -> ConnectionConfig:
        """The ``ConnectionConfig`` for ``api`` (an ``ApiSpec``) on this target, authenticated with
        its key; ``config`` adds the other ``ConnectionConfig`` fields (``options``, ...)."""
        return ConnectionConfig(
            api=api, base_url=self.base_url(api.host), auth=Auth.token(self.api_key), **config
        )

    def describe(self) -> str:
        """A line for the user saying where audio goes (never the key)."""
        if self.kind == "embedded":
            return f"using the embedded local server at {self.url} (offline engines; no DEEPGRAM_API_KEY)"
        if self.kind == "deepgram":
            return f"using Deepgram at {self.url} (DEEPGRAM_API_KEY is set)"
        return f"using {self.url}"


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--local``, ``--url`` and ``--api-key-env`` to a sub-command's parser."""
    group = parser.add_argument_group(
        "where to connect",
        "TLS certificates are checked against the system trust store; set SSL_CERT_FILE to a CA "
        "bundle to trust a private CA (e.g. a corporate TLS proxy).",
    )
    exclusive = group.add_mutually_exclusive_group()
    exclusive.add_argument(
        "--local",
        action="store_true",
        help="use the embedded local server even when DEEPGRAM_API_KEY is set",
    )
    exclusive.add_argument(
        "--url",
        help="base URL of a Deepgram-compatible server, e.g. ws://127.0.0.1:8080 (default: Deepgram, "
        "or the embedded server when DEEPGRAM_API_KEY is unset)",
    )


def check_url(url: str) -> str:
    """Return ``url`` without a trailing slash, or raise `OptionsError` if it is not ws(s)://host[:port]."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss", "http", "https") or not parts.hostname:
        raise OptionsError("--url", f"expected ws://host[:port] or wss://host[:port], got {url!r}", url)
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise OptionsError("--url", f"bad port in {url!r}", url) from None
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    return f"{scheme}://{parts.netloc}{parts.path}".rstrip("/")


@contextmanager
def open_target(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Iterator[Target]:
    """Resolve the target from ``args`` and the environment; start and stop the embedded server if used."""
    env = os.environ if environ is None else environ
    key = env.get("DEEPGRAM_API_KEY") or ""
    if args.url:
        url = check_url(args.url)
        yield Target("url", url, url, key or LOCAL_KEY)
        return
    if key and not args.local:
        yield Target("deepgram", DEEPGRAM_URL, DEEPGRAM_AGENT_URL, key)
        return
    try:
        from actors.server import LocalServer  # the server extra is only needed on this path
    except ImportError as exc:
        raise OptionsError(
            "--local",
            f"the embedded server needs the server extra ({exc.name} is missing): "
            "pip install 'actors-deepgram[server]', or set DEEPGRAM_API_KEY, or pass --url",
        ) from None

    server = LocalServer(host="127.0.0.1", port=0, engine="real")
    server.start()
    try:
        pool = getattr(server.engine, "pool", None)
        workers = getattr(pool, "size", None)
        yield Target(
            "embedded", server.url, server.url, LOCAL_KEY, workers if isinstance(workers, int) else None
        )
    finally:
        server.stop()


T = TypeVar("T")


def run_on_target(args: argparse.Namespace, work: Callable[[Target], T]) -> T | None:
    """Open the command's target, say where it goes (on stderr) and return ``work(target)``.

    Returns None after printing ``error: ...`` on stderr when the work failed with an
    ``ActorsError``, the server's TLS certificate did not verify, or the server could not be
    reached (``OSError``); the command then exits 1.
    """
    try:
        with open_target(args) as target:
            print(target.describe(), file=sys.stderr)
            return work(target)
    except ActorsError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except ssl.SSLCertVerificationError as exc:  # reached, but its certificate is not trusted
        print(f"error: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"error: cannot reach the server: {exc}", file=sys.stderr)
    return None
