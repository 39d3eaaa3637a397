"""Several instances, one store: 2 ``python -m actors ingest`` processes behind a real haproxy on one
real PostgreSQL, started by :class:`actors.ingest.local_cluster.LocalCluster` (the launcher users run).

One run of 40 concurrent calls through haproxy, each streaming 8.65 s of two-channel speech paced in
real time, spread over both instances (at least 10 each). While they all stream -- once each of
instance B's calls has a committed segment -- B is SIGKILLed. Then: every call of A finishes
``completed`` with all its words, per channel, in the database; once B's lease (2 s here) runs out,
A's reaper marks every call of B ``interrupted``, with each segment committed before the kill
still there, unchanged; ``/v1/calls`` on A lists all 40 calls, each once; new calls through haproxy
go to A, and A's ``/metrics`` counts the reaped instance and its calls.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from actors.ingest.local_cluster import LocalCluster
from actors.ingest.service import STREAM_PATH
from actors.ingest.store import CallRecord, Segment, TranscriptStore, open_store
from actors.server import LocalServer
from tests.support.haproxy import haproxy_binary
from tests.support.ingest import Call, conversation
from tests.support.plain_client import audio_frames, messages_until_closed, start_message, stop_message
from tests.support.polling import poll
from tests.support.resolver import REPO_ROOT

LEASE = 2.0
CALLS = 40
A, B = "ingest-1", "ingest-2"
RATE = 8000
#: 8.65 s of speech on two channels: each channel speaks twice, the turns alternating.
CALL = conversation(
    [
        (0, ["alpha", "bravo", "charlie", "delta"]),
        (1, ["echo", "foxtrot", "golf", "hotel"]),
        (0, ["india", "juliet", "kilo", "lima"]),
        (1, ["mike", "november", "oscar", "papa"]),
    ],
    channels=2,
    sample_rate=RATE,
    encoding="linear16",
    pause_ms=600,
)
#: A short call for after the kill.
SHORT = conversation([(0, ["after", "the", "kill"])], channels=2, sample_rate=RATE, encoding="linear16")
FRAME_MS = 100

Outcome = list[dict[str, object]] | ConnectionClosed


@pytest.fixture
def cluster(postgres_url: str, tmp_path: Path) -> Iterator[LocalCluster]:
    """2 instances (lease 2 s) + haproxy on a fresh database, transcribing with a local Deepgram server."""
    haproxy = haproxy_binary()
    env = {k: v for k, v in os.environ.items() if k != "DEEPGRAM_API_KEY"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    with LocalServer(engine="deterministic") as deepgram:
        running = LocalCluster(
            postgres_url,
            instances=2,
            port=0,
            lease_seconds=LEASE,
            ingest_args=["--url", deepgram.url],
            env=env,
            haproxy=haproxy,
            workdir=tmp_path,
            on_line=lambda _name, _line: None,
        )
        running.start()
        try:
            yield running
        finally:
            running.stop(drain=False)


async def stream(url: str, call_id: str, call: Call, *, paced: bool) -> Outcome:
    """One /v1/stream call through haproxy: all its audio (paced in real time when ``paced``), then
    stop; the server's messages, or how the connection closed when it was cut."""
    frames = audio_frames(call.audio, frame_bytes=2 * call.channels, frame_ms=FRAME_MS, sample_rate=RATE)
    try:
        async with websockets.connect(url + STREAM_PATH) as ws:
            start = start_message(call_id, encoding="linear16", sample_rate=RATE, channels=call.channels)
            await ws.send(start)
            began = asyncio.get_running_loop().time()
            for n, frame in enumerate(frames):
                await ws.send(frame)
                if paced:  # a live call's pace: the next frame when its audio would have been spoken
                    ahead = began + (n + 1) * FRAME_MS / 1000 - asyncio.get_running_loop().time()
                    if ahead > 0:
                        await asyncio.sleep(ahead)
            await ws.send(stop_message())
            return await messages_until_closed(ws, 30)
    except ConnectionClosed as exc:
        return exc


def calls_by_id(store: TranscriptStore) -> dict[str, CallRecord]:
    return {c.id: c for c in store.list_calls(limit=1000)}


def segments(store: TranscriptStore, call_id: str) -> tuple[Segment, ...]:
    detail = store.get_call(call_id)
    assert detail is not None, call_id
    return detail.segments


def words_per_channel(found: tuple[Segment, ...]) -> dict[int, list[str]]:
    by: dict[int, list[str]] = {}
    for s in sorted(found, key=lambda s: (s.channel, s.start)):
        by.setdefault(s.channel, []).extend(str(w["word"]) for w in s.words)
    return by


EXPECTED = {ch: [w.word for w in CALL.words if w.channel == ch] for ch in range(CALL.channels)}


def get(port: int, path: str) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
        body: bytes = answer.read()
        return body


def metric(port: int, name: str) -> float:
    """The value of the unlabelled sample ``name`` in ``/metrics`` on ``port``."""
    for line in get(port, "/metrics").decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no {name} in /metrics")


@pytest.mark.timeout(120)
def test_forty_calls_on_two_instances_and_one_is_killed_mid_run(
    cluster: LocalCluster, postgres_url: str
) -> None:
    store = open_store(postgres_url)
    url = cluster.url.replace("http", "ws", 1)
    ids = [f"call-{n}" for n in range(CALLS)]
    try:

        async def run() -> tuple[
            dict[str, Outcome], dict[str, tuple[Segment, ...]], dict[str, CallRecord], float
        ]:
            tasks = {c: asyncio.create_task(stream(url, c, CALL, paced=True)) for c in ids}

            def b_calls_committed() -> bool:
                calls = calls_by_id(store)
                if sorted(calls) != sorted(ids):
                    return False
                details = [store.get_call(c) for c, r in calls.items() if r.instance_id == B]
                return all(d is not None and d.segments for d in details)

            await asyncio.to_thread(poll, b_calls_committed, 30, "a committed segment in each call of B")
            before = {c: segments(store, c) for c, r in calls_by_id(store).items() if r.instance_id == B}
            # Checked before the kill: once B is gone its calls' sockets end at once.
            ended = {c: t.result() for c, t in tasks.items() if t.done()}
            assert not ended, f"calls had ended before the kill: {ended}"
            await asyncio.to_thread(cluster.kill, B)
            killed = time.monotonic()
            at_kill = calls_by_id(store)
            results = await asyncio.gather(*tasks.values())
            return dict(zip(tasks, results, strict=True)), before, at_kill, killed

        outcome, before, at_kill, killed_at = asyncio.run(run())
        owner = {c: r.instance_id for c, r in at_kill.items()}
        on_a = [c for c in ids if owner[c] == A]
        on_b = [c for c in ids if owner[c] == B]
        assert len(on_a) + len(on_b) == CALLS and min(len(on_a), len(on_b)) >= 10, (len(on_a), len(on_b))
        assert all(at_kill[c].status == "active" for c in ids), "a call had ended before the kill"

        # -- A's calls are unaffected: completed, every word of each channel stored ------------------
        for call_id in on_a:
            messages = outcome[call_id]
            assert isinstance(messages, list) and messages[-1]["status"] == "completed", (call_id, messages)
            assert words_per_channel(segments(store, call_id)) == EXPECTED, call_id
            assert calls_by_id(store)[call_id].status == "completed", call_id
        assert all(isinstance(outcome[c], ConnectionClosed) for c in on_b), "a call of B outlived B"

        # -- B's calls: interrupted once its lease ran out, the committed segments intact -----------
        poll(
            lambda: all(calls_by_id(store)[c].status == "interrupted" for c in on_b),
            LEASE * 4 + 10,
            "the killed instance's calls to be marked interrupted",
        )
        assert time.monotonic() - killed_at < LEASE * 4 + 10
        for call_id in on_b:
            after = segments(store, call_id)
            lost = [s for s in before[call_id] if s not in after]  # a changed one is lost too
            assert not lost, (call_id, lost, after)
        survivor = cluster.instance(A)
        assert any("reaped dead instance(s) " + B in line for line in survivor.lines), survivor.tail()

        # -- /v1/calls on A lists all 40, each once ----------------------------------------------------
        listed = [str(c["id"]) for c in json.loads(get(survivor.port, "/v1/calls?limit=1000"))["calls"]]
        assert len(listed) == len(set(listed)) == CALLS and set(listed) == set(ids)

        # -- new calls through haproxy go to A; its /metrics counted the reap -------------------------
        async def after_kill() -> list[Outcome]:
            return await asyncio.gather(*(stream(url, f"after-{n}", SHORT, paced=False) for n in range(4)))

        for result in asyncio.run(after_kill()):
            assert isinstance(result, list) and result[-1]["status"] == "completed", result
        records = calls_by_id(store)
        assert {records[f"after-{n}"].instance_id for n in range(4)} == {A}
        assert metric(survivor.port, "actors_ingest_reaped_instances_total") == 1
        assert metric(survivor.port, "actors_ingest_reaped_calls_total") == len(on_b)
        assert metric(survivor.port, "actors_ingest_live_instances") == 1
    finally:
        store.close()
