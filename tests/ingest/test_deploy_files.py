"""The shipped deploy/ files: the haproxy configurations are what the renderer makes (so they cannot
drift from the one the several-instances test runs) and haproxy accepts them; the launcher's command
line prints them and refuses a SQLite store."""

from __future__ import annotations

import subprocess

import pytest

from actors.ingest.haproxy import Backend, haproxy_config
from actors.ingest.local_cluster import main
from tests.support.haproxy import haproxy_binary
from tests.support.resolver import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
#: The command lines (after --print-haproxy-config) that made each shipped file; deploy/README.md shows them.
SHIPPED = {
    "haproxy.cfg": [
        "--bind", "*:8080",
        "--backend", "ingest-1=10.0.0.11:8080",
        "--backend", "ingest-2=10.0.0.12:8080",
        "--backend", "ingest-3=10.0.0.13:8080",
        "--stats", "127.0.0.1:8404",
    ],
    "haproxy-compose.cfg": [
        "--bind", "*:8080",
        "--backend", "ingest-1=ingest-1:8080",
        "--backend", "ingest-2=ingest-2:8080",
        "--resolvers", "127.0.0.11:53",
        "--stats", "*:8404",
    ],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_haproxy_config_is_the_rendered_one(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--print-haproxy-config", *SHIPPED[name]]) == 0
    assert (DEPLOY / name).read_text() == capsys.readouterr().out, (
        f"deploy/{name} is stale: regenerate it with python -m actors.ingest.local_cluster "
        f"--print-haproxy-config {' '.join(SHIPPED[name])}"
    )


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_haproxy_accepts_the_shipped_config(name: str) -> None:
    done = subprocess.run(
        [haproxy_binary(), "-c", "-f", str(DEPLOY / name)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_rendered_config_balances_checks_readiness_and_terminates_tls() -> None:
    text = haproxy_config("*:443", [Backend("a", "10.0.0.1:8080")], tls_pem="/etc/haproxy/ingest.pem")
    assert "    bind *:443 ssl crt /etc/haproxy/ingest.pem alpn http/1.1\n" in text
    for line in (
        "balance leastconn",
        "option httpchk GET /readyz",
        "timeout tunnel 1h",
        "server a 10.0.0.1:8080",
    ):
        assert f"    {line}\n" in text
    with pytest.raises(ValueError, match="at least one backend"):
        haproxy_config("*:80", [])


def test_launcher_needs_a_postgresql_store(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACTORS_INGEST_STORE", raising=False)
    assert main(["--store", "sqlite:/tmp/x.db"]) == 2
    assert "SQLite is single-instance" in capsys.readouterr().err
    assert main(["--print-haproxy-config"]) == 2
    assert "needs --backend" in capsys.readouterr().err
