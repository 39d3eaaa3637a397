"""`python -m actors ingest`: one-line errors with exit 2 for bad options, --help naming every variable,
and the start-up path (logging, target, listening line, signals, drain) against a stand-in service.

The stand-in is the one fake here: ``actors.ingest.service`` is injected into ``sys.modules`` so the
command's own flow is tested; the real service is tested end to end with its own tests.
"""

from __future__ import annotations

import base64
import logging
import signal
import socket
import subprocess
import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest

from actors.cli.main import main
from actors.errors import ActorsError
from actors.ingest.config import ENV, IngestConfig
from tests.support.resolver import REPO_ROOT

SECRET = base64.b64encode(b"cli-fake-audiohook-client-secret").decode()
BAD_SECRET = "cli-fake-not-base64-secret!"
API_TOKEN = "cli-fake-api-token-31d7"
PG_PASSWORD = "cli-fake-pg-password-58"
SECRETS = (SECRET, BAD_SECRET, API_TOKEN, PG_PASSWORD)
URL = ["--url", "ws://127.0.0.1:9"]  # never connected to by the command itself


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [*ENV.values(), "DEEPGRAM_API_KEY"]:
        monkeypatch.delenv(name, raising=False)


def one_line_error(capsys: pytest.CaptureFixture[str], status: int) -> str:
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("actors ingest: "), err
    assert not [s for s in SECRETS if s in err], err
    return lines[0]


# --- bad usage ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (
            ["--host", "0.0.0.0"],
            ["--host", "'0.0.0.0'", "--audiohook-key", "--twilio-auth-token", "--api-token"],
        ),
        (["--store", "mysql://db/calls"], ["--store", "unknown scheme"]),
        (["--store", f"postgresql://u:{PG_PASSWORD}@db:x/calls"], ["--store", "u:***@db"]),
        (["--audiohook-key", f"genesys={BAD_SECRET}"], ["--audiohook-key", "'genesys'", "not valid base64"]),
        (["--port", "http"], ["--port", "expected an integer"]),
        (["--queue-seconds", "120"], ["--queue-seconds", "60 s"]),
        (["--param", "channels=2"], ["--param", "set by the service"]),
        (["--api-token", f"{API_TOKEN} extra"], ["--api-token", "whitespace"]),
    ],
)
def test_bad_options_exit_2_with_one_line(
    argv: list[str], fragments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest", *argv, *URL]) == 2
    line = one_line_error(capsys, 2)
    for fragment in fragments:
        assert fragment in line, line


def test_a_bad_variable_is_named(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV["max_calls"], "zero")
    assert main(["ingest", *URL]) == 2
    assert one_line_error(capsys, 2).startswith(f"actors ingest: {ENV['max_calls']}: ")


def test_a_bad_url_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", "--url", "ftp://nowhere"]) == 2
    assert "--url" in one_line_error(capsys, 2)


def _ingest(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "actors", "ingest", *argv],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_real_entry_point_refuses_a_public_host_without_a_credential() -> None:
    done = _ingest("--host", "0.0.0.0")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("actors ingest: --host: refusing to listen on '0.0.0.0'")
    assert len(done.stderr.splitlines()) == 1


def test_help_names_every_environment_variable() -> None:
    done = _ingest("--help")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())  # argparse wraps lines
    for name in ENV.values():
        assert name in text, name
    for option in ("--audiohook-key", "--twilio-auth-token", "--flux", "--param", "--local", "--url"):
        assert option in text
    assert "prefer the environment variables" in text


# --- the start-up path, against a stand-in for actors.ingest.service --------------------------------


class StandIn:
    """Records how the command drives the service; ``start`` plays the operator's SIGTERM."""

    instances: list[StandIn] = []
    fail_start: Exception | None = None
    drained_in_time = True

    def __init__(self, config: IngestConfig, *, deepgram_url: str, api_key: str) -> None:
        self.config = config
        self.deepgram_url = deepgram_url
        self.api_key = api_key
        self.events: list[Any] = []
        self.embedded_reachable: bool | None = None
        StandIn.instances.append(self)

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.config.port}"

    def start(self) -> None:
        self.events.append("start")
        if self.fail_start is not None:
            raise self.fail_start
        log = logging.getLogger("actors.ingest.service")
        log.info("stand-in started")
        log.debug("stand-in detail")
        if self.deepgram_url.startswith("ws://127.0.0.1:") and self.deepgram_url != URL[1]:
            port = int(self.deepgram_url.rsplit(":", 1)[1])
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                self.embedded_reachable = True
        signal.raise_signal(signal.SIGTERM)  # the handler only sets the stop event

    def drain(self, timeout: float) -> bool:
        self.events.append(("drain", timeout))
        return self.drained_in_time


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[StandIn]]:
    module = types.ModuleType("actors.ingest.service")
    module.IngestService = StandIn  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "actors.ingest.service", module)
    monkeypatch.setattr(StandIn, "instances", [])
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    yield StandIn
    assert {sig: signal.getsignal(sig) for sig in handlers} == handlers, "signal handlers not restored"


def test_starts_announces_waits_for_sigterm_and_drains(
    service: type[StandIn], capsys: pytest.CaptureFixture[str]
) -> None:
    store = f"postgresql://ingest:{PG_PASSWORD}@db.example.com/calls"
    status = main(["ingest", "--port", "8099", "--drain-timeout", "7", "--store", store, *URL])
    assert status == 0
    (made,) = service.instances
    assert made.events == ["start", ("drain", 7.0)]
    assert (made.config.port, made.deepgram_url, made.api_key) == (8099, "ws://127.0.0.1:9", "local")
    out, err = capsys.readouterr()
    assert out == ""
    assert not [s for s in SECRETS if s in err], err
    listening = [line for line in err.splitlines() if "listening on" in line]
    assert listening == [
        "actors ingest: listening on http://127.0.0.1:8099; "
        "store postgresql://ingest:***@db.example.com/calls; using ws://127.0.0.1:9; SIGTERM or Ctrl-C drains"
    ]
    assert err.splitlines()[-1] == "actors ingest: stopped"


def test_logs_one_line_per_record_at_the_configured_level(
    service: type[StandIn], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest", *URL]) == 0
    err = capsys.readouterr().err
    (record,) = [line for line in err.splitlines() if "stand-in" in line]
    date, clock, level, logger, *message = record.split(" ")
    assert (level, logger, " ".join(message)) == ("INFO", "actors.ingest.service", "stand-in started")
    assert len(date) == 10 and clock.count(":") == 2
    assert main(["ingest", "--log-level", "debug", *URL]) == 0
    assert "DEBUG actors.ingest.service stand-in detail" in capsys.readouterr().err


def test_calls_left_unfinished_exit_1(
    service: type[StandIn], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(StandIn, "drained_in_time", False)
    assert main(["ingest", "--drain-timeout", "2", *URL]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        "actors ingest: stopped; some calls did not finish within 2 s"
    )


def test_a_service_that_cannot_start_exits_1_with_one_line(
    service: type[StandIn], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(StandIn, "fail_start", ActorsError("port 8080 is in use"))
    assert main(["ingest", *URL]) == 1
    assert one_line_error(capsys, 1) == "actors ingest: cannot start: port 8080 is in use"
    assert service.instances[0].events == ["start"]


def test_environment_configures_the_service(
    service: type[StandIn], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV["audiohook_keys"], f"genesys={SECRET}")
    monkeypatch.setenv(ENV["api_token"], API_TOKEN)
    monkeypatch.setenv(ENV["flux"], "1")
    assert main(["ingest", "--host", "0.0.0.0", *URL]) == 0
    config = service.instances[0].config
    assert (config.host, dict(config.audiohook_keys), config.api_token, config.api) == (
        "0.0.0.0",
        {"genesys": SECRET},
        API_TOKEN,
        "listen.v2",
    )
    err = capsys.readouterr().err
    assert not [s for s in SECRETS if s in err], err


def test_without_a_deepgram_key_the_embedded_server_runs_for_the_service(
    service: type[StandIn], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest"]) == 0
    (made,) = service.instances
    assert made.deepgram_url.startswith("ws://127.0.0.1:") and made.embedded_reachable
    assert "embedded local server" in capsys.readouterr().err


def test_a_missing_service_module_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "actors.ingest.service", None)  # import raises ModuleNotFoundError
    assert main(["ingest", *URL]) == 1
    assert "actors.ingest.service is missing" in one_line_error(capsys, 1)
