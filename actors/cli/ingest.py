"""`python -m actors ingest`: the ingestion service -- live calls from contact-center platforms to a store.

One port serves Genesys AudioHook (/api/v1/audiohook/ws), Twilio Media Streams (/twilio), plain
streams (/v1/stream), the JSON API (/v1/calls) and operations (/healthz, /readyz, /metrics). Every
call is one supervised Deepgram stream; final transcripts are committed to the store. With --ray
the streams run on a Ray cluster's workers instead of in this process.

Every option can also be set by its ACTORS_INGEST_* environment variable (the command line wins).
Prefer the variables for secrets: a command line is visible to every user of the machine (ps).
A host other than loopback needs at least one credential. SIGTERM or SIGINT drains: new calls are
refused, running calls finish (up to --drain-timeout) and are committed. Exit status: 0 after a clean
drain, 1 if the service could not start or some call did not finish in time, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, Protocol

from actors.cli.target import add_target_arguments, open_target
from actors.errors import ActorsError, OptionsError
from actors.ingest.config import ENV, LOG_LEVELS, MAX_QUEUE_SECONDS, IngestConfig, config_from
from actors.ingest.store import redact_url

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

_DEFAULTS = IngestConfig()


def _env(field: str) -> str:
    return f"env {ENV[field]}"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``ingest`` sub-command (values are parsed and checked by `config_from`)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "ingest",
        help="run the ingestion service (AudioHook, Twilio, plain streams -> transcript store)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    listen = parser.add_argument_group("where the service listens")
    listen.add_argument(
        "--host",
        metavar="HOST",
        help=f"interface to bind (default {_DEFAULTS.host}; a non-loopback one needs a credential; "
        f"{_env('host')})",
    )
    listen.add_argument(
        "--port",
        metavar="PORT",
        help=f"TCP port; 0 picks a free one (default {_DEFAULTS.port}; {_env('port')})",
    )
    listen.add_argument(
        "--public-url",
        metavar="URL",
        help="the base URL platforms dial, e.g. wss://ingest.example.com, when a proxy sits in front "
        f"(Twilio signs it; default: from the request's Host; {_env('public_url')})",
    )
    listen.add_argument(
        "--tls-cert",
        metavar="PEM",
        help=f"serve TLS (wss://) with this certificate chain; needs --tls-key ({_env('tls_cert')})",
    )
    listen.add_argument(
        "--tls-key",
        metavar="PEM",
        help=f"the private key of --tls-cert ({_env('tls_key')})",
    )
    parser.add_argument(
        "--store",
        metavar="URL",
        help=f"transcript store: sqlite:PATH, sqlite:///ABSOLUTE/PATH or postgresql://USER@HOST/DB "
        f"(default {_DEFAULTS.store}; {_env('store')}; put a password in the variable, not here)",
    )
    creds = parser.add_argument_group(
        "credentials",
        "Secrets given here are visible in the process list (ps): prefer the environment variables.",
    )
    creds.add_argument(
        "--audiohook-key",
        dest="audiohook_keys",
        action="append",
        metavar="API_KEY=BASE64_SECRET",
        help="accept Genesys AudioHook connections with this API key, signed with this client secret "
        f"(an empty secret accepts unsigned ones); repeatable ({_env('audiohook_keys')}: "
        "KEY=SECRET items separated by commas or spaces)",
    )
    creds.add_argument(
        "--twilio-auth-token",
        metavar="TOKEN",
        help=f"check X-Twilio-Signature on /twilio with this auth token ({_env('twilio_auth_token')})",
    )
    creds.add_argument(
        "--api-token",
        metavar="TOKEN",
        help=f"bearer token required by the JSON API and /v1/stream ({_env('api_token')})",
    )
    calls = parser.add_argument_group("calls")
    calls.add_argument(
        "--max-calls",
        metavar="N",
        help=f"concurrent Deepgram streams (your Deepgram concurrency limit; default {_DEFAULTS.max_calls}; "
        f"{_env('max_calls')})",
    )
    calls.add_argument(
        "--max-waiting",
        metavar="N",
        help="calls that may wait for a stream; more are refused "
        f"(default {_DEFAULTS.max_waiting}; {_env('max_waiting')})",
    )
    calls.add_argument(
        "--queue-seconds",
        metavar="S",
        help=f"audio a waiting call may buffer before it is refused, at most {MAX_QUEUE_SECONDS:g} "
        f"(default {_DEFAULTS.queue_seconds:g}; {_env('queue_seconds')})",
    )
    calls.add_argument(
        "--drain-timeout",
        metavar="S",
        help="on SIGTERM/SIGINT, time for running calls to finish "
        f"(default {_DEFAULTS.drain_timeout:g}; {_env('drain_timeout')})",
    )
    calls.add_argument(
        "--flux",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"transcribe with Flux (Listen V2) instead of Listen V1 ({_env('flux')}=1)",
    )
    calls.add_argument(
        "--param",
        dest="params",
        action="append",
        metavar="KEY=VALUE",
        help="extra Deepgram query option for every call, e.g. model=nova-3; repeatable "
        f"({_env('params')}: KEY=VALUE items separated by & or commas); encoding, sample_rate, "
        "channels and multichannel come from each call's media",
    )
    cluster = parser.add_argument_group(
        "Ray cluster",
        "run every call's Deepgram stream(s) on a Ray cluster's workers; the platform sockets, the store "
        "and the ops API stay in this process (needs the ray extra: pip install 'actors-deepgram[ray]')",
    )
    cluster.add_argument(
        "--ray",
        nargs="?",
        const="auto",
        metavar="auto|local|HOST:PORT",
        help="auto (the cluster running on this machine, or RAY_ADDRESS), local (a private one started "
        "for the service) or the head's HOST:PORT (default when given alone: auto); --max-calls is then "
        "the limit of the whole cluster. Give the nodes SSL_CERT_FILE for a private CA; the embedded "
        f"server (no DEEPGRAM_API_KEY) serves this machine's nodes only ({_env('ray')})",
    )
    cluster.add_argument(
        "--ray-workers",
        metavar="N",
        help=f"Ray worker processes to start (default: one per cluster CPU; {_env('ray_workers')})",
    )
    instances = parser.add_argument_group(
        "several instances",
        "instances behind one load balancer share a PostgreSQL store; each holds a lease there, and "
        "the calls of one that dies are marked interrupted by the others when its lease runs out",
    )
    instances.add_argument(
        "--instance-id",
        metavar="ID",
        help="this instance's name in the store and in /v1/calls (letters, digits, . _ : -; "
        f"default: a fresh UUID at every start; {_env('instance_id')})",
    )
    instances.add_argument(
        "--lease-seconds",
        metavar="S",
        help="how long this instance's lease lasts without a heartbeat (renewed every third of it); "
        f"a dead instance's calls are interrupted that long after it died (default "
        f"{_DEFAULTS.lease_seconds:g}; {_env('lease_seconds')})",
    )
    parser.add_argument(
        "--log-level",
        metavar="LEVEL",
        help=f"{', '.join(LOG_LEVELS)} (default {_DEFAULTS.log_level}; {_env('log_level')})",
    )
    add_target_arguments(parser)
    return parser


def _say(message: str) -> None:
    """``actors ingest: MESSAGE`` on stderr. A stderr whose reader is gone (a supervisor that died: a
    broken pipe) is ignored, so that the service still drains and exits instead of failing mid-way."""
    with suppress(OSError):
        print(f"actors ingest: {message}", file=sys.stderr, flush=True)


def _fail(message: str, status: int) -> int:
    _say(message)
    return status


@contextmanager
def _logging_to_stderr(level: str) -> Iterator[None]:
    """One line per record (time level logger message) on stderr at ``level``, for the command's run."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set ``stop`` (instead of killing the process) until the block ends.

    Joining a Ray cluster (``--ray``) keeps them: `actors.cluster.join_cluster` puts back the
    SIGTERM handler ``ray.init`` replaces.
    """

    def request_stop(_signum: int, _frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run(args: argparse.Namespace) -> int:
    """Check the configuration, start the service, serve until SIGTERM/SIGINT, drain; return the status."""
    try:
        config = config_from(args, os.environ)
    except OptionsError as exc:
        return _fail(str(exc), EXIT_USAGE)
    stop = threading.Event()
    # Signals are caught from here on: one arriving during start-up drains right after it.
    with _logging_to_stderr(config.log_level), _stop_on_signals(stop):
        try:
            with open_target(args) as target:
                return _serve(config, target.url, target.api_key, target.describe(), stop)
        except OptionsError as exc:
            return _fail(str(exc), EXIT_USAGE)
        except (ActorsError, OSError) as exc:  # the embedded Deepgram-compatible server did not start
            return _fail(str(exc), EXIT_FAILED)


class _Service(Protocol):
    """What this command uses of ``actors.ingest.service.IngestService``."""

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` the service listens on (the real port when 0 was asked for)."""

    def start(self) -> None:
        """Open the store and bind the port; raises an ``ActorsError`` when either fails."""

    def drain(self, timeout: float) -> bool:
        """Stop accepting, finish and commit running calls, stop; True if all finished in ``timeout``."""


def _load_service() -> Callable[..., _Service]:
    # Imported here: the service needs the ingest extra (websockets, prometheus_client), --help does not.
    module = importlib.import_module("actors.ingest.service")
    factory: Callable[..., _Service] = module.IngestService
    return factory


def _serve(
    config: IngestConfig,
    deepgram_url: str,
    api_key: str,
    where: str,
    stop: threading.Event,
) -> int:
    try:
        service_type = _load_service()
    except ImportError as exc:
        missing = exc.name or str(exc)
        if missing.startswith("actors."):
            return _fail(
                f"the ingestion service is not in this installation ({missing} is missing)", EXIT_FAILED
            )
        return _fail(
            f"the ingestion service needs {missing}: pip install 'actors-deepgram[ingest]'", EXIT_FAILED
        )
    service = service_type(config, deepgram_url=deepgram_url, api_key=api_key)
    try:
        service.start()
    except (ActorsError, OSError) as exc:
        return _fail(f"cannot start: {exc}", EXIT_FAILED)
    _say(f"listening on {service.url}; store {redact_url(config.store)}; {where}; SIGTERM or Ctrl-C drains")
    stop.wait()
    _say(f"draining (up to {config.drain_timeout:g} s)")
    try:
        finished = service.drain(config.drain_timeout)
    except ActorsError as exc:
        return _fail(f"drain failed: {exc}", EXIT_FAILED)
    if not finished:
        return _fail(f"stopped; some calls did not finish within {config.drain_timeout:g} s", EXIT_FAILED)
    _say("stopped")
    return EXIT_OK
