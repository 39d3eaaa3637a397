"""Thread budget: 50 live supervised streams cost 1 thread each plus a fixed few per process.

The server runs in its own process (``python -m actors serve``) so every thread counted here is
the client's: the budget is asserted for the whole process, not for threads picked by name.
"""

from __future__ import annotations

import threading

from actors.runtime.policy import RestartPolicy
from actors.runtime.read_pool import DEFAULT_READ_THREADS
from actors.runtime.stream import StreamHandle
from actors.runtime.supervisor import Supervisor
from actors.server.engines.deterministic import synthesize_words
from tests.runtime.runtime_support import RATE, listen_config

STREAMS = 50
CONNECTORS = 4


def test_fifty_live_streams_use_one_thread_each_plus_the_fixed_budget(server_url: str) -> None:
    before = threading.active_count()
    audio = synthesize_words(["budget"], RATE)
    with Supervisor(max_connections=STREAMS, connectors=CONNECTORS) as sup:
        assert sup.thread_budget() == 3 + CONNECTORS + DEFAULT_READ_THREADS  # actor, timer, connectors,
        # audio flusher, read pool
        handles: list[StreamHandle] = [
            sup.open_stream(listen_config(server_url), restart=RestartPolicy.never(), stream_id=f"t-{i}")
            for i in range(STREAMS)
        ]
        assert all(h.wait_open(timeout=10) for h in handles)
        for handle in handles:
            handle.send_audio(audio)
        live = sum(not h.done for h in handles)
        assert live == STREAMS
        added = threading.active_count() - before
        assert added <= live + sup.thread_budget(), sorted(t.name for t in threading.enumerate())
        # and not much less either: every live stream really has its actor thread, and the
        # process its fixed readers (not one per stream)
        names = [t.name for t in threading.enumerate()]
        assert sum(n.startswith("actors-conn-t-") for n in names) == STREAMS
        assert sum(n.startswith("actors-read-") for n in names) == DEFAULT_READ_THREADS
        assert names.count("actors-audio-flusher") == 1  # one for all the streams
        results = [h.finish(timeout=10) for h in handles]
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
    assert threading.active_count() <= before
