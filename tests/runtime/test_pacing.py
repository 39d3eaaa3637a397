"""Replay pacing: a replay goes to the new connection at ``replay_speed`` times real time.

The opener wraps each real connection to time its ``send_audio`` calls (the socket, the server
and the replay are all real).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from actors.errors import OptionsError
from actors.runtime import Connection
from actors.runtime.pacing import DEEPGRAM_REALTIME_CAP, ReplayPacer, resolve_replay_speed
from actors.runtime.policy import RestartPolicy
from actors.runtime.replay_scheduler import REPLAY_FRAME_SECONDS
from actors.runtime.supervisor import Supervisor
from actors.server import FaultRule, LocalServer
from actors.server.engines.deterministic import synthesize_words
from tests.runtime.test_supervisor import BYTES_PER_SECOND, FAST, RATE, listen_config, send_paced, words_of

SPEED = 4.0
# One word of ~4.9 s: no final can cover any of it before it ends, so a drop replays it all.
LONG_WORD = "x" * 190


class TimedConnection:
    """A real :class:`Connection` whose ``send_audio`` calls are recorded as (time, bytes)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.opened_at = time.monotonic()  # the stream attaches (and starts its replay) after this
        self.sends: list[tuple[float, int]] = []

    def send_audio(self, data: bytes) -> None:
        self.sends.append((time.monotonic(), len(data)))
        self._conn.send_audio(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def test_replay_after_a_drop_is_paced_at_replay_speed(make_server: Callable[..., LocalServer]) -> None:
    server = make_server()
    server.faults.add(FaultRule(kind="drop", match_tag="paced", after_audio_seconds=3.0, times=1))
    opened: list[TimedConnection] = []

    def opener(config: Any, subscribers: Any, stream_id: str) -> TimedConnection:
        timed = TimedConnection(Connection.open(config, subscribers=subscribers, stream_id=stream_id))
        opened.append(timed)
        return timed

    audio = synthesize_words([LONG_WORD], RATE)
    with Supervisor(keep_finals=True, max_connections=2, replay_speed=SPEED, opener=opener) as sup:
        handle = sup.open_stream(
            listen_config(server, "paced"), restart=RestartPolicy.on_failure(backoff=FAST)
        )
        assert handle.wait_open(timeout=5)
        send_paced(handle, audio, speed=8.0)  # the drop comes while audio is still going out
        result = handle.finish(timeout=15)
    assert result.ok, result.error
    assert [w for w, _, _ in words_of(result)] == [LONG_WORD]
    assert len(opened) == 2 and result.metrics.replayed_seconds > 2.5
    sends = opened[1].sends
    start = opened[1].opened_at
    first = sends[0][0]
    frame_bytes = int(REPLAY_FRAME_SECONDS * BYTES_PER_SECOND)
    total = 0
    for at, size in sends:
        total += size
        allowed = SPEED * BYTES_PER_SECOND * (at - start)
        assert total <= allowed, f"{total} bytes sent {at - start:.3f} s into the replay"
        assert size <= frame_bytes
    replayed = int(result.metrics.replayed_seconds * BYTES_PER_SECOND)
    assert total >= replayed
    assert sends[-1][0] - first >= 0.9 * (total - frame_bytes) / (SPEED * BYTES_PER_SECOND)


def test_auto_speed_is_unpaced_for_loopback_and_the_service_cap_elsewhere(local_server: LocalServer) -> None:
    assert resolve_replay_speed("auto", "ws://127.0.0.1:8765") is None
    assert resolve_replay_speed("auto", "ws://localhost:1") is None
    assert resolve_replay_speed("auto", "ws://[::1]:1") is None
    assert resolve_replay_speed("auto", "wss://api.deepgram.com") == DEEPGRAM_REALTIME_CAP == 1.25
    assert resolve_replay_speed(2, "wss://api.deepgram.com") == 2.0
    assert resolve_replay_speed(None, "wss://api.deepgram.com") is None
    with Supervisor(keep_finals=True, max_connections=1) as sup:
        handle = sup.open_stream(listen_config(local_server, "auto"))
        assert handle.replay_speed is None
        override = sup.open_stream(listen_config(local_server, "manual"), replay_speed=1.25)
        assert override.replay_speed == 1.25
        handle.finish(timeout=5)
        override.finish(timeout=5)


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), "fast", True])
def test_bad_replay_speed_is_refused_naming_it(bad: Any) -> None:
    with pytest.raises(OptionsError, match="replay_speed"):
        Supervisor(replay_speed=bad)


def test_pacer_never_allows_more_than_speed_times_the_elapsed_time() -> None:
    pacer = ReplayPacer(1.25, bytes_per_second=32000, frame_bytes=2, started_at=100.0)
    assert pacer.allowance(100.0) == 0
    assert pacer.allowance(99.0) == 0
    assert pacer.allowance(102.0) == 80000
    assert pacer.allowance(100.0001) % 2 == 0
