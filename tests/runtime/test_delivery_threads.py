"""Where subscribers run: on a read-pool thread, and on the connection's own actor once they were slow."""

from __future__ import annotations

import threading
import time

from actors.protocol.listen_v1 import ListenV1Finalize
from actors.runtime import Connection
from actors.runtime.connection import DELIVERY_MOVES_AFTER
from actors.runtime.events import AudioChunk, Closed, Opened
from actors.server import LocalServer
from actors.server.engines.deterministic import synthesize_words
from tests.runtime.runtime_support import RATE, listen_config


def test_messages_are_delivered_on_the_read_pool_and_a_slow_subscriber_moves_to_its_actor(
    local_server: LocalServer,
) -> None:
    seen: list[tuple[str, str]] = []  # (event type, thread name)
    closed = threading.Event()
    stalls = threading.Event()  # the first result stalls once, longer than the budget
    stalled = threading.Event()  # ... and has returned: what the server sends next is a later batch

    def subscriber(event: object) -> None:
        name = type(event).__name__
        seen.append((name, threading.current_thread().name))
        if name == "ListenV1Results" and not stalls.is_set():
            stalls.set()
            time.sleep(DELIVERY_MOVES_AFTER * 3)  # a test of a slow subscriber: it is slow on purpose
            stalled.set()
        if isinstance(event, Closed):
            closed.set()

    conn = Connection.open(listen_config(local_server.url), subscribers=[subscriber], stream_id="where")
    # The first word's result is asked for and waited for on its own, so the results of the other
    # words cannot reach the client in the same read as the one that stalls.
    conn.send_audio(synthesize_words(["one"], RATE))
    conn.send(ListenV1Finalize())
    assert stalled.wait(10), seen
    for word in ("two", "three", "four"):
        conn.send_audio(synthesize_words([word], RATE))
    assert conn.finish(timeout=10).ok
    assert closed.wait(5)
    messages = [(n, t) for n, t in seen if n not in (Opened.__name__, Closed.__name__, AudioChunk.__name__)]
    assert len(messages) >= 3, seen
    assert messages[0][1].startswith("actors-read-")  # the pool delivers, no hop per read
    # After the batch that held the pool too long, its later batches go to the connection's actor,
    # for good (the move happens between batches, so a batch in progress ends where it began).
    moved = [i for i, (_, t) in enumerate(messages) if t == "actors-conn-where"]
    assert moved, messages
    assert all(t == "actors-conn-where" for _, t in messages[moved[0] :]), messages
    assert all(t.startswith("actors-read-") for _, t in messages[: moved[0]]), messages
    assert seen[-1][0] == "Closed" and seen[-1][1] == "actors-conn-where"  # the end is the actor's


def test_fast_subscribers_stay_on_the_read_pool(local_server: LocalServer) -> None:
    seen: list[tuple[str, str]] = []
    conn = Connection.open(
        listen_config(local_server.url),
        subscribers=[lambda e: seen.append((type(e).__name__, threading.current_thread().name))],
    )
    conn.send_audio(synthesize_words(["quick", "words"], RATE))
    assert conn.finish(timeout=10).ok
    messages = [t for n, t in seen if n not in (Opened.__name__, Closed.__name__)]
    assert messages and all(t.startswith("actors-read-") for t in messages), seen
