"""Regression guard: a supervised Listen V1 stream never completes before its last results.

Many short supervised streams run in parallel against the local server (deterministic engine);
each sends its audio and finishes at once. A plain-callable subscriber records every event on
whatever thread delivers it. For every stream, at the moment ``finish()`` returns:

* every expected final word has already been delivered,
* the summary ``Metadata`` has been delivered, and it is the last message before ``Closed``,
* ``Closed`` has been delivered, exactly once, and nothing arrives after it (checked again once
  every stream and the supervisor have stopped).

Why it holds (see ``_end`` in ``actors/runtime/connection.py``, and
``actors/runtime/supervised_stream.py``): the connection's actor delivers every message and then
``Closed`` to the stream's internal sink itself, in the order the read pool told them, so every
message was forwarded (inline, under the stream lock) before the sink reports the end; the
supervisor completes the stream only on that report; ``finish()`` returns through ``result()``,
which takes the stream lock that ``complete`` holds while it emits ``Closed``. Queued audio
(direct or via the coalescing flusher) is drained under the link's lock before ``CloseStream``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from actors.protocol.apis import LISTEN_V1
from actors.protocol.auth import Auth
from actors.protocol.listen_v1.options import ListenV1Options
from actors.runtime import events
from actors.runtime.config import ConnectionConfig
from actors.runtime.stream import StreamHandle
from actors.runtime.supervisor import Supervisor
from actors.server import LocalServer
from actors.server.engines.deterministic import expected_words, synthesize_words

RATE = 16000
STREAMS = 200
WORDS = ["alpha", "bravo"]
CHUNK_BYTES = 3200  # 100 ms of linear16 at 16 kHz
FINISHERS = 16  # threads driving the streams (each finishes its share one after another)


class Recorder:
    """A plain-callable subscriber: records every event with a snapshot taken when finish() returned."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[Any] = []
        self.at_finish: list[Any] | None = None

    def __call__(self, event: Any) -> None:
        with self.lock:
            self.events.append(event)

    def snapshot(self) -> None:
        """Freeze what had been delivered when finish() returned."""
        with self.lock:
            self.at_finish = list(self.events)


def _config(server: LocalServer) -> ConnectionConfig:
    opts = ListenV1Options(model="nova-3", encoding="linear16", sample_rate=RATE)
    return ConnectionConfig(api=LISTEN_V1, base_url=server.url, options=opts, auth=Auth.token("test-key"))


def _final_words(seen: list[Any]) -> list[str]:
    return [
        w.word
        for e in seen
        if getattr(e, "type", None) == "Results" and e.is_final
        for w in e.channel.alternatives[0].words
    ]


def _problems(name: str, recorder: Recorder, expected: list[str]) -> list[str]:
    """Every ordering violation of one stream, as readable lines (empty: all good)."""
    at_finish = recorder.at_finish or []
    out: list[str] = []
    closed_at = [i for i, e in enumerate(at_finish) if isinstance(e, events.Closed)]
    if len(closed_at) != 1 or closed_at[0] != len(at_finish) - 1:
        out.append(f"{name}: Closed not delivered exactly once, last, by finish(): {closed_at}")
    data = [e for e in at_finish if getattr(e, "type", None) in ("Results", "Metadata")]
    if not data or data[-1].type != "Metadata":
        out.append(f"{name}: last message before Closed is {data[-1].type if data else None}, not Metadata")
    words = _final_words(at_finish)
    if words != expected:
        out.append(f"{name}: finals at finish() {words} != {expected}")
    if len(recorder.events) != len(at_finish):
        out.append(f"{name}: {len(recorder.events) - len(at_finish)} events arrived after finish()/Closed")
    return out


def _run_streams(sup: Supervisor, server: LocalServer, audio: bytes, expected: list[str]) -> list[str]:
    recorders = [Recorder() for _ in range(STREAMS)]
    handles: list[StreamHandle] = [
        sup.open_stream(_config(server), subscribers=[rec], stream_id=f"order-{i}")
        for i, rec in enumerate(recorders)
    ]
    errors: list[str] = []

    def drive(indexes: range) -> None:
        for i in indexes:  # send everything, then finish at once: the flusher may still hold audio
            for start in range(0, len(audio), CHUNK_BYTES):
                handles[i].send_audio(audio[start : start + CHUNK_BYTES])
        for i in indexes:
            result = handles[i].finish(timeout=10)
            recorders[i].snapshot()
            if result.error is not None:
                errors.append(f"order-{i}: {result.error}")

    per = STREAMS // FINISHERS
    threads = [
        threading.Thread(
            target=drive,
            args=(range(k * per, STREAMS if k == FINISHERS - 1 else (k + 1) * per),),
            name=f"finisher-{k}",
        )
        for k in range(FINISHERS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads), "a finisher thread hung"
    sup.stop()  # joins every connection thread: late deliveries would have happened by now
    problems = list(errors)
    for i, rec in enumerate(recorders):
        problems += _problems(f"order-{i}", rec, expected)
    return problems


@pytest.mark.timeout(30)
@pytest.mark.parametrize("flush_interval", [None, 0.0], ids=["flush-default", "flush-0"])
def test_finish_returns_only_after_the_last_results_and_metadata(
    make_server: Callable[..., LocalServer], flush_interval: float | None
) -> None:
    server = make_server()
    audio = synthesize_words(WORDS, RATE)
    expected = [w.text.lower() for w in expected_words(WORDS, RATE)]
    kwargs: dict[str, Any] = {} if flush_interval is None else {"audio_flush_interval": flush_interval}
    sup = Supervisor(max_connections=STREAMS, stall_timeout=None, **kwargs).start()
    try:
        problems = _run_streams(sup, server, audio, expected)
    finally:
        sup.stop()
    assert not problems, "\n".join(problems[:20])
