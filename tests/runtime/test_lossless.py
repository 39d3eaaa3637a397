"""Lossless reconnect under random faults: 50 concurrent streams, each must equal the fault-free run.

Every stream carries deterministic-engine words, so the fault-free transcript (words and exact
timings) is known. Faults are drawn per stream from a seeded random generator: a dropped TCP
connection, a 1011 close, a stalled server, or a drop followed by 429s on reconnect. After all
streams finish, each must have every word exactly once, at the fault-free timestamps, in order.
"""

from __future__ import annotations

import queue
import random
import struct
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from actors.protocol.apis import LISTEN_V1, LISTEN_V2
from actors.protocol.auth import Auth
from actors.protocol.listen_v1.options import ListenV1Options
from actors.protocol.listen_v2.options import ListenV2Options
from actors.runtime.config import ConnectionConfig
from actors.runtime.policy import Backoff, RestartPolicy
from actors.runtime.stream import StreamHandle, StreamResult
from actors.runtime.supervisor import Supervisor
from actors.server import FaultRule, LocalServer
from actors.server.engines.deterministic import synthesize_words
from tests.runtime.test_supervisor import (
    BYTES_PER_SECOND,
    FAST,
    RATE,
    assert_monotonic,
    drain,
    expected,
    listen_config,
    send_paced,
    words_of,
)

STREAMS = 50
VOCABULARY = [
    "account", "balance", "billing", "cancel", "card", "charge", "credit", "customer", "delivery",
    "order", "payment", "refund", "renew", "service", "support", "ticket", "transfer", "update",
]  # fmt: skip
FAULT_KINDS = ("none", "drop", "close1011", "stall", "drop429")


def add_fault(server: LocalServer, tag: str, kind: str, rng: random.Random) -> None:
    """Add the fault rules for one stream (each fires on one connection only)."""
    after = round(rng.uniform(0.4, 2.0), 2)
    if kind == "drop":
        server.faults.add(FaultRule(kind="drop", match_tag=tag, after_audio_seconds=after, times=1))
    elif kind == "close1011":
        server.faults.add(
            FaultRule(
                kind="close", match_tag=tag, code=1011, reason="NET-0000", after_audio_seconds=after, times=1
            )
        )
    elif kind == "stall":
        server.faults.add(
            FaultRule(kind="stall", match_tag=tag, after_audio_seconds=after, duration=2.5, times=1)
        )
    elif kind == "drop429":
        server.faults.add(FaultRule(kind="drop", match_tag=tag, after_audio_seconds=after, times=1))
        server.faults.add(FaultRule(kind="reject", match_tag=tag, status=429, times=1))


def test_fifty_streams_with_random_faults_lose_and_duplicate_nothing(
    make_server: Callable[..., LocalServer],
) -> None:
    rng = random.Random(20240611)
    server = make_server()
    plans = []
    for i in range(STREAMS):
        tag = f"call-{i}"
        kind = FAULT_KINDS[i % len(FAULT_KINDS)]
        add_fault(server, tag, kind, rng)
        words = [rng.choice(VOCABULARY) for _ in range(8)]
        plans.append((tag, kind, words, synthesize_words(words, RATE)))

    policy = RestartPolicy.on_failure(max_restarts=5, within=60.0, backoff=Backoff(initial=0.05, maximum=0.5))
    started = time.monotonic()
    with Supervisor(keep_finals=True, max_connections=STREAMS, stall_timeout=1.0) as sup:
        handles: list[StreamHandle] = [
            sup.open_stream(listen_config(server, tag), restart=policy, stream_id=tag)
            for tag, _, _, _ in plans
        ]
        # Interleave the streams' audio in 250 ms chunks at about 4x real time.
        chunk = BYTES_PER_SECOND // 4
        longest = max(len(audio) for _, _, _, audio in plans)
        for offset in range(0, longest, chunk):
            for handle, (_, _, _, audio) in zip(handles, plans, strict=True):
                if offset < len(audio):
                    handle.send_audio(audio[offset : offset + chunk])
            time.sleep(0.06)
        with ThreadPoolExecutor(max_workers=STREAMS, thread_name_prefix="test-finish") as pool:
            results: list[StreamResult] = list(pool.map(lambda h: h.finish(timeout=20), handles))
    elapsed = time.monotonic() - started

    failures = []
    for (tag, kind, words, _), result in zip(plans, results, strict=True):
        if not result.ok or words_of(result) != expected(words):
            failures.append((tag, kind, result.error, words_of(result), expected(words)))
            continue
        assert_monotonic(result)
        if kind != "none":
            assert result.metrics.reconnects >= 1, f"{tag} ({kind}) never reconnected"
            assert len(set(result.request_ids)) == result.metrics.connections
    assert not failures, failures[:3]
    assert elapsed < 40, f"took {elapsed:.1f} s"


def wav_header(sample_rate: int = RATE) -> bytes:
    """A streaming WAV header (unknown length) for mono linear16."""
    fmt = struct.pack("<HHIIHH", 1, 1, sample_rate, sample_rate * 2, 2, 16)
    return (
        b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE"
        + b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"data" + struct.pack("<I", 0xFFFFFFFF)
    )  # fmt: skip


def test_wav_container_header_is_resent_after_a_drop(make_server: Callable[..., LocalServer]) -> None:
    server = make_server()
    server.faults.add(FaultRule(kind="drop", match_tag="wav", after_audio_seconds=1.2, times=1))
    words = ["container", "header", "must", "come", "first", "again", "after", "reconnect"]
    options = ListenV1Options(model="nova-3", tag=["wav"])  # no encoding: the server reads the header
    config = ConnectionConfig(api=LISTEN_V1, base_url=server.url, options=options, auth=Auth.token("k"))
    with Supervisor(keep_finals=True, max_connections=2, stall_timeout=2.0) as sup:
        handle = sup.open_stream(config, restart=RestartPolicy.on_failure(backoff=Backoff(initial=0.02)))
        assert handle.lossless  # WAV is replayable, so lossless is on by default
        send_paced(handle, wav_header() + synthesize_words(words, RATE), speed=8.0)
        result = handle.finish(timeout=10)
    assert result.ok, result.error
    assert result.metrics.reconnects == 1
    assert words_of(result) == expected(words)


def test_flux_turns_survive_a_drop(make_server: Callable[..., LocalServer]) -> None:
    server = make_server()
    server.faults.add(FaultRule(kind="drop", match_tag="flux", after_audio_seconds=2.0, times=1))
    # A 700 ms pause after every word: each word is its own turn (EndOfTurn after ~350 ms silence).
    words = ["one", "two", "three", "four", "five", "six"]
    audio = synthesize_words(words, RATE, gap_ms=700)
    options = ListenV2Options(model="flux-general-en", encoding="linear16", sample_rate=RATE, tag=["flux"])
    config = ConnectionConfig(api=LISTEN_V2, base_url=server.url, options=options, auth=Auth.token("k"))
    turns: queue.Queue[Any] = queue.Queue()
    with Supervisor(keep_finals=True, max_connections=2, stall_timeout=2.0) as sup:
        handle = sup.open_stream(config, subscribers=[turns], restart=RestartPolicy.on_failure(backoff=FAST))
        send_paced(handle, audio, speed=8.0)
        result = handle.finish(timeout=10)
    assert result.ok, result.error
    assert result.metrics.reconnects == 1
    ends = [t for t in result.finals if t.event == "EndOfTurn"]
    assert [t.transcript for t in ends] == words
    assert [t.turn_index for t in ends] == list(range(len(words)))
    timed = [(w.word, round(w.start, 3), round(w.end, 3)) for t in ends for w in t.words]
    assert [(w.lower(), s, e) for w, s, e in timed] == expected(words, gap_ms=700)
    windows = [(t.audio_window_start, t.audio_window_end) for t in ends]
    assert windows == sorted(windows)
    connected = [e for e in drain(turns) if getattr(e, "type", None) == "Connected"]
    assert len(connected) == 1  # one logical stream: the second connection's Connected is not repeated
