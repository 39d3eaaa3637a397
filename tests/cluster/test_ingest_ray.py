"""``ingest --ray``: a real `IngestService` whose Deepgram streams run on the package's two-node Ray cluster.

The platform sockets, the store and admission stay in the test process; every call's stream is
opened on a `ClusterPool` worker (two: one per node) against the deterministic embedded server, so
what lands in SQLite is exactly the call's known words, as without ``--ray``. The cluster-wide limit
is the service's ``max_calls``: a second call whose stream went to the *other* worker still waits
for the first call's lease. A worker killed mid-call (``kill -9`` by PID) fails its call the way a
stream that gave up fails it locally, keeping what was committed before.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from actors.cluster import LeaseStats
from actors.cluster.connect import unreachable_nodes
from actors.errors import OptionsError
from actors.ingest.audiohook.messages import DisconnectParameters, EventParameters
from actors.ingest.config import IngestConfig
from actors.ingest.service import TRANSCRIPTION_PATH, IngestService
from actors.ingest.store import open_store
from actors.ingest.streams import ClusterStreamHost
from actors.runtime.stream import StreamState
from actors.server import LocalServer
from tests.cluster.conftest import RayCluster
from tests.ingest.test_service_admission import (
    FIRST,
    SECOND,
    disconnect_of,
    holding,
    refused,
    streaming,
    synced,
)
from tests.ingest.test_service_twilio_plain import twilio_call
from tests.support.ingest import (
    LiveSession,
    audiohook_call_to_port,
    conversation,
    event_tokens,
    ingest_service,
    live_session,
    running_ingest,
    stored_words,
)
from tests.support.resolver import REPO_ROOT
from tests.support.twilio_client import TwilioStream

CALL = conversation([(0, ["hello", "thanks", "for", "calling"]), (1, ["hi", "my", "order"]), (0, ["sure"])])
TWILIO = conversation([(0, ["my", "card", "was", "charged"]), (1, ["let", "me", "check"])])
#: The part of a call heard before its worker is killed, and the part after.
BEFORE_KILL = conversation([(0, ["the", "first", "words", "are", "kept"])], tail_ms=1500)
AFTER_KILL = conversation([(1, ["these", "are", "not", "heard"])])


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/ingest.sqlite3"


def cluster_host(service: IngestService) -> ClusterStreamHost:
    host = service.stream_host
    assert isinstance(host, ClusterStreamHost), host
    return host


def settled_admission(host: ClusterStreamHost, timeout: float = 10.0) -> LeaseStats:
    """The limiter's figures once every lease is back (a worker gives a lease back with a one-way
    call, so the limiter may hear it just after the call ended here)."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        stats = host.pool.admission()
        assert stats is not None
        if stats.active == 0 or time.monotonic() > deadline:
            return stats
        pause.wait(0.05)


def tokens_stored(service: IngestService, call_id: str) -> set[tuple[int, str, float]]:
    return {(w.channel, w.word, w.start) for w in stored_words(service, call_id)}


def test_audiohook_and_twilio_calls_run_on_the_pool_and_land_in_the_store_exactly(
    ray_cluster: RayCluster, tmp_path: Path
) -> None:
    async def audiohook() -> LiveSession:
        async with live_session(service, TRANSCRIPTION_PATH) as s:
            await s.audio(CALL.audio)
            await s.until(EventParameters)
            # reported only once committed: what the platform heard is in the store already
            assert set(event_tokens(s.client)) <= tokens_stored(service, s.client.session_id)
            running = host.streams()
            assert [r.stream_id for r in running] == [s.client.session_id], running
            assert running[0].worker in workers and running[0].state is StreamState.OPEN
            await s.close()
            return s

    twilio = TwilioStream(("inbound", "outbound"))
    with ingest_service(sqlite_url(tmp_path), ray=ray_cluster.address) as service:
        host = cluster_host(service)
        workers = {w.name for w in host.pool.workers()}
        assert len(workers) == 2 and host.max_connections == service.config.max_calls
        session = asyncio.run(audiohook())
        code = asyncio.run(twilio_call(service, twilio, TWILIO))
        stats = settled_admission(host)
        call_id = session.client.session_id
        assert stored_words(service, call_id) == list(CALL.words)
        assert event_tokens(session.client) == sorted((w.channel, w.word, w.start) for w in CALL.words)
        assert code == 1000 and stored_words(service, twilio.call_sid) == list(TWILIO.words)
        for sid in (call_id, twilio.call_sid):
            detail = service.store.get_call(sid)
            assert detail is not None and detail.call.status == "completed", detail
            assert len(detail.call.request_ids) == 1, "the worker's Deepgram request id is recorded"
            assert detail.call.stats["connections"] == 1 and detail.call.stats["streams"] == 1
    # each stream took its lease from the pool's cluster-wide limiter: it ran on a pool worker
    assert (stats.granted, stats.active) == (2, 0), stats


def test_max_calls_is_the_limit_of_the_whole_cluster(ray_cluster: RayCluster, tmp_path: Path) -> None:
    """One slot for the cluster: the second call's stream goes to the idle worker and still waits for
    the first call's lease, then is transcribed completely; a third call that waits past
    ``queue_seconds`` while the second holds the slot is refused as without ``--ray``."""

    async def run() -> tuple[LiveSession, LiveSession, DisconnectParameters, LiveSession]:
        async with live_session(service, TRANSCRIPTION_PATH) as first:
            await holding(first)
            async with live_session(service, TRANSCRIPTION_PATH) as second:
                await second.audio(SECOND.audio)
                await synced(second)
                streams = {s.stream_id: s for s in host.streams()}
                held, waiting = streams[first.client.session_id], streams[second.client.session_id]
                assert held.worker != waiting.worker, "placed on the other worker: only the limiter holds it"
                assert held.state is StreamState.OPEN and waiting.state is StreamState.QUEUED
                assert not any(isinstance(m.parameters, EventParameters) for m in second.client.received)
                await first.close()
                await second.until(EventParameters)  # admitted once the first call's lease came back
                async with live_session(service, TRANSCRIPTION_PATH) as third:
                    quiet = (frame for _ in range(80) for frame in third.client.audio(0.2))  # 16 s of silence
                    async with streaming(third.ws.send, quiet):
                        answer = await disconnect_of(third)
                await second.close()
            return first, second, answer, third

    with ingest_service(
        sqlite_url(tmp_path), ray=ray_cluster.address, max_calls=1, max_waiting=1, queue_seconds=5.0
    ) as service:
        host = cluster_host(service)
        assert host.max_connections == 1
        first, second, answer, third = asyncio.run(run())
        stats = settled_admission(host)
        for s, call in ((first, FIRST), (second, SECOND)):
            detail = service.store.get_call(s.client.session_id)
            assert detail is not None and detail.call.status == "completed"
            assert stored_words(service, s.client.session_id) == list(call.words)
        assert (answer.info or "").startswith("Service Unavailable"), answer.info
        assert refused(service, "audiohook") == 1
        detail = service.store.get_call(third.client.session_id)
        assert detail is not None and detail.call.status == "failed"
    assert (stats.peak, stats.granted, stats.active) == (1, 2, 0), stats


def test_a_worker_killed_mid_call_fails_the_call_and_keeps_what_was_committed(
    ray_cluster: RayCluster, tmp_path: Path
) -> None:
    killed: list[float] = []

    async def run() -> tuple[LiveSession, DisconnectParameters]:
        async with live_session(service, TRANSCRIPTION_PATH) as s:
            await s.audio(BEFORE_KILL.audio)
            await s.until(EventParameters)  # the first utterance is committed (and reported)
            [stream] = host.streams()
            [victim] = [w for w in host.pool.workers() if w.name == stream.worker]
            assert victim.pid is not None
            os.kill(victim.pid, signal.SIGKILL)
            killed.append(time.monotonic())
            assert stream.wait_closed(30), "the pool noticed the lost worker"
            await s.audio(AFTER_KILL.audio)  # the call goes on: its next audio finds the stream failed
            message = await s.until(DisconnectParameters)
            assert isinstance(message.parameters, DisconnectParameters)
            await s.close()
            return s, message.parameters

    with ingest_service(sqlite_url(tmp_path), ray=ray_cluster.address) as service:
        host = cluster_host(service)
        session, answer = asyncio.run(run())
        assert service.wait_idle(30), "the failed call's finish did not end"
        seconds = time.monotonic() - killed[0]
        call_id = session.client.session_id
        assert answer.reason == "error" and (answer.info or "").startswith("Internal Server Error"), answer
        assert "transcription failed" in (answer.info or ""), answer
        assert seconds < 20, f"the call took {seconds:.1f} s to end after the kill"
        detail = service.store.get_call(call_id)
        assert detail is not None and detail.call.status == "failed"
        assert stored_words(service, call_id) == list(BEFORE_KILL.words), "committed segments are kept"
        assert len(detail.call.request_ids) == 1
        assert service.metrics.value("actors_ingest_calls_total", platform="audiohook", outcome="error") == 1


def test_a_call_with_no_live_worker_is_refused_and_stored_failed(
    ray_cluster: RayCluster, tmp_path: Path
) -> None:
    async def run() -> tuple[LiveSession, DisconnectParameters]:
        async with live_session(service, TRANSCRIPTION_PATH) as s:
            return s, await disconnect_of(s)

    with ingest_service(sqlite_url(tmp_path), ray=ray_cluster.address, ray_workers=1) as service:
        cluster_host(service).pool.close()  # as when every worker is lost: no stream can be placed
        session, answer = asyncio.run(run())
        assert service.wait_idle(10)
        detail = service.store.get_call(session.client.session_id)
    assert answer.reason == "error", answer
    refusal = "Service Unavailable: no transcription stream could be opened"
    assert (answer.info or "").startswith(refusal), answer
    assert detail is not None and detail.call.status == "failed", "the call row is closed, not left active"


def test_the_command_with_ray_transcribes_on_the_cluster_and_drains_on_sigterm(
    ray_cluster: RayCluster, tmp_path: Path
) -> None:
    """``python -m actors ingest --url LOOPBACK --ray HOST:PORT``: a loopback server is fine when every
    node is on this machine; SIGTERM drains (ray.init's own SIGTERM handler would abort the process)."""
    store_url = sqlite_url(tmp_path)
    env = ray_cluster.env()
    env.pop("DEEPGRAM_API_KEY", None)
    argv = ("--ray", ray_cluster.address, "--ray-workers", "1")
    with (
        LocalServer(engine="deterministic") as deepgram,
        running_ingest(store_url, deepgram.url, *argv, env=env) as child,
    ):
        client = asyncio.run(audiohook_call_to_port(child.port, CALL, TRANSCRIPTION_PATH))
        child.proc.send_signal(signal.SIGTERM)
        try:
            code = child.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail("the service did not drain in time:\n" + "".join(child.lines))
        assert code == 0, "".join(child.lines)
    assert any("streams on the Ray cluster" in line for line in child.lines), "".join(child.lines)
    store = open_store(store_url)
    try:
        detail = store.get_call(client.session_id)
        assert detail is not None and detail.call.status == "completed"
        words = [(s.channel, str(w["word"])) for s in detail.segments for w in s.words]
        assert sorted(words) == sorted((w.channel, w.word) for w in CALL.words)
        assert len(detail.call.request_ids) == 1
    finally:
        store.close()


def test_an_unreachable_cluster_stops_the_command_with_a_clear_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DEEPGRAM_API_KEY"}
    argv = ["--port", "0", "--store", sqlite_url(tmp_path), "--url", "ws://127.0.0.1:9"]
    argv += ["--ray", "127.0.0.1:1"]
    result = subprocess.run(
        [sys.executable, "-m", "actors", "ingest", *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert "cannot start: cannot run the streams on the Ray cluster 127.0.0.1:1" in result.stderr
    assert "cannot reach the Ray cluster at 127.0.0.1:1" in result.stderr, result.stderr


def test_a_loopback_deepgram_url_is_refused_for_nodes_on_other_machines() -> None:
    nodes = {"10.0.0.1", "10.0.0.2"}
    assert unreachable_nodes("http://127.0.0.1:4000", nodes, "10.0.0.1") == {"10.0.0.2"}
    assert unreachable_nodes("ws://localhost:4000", nodes, "10.0.0.1") == {"10.0.0.2"}
    assert unreachable_nodes("http://127.0.0.1:4000", {"10.0.0.1"}, "10.0.0.1") == set()
    assert unreachable_nodes("wss://api.deepgram.com", nodes, "10.0.0.1") == set()


def test_an_ssl_context_cannot_go_to_the_cluster(ray_cluster: RayCluster, tmp_path: Path) -> None:
    import ssl

    config = IngestConfig(port=0, store=sqlite_url(tmp_path), ray=ray_cluster.address)
    with pytest.raises(OptionsError, match=r"deepgram_ssl: an SSLContext cannot travel.*SSL_CERT_FILE"):
        IngestService(
            config, deepgram_url="wss://127.0.0.1:1", api_key="k", deepgram_ssl=ssl.create_default_context()
        )
