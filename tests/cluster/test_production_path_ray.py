"""``transcribe --ray`` with ``DEEPGRAM_API_KEY`` goes to Deepgram from the Ray workers -- proven offline.

The workers get their environment from the raylet that starts them, so this module runs its own
two-node Ray cluster in a child process (`tests.support.ray_process`), not the package's
``ray_cluster`` fixture, and never calls ``ray.init`` in the test process. Every process of that
cluster resolves ``api.deepgram.com:443`` to a TLS local server in this test process and refuses
(and logs) any other non-loopback lookup; ``SSL_CERT_FILE`` names a trust file holding the
throwaway test CA. The driver (``python -m actors transcribe --ray HOST:PORT``, the address Ray
prints) refuses and logs every remote name, ``api.deepgram.com`` included, and trusts only an
unrelated CA: if it contacted "Deepgram" itself the test would see it. The server checks the key
and records the SNI name and ``Host`` header of every handshake.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from actors.server import LocalServer
from tests.support.ray_process import RayClusterProcess, is_ray_service, node_environment
from tests.support.resolver import REPO_ROOT, is_own_address, refused_in_child, subprocess_env
from tests.support.tls import API_HOST, Handshakes, ThrowawayPki, deepgram_over_tls, make_test_pki
from tests.support.wav import spoken_wav

KEY = "ray-prod-path-key-1357924680"
CHILD_TIMEOUT = 90.0
#: What Ray's own service processes look up on their own (cloud metadata, usage stats); refused
#: like any remote name, logged apart from the workers' lookups.
RAY_SERVICE_LOOKUPS = {"169.254.169.254:80", "metadata.google.internal:80", "usage-stats.ray.io:443"}
CALLS = {"first": ["routed", "to", "deepgram"], "second": ["from", "the", "workers"]}

pytestmark = pytest.mark.timeout(150)


@attrs.frozen
class Cluster:
    """The module's Ray cluster, the trust file its nodes' ``SSL_CERT_FILE`` names (the driver's
    names an unrelated CA), and the refusal logs of its workers and of Ray's services."""

    process: RayClusterProcess
    trust: Path
    driver_trust: Path
    worker_log: Path
    service_log: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> ThrowawayPki:
    return make_test_pki(tmp_path_factory.mktemp("pki"), [API_HOST])


@pytest.fixture(scope="module")
def recorder() -> Handshakes:
    return Handshakes()


@pytest.fixture(scope="module")
def tls_server(pki: ThrowawayPki, recorder: Handshakes) -> Iterator[LocalServer]:
    with deepgram_over_tls(pki, {KEY}, recorder) as server:
        yield server


@pytest.fixture(scope="module")
def cluster(
    tls_server: LocalServer, pki: ThrowawayPki, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    home = tmp_path_factory.mktemp("ray-prod")
    trust = home / "trust.pem"
    shutil.copyfile(pki.ca_cert, trust)
    worker_log, service_log = home / "refused-workers.log", home / "refused-ray-services.log"
    env = node_environment({(API_HOST, 443): ("127.0.0.1", tls_server.port)}, worker_log, service_log)
    env["SSL_CERT_FILE"] = str(trust)
    env.pop("SSL_CERT_DIR", None)
    env.pop("DEEPGRAM_API_KEY", None)  # the key travels with each call, not in the nodes' environment
    with RayClusterProcess(env, home / "cluster.stderr") as process:
        yield Cluster(process, trust, pki.other_ca_cert, worker_log, service_log)


def run_driver(
    cluster: Cluster, calls: list[Path], out: Path, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    """``python -m actors transcribe --ray HOST:PORT CALLS`` with the key; no lookup may be refused."""
    log = tmp_path / "refused-driver.log"
    # No name maps to the test server here: a lookup of api.deepgram.com by the driver is refused.
    env = subprocess_env({("no-deepgram-from-the-driver.invalid", 443): ("127.0.0.1", 9)}, log)
    env.update(
        DEEPGRAM_API_KEY=KEY,
        SSL_CERT_FILE=str(cluster.driver_trust),  # not the test CA: the driver must not connect at all
        RAY_TMPDIR=str(cluster.process.tmp),
        RAY_AUTH_MODE="disabled",
        RAY_USAGE_STATS_ENABLED="0",
    )
    env.pop("SSL_CERT_DIR", None)
    argv = ["transcribe", "--ray", cluster.process.address, *map(str, calls), "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "actors", *argv, "--progress", "plain"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
    )
    assert refused_in_child(log) == [], "the driver looked up a non-loopback name"
    assert refused_in_child(cluster.worker_log) == [], "a Ray worker looked up a non-loopback name"
    assert set(refused_in_child(cluster.service_log)) <= RAY_SERVICE_LOOKUPS
    assert KEY not in done.stdout + done.stderr
    return done


def files_containing(directory: Path, text: str) -> list[Path]:
    """The files under ``directory`` whose bytes contain ``text``."""
    needle = text.encode()
    found: list[Path] = []
    for path in directory.rglob("*"):
        try:
            if path.is_file() and needle in path.read_bytes():
                found.append(path)
        except FileNotFoundError:  # removed while we looked (Ray's files come and go)
            continue
    return found


def test_transcribe_on_ray_with_a_key_goes_to_deepgram_from_the_workers(
    cluster: Cluster, recorder: Handshakes, tmp_path: Path
) -> None:
    recorder.take()
    calls = [spoken_wav(tmp_path / f"{name}.wav", words, leading_ms=100) for name, words in CALLS.items()]
    out = tmp_path / "out"
    done = run_driver(cluster, calls, out, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Ray cluster: 2 nodes, 2 CPUs" in done.stderr
    assert "using Deepgram at wss://api.deepgram.com" in done.stderr
    assert "embedded" not in done.stderr  # no local server was started by the command
    for name, words in CALLS.items():
        assert (out / f"{name}.txt").read_text().split()[-3:] == words
    summary = json.loads((out / "summary.json").read_text())
    assert [row["status"] for row in summary["calls"]] == ["ok", "ok"]
    assert len({row["worker"] for row in summary["calls"]}) == 2  # one call on each worker
    seen = recorder.take()
    assert len(seen) == len(CALLS)
    for record in seen:
        assert (record.tls, record.server_name, record.headers["host"]) == (True, API_HOST, API_HOST)
        assert record.headers["authorization"] == f"Token {KEY}"
        assert record.path.startswith("/v1/listen?")
    assert not files_containing(cluster.process.tmp, KEY)  # nor in Ray's logs
    ray = sys.modules.get("ray")  # imported by the package's conftest
    if ray is not None and ray.is_initialized():  # by the package's fixture for other modules, never for ours
        assert ray.get_runtime_context().gcs_address != cluster.process.address


def test_transcribe_on_ray_refuses_a_certificate_the_workers_do_not_trust(
    cluster: Cluster, recorder: Handshakes, pki: ThrowawayPki, tmp_path: Path
) -> None:
    recorder.take()
    calls = [spoken_wav(tmp_path / f"{name}.wav", words, leading_ms=100) for name, words in CALLS.items()]
    shutil.copyfile(pki.other_ca_cert, cluster.trust)  # the nodes' SSL_CERT_FILE: read per new worker
    try:
        done = run_driver(cluster, calls, tmp_path / "out", tmp_path)
    finally:
        shutil.copyfile(pki.ca_cert, cluster.trust)
    assert done.returncode == 1, done.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    for row in summary["calls"]:
        assert row["status"] == "failed", row
        assert f"TLS certificate verification failed for {API_HOST}" in row["error"], row
    assert done.stderr.count(f"TLS certificate verification failed for {API_HOST}") >= len(CALLS)
    assert recorder.take() == []  # refused before any HTTP request


def test_the_resolver_lets_this_machines_own_addresses_through_and_tells_ray_services_apart() -> None:
    import psutil

    interface = next(
        a.address
        for nic in psutil.net_if_addrs().values()
        for a in nic
        if a.family == socket.AF_INET and not a.address.startswith("127.")
    )
    assert all(map(is_own_address, ["0.0.0.0", "::", interface]))
    assert not any(map(is_own_address, ["203.0.113.7", "2001:db8::7", "vm"]))  # documentation ranges, a name
    site = "/venv/lib/python3.11/site-packages/ray"
    assert is_ray_service(["python", f"{site}/dashboard/dashboard.py", "--host=127.0.0.1"])
    assert is_ray_service(["python", "-u", f"{site}/_private/runtime_env/agent/main.py"])
    assert not is_ray_service(["python", f"{site}/_private/workers/default_worker.py", "--node-ip-address=x"])
    assert not is_ray_service(["python", "-m", "tests.support.ray_process"])
