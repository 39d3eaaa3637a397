"""Connection.abort: a prompt kill that does not wait for the close handshake, over real sockets."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from actors.errors import ConnectionClosedError
from actors.protocol.listen_v1.options import ListenV1Options
from actors.runtime import Connection, ConnectionConfig
from actors.runtime.events import Closed, ConnectionFailed, Opened
from actors.runtime.policy import RestartPolicy
from actors.runtime.supervisor import Supervisor
from actors.server import FaultRule, LocalServer
from actors.server.engines.deterministic import synthesize_words
from tests.runtime.runtime_support import RATE, EventLog, listen_config

# The server stops reading and writing at once: a close() would wait close_timeout for nothing.
STALL = FaultRule(kind="stall", match_tag="stuck", duration=6.0)
CLOSE_TIMEOUT = 2.0


def _stalled_config(server: LocalServer) -> ConnectionConfig:
    options = ListenV1Options(model="nova-3", encoding="linear16", sample_rate=RATE, tag=["stuck"])
    return listen_config(server.url, options=options, close_timeout=CLOSE_TIMEOUT)


def test_abort_with_an_error_is_prompt_and_reports_it(make_server: Callable[..., LocalServer]) -> None:
    server = make_server()
    server.faults.add(STALL)
    log = EventLog()
    conn = Connection.open(_stalled_config(server), subscribers=[log.queue])
    cause = ConnectionClosedError(1006, "the operator pulled the plug")
    started = time.monotonic()
    result = conn.abort(cause)
    elapsed = time.monotonic() - started
    assert elapsed < CLOSE_TIMEOUT / 2, f"abort took {elapsed:.2f} s"
    assert result is not None and result.error is cause and result.code == 1006
    events = log.until_closed(timeout=2)
    assert isinstance(events[0], Opened)
    assert events[-2] == ConnectionFailed(cause)
    assert isinstance(events[-1], Closed) and events[-1].code == 1006
    with pytest.raises(ConnectionClosedError):
        conn.send_audio(b"\x00\x00")
    assert conn.abort() is result  # idempotent


def test_abort_without_an_error_closes_without_a_failure(local_server: LocalServer) -> None:
    log = EventLog()
    conn = Connection.open(listen_config(local_server.url), subscribers=[log.queue])
    assert conn.abort(wait=False) is None
    assert conn.wait_closed(timeout=2)
    events = log.until_closed(timeout=2)
    assert not any(isinstance(e, ConnectionFailed) for e in events)
    assert events[-1].code == 1006 and "aborted" in events[-1].reason
    assert conn.result is not None and conn.result.ok


def test_abort_from_a_subscriber_callback_does_not_block(local_server: LocalServer) -> None:
    log = EventLog()
    returned: list[object] = []

    def on_event(event: Any) -> None:
        if getattr(event, "type", None) == "Results":
            returned.append(conn.abort(ConnectionClosedError(1006, "enough")))

    conn = Connection.open(listen_config(local_server.url), subscribers=[on_event, log.queue])
    conn.send_audio(synthesize_words(["alpha", "bravo"], RATE))
    events = log.until_closed(timeout=5)
    assert returned[:1] == [None]
    assert isinstance(events[-2], ConnectionFailed) and "enough" in str(events[-2].error)


def test_supervisor_stops_a_stream_on_a_stalled_server_without_waiting_close_timeout(
    make_server: Callable[..., LocalServer],
) -> None:
    server = make_server()
    server.faults.add(STALL)
    with Supervisor(max_connections=2, stall_timeout=None) as sup:
        handle = sup.open_stream(_stalled_config(server), restart=RestartPolicy.never(), stream_id="stuck")
        assert handle.wait_open(timeout=5)
        started = time.monotonic()
        sup.stop_stream("stuck")
        assert handle.wait_closed(timeout=5)
        elapsed = time.monotonic() - started
    assert elapsed < CLOSE_TIMEOUT / 2, f"stop_stream took {elapsed:.2f} s"
    assert handle.error is None
