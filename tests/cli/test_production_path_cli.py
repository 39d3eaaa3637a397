"""The CLI with ``DEEPGRAM_API_KEY`` and no ``--local`` / ``--url`` goes to Deepgram -- proven offline.

Each command runs as a child process whose ``sitecustomize`` (``tests/support/sitecustomize``)
resolves ``api.deepgram.com`` and ``agent.deepgram.com`` on 443 to a TLS local server in this
test process and refuses any other non-loopback lookup; ``SSL_CERT_FILE`` names the throwaway
test CA (the documented way to trust a private CA). The server checks the key and records the
SNI name and ``Host`` header of every handshake.
"""

from __future__ import annotations

import subprocess
import sys
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.server import LocalServer
from actors.server.observed import HandshakeSeen
from tests.support.resolver import REPO_ROOT, refused_in_child, subprocess_env
from tests.support.tls import AGENT_HOST, API_HOST, Handshakes, ThrowawayPki, deepgram_over_tls, make_test_pki
from tests.support.wav import spoken_wav

KEY = "cli-prod-path-key-987654321"
CHILD_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> ThrowawayPki:
    return make_test_pki(tmp_path_factory.mktemp("pki"), [API_HOST, AGENT_HOST])


@pytest.fixture(scope="module")
def recorder() -> Handshakes:
    return Handshakes()


@pytest.fixture(scope="module")
def tls_server(pki: ThrowawayPki, recorder: Handshakes) -> Iterator[LocalServer]:
    with deepgram_over_tls(pki, {KEY}, recorder) as server:
        yield server


def run_child(
    argv: list[str], server: LocalServer, tmp_path: Path, ca_file: Path | None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m actors ARGV`` with the key, the loopback resolver and ``SSL_CERT_FILE``."""
    local = ("127.0.0.1", server.port)
    log = tmp_path / "refused.log"
    env = subprocess_env({(API_HOST, 443): local, (AGENT_HOST, 443): local}, log)
    env["DEEPGRAM_API_KEY"] = KEY
    env.pop("SSL_CERT_DIR", None)
    if ca_file is None:
        env.pop("SSL_CERT_FILE", None)  # the system store
    else:
        env["SSL_CERT_FILE"] = str(ca_file)
    done = subprocess.run(
        [sys.executable, "-m", "actors", *argv],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
    )
    assert refused_in_child(log) == [], "the child looked up a non-loopback name"
    return done


def check_handshakes(seen: list[HandshakeSeen], host: str, path: str) -> None:
    assert seen, "the command never reached the server"
    for record in seen:
        assert (record.tls, record.server_name, record.headers["host"]) == (True, host, host)
        assert record.headers["authorization"] == f"Token {KEY}"
        assert record.path.startswith(path)


def test_transcribe_with_a_key_goes_to_deepgram(
    tls_server: LocalServer, recorder: Handshakes, pki: ThrowawayPki, tmp_path: Path
) -> None:
    recorder.take()
    call = spoken_wav(tmp_path / "call.wav", ["routed", "to", "deepgram"], leading_ms=100)
    out = tmp_path / "out"
    done = run_child(
        ["transcribe", str(call), "--out", str(out), "--progress", "plain"], tls_server, tmp_path, pki.ca_cert
    )
    assert done.returncode == 0, done.stderr
    assert "using Deepgram at wss://api.deepgram.com" in done.stderr
    assert "embedded" not in done.stderr  # no local server was started by the command
    assert (out / "call.txt").read_text().split()[-3:] == ["routed", "to", "deepgram"]
    check_handshakes(recorder.take(), API_HOST, "/v1/listen")
    assert KEY not in done.stdout + done.stderr


def test_speak_with_a_key_goes_to_deepgram(
    tls_server: LocalServer, recorder: Handshakes, pki: ThrowawayPki, tmp_path: Path
) -> None:
    recorder.take()
    out = tmp_path / "hello.wav"
    done = run_child(["speak", "hello from the cli", "-o", str(out)], tls_server, tmp_path, pki.ca_cert)
    assert done.returncode == 0, done.stderr
    assert "using Deepgram at wss://api.deepgram.com" in done.stderr
    assert "embedded" not in done.stderr  # no local server was started by the command
    with wave.open(str(out)) as w:
        assert w.getnframes() > 0
    check_handshakes(recorder.take(), API_HOST, "/v1/speak")


def test_agent_with_a_key_goes_to_deepgrams_agent_host(
    tls_server: LocalServer, recorder: Handshakes, pki: ThrowawayPki, tmp_path: Path
) -> None:
    recorder.take()
    done = run_child(["agent", "--say", "Hello there."], tls_server, tmp_path, pki.ca_cert)
    assert done.returncode == 0, done.stderr
    assert "using Deepgram at wss://api.deepgram.com" in done.stderr
    assert "embedded" not in done.stderr  # no local server was started by the command
    check_handshakes(recorder.take(), AGENT_HOST, "/v1/agent/converse")


@pytest.mark.parametrize("trust", ["system", "other-ca"])
def test_an_untrusted_certificate_fails_the_command_clearly(
    tls_server: LocalServer, recorder: Handshakes, pki: ThrowawayPki, tmp_path: Path, trust: str
) -> None:
    recorder.take()
    ca_file = None if trust == "system" else pki.other_ca_cert
    done = run_child(["speak", "hello", "-o", str(tmp_path / "x.wav")], tls_server, tmp_path, ca_file)
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: "), done.stderr
    assert f"TLS certificate verification failed for {API_HOST}" in last, done.stderr
    assert KEY not in done.stdout + done.stderr
    assert recorder.take() == []  # refused before any HTTP request


def test_the_child_resolver_refuses_and_logs_other_names(tmp_path: Path) -> None:
    log = tmp_path / "refused.log"
    env = subprocess_env({(API_HOST, 443): ("127.0.0.1", 1)}, log)
    code = (
        "import socket\n"
        "assert socket.getaddrinfo('api.deepgram.com', 443)[0][4][:2] == ('127.0.0.1', 1)\n"
        "try:\n    socket.getaddrinfo('example.com', 443)\nexcept socket.gaierror:\n    print('refused')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "refused"), done.stderr
    assert refused_in_child(log) == ["example.com:443"]


def test_transcribe_does_not_retry_an_untrusted_certificate(
    tls_server: LocalServer, recorder: Handshakes, pki: ThrowawayPki, tmp_path: Path
) -> None:
    recorder.take()
    call = spoken_wav(tmp_path / "call.wav", ["never", "sent"], leading_ms=100)
    argv = ["transcribe", str(call), "--out", str(tmp_path / "out"), "--progress", "plain"]
    done = run_child(argv, tls_server, tmp_path, pki.other_ca_cert)
    assert done.returncode == 1, done.stderr
    assert f"not retried: TLS certificate verification failed for {API_HOST}" in done.stderr
    assert KEY not in done.stdout + done.stderr
    assert recorder.take() == []
