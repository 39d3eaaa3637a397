"""IngestConfig's checks and config_from: every rule names its setting, the command line wins over
ACTORS_INGEST_* variables, and no secret ever shows in a repr or an error message."""

from __future__ import annotations

import argparse
import base64
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from actors.cli.main import build_parser
from actors.errors import OptionsError
from actors.ingest.config import ENV, FLAGS, SERVICE_PARAMS, IngestConfig, config_from
from actors.ingest.store import StoreURL

# Recognisable fake secrets: none may ever appear in a repr or an error.
SECRET = base64.b64encode(b"cfg-fake-audiohook-client-secret").decode()  # ends in "="
UNPADDED = base64.b64encode(b"cfg-fake-unpadded-client-secret!!").decode()  # no "="
BAD_SECRET = "cfg-fake-not-base64-secret!"
TWILIO = "cfg-fake-twilio-auth-token-5e1a"
API_TOKEN = "cfg-fake-api-token-9c2b"
PG_PASSWORD = "cfg-fake-pg-password-77"
SECRETS = (SECRET, UNPADDED, BAD_SECRET, TWILIO, API_TOKEN, PG_PASSWORD)


def no_secret_in(text: str) -> None:
    leaked = [s for s in SECRETS if s in text]
    assert not leaked, f"secret shown: {text!r}"


def error_of(action: Callable[[], object]) -> OptionsError:
    """The OptionsError ``action`` raises, checked to show no secret in its message, value or args."""
    with pytest.raises(OptionsError) as info:
        action()
    exc = info.value
    no_secret_in(str(exc) + repr(exc.value) + repr(exc.args))
    return exc


def cli(*argv: str) -> argparse.Namespace:
    """The sub-command's parsed arguments, from the real parser."""
    return build_parser().parse_args(["ingest", *argv])


def load(*argv: str, env: Mapping[str, str] | None = None) -> IngestConfig:
    return config_from(cli(*argv), env or {})


def check(**fields: Any) -> None:
    IngestConfig(**fields).check()


# --- defaults and the checks on the config itself ----------------------------------------------------


def test_defaults_are_valid_and_stay_on_loopback() -> None:
    config = load()
    assert config == IngestConfig()
    config.check()
    assert config.loopback_only and not config.has_credential
    assert (config.host, config.port, config.api, config.params, dict(config.audiohook_keys)) == (
        "127.0.0.1",
        8080,
        "listen.v1",
        (),
        {},
    )
    store = StoreURL.parse(config.store)
    assert store.backend == "sqlite" and store.path == Path("actors-ingest.sqlite3")  # relative to cwd


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.0.1", "::1", "localhost", "LOCALHOST"])
def test_loopback_hosts_need_no_credential(host: str) -> None:
    config = IngestConfig(host=host)
    assert config.loopback_only
    config.check()


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "ingest.example.com"])
def test_a_non_loopback_host_needs_a_credential_and_the_error_says_which(host: str) -> None:
    exc = error_of(lambda: check(host=host))
    assert exc.name == "host" and repr(host) in str(exc)
    for option in ("--audiohook-key", "--twilio-auth-token", "--api-token"):
        assert option in str(exc)
    for field in ("audiohook_keys", "twilio_auth_token", "api_token"):
        assert ENV[field] in str(exc)


@pytest.mark.parametrize(
    "credential",
    [
        {"audiohook_keys": {"key-1": SECRET}},
        {"audiohook_keys": {"key-1": ""}},
        {"twilio_auth_token": TWILIO},
        {"api_token": API_TOKEN},
    ],
)
def test_any_one_credential_allows_a_non_loopback_host(credential: dict[str, Any]) -> None:
    config = IngestConfig(host="0.0.0.0", **credential)
    assert not config.loopback_only and config.has_credential
    config.check()


BAD_FIELDS: list[tuple[dict[str, Any], str, str]] = [
    ({"host": ""}, "host", "interface"),
    ({"host": "a b"}, "host", "interface"),
    ({"port": -1}, "port", "0..65535"),
    ({"port": 65536}, "port", "0..65535"),
    ({"max_calls": 0}, "max_calls", ">= 1"),
    ({"max_waiting": -1}, "max_waiting", ">= 0"),
    ({"queue_seconds": 0.0}, "queue_seconds", "replay buffer keeps 60 s"),
    ({"queue_seconds": 55.5}, "queue_seconds", "replay buffer keeps 60 s"),
    ({"queue_seconds": math.nan}, "queue_seconds", "<= 55"),
    ({"drain_timeout": 0.0}, "drain_timeout", "> 0"),
    ({"drain_timeout": -3.0}, "drain_timeout", "> 0"),
    ({"drain_timeout": math.inf}, "drain_timeout", "finite"),
    ({"audiohook_keys": {"key-1": BAD_SECRET}}, "audiohook_keys", "not valid base64"),
    ({"audiohook_keys": {"": SECRET}}, "audiohook_keys", "non-empty"),
    ({"audiohook_keys": {"key 1": SECRET}}, "audiohook_keys", "whitespace"),
    ({"twilio_auth_token": ""}, "twilio_auth_token", "non-empty"),
    ({"api_token": "two words"}, "api_token", "whitespace"),
    ({"public_url": "ftp://ingest.example.com"}, "public_url", "wss://"),
    ({"public_url": "wss://"}, "public_url", "wss://"),
    ({"public_url": "wss://ingest.example.com/?a=1"}, "public_url", "no query"),
    ({"params": (("", "x"),)}, "params", "non-empty"),
    ({"params": (("model", ""),)}, "params", "non-empty"),
    ({"api": "listen.v3"}, "api", "listen.v2"),
    ({"log_level": "LOUD"}, "log_level", "WARNING"),
    ({"store": "mysql://db/x"}, "store", "unknown scheme"),
    ({"store": "sqlite://host/x.db"}, "store", "no host"),
    ({"store": ""}, "store", "empty"),
    ({"store": f"postgresql://u:{PG_PASSWORD}@db:99999/x"}, "store", "port"),
]


@pytest.mark.parametrize(("fields", "name", "fragment"), BAD_FIELDS)
def test_each_bad_setting_is_named(fields: dict[str, Any], name: str, fragment: str) -> None:
    exc = error_of(lambda: check(**fields))
    assert exc.name == name, str(exc)
    assert str(exc).startswith(f"{name}: ") and fragment in str(exc), str(exc)


@pytest.mark.parametrize("key", sorted(SERVICE_PARAMS))
def test_params_the_service_sets_itself_are_refused(key: str) -> None:
    exc = error_of(lambda: check(params=((key, "1"),)))
    assert exc.name == "params" and repr(key) in str(exc)
    assert "set by the service for every call from the platform's media" in str(exc)


def test_good_values_at_the_limits_pass() -> None:
    check(port=0, max_calls=1, max_waiting=0, queue_seconds=55.0, drain_timeout=0.1)
    check(port=65535, public_url="https://ingest.example.com:8443/prefix", log_level="DEBUG", api="listen.v2")
    check(params=(("model", "nova-3"), ("keyterm", "a"), ("keyterm", "b")))
    check(store="postgresql://ingest@db.example.com/calls", audiohook_keys={"k": SECRET, "unsigned": ""})


def test_public_url_loses_its_trailing_slash() -> None:
    assert IngestConfig(public_url="wss://ingest.example.com/").public_url == "wss://ingest.example.com"


def test_repr_shows_keys_and_a_redacted_store_but_no_secret() -> None:
    config = IngestConfig(
        host="0.0.0.0",
        store=f"postgresql://ingest:{PG_PASSWORD}@db/calls",
        audiohook_keys={"genesys-key-1": SECRET},
        twilio_auth_token=TWILIO,
        api_token=API_TOKEN,
    )
    config.check()
    text = repr(config)
    no_secret_in(text)
    assert "genesys-key-1" in text and "postgresql://ingest:***@db/calls" in text
    assert "twilio_auth_token='***'" in text and "api_token='***'" in text
    assert "api_token=None" in repr(IngestConfig())


def test_audiohook_keys_cannot_be_changed_behind_the_configs_back() -> None:
    keys = {"k": SECRET}
    config = IngestConfig(audiohook_keys=keys)
    keys["other"] = ""
    assert dict(config.audiohook_keys) == {"k": SECRET}
    with pytest.raises(TypeError):
        config.audiohook_keys["x"] = ""  # type: ignore[index]
    assert config == IngestConfig(audiohook_keys={"k": SECRET}) and isinstance(hash(config), int)


# --- the environment -----------------------------------------------------------------------------------


def test_every_setting_comes_from_its_environment_variable() -> None:
    env = {
        ENV["host"]: "0.0.0.0",
        ENV["port"]: "9000",
        ENV["store"]: "sqlite:/tmp/calls.db",
        ENV["audiohook_keys"]: f"key-a={SECRET}, key-b=\n key-c={SECRET}",
        ENV["twilio_auth_token"]: TWILIO,
        ENV["public_url"]: "wss://ingest.example.com/",
        ENV["tls_cert"]: __file__,
        ENV["tls_key"]: __file__,
        ENV["api_token"]: API_TOKEN,
        ENV["max_calls"]: "7",
        ENV["max_waiting"]: "0",
        ENV["queue_seconds"]: "12.5",
        ENV["drain_timeout"]: "3",
        ENV["flux"]: "yes",
        ENV["params"]: "model=flux-general-en&eot_threshold=0.8,keyterm=a&keyterm=b",
        ENV["log_level"]: "debug",
        ENV["ray"]: "10.0.0.5:6379",
        ENV["ray_workers"]: "3",
        ENV["instance_id"]: "ingest-2.eu:a",
        ENV["lease_seconds"]: "4.5",
    }
    assert set(env) == set(ENV.values())
    config = config_from(argparse.Namespace(), env)
    assert config == IngestConfig(
        host="0.0.0.0",
        port=9000,
        store="sqlite:/tmp/calls.db",
        audiohook_keys={"key-a": SECRET, "key-b": "", "key-c": SECRET},
        twilio_auth_token=TWILIO,
        public_url="wss://ingest.example.com",
        tls_cert=__file__,
        tls_key=__file__,
        api_token=API_TOKEN,
        max_calls=7,
        max_waiting=0,
        queue_seconds=12.5,
        drain_timeout=3.0,
        api="listen.v2",
        params=(("model", "flux-general-en"), ("eot_threshold", "0.8"), ("keyterm", "a"), ("keyterm", "b")),
        log_level="DEBUG",
        ray="10.0.0.5:6379",
        ray_workers=3,
        instance_id="ingest-2.eu:a",
        lease_seconds=4.5,
    )


@pytest.mark.parametrize(
    ("text", "api"), [("1", "listen.v2"), ("TRUE", "listen.v2"), ("no", "listen.v1"), ("0", "listen.v1")]
)
def test_flux_variable(text: str, api: str) -> None:
    assert config_from(argparse.Namespace(), {ENV["flux"]: text}).api == api


def test_an_empty_variable_counts_as_unset() -> None:
    env = {name: "" for name in ENV.values()}
    assert config_from(argparse.Namespace(), env) == IngestConfig()


BAD_ENV: list[tuple[str, str, str]] = [
    ("port", "http", "expected an integer"),
    ("port", "70000", "0..65535"),
    ("max_calls", "many", "expected an integer"),
    ("max_calls", "0", ">= 1"),
    ("max_waiting", "-2", ">= 0"),
    ("queue_seconds", "long", "seconds"),
    ("queue_seconds", "90", "replay buffer keeps 60 s"),
    ("drain_timeout", "0", "> 0"),
    ("flux", "maybe", "1/true/yes"),
    ("log_level", "loud", "WARNING"),
    ("store", "mysql://db/x", "unknown scheme"),
    ("host", "0.0.0.0", "credential"),
    ("public_url", "ingest.example.com", "wss://"),
    ("audiohook_keys", f"good={SECRET},bad={BAD_SECRET}", "not valid base64"),
    ("audiohook_keys", UNPADDED, "API_KEY=BASE64_SECRET"),
    ("audiohook_keys", f"={SECRET}", "non-empty"),
    ("twilio_auth_token", f"two {TWILIO}", "whitespace"),
    ("api_token", f"{API_TOKEN} x", "whitespace"),
    ("params", "model=nova-3&encoding=mulaw", "set by the service"),
    ("params", "model", "KEY=VALUE"),
    ("params", "model=", "non-empty"),
    ("ray", "nowhere", "HOST:PORT"),
    ("ray", "head:http", "HOST:PORT"),
    ("ray_workers", "2", "set ray"),
]


@pytest.mark.parametrize(("field", "text", "fragment"), BAD_ENV)
def test_a_bad_variable_is_named(field: str, text: str, fragment: str) -> None:
    exc = error_of(lambda: config_from(argparse.Namespace(), {ENV[field]: text}))
    assert exc.name == ENV[field], str(exc)
    assert str(exc).startswith(f"{ENV[field]}: ") and fragment in str(exc), str(exc)


# --- the command line, and its precedence over the environment ---------------------------------------


def test_every_option_parses() -> None:
    config = load(
        "--host=::",
        "--port=0",
        "--store=sqlite:calls.db",
        f"--audiohook-key=k1={SECRET}",
        "--audiohook-key=k2=",
        f"--twilio-auth-token={TWILIO}",
        "--public-url=https://ingest.example.com",
        f"--api-token={API_TOKEN}",
        "--max-calls=2",
        "--max-waiting=3",
        "--queue-seconds=4.5",
        "--drain-timeout=6",
        "--flux",
        "--param=model=flux-general-en",
        "--param=eager_eot_threshold=0.5",
        "--log-level=warning",
        "--ray=local",
        "--ray-workers=2",
    )
    assert config == IngestConfig(
        host="::",
        port=0,
        store="sqlite:calls.db",
        audiohook_keys={"k1": SECRET, "k2": ""},
        twilio_auth_token=TWILIO,
        public_url="https://ingest.example.com",
        api_token=API_TOKEN,
        max_calls=2,
        max_waiting=3,
        queue_seconds=4.5,
        drain_timeout=6.0,
        api="listen.v2",
        params=(("model", "flux-general-en"), ("eager_eot_threshold", "0.5")),
        log_level="WARNING",
        ray="local",
        ray_workers=2,
    )


def test_audiohook_key_splits_at_the_first_equals_sign() -> None:
    padded = base64.b64encode(b"abcd").decode()
    assert padded.endswith("==")
    assert dict(load("--audiohook-key", f"the-key={padded}").audiohook_keys) == {"the-key": padded}


def test_the_command_line_wins_over_the_environment() -> None:
    env = {ENV["port"]: "9000", ENV["host"]: "0.0.0.0", ENV["flux"]: "1", ENV["log_level"]: "DEBUG"}
    config = load("--port", "9001", "--host", "127.0.0.1", "--no-flux", env=env)
    assert (config.port, config.host, config.api, config.log_level) == (
        9001,
        "127.0.0.1",
        "listen.v1",
        "DEBUG",
    )


def test_a_bad_variable_overridden_on_the_command_line_is_not_read() -> None:
    assert load("--port", "1", env={ENV["port"]: "http"}).port == 1


def test_repeated_options_add_to_the_environments_and_replace_the_same_key() -> None:
    other = base64.b64encode(b"other").decode()
    env = {
        ENV["audiohook_keys"]: f"a={SECRET} b={SECRET}",
        ENV["params"]: "language=en&model=nova-2&keyterm=x&keyterm=y",
    }
    config = load(
        "--audiohook-key", f"b={other}",
        "--audiohook-key", "c=",
        "--param", "model=nova-3",
        "--param", "keyterm=z",
        env=env,
    )  # fmt: skip
    assert dict(config.audiohook_keys) == {"a": SECRET, "b": other, "c": ""}
    assert config.params == (("language", "en"), ("model", "nova-3"), ("keyterm", "z"))


BAD_CLI: list[tuple[list[str], str, str]] = [
    (["--port", "eighty"], "--port", "expected an integer"),
    (["--port", "-5"], "--port", "0..65535"),
    (["--queue-seconds", "56"], "--queue-seconds", "replay buffer keeps 60 s"),
    (["--host", "0.0.0.0"], "--host", "credential"),
    (["--store", "sqlite://h/x"], "--store", "no host"),
    (["--audiohook-key", f"k={BAD_SECRET}"], "--audiohook-key", "not valid base64"),
    (["--audiohook-key", UNPADDED], "--audiohook-key", "API_KEY=BASE64_SECRET"),
    (["--twilio-auth-token", ""], "--twilio-auth-token", "non-empty"),
    (["--api-token", ""], "--api-token", "non-empty"),
    (["--param", "sample_rate=8000"], "--param", "set by the service"),
    (["--param", "=x"], "--param", "non-empty"),
    (["--log-level", "chatty"], "--log-level", "WARNING"),
    (["--public-url", ""], "--public-url", "wss://"),
    (["--ray", "head:0"], "--ray", "HOST:PORT"),
    (["--ray", "--ray-workers", "0"], "--ray-workers", ">= 1"),
]


@pytest.mark.parametrize(("argv", "name", "fragment"), BAD_CLI)
def test_a_bad_option_is_named(argv: list[str], name: str, fragment: str) -> None:
    assert name in FLAGS.values()
    exc = error_of(lambda: load(*argv))
    assert exc.name == name, str(exc)
    assert fragment in str(exc), str(exc)


def test_a_store_password_is_redacted_in_the_error() -> None:
    exc = error_of(lambda: load("--store", f"postgresql://u:{PG_PASSWORD}@db:notaport/x"))
    assert exc.name == "--store" and "postgresql://u:***@db:notaport/x" in str(exc)


def test_tls_needs_both_files_and_they_must_exist(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    with pytest.raises(OptionsError, match="tls_key is set but tls_cert is not"):
        IngestConfig(tls_key=str(cert)).check()
    with pytest.raises(OptionsError, match="tls_cert is set but tls_key is not"):
        IngestConfig(tls_cert=str(cert)).check()
    with pytest.raises(OptionsError, match="no such file"):
        IngestConfig(tls_cert=str(cert), tls_key=str(tmp_path / "missing.pem")).check()
    IngestConfig(tls_cert=str(cert), tls_key=str(cert)).check()


def test_ray_alone_means_auto_and_the_cluster_is_off_by_default() -> None:
    assert load("--ray").ray == "auto"
    assert load("--ray", "ray://head.example.com:6379").ray == "ray://head.example.com:6379"
    assert load().ray is None and load().ray_workers is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("instance_id", "", "expected 1..64 letters"),
        ("instance_id", "has space", "expected 1..64 letters"),
        ("instance_id", "-lead", "starting with a letter or digit"),
        ("instance_id", "x" * 65, "expected 1..64 letters"),
        ("lease_seconds", 0.0, "must be > 0"),
        ("lease_seconds", 601.0, "at most 600 s"),
    ],
)
def test_instance_settings_are_checked(field: str, value: object, message: str) -> None:
    with pytest.raises(OptionsError, match=message) as caught:
        IngestConfig(**{field: value}).check()  # type: ignore[arg-type]
    assert caught.value.name == field
