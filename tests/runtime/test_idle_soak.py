"""Soak: 50 supervised streams alternate 3 s of speech and 15 s of idle for 5 minutes.

The server closes a connection after 10 s without a client frame (Deepgram's NET-0001), and an
idle stream gets nothing back from the server at all -- so this is exactly what the old
result-based stall check got wrong. Keepalive must hold every connection through each idle gap
and liveness pings must find the server alive: 0 reconnects, and every word sent comes back
in the finals, exactly once and in order.

Audio is paced at real time from this test's own thread (one thread for all 50 streams, 100 ms
chunks) to stay light on a 2-core machine. ``ACTORS_SOAK_SECONDS`` shortens the run while
iterating; the default is the full 5 minutes.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import pytest

from actors.runtime import events
from actors.runtime.policy import RestartPolicy
from actors.runtime.stream import StreamHandle
from actors.runtime.supervisor import Supervisor
from actors.server import LocalServer
from actors.server.engines.deterministic import silence, synthesize_words
from tests.runtime.runtime_support import RATE, listen_config

STREAMS = 50
SPEECH_SECONDS = 3.0
IDLE_SECONDS = 15.0
CYCLE = SPEECH_SECONDS + IDLE_SECONDS
CHUNK_SECONDS = 0.1
CHUNK_BYTES = int(CHUNK_SECONDS * RATE) * 2
WORDS_PER_BURST = 6
SERVER_IDLE_LIMIT = 10.0
DURATION = float(os.environ.get("ACTORS_SOAK_SECONDS", "300"))


def burst_words(stream: int, cycle: int) -> list[str]:
    """The words one stream speaks in one burst: unique, so a lost or doubled word shows."""
    return [f"s{stream}c{cycle}w{k}" for k in range(WORDS_PER_BURST)]


def burst_audio(words: list[str]) -> bytes:
    """``words`` padded with silence to exactly SPEECH_SECONDS."""
    speech = synthesize_words(words, RATE)
    total = int(SPEECH_SECONDS * RATE) * 2
    assert len(speech) <= total - CHUNK_BYTES, "the words must end (and endpoint) inside the burst"
    return speech + silence(SPEECH_SECONDS, RATE)[: total - len(speech)]


class Reconnects:
    """Counts Reconnecting events of all streams (a subscriber; called on connection threads)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: list[object] = []

    def __call__(self, event: object) -> None:
        if isinstance(event, events.Reconnecting | events.Reconnected):
            with self.lock:
                self.seen.append(event)


@pytest.mark.slow
@pytest.mark.timeout(int(DURATION) + 180)
def test_fifty_streams_through_idle_gaps_keep_one_connection_and_every_word(
    make_server: Callable[..., LocalServer],
) -> None:
    server = make_server(idle_timeout=SERVER_IDLE_LIMIT)
    reconnects = Reconnects()
    sent: dict[int, list[str]] = {i: [] for i in range(STREAMS)}
    stop = threading.Event()
    with Supervisor(max_connections=STREAMS, keep_finals=True) as sup:
        handles: list[StreamHandle] = [
            sup.open_stream(
                listen_config(server.url),
                subscribers=[reconnects],
                restart=RestartPolicy.on_failure(max_restarts=5, within=60.0),
                stream_id=f"soak-{i}",
            )
            for i in range(STREAMS)
        ]
        assert all(h.wait_open(timeout=20) for h in handles)
        # Stream i starts its bursts i * CYCLE / STREAMS s after the others: load spreads evenly.
        offsets = [i * CYCLE / STREAMS for i in range(STREAMS)]
        # As many whole bursts as fit in DURATION for the last stream (16 in 5 minutes).
        cycles = max(1, int((DURATION - offsets[-1] - SPEECH_SECONDS) // CYCLE) + 1)
        bursts: dict[int, bytes] = {}
        next_chunk = [0] * STREAMS  # chunks sent so far, over all cycles
        chunks_per_burst = int(SPEECH_SECONDS / CHUNK_SECONDS)
        started = time.monotonic()
        end = started + offsets[-1] + (cycles - 1) * CYCLE + SPEECH_SECONDS
        while True:
            now = time.monotonic()
            if now >= end and all(n >= cycles * chunks_per_burst for n in next_chunk):
                break
            for i, handle in enumerate(handles):
                elapsed = now - started - offsets[i]
                while next_chunk[i] < cycles * chunks_per_burst:
                    cycle, index = divmod(next_chunk[i], chunks_per_burst)
                    due = cycle * CYCLE + (index + 1) * CHUNK_SECONDS  # a chunk leaves once spoken
                    if elapsed < due:
                        break
                    if index == 0:
                        words = burst_words(i, cycle)
                        bursts[i] = burst_audio(words)
                        sent[i].extend(words)
                    handle.send_audio(bursts[i][index * CHUNK_BYTES : (index + 1) * CHUNK_BYTES])
                    next_chunk[i] += 1
            stop.wait(CHUNK_SECONDS / 2)  # pacing a live source, not synchronisation
        results = [h.finish(timeout=30) for h in handles]
    failures = [(r.stream_id, r.error) for r in results if not r.ok]
    assert not failures, failures[:3]
    assert reconnects.seen == []
    assert [r.metrics.reconnects for r in results] == [0] * STREAMS
    assert [r.metrics.connections for r in results] == [1] * STREAMS
    for i, result in enumerate(results):
        got = [w.word for final in result.finals for w in final.channel.alternatives[0].words]
        assert got == sent[i], f"stream {i}: {len(got)} words back of {len(sent[i])} sent"
    assert sum(len(words) for words in sent.values()) == STREAMS * cycles * WORDS_PER_BURST
