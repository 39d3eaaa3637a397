"""A server that closes a listen stream normally before finish() must not lose the rest of the audio.

Listen V1 and Flux streams under a supervisor treat a 1000/1005 close they did not ask for as a
retryable failure (reconnect + lossless replay); the same code after finish() is success.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import Any

from actors.errors import ConnectionClosedError, StreamFailed
from actors.protocol.apis import LISTEN_V2
from actors.protocol.auth import Auth
from actors.protocol.listen_v2.options import ListenV2Options
from actors.runtime import events
from actors.runtime.config import ConnectionConfig
from actors.runtime.policy import RestartPolicy
from actors.runtime.supervisor import Supervisor
from actors.server import FaultRule, LocalServer
from actors.server.engines.deterministic import synthesize_words
from tests.runtime.test_supervisor import (
    FAST,
    RATE,
    WORDS,
    drain,
    expected,
    listen_config,
    send_paced,
    words_of,
)


def flux_config(server: LocalServer, tag: str) -> ConnectionConfig:
    """A Flux config for linear16/16 kHz, tagged for fault rules."""
    options = ListenV2Options(model="flux-general-en", encoding="linear16", sample_rate=RATE, tag=[tag])
    return ConnectionConfig(api=LISTEN_V2, base_url=server.url, options=options, auth=Auth.token("k"))


def test_flux_unrequested_normal_close_reconnects_and_keeps_every_turn(
    make_server: Callable[..., LocalServer],
) -> None:
    server = make_server()
    rule = FaultRule(kind="close", match_tag="flux-1000", code=1000, after_audio_seconds=1.6, times=1)
    server.faults.add(rule)
    words = ["one", "two", "three", "four", "five"]
    q: queue.Queue[Any] = queue.Queue()
    with Supervisor(keep_finals=True, max_connections=2, stall_timeout=2.0) as sup:
        handle = sup.open_stream(
            flux_config(server, "flux-1000"), subscribers=[q], restart=RestartPolicy.on_failure(backoff=FAST)
        )
        send_paced(handle, synthesize_words(words, RATE, gap_ms=700), speed=8.0)
        result = handle.finish(timeout=10)
    assert result.ok, result.error
    assert result.metrics.reconnects == 1
    assert [t.transcript for t in result.finals] == words
    reconnecting = [e for e in drain(q) if isinstance(e, events.Reconnecting)]
    assert len(reconnecting) == 1
    cause = reconnecting[0].cause
    assert isinstance(cause, ConnectionClosedError) and cause.code == 1000
    assert "before finish()" in str(cause)


def test_never_policy_reports_an_unrequested_normal_close_instead_of_success(
    make_server: Callable[..., LocalServer],
) -> None:
    server = make_server()
    server.faults.add(FaultRule(kind="close", match_tag="early", code=1000, after_audio_seconds=0.3))
    with Supervisor(keep_finals=True, max_connections=2) as sup:
        handle = sup.open_stream(listen_config(server, "early"), restart=RestartPolicy.never())
        handle.send_audio(synthesize_words(WORDS[:3], RATE))
        assert handle.wait_closed(timeout=5)
    assert isinstance(handle.error, StreamFailed)
    assert "before finish()" in str(handle.error)


def test_normal_close_after_finish_is_success_without_reconnect(local_server: LocalServer) -> None:
    with Supervisor(keep_finals=True, max_connections=2) as sup:
        handle = sup.open_stream(
            listen_config(local_server, "fine"), restart=RestartPolicy.always(backoff=FAST)
        )
        send_paced(handle, synthesize_words(WORDS[:3], RATE))
        result = handle.finish(timeout=10)
    assert result.ok and result.close_code == 1000
    assert result.metrics.reconnects == 0
    assert words_of(result) == expected(WORDS[:3])
