"""What the docstrings promise about threads, checked with real sockets on the local server.

* one ``DeepgramClient`` shared by 20 threads, each opening and using its own socket;
* one socket sent to from several threads at once (one reader);
* one ``Supervisor`` whose ``open_stream`` is called from 20 threads, each driving its handle.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from actors.runtime.supervisor import Supervisor
from actors.server import LocalServer
from actors.server.engines.deterministic import silence, synthesize_words
from tests.client.helpers import PARAMS, WAIT, client_for, final_words, speech
from tests.runtime.runtime_support import listen_config, transcript
from tests.support.threads import run_together

THREADS = 20


def run_threads(count: int, work: Callable[[int], Any]) -> dict[int, Any]:
    """Run ``work(i)`` on ``count`` named threads started together; their results (or exceptions)."""
    return run_together(count, work, name="test-worker", start_timeout=WAIT, join_timeout=60)


def words_of(i: int) -> list[str]:
    """The words thread ``i`` sends (unique to it)."""
    return [f"t{i}w{j}" for j in range(3)]


def test_one_client_shared_by_twenty_threads_each_with_its_own_socket(local_server: LocalServer) -> None:
    client = client_for(local_server)
    threads_before = threading.active_count()

    def work(i: int) -> tuple[list[str], str | None]:
        with client.listen.v1.connect(**PARAMS) as socket:
            audio = speech(words_of(i))
            for offset in range(0, len(audio), 3200):
                socket.send_media(audio[offset : offset + 3200])
        return final_words(list(socket)), socket.request_id

    results = run_threads(THREADS, work)
    for i, outcome in sorted(results.items()):
        assert not isinstance(outcome, Exception), f"thread {i}: {outcome!r}"
        assert outcome[0] == words_of(i), f"thread {i} got another stream's words"
    assert len({request_id for _, request_id in results.values()}) == THREADS
    assert threading.active_count() <= threads_before  # every connection's threads are gone


def test_one_socket_sent_to_from_several_threads_while_one_reads(local_server: LocalServer) -> None:
    client = client_for(local_server)
    senders = 8
    with client.listen.v1.connect(**PARAMS) as socket:
        # Each chunk is one whole word plus its silence, so any interleaving of the senders'
        # chunks is still a sequence of intact words.
        def work(i: int) -> None:
            for word in words_of(i):
                socket.send_media(synthesize_words([word], 16000))
                socket.send_keep_alive()

        results = run_threads(senders, work)
        assert all(outcome is None for outcome in results.values()), results
        socket.send_media(silence(0.3))
    heard = final_words(list(socket))
    assert sorted(heard) == sorted(word for i in range(senders) for word in words_of(i))


def test_one_supervisor_used_from_twenty_threads(local_server: LocalServer) -> None:
    with Supervisor(max_connections=THREADS) as supervisor:

        def work(i: int) -> list[str]:
            events: queue.Queue[Any] = queue.Queue()
            handle = supervisor.open_stream(listen_config(local_server.url), subscribers=[events])
            handle.send_audio(speech(words_of(i)))
            result = handle.finish(timeout=WAIT)
            assert result.error is None, result.error
            return transcript(list(events.queue))

        results = run_threads(THREADS, work)
        assert results == {i: words_of(i) for i in range(THREADS)}
        assert len(supervisor.streams()) <= THREADS
