"""Several instances, one store: 2 ``python -m actors ingest`` processes behind a real haproxy on one
real PostgreSQL, started by :class:`actors.ingest.local_cluster.LocalCluster` (the launcher users run).

40 calls through haproxy land on both instances, and every transcript is in the database; ``/v1/calls``
on either instance lists all of them. Then one instance is SIGKILLed while calls stream on both: once
its lease (2 s here) runs out, the other instance's reaper marks its calls ``interrupted`` with every
segment committed before the kill still there, while the survivor's calls finish ``completed``, and
new calls through haproxy go to the survivor.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from actors.ingest.local_cluster import LocalCluster
from actors.ingest.service import STREAM_PATH
from actors.ingest.store import CallRecord, TranscriptStore, open_store
from actors.server import LocalServer
from tests.support.haproxy import haproxy_binary
from tests.support.ingest import Call, conversation
from tests.support.plain_client import audio_frames, messages_until_closed, start_message, stop_message
from tests.support.resolver import REPO_ROOT

LEASE = 2.0
CALL = conversation(
    [(0, ["every", "call", "is", "kept"])], channels=1, sample_rate=16000, encoding="linear16"
)
# A call that says its first words, then (after the cut) its last ones: the kill falls in between.
LONG = conversation(
    [(0, ["first", "words", "committed"]), (0, ["then", "the", "rest"])],
    channels=1,
    sample_rate=16000,
    encoding="linear16",
    pause_ms=1500,
)
FIRST_END = max(w.end for w in LONG.words if w.word == "committed")
CUT = 2 * round((FIRST_END + 0.5) * 16000)  # linear16 mono: 2 bytes per sample


def poll(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait until ``check()`` is true (polling), failing with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    between = threading.Event()  # never set: its timed wait is the pause between two checks
    while not check():
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        between.wait(0.05)


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


def frames(call: Call, audio: bytes) -> list[bytes]:
    return audio_frames(audio, frame_bytes=2 * call.channels, sample_rate=call.sample_rate)


async def whole_call(url: str, call_id: str) -> list[dict[str, object]]:
    """One /v1/stream call through haproxy, all its audio then stop; the server's messages."""
    async with websockets.connect(url + STREAM_PATH) as ws:
        await ws.send(start_message(call_id, encoding="linear16", sample_rate=16000, channels=1))
        for frame in frames(CALL, CALL.audio):
            await ws.send(frame)
        await ws.send(stop_message())
        return await messages_until_closed(ws, 30)


def calls_by_id(store: TranscriptStore) -> dict[str, CallRecord]:
    return {c.id: c for c in store.list_calls(limit=1000)}


def words_of(store: TranscriptStore, call_id: str) -> list[str]:
    detail = store.get_call(call_id)
    assert detail is not None, call_id
    return [str(w["word"]) for s in detail.segments for w in s.words]


def api_calls(port: int) -> list[dict[str, object]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/calls?limit=1000", timeout=10) as answer:
        calls: list[dict[str, object]] = json.loads(answer.read())["calls"]
        return calls


async def calls_across_a_kill(
    cluster: LocalCluster, store: TranscriptStore, victim_holder: list[str]
) -> dict[str, list[dict[str, object]] | Exception]:
    """10 long calls: the first words of each, wait until each has a committed segment, SIGKILL the
    instance with the most of them, then finish the others' calls."""
    url = cluster.url.replace("http", "ws", 1)
    sockets = {}
    for n in range(10):
        call_id = f"long-{n}"
        ws = await websockets.connect(url + STREAM_PATH)
        await ws.send(start_message(call_id, encoding="linear16", sample_rate=16000, channels=1))
        sockets[call_id] = ws
    for ws in sockets.values():
        for frame in frames(LONG, LONG.audio[:CUT]):
            await ws.send(frame)

    def committed() -> bool:
        return all(words_of(store, c) == ["first", "words", "committed"] for c in sockets)

    await asyncio.to_thread(poll, committed, 20, "the first words of every call to be committed")
    owners = {c: r.instance_id for c, r in calls_by_id(store).items() if c in sockets}
    counts = {i: list(owners.values()).count(i) for i in ("ingest-1", "ingest-2")}
    assert all(counts.values()), f"the long calls did not reach both instances: {counts}"
    victim = victim_holder[0] = max(counts, key=lambda i: counts[i])
    cluster.kill(victim)
    victim_holder.append(str(time.monotonic()))
    still = {c: r.status for c, r in calls_by_id(store).items() if owners.get(c) == victim}
    assert set(still.values()) == {"active"}, f"reaped before the lease ran out: {still}"

    async def finish(call_id: str) -> list[dict[str, object]] | Exception:
        ws = sockets[call_id]
        try:
            for frame in frames(LONG, LONG.audio[CUT:]):
                await ws.send(frame)
            await ws.send(stop_message())
            return await messages_until_closed(ws, 30)
        except ConnectionClosed as exc:
            return exc

    results = await asyncio.gather(*(finish(c) for c in sockets))
    return dict(zip(sockets, results, strict=True))


@pytest.mark.timeout(120)
def test_two_instances_behind_haproxy_share_the_store_and_reap_a_killed_one(
    cluster: LocalCluster, postgres_url: str
) -> None:
    store = open_store(postgres_url)
    try:
        # -- 40 calls through haproxy: spread over both, every transcript stored --------------------
        async def forty() -> list[list[dict[str, object]]]:
            url = cluster.url.replace("http", "ws", 1)
            return await asyncio.gather(*(whole_call(url, f"call-{n}") for n in range(40)))

        results = asyncio.run(forty())
        assert all(r[-1]["status"] == "completed" for r in results), results
        calls = calls_by_id(store)
        assert sorted(calls) == sorted(f"call-{n}" for n in range(40))
        owners = [c.instance_id for c in calls.values()]
        spread = {i: owners.count(i) for i in ("ingest-1", "ingest-2")}
        assert sum(spread.values()) == 40 and min(spread.values()) > 0, spread
        expected = [w.word for w in CALL.words]
        for call_id, record in calls.items():
            assert record.status == "completed", (call_id, record)
            assert words_of(store, call_id) == expected, call_id
        for child in cluster.instances:  # /v1/calls on each instance shows every instance's calls
            listed = {str(c["id"]): c["instance_id"] for c in api_calls(child.port)}
            assert listed == {c: r.instance_id for c, r in calls.items()}, child.name

        # -- SIGKILL one instance mid-run -----------------------------------------------------------
        victim: list[str] = [""]
        outcome = asyncio.run(calls_across_a_kill(cluster, store, victim))
        owner = {c: r.instance_id for c, r in calls_by_id(store).items() if c.startswith("long-")}
        dead = [c for c in outcome if owner[c] == victim[0]]
        alive = [c for c in outcome if owner[c] != victim[0]]
        assert dead and alive
        for call_id in alive:  # the survivor's calls are unaffected
            messages = outcome[call_id]
            assert isinstance(messages, list) and messages[-1]["status"] == "completed", (call_id, messages)
            assert words_of(store, call_id) == [w.word for w in LONG.words], call_id
        poll(
            lambda: all(calls_by_id(store)[c].status == "interrupted" for c in dead),
            LEASE * 4 + 10,
            "the killed instance's calls to be marked interrupted",
        )
        reaped_after = time.monotonic() - float(victim[1])
        for call_id in dead:  # every segment committed before the kill is still there
            assert words_of(store, call_id)[:3] == ["first", "words", "committed"], call_id
        assert reaped_after < LEASE * 4 + 10
        survivor = next(c for c in cluster.instances if c.name != victim[0])
        assert any("reaped dead instance(s) " + victim[0] in line for line in survivor.lines), survivor.tail()

        # -- new calls through haproxy go to the survivor -------------------------------------------
        async def four() -> list[list[dict[str, object]]]:
            url = cluster.url.replace("http", "ws", 1)
            return await asyncio.gather(*(whole_call(url, f"after-{n}") for n in range(4)))

        after = asyncio.run(four())
        assert all(r[-1]["status"] == "completed" for r in after), after
        records = calls_by_id(store)
        assert {records[f"after-{n}"].instance_id for n in range(4)} == {survivor.name}
    finally:
        store.close()
