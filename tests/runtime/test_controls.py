"""Control messages of a supervised stream across connections: queued, ordered, re-sent, dropped.

Over real sockets: the local server answers ``Finalize`` with a ``from_finalize`` result covering
exactly the audio before it, so the result shows where in the audio the message arrived.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import Any

import pytest

from actors.errors import OptionsError
from actors.protocol.listen_v1.messages import ListenV1CloseStream, ListenV1Finalize, ListenV1KeepAlive
from actors.protocol.listen_v2.messages import ListenV2Configure, ListenV2ConfigureThresholds
from actors.runtime.controls import ControlLog
from actors.runtime.policy import RestartPolicy
from actors.runtime.stream import StreamState
from actors.runtime.supervisor import Supervisor
from actors.server import FaultRule, LocalServer
from actors.server.engines.deterministic import synthesize_words
from tests.runtime.test_supervisor import FAST, RATE, drain, listen_config, send_paced
from tests.runtime.test_unrequested_close import flux_config

FIRST = ["alpha", "bravo"]
SECOND = ["charlie", "delta"]


def test_controls_sent_before_a_connection_go_out_in_order_with_the_audio(local_server: LocalServer) -> None:
    with Supervisor(keep_finals=True, max_connections=1) as sup:
        blocker = sup.open_stream(listen_config(local_server, "blocker"))
        assert blocker.wait_open(timeout=5)
        handle = sup.open_stream(listen_config(local_server, "queued"))
        assert handle.state is StreamState.QUEUED
        # No trailing gap: without the Finalize right here "bravo" would not be final yet.
        handle.send_audio(synthesize_words(FIRST, RATE, gap_ms=1))
        handle.send(ListenV1Finalize())
        handle.send(ListenV1KeepAlive())  # dropped while no connection is open: no error
        handle.send_audio(synthesize_words(SECOND, RATE))
        assert handle.state is StreamState.QUEUED
        blocker.finish(timeout=5)
        result = handle.finish(timeout=10)
    assert result.ok, result.error
    finalized = [f for f in result.finals if f.from_finalize]
    assert len(finalized) == 1
    assert [w.word for w in finalized[0].channel.alternatives[0].words] == FIRST
    assert result.transcript == " ".join(FIRST + SECOND)


def test_close_stream_is_refused_with_a_pointer_to_finish(local_server: LocalServer) -> None:
    with Supervisor(keep_finals=True, max_connections=1) as sup:
        handle = sup.open_stream(listen_config(local_server, "close"))
        with pytest.raises(OptionsError, match=r"finish\(\)"):
            handle.send(ListenV1CloseStream())
        assert handle.finish(timeout=5).ok


def test_configure_is_sent_again_on_every_new_connection(make_server: Callable[..., LocalServer]) -> None:
    server = make_server()
    server.faults.add(FaultRule(kind="drop", match_tag="cfg", after_audio_seconds=1.2, times=1))
    q: queue.Queue[Any] = queue.Queue()
    configure = ListenV2Configure(thresholds=ListenV2ConfigureThresholds(eot_timeout_ms=4000))
    with Supervisor(keep_finals=True, max_connections=2, stall_timeout=2.0) as sup:
        handle = sup.open_stream(
            flux_config(server, "cfg"), subscribers=[q], restart=RestartPolicy.on_failure(backoff=FAST)
        )
        handle.send(configure)  # before the first connection: queued, then sent first
        send_paced(handle, synthesize_words(["one", "two", "three"], RATE, gap_ms=700), speed=8.0)
        result = handle.finish(timeout=10)
    assert result.ok, result.error
    assert result.metrics.reconnects == 1
    answers = [e for e in drain(q) if getattr(e, "type", None) == "ConfigureSuccess"]
    assert len(answers) == 2
    assert all(a.thresholds.eot_timeout_ms == 4000 for a in answers)


def test_control_log_plans_sticky_first_and_forgets_covered_messages() -> None:
    log = ControlLog()
    configure = log.record(0, '{"type":"Configure"}', "Configure")
    early = log.record(100, '{"type":"Finalize"}', "Finalize")
    late = log.record(300, '{"type":"ForceEndTurn"}', "ForceEndTurn")
    log.ack(100)  # finals cover the audio up to 100: the early Finalize did its job
    assert list(log) == [configure, late]
    plan = log.plan(200)
    assert [(e.tag, e.position) for e in plan] == [("Configure", 200), ("ForceEndTurn", 300)]
    assert early not in plan
    log.forget(late)
    assert [e.tag for e in log.plan(400)] == ["Configure"]  # sticky entries are never acked away
