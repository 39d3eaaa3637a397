"""The ingestion service's settings: :class:`IngestConfig`, checked, and :func:`config_from` the CLI + env.

Every setting comes from a command-line option or its ``ACTORS_INGEST_<NAME>`` environment variable;
the command line wins, then the environment, then the default. An empty environment variable counts as
unset. :data:`ENV` maps each :class:`IngestConfig` field to its variable (``flux`` selects ``api``).

Secrets (AudioHook client secrets, the Twilio auth token, the API token and any store password) never
appear in a repr or in an error message; errors name the option or variable that was wrong.

This module is pure: it imports neither the server (websockets) nor the database drivers (a
``postgresql://`` store URL is checked with psycopg's parser only when psycopg is installed).
"""

from __future__ import annotations

import argparse
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from urllib.parse import urlsplit

import attrs

from actors._hosts import is_loopback
from actors.errors import OptionsError
from actors.ingest.audiohook.signatures import decode_secret
from actors.ingest.store import StoreURL, StoreURLError, redact_url
from actors.protocol.apis import LISTEN_V1, LISTEN_V2, ApiSpec
from actors.protocol.listen_v1.options import LISTEN_V1_AUDIO_FORMAT_OPTIONS

#: The APIs a call can be transcribed with, by ``ApiSpec.name``: Listen V1, or Flux (``--flux``).
CALL_APIS: Mapping[str, ApiSpec] = MappingProxyType({api.name: api for api in (LISTEN_V1, LISTEN_V2)})
API_NAMES = tuple(CALL_APIS)

ENV_PREFIX = "ACTORS_INGEST_"
#: The environment variable of each setting (``flux`` sets :attr:`IngestConfig.api`).
ENV: Mapping[str, str] = MappingProxyType(
    {
        name: ENV_PREFIX + name.upper()
        for name in (
            "host",
            "port",
            "store",
            "audiohook_keys",
            "twilio_auth_token",
            "public_url",
            "tls_cert",
            "tls_key",
            "api_token",
            "max_calls",
            "max_waiting",
            "queue_seconds",
            "drain_timeout",
            "flux",
            "params",
            "log_level",
            "ray",
            "ray_workers",
            "instance_id",
            "lease_seconds",
        )
    }
)
#: The command-line option of each setting.
FLAGS: Mapping[str, str] = MappingProxyType(
    {name: "--" + name.replace("_", "-") for name in ENV}
    | {"audiohook_keys": "--audiohook-key", "params": "--param"}
)

#: Deepgram query options the service sets itself for every call, from the platform's media.
SERVICE_PARAMS = LISTEN_V1_AUDIO_FORMAT_OPTIONS
#: How much audio the runtime's replay buffer keeps for a lossless reconnect (s).
REPLAY_SECONDS = 60.0
#: The longest a waiting call may buffer: it must fit in the replay buffer with room to spare (s).
MAX_QUEUE_SECONDS = 55.0
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

_WHITESPACE = re.compile(r"\s")
#: An instance id: what an operator can read in logs and in ``/v1/calls`` (letters, digits, ``._:-``).
_INSTANCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
#: The longest lease: a dead instance's calls stay ``active`` up to this long (s).
MAX_LEASE_SECONDS = 600.0


def _read_only(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


def _pairs(value: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple(value)


def _strip_slash(value: str | None) -> str | None:
    return value.rstrip("/") if isinstance(value, str) else value


def _keys_only(keys: Mapping[str, str]) -> str:
    return repr(sorted(keys))


def _hidden(value: str | None) -> str:
    return "None" if value is None else "'***'"


@attrs.frozen
class IngestConfig:
    """Everything ``python -m actors ingest`` runs with; :meth:`check` says whether it can run.

    ``audiohook_keys`` maps each accepted AudioHook API key to its base64 client secret ("" accepts
    unsigned requests for that key); any organization id is accepted. ``public_url`` is the base URL
    Twilio dials (and signs), without a trailing slash; None derives it from the request's ``Host``.
    ``api_token`` is the bearer token of the JSON API and of ``/v1/stream``. ``max_calls`` concurrent
    Deepgram streams run at once; up to ``max_waiting`` more calls wait for a slot, each buffering at most
    ``queue_seconds`` of audio before it is refused. ``drain_timeout`` bounds the finish on SIGTERM.
    ``api`` is the Deepgram API of every call; ``params`` extra query options for it.
    ``tls_cert`` / ``tls_key`` (PEM files) make the service serve TLS itself (``wss://``, as Genesys
    requires); without them, terminate TLS in front of it.
    ``ray`` (``auto``, ``local`` or the head's ``HOST:PORT``) runs every call's Deepgram stream(s) on a
    Ray cluster's workers (``ray_workers`` of them; None: one per cluster CPU) instead of in this
    process; ``max_calls`` then bounds the streams of the whole cluster (see :mod:`actors.ingest.streams`).
    ``instance_id`` names this instance among those sharing the store (None: a fresh UUID at every
    start); ``lease_seconds`` is how long its lease in the store lasts without a heartbeat (renewed
    every third of it): an instance that died is taken for dead, and its calls are marked
    ``interrupted``, that long after its last heartbeat (see :mod:`actors.ingest.store.instances`).
    Several instances need a PostgreSQL store; a SQLite store serves one instance.

    The repr shows the store URL redacted and the AudioHook API keys without their secrets; the Twilio
    auth token and the API token are hidden.
    """

    host: str = "127.0.0.1"
    port: int = 8080
    store: str = attrs.field(default="sqlite:actors-ingest.sqlite3", repr=redact_url)
    audiohook_keys: Mapping[str, str] = attrs.field(
        factory=dict, converter=_read_only, repr=_keys_only, hash=False
    )
    twilio_auth_token: str | None = attrs.field(default=None, repr=_hidden)
    public_url: str | None = attrs.field(default=None, converter=_strip_slash)
    tls_cert: str | None = None
    tls_key: str | None = None
    api_token: str | None = attrs.field(default=None, repr=_hidden)
    max_calls: int = 100
    max_waiting: int = 100
    queue_seconds: float = 30.0
    drain_timeout: float = 30.0
    api: str = LISTEN_V1.name
    params: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_pairs)
    log_level: str = "INFO"
    ray: str | None = None
    ray_workers: int | None = None
    instance_id: str | None = None
    lease_seconds: float = 15.0

    @property
    def call_api(self) -> ApiSpec:
        """The API every call is transcribed with (the spec named by :attr:`api`)."""
        return CALL_APIS[self.api]

    @property
    def loopback_only(self) -> bool:
        """True when ``host`` is ``localhost`` or a loopback address: no other machine can connect."""
        return is_loopback(self.host)

    @property
    def has_credential(self) -> bool:
        """True when some platform or API credential is configured (an AudioHook key or a token)."""
        return bool(self.audiohook_keys) or self.twilio_auth_token is not None or self.api_token is not None

    def check(self) -> None:
        """Raise :class:`OptionsError` naming the first setting that cannot work; return None otherwise."""
        _check_host(self.host)
        if not self.loopback_only and not self.has_credential:
            raise OptionsError(
                "host",
                f"refusing to listen on {self.host!r} without a credential: it is not a loopback address, "
                "so anyone who can reach it could send calls and read transcripts; configure at least "
                "one of --audiohook-key, --twilio-auth-token or --api-token (or "
                f"{ENV['audiohook_keys']}, {ENV['twilio_auth_token']}, {ENV['api_token']}), "
                "or listen on 127.0.0.1",
                self.host,
            )
        _check_int("port", self.port, 0, 65535, "0 picks a free port")
        _check_store(self.store)
        for key, secret in self.audiohook_keys.items():
            check_audiohook_key("audiohook_keys", key, secret)
        _check_token("twilio_auth_token", self.twilio_auth_token)
        _check_token("api_token", self.api_token)
        _check_public_url(self.public_url)
        _check_tls(self.tls_cert, self.tls_key)
        _check_int("max_calls", self.max_calls, 1, None, "the number of concurrent Deepgram streams")
        _check_int("max_waiting", self.max_waiting, 0, None, "0 refuses every call beyond max_calls")
        _check_seconds(
            "queue_seconds",
            self.queue_seconds,
            MAX_QUEUE_SECONDS,
            f"the runtime's replay buffer keeps {REPLAY_SECONDS:g} s of audio, so a waiting call may "
            f"buffer at most {MAX_QUEUE_SECONDS:g} s",
        )
        _check_seconds("drain_timeout", self.drain_timeout, None, "")
        if self.api not in API_NAMES:
            expected = " or ".join(map(repr, API_NAMES))
            raise OptionsError("api", f"expected {expected}, got {self.api!r}", self.api)
        for key, value in self.params:
            check_param("params", key, value)
        if self.log_level not in LOG_LEVELS:
            raise OptionsError(
                "log_level",
                f"expected one of {', '.join(LOG_LEVELS)}, got {self.log_level!r}",
                self.log_level,
            )
        _check_ray(self.ray, self.ray_workers)
        _check_instance_id(self.instance_id)
        _check_seconds(
            "lease_seconds",
            self.lease_seconds,
            MAX_LEASE_SECONDS,
            f"a dead instance's calls stay active until its lease ends, so at most {MAX_LEASE_SECONDS:g} s",
        )


# --- the checks, one per kind of setting ---------------------------------------------------------------


def _check_host(host: str) -> None:
    if not isinstance(host, str) or not host.strip() or _WHITESPACE.search(host):
        raise OptionsError("host", f"expected an interface name or address, got {host!r}", host)


def _check_int(name: str, value: int, low: int, high: int | None, note: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise OptionsError(name, f"expected an integer, got {value!r}", value)
    if value < low or (high is not None and value > high):
        allowed = f"{low}..{high}" if high is not None else f">= {low}"
        raise OptionsError(name, f"must be {allowed} ({note}), got {value}", value)


def _check_seconds(name: str, value: float, high: float | None, why: str) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise OptionsError(name, f"expected a number of seconds, got {value!r}", value)
    if not math.isfinite(value) or value <= 0 or (high is not None and value > high):
        allowed = f"> 0 and <= {high:g}" if high is not None else "a finite number > 0"
        reason = f": {why}" if why else ""
        raise OptionsError(name, f"must be {allowed} seconds, got {value!r}{reason}", value)


def _check_ray(address: str | None, workers: int | None) -> None:
    if workers is not None:
        if address is None:
            raise OptionsError("ray_workers", "is for a Ray cluster: set ray (--ray) too", workers)
        _check_int("ray_workers", workers, 1, None, "the Ray worker processes to start")
    if address is None:
        return
    if not isinstance(address, str):
        raise OptionsError("ray", f"expected auto, local or HOST:PORT, got {address!r}", address)
    from actors.cluster.connect import ClusterError, parse_address  # only with --ray: a heavy import

    try:
        parse_address(address)
    except ClusterError as exc:
        raise OptionsError("ray", str(exc), address) from None


def _check_instance_id(instance_id: str | None) -> None:
    if instance_id is None:
        return
    if not isinstance(instance_id, str) or not _INSTANCE_ID.fullmatch(instance_id):
        raise OptionsError(
            "instance_id",
            "expected 1..64 letters, digits or . _ : - (starting with a letter or digit), "
            f"got {instance_id!r}",
            instance_id,
        )


def _check_store(url: str) -> None:
    try:
        StoreURL.parse(url)
    except StoreURLError as exc:  # its message shows the URL redacted
        raise OptionsError("store", str(exc), redact_url(url) if isinstance(url, str) else None) from None


def _check_token(name: str, token: str | None) -> None:
    if token is None:
        return
    if not isinstance(token, str) or not token or _WHITESPACE.search(token):
        raise OptionsError(name, "must be a non-empty string without whitespace (value not shown)")


def _check_tls(cert: str | None, key: str | None) -> None:
    if (cert is None) != (key is None):
        given, missing = ("tls_cert", "tls_key") if key is None else ("tls_key", "tls_cert")
        raise OptionsError(missing, f"{given} is set but {missing} is not: TLS needs both PEM files")
    for name, path in (("tls_cert", cert), ("tls_key", key)):
        if path is not None and not os.path.isfile(path):
            raise OptionsError(name, f"no such file: {path!r}", path)


def _check_public_url(url: str | None) -> None:
    if url is None:
        return
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- urlsplit checks the port only when it is read
    except (ValueError, TypeError):
        raise OptionsError("public_url", f"malformed URL {url!r}", url) from None
    if parts.scheme not in ("https", "wss", "http", "ws") or not parts.hostname:
        raise OptionsError(
            "public_url",
            f"expected the base URL platforms dial, e.g. wss://ingest.example.com, got {url!r}",
            url,
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise OptionsError("public_url", "must be scheme://host[:port][/path] (no query or user)", None)


def check_audiohook_key(name: str, api_key: str, secret: str) -> None:
    """Raise :class:`OptionsError` (named ``name``) unless ``api_key`` is a usable AudioHook API key and
    ``secret`` its client secret: base64, or "" to accept unsigned requests. The secret is never shown."""
    if not isinstance(api_key, str) or not api_key or _WHITESPACE.search(api_key):
        raise OptionsError(name, "an AudioHook API key must be non-empty and contain no whitespace")
    if not isinstance(secret, str):
        raise OptionsError(name, f"the client secret of API key {api_key!r} must be a string")
    if secret:
        try:
            decode_secret(secret)
        except ValueError:
            raise OptionsError(
                name,
                f"the client secret of API key {api_key!r} is not valid base64 (value not shown)",
                api_key,
            ) from None


def check_param(name: str, key: str, value: str) -> None:
    """Raise :class:`OptionsError` (named ``name``) unless ``key=value`` may go into every call's query."""
    if not isinstance(key, str) or not key.strip() or not isinstance(value, str) or not value:
        raise OptionsError(name, f"expected KEY=VALUE with both non-empty, got {key!r}={value!r}", key)
    if key in SERVICE_PARAMS:
        raise OptionsError(
            name,
            f"{key!r} is set by the service for every call from the platform's media "
            f"({', '.join(sorted(SERVICE_PARAMS))}); do not pass it",
            key,
        )


# --- reading the command line and the environment ----------------------------------------------------


def _parse_int(name: str, text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise OptionsError(name, f"expected an integer, got {text!r}", text) from None


def _parse_float(name: str, text: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise OptionsError(name, f"expected a number of seconds, got {text!r}", text) from None


def _parse_str(name: str, text: str) -> str:
    return text


def _parse_secret(name: str, text: str) -> str:
    if not text or _WHITESPACE.search(text):
        raise OptionsError(name, "must be a non-empty string without whitespace (value not shown)")
    return text


def _parse_level(name: str, text: str) -> str:
    level = text.strip().upper()
    if level not in LOG_LEVELS:
        raise OptionsError(name, f"expected one of {', '.join(LOG_LEVELS)}, got {text!r}", text)
    return level


def _parse_flag(name: str, text: str) -> bool:
    word = text.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise OptionsError(name, f"expected 1/true/yes or 0/false/no, got {text!r}", text)


_SCALARS: tuple[tuple[str, Callable[[str, str], object]], ...] = (
    ("host", _parse_str),
    ("port", _parse_int),
    ("store", _parse_str),
    ("twilio_auth_token", _parse_secret),
    ("public_url", _parse_str),
    ("tls_cert", _parse_str),
    ("tls_key", _parse_str),
    ("api_token", _parse_secret),
    ("max_calls", _parse_int),
    ("max_waiting", _parse_int),
    ("queue_seconds", _parse_float),
    ("drain_timeout", _parse_float),
    ("log_level", _parse_level),
    ("ray", _parse_str),
    ("ray_workers", _parse_int),
    ("instance_id", _parse_str),
    ("lease_seconds", _parse_float),
)


def parse_audiohook_key(name: str, item: str) -> tuple[str, str]:
    """Split ``API_KEY=BASE64_SECRET`` at its first ``=`` (base64 ends in ``=``) and check both halves.

    The item is never shown in the error: without an ``=`` it might be a secret on its own.
    """
    api_key, sep, secret = item.partition("=")
    if not sep:
        raise OptionsError(name, "expected API_KEY=BASE64_SECRET (an empty secret accepts unsigned requests)")
    check_audiohook_key(name, api_key, secret)
    return api_key, secret


def parse_param(name: str, item: str) -> tuple[str, str]:
    """Split ``KEY=VALUE`` at its first ``=`` and check it may be added to every call's query."""
    key, sep, value = item.partition("=")
    if not sep:
        raise OptionsError(name, f"expected KEY=VALUE, got {item!r}", item)
    check_param(name, key, value)
    return key, value


def _items(text: str, separators: str) -> list[str]:
    return [item for item in re.split(separators, text) if item]


def _merge_params(
    env_pairs: Iterable[tuple[str, str]], cli_pairs: Iterable[tuple[str, str]]
) -> tuple[tuple[str, str], ...]:
    """The environment's pairs, then the command line's; a key given on the command line replaces every
    pair of that key from the environment (repeats within one source are kept: repeatable options)."""
    cli = list(cli_pairs)
    overridden = {key for key, _ in cli}
    return tuple([pair for pair in env_pairs if pair[0] not in overridden] + cli)


def config_from(args: argparse.Namespace, environ: Mapping[str, str]) -> IngestConfig:
    """The checked configuration from parsed ``args`` (None/absent = not given) and ``environ``.

    The command line wins over ``ACTORS_INGEST_*`` variables, which win over the defaults; an empty
    variable counts as unset. Repeated ``--audiohook-key`` / ``--param`` add to the environment's list
    (a command-line entry replaces the environment's for the same key). Raises :class:`OptionsError`
    naming the option or the variable that was wrong (never its secret value).
    """
    values: dict[str, object] = {}
    sources: dict[str, str] = {}  # field -> the option or variable it came from, for error messages

    def given(field: str) -> tuple[str, str] | None:
        cli = getattr(args, field, None)
        if cli is not None:
            return FLAGS[field], cli
        env = environ.get(ENV[field], "")
        return (ENV[field], env) if env != "" else None

    for field, parse in _SCALARS:
        found = given(field)
        if found is not None:
            source, text = found
            values[field], sources[field] = parse(source, text), source

    flux = getattr(args, "flux", None)
    if flux is None and environ.get(ENV["flux"], "") != "":
        flux, sources["api"] = _parse_flag(ENV["flux"], environ[ENV["flux"]]), ENV["flux"]
    elif flux is not None:
        sources["api"] = FLAGS["flux"]
    if flux is not None:
        values["api"] = LISTEN_V2.name if flux else LISTEN_V1.name

    keys: dict[str, str] = {}
    for item in _items(environ.get(ENV["audiohook_keys"], ""), r"[,\s]+"):
        api_key, secret = parse_audiohook_key(ENV["audiohook_keys"], item)
        keys[api_key] = secret
    for item in getattr(args, "audiohook_keys", None) or ():
        api_key, secret = parse_audiohook_key(FLAGS["audiohook_keys"], item)
        keys[api_key] = secret
    values["audiohook_keys"] = keys

    env_params = [
        parse_param(ENV["params"], item) for item in _items(environ.get(ENV["params"], ""), r"[&,]")
    ]
    cli_params = [parse_param(FLAGS["params"], item) for item in getattr(args, "params", None) or ()]
    values["params"] = _merge_params(env_params, cli_params)

    config = IngestConfig(**values)  # type: ignore[arg-type]  # each value was parsed to its field's type
    try:
        config.check()
    except OptionsError as exc:
        origin = sources.get(exc.name)
        if origin is None:
            raise
        message = str(exc).removeprefix(f"{exc.name}: ")
        raise OptionsError(origin, message, exc.value) from None
    return config


__all__ = [
    "CALL_APIS",
    "ENV",
    "ENV_PREFIX",
    "FLAGS",
    "LOG_LEVELS",
    "MAX_LEASE_SECONDS",
    "MAX_QUEUE_SECONDS",
    "REPLAY_SECONDS",
    "SERVICE_PARAMS",
    "IngestConfig",
    "check_audiohook_key",
    "check_param",
    "config_from",
    "parse_audiohook_key",
    "parse_param",
]
