"""`python -m actors serve` in a subprocess: prints its URL, serves Listen V1, exits 0 on SIGINT;
refuses a non-loopback --host without --api-key; --max-connections caps connections."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from actors._hosts import is_loopback
from actors.server.engines.deterministic import silence, synthesize_words

SERVE = [sys.executable, "-m", "actors", "serve", "--port", "0", "--engine", "deterministic"]


@contextmanager
def running_serve(*args: str) -> Iterator[str]:
    """Run ``serve ARGS``; yield the ``host:port`` it printed; then SIGINT it and expect exit status 0."""
    proc = subprocess.Popen([*SERVE, *args], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"ws://([^/\s]+)", line)
        assert match, line
        yield match.group(1)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_runs_until_interrupted() -> None:
    with running_serve("--api-key", "k") as where:
        assert re.fullmatch(r"127\.0\.0\.1:\d+", where), where
        url = f"ws://{where}/v1/listen?model=nova-3&encoding=linear16&sample_rate=16000"
        with connect(url, additional_headers={"Authorization": "Token k"}) as ws:
            ws.send(synthesize_words(["cli"], 16000) + silence(0.2))
            ws.send(json.dumps({"type": "CloseStream"}))
            messages = [json.loads(frame) for frame in ws]
        assert messages[0]["channel"]["alternatives"][0]["transcript"] == "cli"


def test_serve_reports_a_taken_port() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "actors", "serve", "--port", str(port), "--engine", "deterministic"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2
    assert result.stderr.startswith("actors serve:") and result.stdout == ""


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SERVE, *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "example.com"])
def test_non_loopback_host_without_api_key_is_refused(host: str) -> None:
    result = _serve("--host", host)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("actors serve: refusing to serve on")
    assert "--api-key" in lines[0] and repr(host) in lines[0]


def test_loopback_hosts() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.9.9.9", "::1", "[::1]", "localhost", "LOCALHOST."]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "10.0.0.1", "example.com", "", "localhost.example"]))


def test_bad_max_connections_is_a_one_line_error() -> None:
    result = _serve("--max-connections", "0")
    assert result.returncode == 2
    assert result.stderr.startswith("actors serve: ") and "max_connections" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_any_interface_with_an_api_key_and_a_connection_cap() -> None:
    with running_serve("--host", "0.0.0.0", "--api-key", "k", "--max-connections", "1") as where:
        match = re.fullmatch(r"0\.0\.0\.0:(\d+)", where)
        assert match, where
        url = f"ws://127.0.0.1:{match.group(1)}/v1/listen?model=nova-3"
        headers = {"Authorization": "Token k"}
        with connect(url, additional_headers=headers) as ws:
            with pytest.raises(InvalidStatus) as info:
                connect(url, additional_headers=headers).close()
            assert info.value.response.status_code == 503
            assert "at most 1" in info.value.response.headers["dg-error"]
            ws.send(json.dumps({"type": "CloseStream"}))
            assert json.loads(ws.recv(timeout=5))["type"] == "Metadata"
