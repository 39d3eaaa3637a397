"""`python -m actors serve`: run the local Deepgram-compatible server until interrupted.

It binds the loopback interface by default. Another ``--host`` (reachable from other machines)
is refused unless ``--api-key`` restricts who may connect: the server would otherwise accept any
key from anyone who can reach it. ``--max-connections`` caps concurrent connections (503 beyond).
Errors are one line on stderr, ``actors serve: ...``, exit status 2.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import Any

from actors._hosts import is_loopback
from actors.errors import OptionsError


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``serve`` sub-command."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "serve",
        help="run the local Deepgram-compatible server",
        description="Serve /v1/listen, /v2/listen, /v1/speak and /v1/agent/converse locally.",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface to bind (default 127.0.0.1); a non-loopback one needs --api-key",
    )
    parser.add_argument("--port", type=int, default=8765, help="TCP port; 0 picks a free one (default 8765)")
    parser.add_argument(
        "--engine", choices=("deterministic", "real"), default="real", help="speech engine (default real)"
    )
    parser.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        metavar="KEY",
        help="accept only this key (repeatable); default: accept any key",
    )
    parser.add_argument(
        "--idle-timeout", type=float, default=10.0, help="seconds without a client frame (10)"
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=None,
        metavar="N",
        help="refuse (503) a connection beyond N concurrent ones (default: no cap)",
    )
    parser.add_argument(
        "--stamp-send-time",
        action="store_true",
        help="add actors_sent_at (wall-clock send time) to every JSON message (benchmarks)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every connection")
    return parser


def _fail(message: str) -> int:
    print(f"actors serve: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Start the server, print its URL, serve until SIGINT/SIGTERM; return the exit status."""
    from actors.server import LocalServer

    if not is_loopback(args.host) and not args.api_keys:
        return _fail(
            f"refusing to serve on {args.host!r} without --api-key: it is not a loopback address, so "
            "anyone who can reach it could use the server; pass --api-key KEY (or --host 127.0.0.1)"
        )
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        server = LocalServer(
            host=args.host,
            port=args.port,
            engine=args.engine,
            api_keys=args.api_keys,
            idle_timeout=args.idle_timeout,
            stamp_send_time=args.stamp_send_time,
            max_connections=args.max_connections,
        )
        server.start()
    except (OptionsError, OSError) as exc:
        return _fail(str(exc))
    except ImportError as exc:
        return _fail(
            f"the {args.engine} engine could not be loaded ({exc}); pip install 'actors-deepgram[server]'"
        )
    done = threading.Event()

    def request_stop(_signum: int, _frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    print(f"serving on {server.url} (engine {server.engine_name}); Ctrl-C to stop", flush=True)
    try:
        done.wait()
    finally:
        server.stop()
    return 0
