"""`ClusterPool` on a real two-node Ray cluster against the local server (deterministic engine).

Each test starts its own pool (two `SupervisorWorker` processes, one per node) on the package's
cluster; the server counts the connections it holds at once, which is how the cluster-wide limit
is checked from the other side of the wire.
"""

from __future__ import annotations

import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any

import pytest

from actors.cli.calljob import StreamSettings
from actors.cli.outputs import final_segment
from actors.cli.target import Target
from actors.cluster import ClusterPool
from actors.cluster.pool import ClusterCallResult
from actors.errors import OptionsError
from actors.protocol.apis import LISTEN_V1
from actors.protocol.listen_v1.options import ListenV1Options
from actors.runtime import ConnectionConfig, events
from actors.runtime.stream import StreamState
from actors.server import LocalServer
from actors.server.engines.deterministic import interleave, synthesize_words
from tests.cluster.conftest import RayCluster
from tests.support.wav import wav_bytes

WORDS = ["thank", "you", "for", "calling", "how", "can", "i", "help"]
REPLY = ["my", "order", "number", "is", "five", "five", "five"]


def stereo_wav(left: list[str], right: list[str], rate: int = 16000, tail_ms: int = 0) -> bytes:
    """A stereo call as WAV bytes: ``left`` from 0.2 s, ``right`` after it, then ``tail_ms`` of silence."""
    first = synthesize_words(left, rate, leading_ms=200)
    pause_ms = 1000 * len(first) // (2 * rate) + 300
    second = synthesize_words(right, rate, leading_ms=pause_ms)
    longest = max(len(first), len(second)) + 2 * rate * tail_ms // 1000
    pcm = interleave([first.ljust(longest, b"\0"), second.ljust(longest, b"\0")])
    return wav_bytes(pcm, channels=2, rate=rate)


class Sink:
    """Records a call's messages (cleared on a re-run, as the CLI's writer is) and its re-runs."""

    def __init__(self) -> None:
        self.messages: list[Mapping[str, Any]] = []
        self.restarts: list[str] = []
        self.started = threading.Event()

    def message(self, message: Mapping[str, Any]) -> None:
        self.messages.append(message)

    def progress(self, sent: float | None, heard: str | None, state: str | None) -> None:
        if sent:
            self.started.set()

    def restart(self, reason: str) -> None:
        self.restarts.append(reason)
        self.messages = []

    def words(self) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for message in self.messages:
            segment = final_segment(message)
            if segment is not None:
                out.setdefault(segment.channel, []).extend(w.text for w in segment.words)
        return {k: v for k, v in out.items() if v}


@pytest.fixture
def server(make_server: Callable[..., LocalServer]) -> LocalServer:
    return make_server(max_connections=1000)


def _target(server: LocalServer) -> Target:
    return Target("url", server.url, server.url, "test-key")


def _live_config(server: LocalServer) -> ConnectionConfig:
    """The config of a live 16 kHz linear16 Listen V1 stream on ``server``."""
    return _target(server).connection_config(
        LISTEN_V1, options=ListenV1Options(model="nova-3", encoding="linear16", sample_rate=16000)
    )


def test_calls_spread_over_both_workers_within_the_cluster_wide_limit(
    ray_cluster: RayCluster, server: LocalServer
) -> None:
    settings = StreamSettings(query=(("model", "nova-3"),), speed=4.0)
    with ClusterPool(max_connections=2) as pool:
        nodes = {w.node_ip for w in pool.workers()}
        assert len(pool.workers()) == 2 and all(w.alive for w in pool.workers()), pool.workers()
        runs = []
        for i in range(6):
            sink = Sink()
            audio = stereo_wav(WORDS, REPLY) if i % 2 == 0 else stereo_wav(REPLY, WORDS)
            runs.append(
                (
                    i,
                    sink,
                    pool.run_call(f"call-{i}", f"call-{i}", ".wav", audio, settings, _target(server), sink),
                )
            )
        results = [(i, sink, future.result(timeout=90)) for i, sink, future in runs]
        stats = pool.admission()
    for i, sink, result in results:
        assert result.outcome.status == "ok", (result.outcome.error, result.reruns)
        expected = {0: WORDS, 1: REPLY} if i % 2 == 0 else {0: REPLY, 1: WORDS}
        assert sink.words() == expected
        assert result.outcome.words == len(WORDS) + len(REPLY)
    assert {r.worker for _, _, r in results} == {w.name for w in pool.workers()}  # both took calls
    assert server.peak_connection_count == 2  # the limit, held across the two workers
    assert stats is not None and stats.peak == 2 and stats.granted == 6 and stats.active == 0
    assert len(nodes) == 1  # Ray registers every local node under the host's interface address


def test_live_streams_deliver_in_order_and_respect_the_limit(
    ray_cluster: RayCluster, server: LocalServer
) -> None:
    config = _live_config(server)
    pcm = synthesize_words(WORDS, 16000, leading_ms=200)
    with ClusterPool(max_connections=2, audio_flush_interval=0.02) as pool:
        inboxes: list[queue.Queue[object]] = [queue.Queue() for _ in range(4)]
        streams = [
            pool.open_stream(config, [inbox], stream_id=f"live-{i}") for i, inbox in enumerate(inboxes)
        ]
        for stream in streams:
            for start in range(0, len(pcm), 3200):
                stream.send_audio(pcm[start : start + 3200])
        results: list[Any] = [None] * len(streams)

        def finish(index: int) -> None:
            results[index] = streams[index].finish(timeout=30)

        threads = [
            threading.Thread(target=finish, args=(i,), name=f"test-finish-{i}") for i in range(len(streams))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert {s.worker for s in streams} == {w.name for w in pool.workers()}
    assert all(r is not None and r.ok and r.finals >= 1 for r in results), results
    assert server.peak_connection_count <= 2
    for inbox in inboxes:
        seen = []
        while not inbox.empty():
            seen.append(inbox.get())
        assert isinstance(seen[0], events.Opened) and isinstance(seen[-1], events.Closed), seen
        words = [
            w.word
            for m in seen
            if type(m).__name__ == "ListenV1Results" and m.is_final  # type: ignore[attr-defined]
            for w in m.channel.alternatives[0].words  # type: ignore[attr-defined]
        ]
        assert words == WORDS


def _wait_until(predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    event = threading.Event()
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        event.wait(0.05)


def _start_calls(
    pool: ClusterPool, prefix: str, count: int, audio: bytes, settings: StreamSettings, server: LocalServer
) -> list[tuple[Sink, Future[ClusterCallResult]]]:
    """Run ``count`` calls of ``audio`` (``PREFIX-0``, ...) on ``pool`` against ``server``; return each
    one's sink and result future once every call has started streaming (30 s at most)."""
    runs = []
    for i in range(count):
        sink, name = Sink(), f"{prefix}-{i}"
        runs.append((sink, pool.run_call(name, name, ".wav", audio, settings, _target(server), sink)))
    _wait_until(lambda: all(s.started.is_set() for s, _ in runs), 30)
    return runs


def test_a_killed_worker_process_has_its_calls_rerun_complete(
    ray_cluster: RayCluster, server: LocalServer
) -> None:
    settings = StreamSettings(query=(("model", "nova-3"),), speed=1.0)  # real time: ~4 s per call
    with ClusterPool(max_connections=10) as pool:
        runs = _start_calls(pool, "k", 4, stereo_wav(WORDS, REPLY, tail_ms=1000), settings, server)
        victim = pool.workers()[0]
        assert victim.pid is not None and victim.running == 2, pool.workers()
        os.kill(victim.pid, signal.SIGKILL)
        results = [(sink, future.result(timeout=90)) for sink, future in runs]
        _wait_until(lambda: pool.workers()[0].alive, 30)  # Ray restarted it: a new process
        after = pool.workers()[0]
    rerun = [r for _, r in results if r.reruns]
    assert len(rerun) == 2, results
    for sink, result in results:
        assert result.outcome.status == "ok", result
        assert sink.words() == {0: WORDS, 1: REPLY}  # complete and exact, lost attempt discarded
    for result in rerun:
        assert victim.name in result.reruns[0]
    assert after.pid != victim.pid and after.restarts == 1


def test_a_removed_node_has_its_calls_rerun_on_the_live_worker(
    ray_cluster: RayCluster, server: LocalServer
) -> None:
    settings = StreamSettings(query=(("model", "nova-3"),), speed=1.0)
    node = ray_cluster.worker_node()
    try:
        with ClusterPool(max_connections=10) as pool:
            runs = _start_calls(pool, "n", 2, stereo_wav(REPLY, WORDS, tail_ms=1000), settings, server)
            assert all(w.running == 1 for w in pool.workers()), pool.workers()
            ray_cluster.cluster.remove_node(node, allow_graceful=False)
            results = [(sink, future.result(timeout=120)) for sink, future in runs]
    finally:
        ray_cluster.add_worker_node()
    assert [r.outcome.status for _, r in results] == ["ok", "ok"], [
        (r.outcome.error, r.reruns) for _, r in results
    ]
    assert sum(1 for _, r in results if r.reruns) == 1, results
    for sink, _ in results:
        assert sink.words() == {0: REPLY, 1: WORDS}


def test_leases_of_a_holder_that_no_longer_exists_are_given_back(
    ray_cluster: RayCluster, server: LocalServer
) -> None:
    import ray

    settings = StreamSettings(query=(("model", "nova-3"),), speed=None)
    with ClusterPool(max_connections=1) as pool:
        limiter = ray.get_actor(pool._limiter_name, namespace=pool.namespace)
        assert ray.get(limiter.acquire.remote("actors-worker-gone", "gone/1"))  # a dead worker's lease
        sink = Sink()
        result = pool.run_call(
            "after", "after", ".wav", stereo_wav(WORDS, REPLY), settings, _target(server), sink
        )
        outcome = result.result(timeout=60).outcome
        stats = pool.admission()
    assert outcome.status == "ok", outcome
    assert stats is not None and stats.active == 0 and stats.granted == 2


def test_a_stream_on_a_killed_worker_ends_with_an_error_its_subscribers_hear(
    ray_cluster: RayCluster, server: LocalServer
) -> None:
    config = _live_config(server)
    with ClusterPool(workers=1) as pool:
        inbox: queue.Queue[object] = queue.Queue()
        stream = pool.open_stream(config, [inbox], stream_id="doomed")
        stream.send_audio(synthesize_words(WORDS, 16000))
        assert stream.wait_open(30)
        pid = pool.workers()[0].pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        result = stream.finish(timeout=30)
        with pytest.raises(Exception, match="lost"):
            stream.send_audio(b"\0\0")
    assert not result.ok and "lost" in (result.error or ""), result
    seen = []
    while not inbox.empty():
        seen.append(inbox.get())
    assert isinstance(seen[-2], events.ConnectionFailed) and isinstance(seen[-1], events.Closed), seen


def test_a_live_stream_handle_offers_what_a_local_one_does(
    ray_cluster: RayCluster, server: LocalServer
) -> None:
    from actors.protocol.listen_v1.messages import ListenV1Finalize

    config = _live_config(server)
    with ClusterPool(workers=1, max_connections=1) as pool:
        inbox: queue.Queue[object] = queue.Queue()
        first = pool.open_stream(config, [inbox], stream_id="first")
        second = pool.open_stream(config, stream_id="second")  # waits for the only lease
        first.send_audio(synthesize_words(WORDS, 16000, leading_ms=100))
        first.send(ListenV1Finalize())  # in order, after the audio
        assert first.wait_open(30) and first.state is StreamState.OPEN
        assert second.state is StreamState.QUEUED and not second.wait_open(0.5)
        assert [s.stream_id for s in pool.streams()] == ["first", "second"]
        live = first.metrics
        assert live.connections == 1 and live.stream_id == "first"
        pool.stop_stream("second")  # never connected: it ends at once, its lease request withdrawn
        assert second.wait_closed(10) and second.state is StreamState.CLOSED
        result = first.finish(timeout=30)
        stats = pool.admission()
    assert result.ok and first.state is StreamState.CLOSED, result
    assert len(first.request_ids) == 1 and result.request_ids == first.request_ids
    assert first.metrics.audio_seconds > 1.0 and first.metrics.finals == result.finals
    seen = []
    while not inbox.empty():
        seen.append(inbox.get())
    finalized = [m for m in seen if getattr(m, "from_finalize", False)]
    assert finalized, seen  # the server answered the Finalize
    assert stats is not None and stats.active == 0 and stats.granted == 1
    with pytest.raises(OptionsError, match="no stream named 'first'"):
        pool.stop_stream("first")
