"""The graceful finish's deadline follows the audio still owed (``finish_timeout=None``, the default),
and an explicit ``finish_timeout`` stays a hard cap.

A ``stall`` fault makes the local server stop reading for a while and then catch up: a stand-in
for a busy engine. Margins and rates are shrunk so each case takes a couple of seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from actors import AsyncDeepgramClient, DeepgramClientEnvironment
from actors.client import sockets
from actors.errors import FinishTimeout
from actors.listen.v2.types import ListenV2TurnInfo
from actors.runtime import Connection
from actors.runtime.deadline import OwedAudioDeadline
from actors.runtime.metrics import MetricsRecorder
from actors.server import LocalServer
from tests.client.helpers import PARAMS, WAIT, client_for, final_words, speech
from tests.client.test_graceful_end import agent_settings
from tests.runtime.runtime_support import EventLog, listen_config, transcript

WORDS = [f"word{i}" for i in range(12)]  # ~3.8 s of deterministic speech
STALL_SECONDS = 2.0
#: The server stops reading after 0.2 s of audio for STALL_SECONDS, then catches up.
STALL = f"kind=stall;after_audio_seconds=0.2;duration={STALL_SECONDS}"
FOREVER = "kind=stall"


def chunks(audio: bytes, size: int = 3200) -> list[bytes]:
    """``audio`` in 100 ms pieces (so the stall starts before the server heard most of it)."""
    return [audio[offset : offset + size] for offset in range(0, len(audio), size)]


def stall_options(fault: str) -> dict[str, Any]:
    """``request_options`` carrying a fault for this connection only."""
    return {"additional_headers": {"x-actors-fault": fault}}


@pytest.fixture
def small_margin(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's adaptive deadline with a 0.5 s margin and owed audio counted at real time."""
    monkeypatch.setattr(sockets, "FINISH_MARGIN", 0.5)
    monkeypatch.setattr(sockets, "FINISH_MIN_RATE", 1.0)


# -- the deadline itself (no sockets) -------------------------------------------------------------


def test_the_deadline_is_the_margin_plus_owed_audio_and_restarts_at_every_frame() -> None:
    metrics = MetricsRecorder(bytes_per_second=32000)
    metrics.bytes_sent = 4 * 32000
    metrics.record_result(time.monotonic(), False, audio_end=1.0)
    assert metrics.audio_seconds_owed() == pytest.approx(3.0)
    deadline = OwedAudioDeadline(metrics, margin=2.0, min_rate=0.5)
    assert deadline.remaining() == pytest.approx(2.0 + 3.0 / 0.5, abs=0.05)
    metrics.messages_received += 1  # a result arrived: progress, and it covers everything
    metrics.record_result(time.monotonic(), False, audio_end=4.0)
    assert deadline.remaining() == pytest.approx(2.0, abs=0.05)
    assert "adaptive deadline" in deadline.describe()
    # Without a byte rate nothing is owed in seconds: only the margin counts.
    assert OwedAudioDeadline(MetricsRecorder(None), margin=1.0).remaining() == pytest.approx(1.0, abs=0.05)
    with pytest.raises(ValueError, match="min_rate"):
        OwedAudioDeadline(metrics, min_rate=0)


# -- the runtime: Connection.finish with a deadline -------------------------------------------------


def test_a_server_catching_up_is_waited_for_where_a_flat_timeout_gives_up(
    local_server: LocalServer,
) -> None:
    audio = speech(WORDS)

    def stalled_connection() -> tuple[Connection, EventLog]:
        log = EventLog()
        config = listen_config(local_server.url, headers={"x-actors-fault": STALL})
        conn = Connection.open(config, subscribers=[log.queue])
        for chunk in chunks(audio):
            conn.send_audio(chunk)
        return conn, log

    # The flat deadline, shorter than the stall: the results are lost.
    conn, _ = stalled_connection()
    with pytest.raises(FinishTimeout, match=r"within 0.5s of finish"):
        conn.finish(timeout=0.5)

    # Same margin, adaptive: ~3.6 s owed at real time covers the 2 s stall.
    conn, log = stalled_connection()
    started = time.monotonic()
    result = conn.finish(timeout=OwedAudioDeadline(conn.metrics_recorder, margin=0.5, min_rate=1.0))
    assert result.ok
    assert time.monotonic() - started >= STALL_SECONDS - 0.5
    assert transcript(log.until_closed()) == WORDS
    assert result.metrics.results_audio_end > 3.0
    assert result.metrics.audio_seconds_owed == pytest.approx(0.0, abs=0.4)


def test_a_silent_server_is_given_up_on_after_the_margin_plus_the_owed_audio(
    local_server: LocalServer,
) -> None:
    log = EventLog()
    conn = Connection.open(
        listen_config(local_server.url, headers={"x-actors-fault": FOREVER}), subscribers=[log.queue]
    )
    conn.send_audio(bytes(32000))  # 1 s owed, never answered
    started = time.monotonic()
    with pytest.raises(FinishTimeout, match=r"adaptive deadline: 0.5s .* 1.0s of audio still owed"):
        conn.finish(timeout=OwedAudioDeadline(conn.metrics_recorder, margin=0.5, min_rate=2.0))
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 3.0  # 0.5 s margin + 1 s owed at 2x real time
    assert isinstance(log.until_closed()[-2].error, FinishTimeout)


# -- the client facade --------------------------------------------------------------------------------


@pytest.mark.usefixtures("small_margin")
def test_leaving_a_block_waits_for_a_busy_server_by_default(local_server: LocalServer) -> None:
    client = client_for(local_server)  # finish_timeout not given: adaptive
    with client.listen.v1.connect(**PARAMS, request_options=stall_options(STALL)) as socket:
        for chunk in chunks(speech(WORDS)):
            socket.send_media(chunk)
    assert final_words(list(socket)) == WORDS


@pytest.mark.usefixtures("small_margin")
def test_an_explicit_finish_timeout_is_a_hard_cap(local_server: LocalServer) -> None:
    client = client_for(local_server, finish_timeout=0.5)
    started = time.monotonic()
    with (
        pytest.raises(FinishTimeout, match=r"within 0.5s"),
        client.listen.v1.connect(**PARAMS, request_options=stall_options(STALL)) as socket,
    ):
        for chunk in chunks(speech(WORDS)):
            socket.send_media(chunk)
    assert time.monotonic() - started < STALL_SECONDS
    # finish(timeout=...) on a socket is a cap too, whatever the client's setting.
    default = client_for(local_server)
    with default.listen.v1.connect(**PARAMS, request_options=stall_options(STALL)) as socket:
        for chunk in chunks(speech(WORDS)):
            socket.send_media(chunk)
        with pytest.raises(FinishTimeout, match=r"within 0.5s"):
            socket.finish(timeout=0.5)


@pytest.mark.usefixtures("small_margin")
def test_the_async_client_uses_the_same_adaptive_deadline(local_server: LocalServer) -> None:
    async def scenario() -> list[Any]:
        client = AsyncDeepgramClient(environment=DeepgramClientEnvironment.local(local_server.url))
        async with client.listen.v1.connect(**PARAMS, request_options=stall_options(STALL)) as socket:
            for chunk in chunks(speech(WORDS)):
                await socket.send_media(chunk)
        return [m async for m in socket]

    assert final_words(asyncio.run(scenario())) == WORDS


def test_flux_results_count_as_coverage(local_server: LocalServer) -> None:
    client = client_for(local_server)
    with client.listen.v2.connect(model="flux-general-en", encoding="linear16", sample_rate=16000) as socket:
        socket.send_media(speech(["alpha", "beta"]) + bytes(32000))
    messages = list(socket)
    assert any(isinstance(m, ListenV2TurnInfo) for m in messages)
    metrics = socket.connection.metrics
    assert metrics.results_audio_end > 0.5
    assert metrics.audio_seconds_owed is not None and metrics.audio_seconds_owed < 1.5


@pytest.mark.usefixtures("small_margin")
def test_an_agent_that_goes_silent_is_given_up_on_after_the_margin(
    make_server: Callable[..., LocalServer],
) -> None:
    client = client_for(make_server())
    started = time.monotonic()
    with (
        pytest.raises(FinishTimeout, match=r"adaptive deadline.*Settings \(waiting for SettingsApplied\)"),
        client.agent.v1.connect(request_options=stall_options(FOREVER)) as socket,
    ):
        socket.send_settings(agent_settings())
    assert time.monotonic() - started < WAIT / 2
    assert socket.connection.closed.is_set()
