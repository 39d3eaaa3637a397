"""Admission control end to end: the Deepgram concurrency limit (``max_calls``), the bound on calls
waiting for a slot (``max_waiting``) and on the audio a waiting call may buffer (``queue_seconds``).

A call over the limit is refused in its platform's own way (AudioHook ``disconnect`` ``error``
"Service Unavailable: ...", Twilio close 1013, plain ``error`` ``capacity`` + close 1013), counted in
``actors_ingest_refused_calls_total{reason="capacity"}`` and, when it had started, stored ``failed``;
never silently dropped. A waiting call that gets its slot in time loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path

import websockets
from websockets.exceptions import ConnectionClosed

from actors.ingest.audiohook.messages import DisconnectParameters, EventParameters, PongParameters
from actors.ingest.service import STREAM_PATH, TRANSCRIPTION_PATH, TWILIO_PATH, IngestService
from tests.support.audiohook_client import AudioHookClient
from tests.support.ingest import (
    LiveSession,
    conversation,
    ingest_service,
    live_session,
    stored_words,
    ws_url,
)
from tests.support.plain_client import audio_frames, messages_until_closed, start_message
from tests.support.twilio_client import TwilioStream

FIRST = conversation([(0, ["first", "call", "holds", "the", "slot"]), (1, ["yes", "it", "does"])])
SECOND = conversation([(1, ["second", "call", "waited"]), (0, ["and", "was", "heard"])])
#: 30 s of one channel's silence (PCMU): a waiting call streams it until the service refuses it.
LONG_TRACK = bytes([0xFF]) * (8000 * 30)


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/ingest.sqlite3"


def refused(service: IngestService, platform: str) -> float:
    return service.metrics.value("actors_ingest_refused_calls_total", platform=platform, reason="capacity")


def scrape(service: IngestService) -> tuple[int, str]:
    """``GET /metrics`` on the service's port."""
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
    try:
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


async def disconnect_of(s: LiveSession) -> DisconnectParameters:
    """Read until ``disconnect``, answer it with ``close`` and read the ``closed``."""
    message = await s.until(DisconnectParameters)
    assert isinstance(message.parameters, DisconnectParameters)
    await s.close()
    return message.parameters


async def synced(s: LiveSession) -> None:
    """A ping round trip: everything sent before it was handled by the service."""
    await s.send(s.client.ping())
    await s.until(PongParameters)


async def holding(s: LiveSession) -> None:
    """Stream :data:`FIRST` and wait for its first transcript: its Deepgram stream is connected and
    holds the slot."""
    await s.audio(FIRST.audio)
    await s.until(EventParameters)


async def paced(send: Callable[[str | bytes], Awaitable[None]], frames: Iterable[str | bytes]) -> None:
    """Send ``frames`` like a live platform, about 10x real time for 200 ms of audio per 20 ms of wall
    time (pacing, not synchronisation), until they run out or the socket closes; cancel it to stop."""
    with contextlib.suppress(ConnectionClosed):
        for index, frame in enumerate(frames):
            await send(frame)
            if index % 10 == 9:
                await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def streaming(
    send: Callable[[str | bytes], Awaitable[None]], frames: Iterable[str | bytes]
) -> AsyncIterator[None]:
    """Run :func:`paced` in the background while the body waits for the service's answer."""
    task = asyncio.create_task(paced(send, frames))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def test_no_waiting_room_refuses_the_second_call_and_keeps_the_first(tmp_path: Path) -> None:
    async def run() -> tuple[AudioHookClient, DisconnectParameters]:
        async with live_session(service, TRANSCRIPTION_PATH) as first:
            await holding(first)
            async with live_session(service, TRANSCRIPTION_PATH) as second:
                answer = await disconnect_of(second)  # ``opened`` first: the session opens, then admission
            await first.close()
            return first.client, answer

    with ingest_service(sqlite_url(tmp_path), max_calls=1, max_waiting=0) as service:
        first, answer = asyncio.run(run())
        assert answer.reason == "error"
        assert (answer.info or "").startswith("Service Unavailable"), answer.info
        assert refused(service, "audiohook") == 1
        detail = service.store.get_call(first.session_id)
        assert detail is not None and detail.call.status == "completed"
        assert stored_words(service, first.session_id) == list(FIRST.words)
        assert len(service.store.list_calls()) == 1, "a call refused at open leaves no row"


def test_audiohook_call_that_waits_too_long_is_refused_and_stored_failed(tmp_path: Path) -> None:
    async def run() -> tuple[AudioHookClient, AudioHookClient, DisconnectParameters]:
        async with live_session(service, TRANSCRIPTION_PATH) as first:
            await holding(first)
            async with live_session(service, TRANSCRIPTION_PATH) as second:
                await second.send(*second.client.audio(0.8))
                await synced(second)
                assert not any(isinstance(m.parameters, DisconnectParameters) for m in second.client.received)
                # the call goes on streaming (silence, 200 ms frames) until the service refuses it
                live = (frame for _ in range(150) for frame in second.client.audio(0.2))
                async with streaming(second.ws.send, live):
                    message = await second.until(DisconnectParameters)
                await second.close()
                assert isinstance(message.parameters, DisconnectParameters)
                answer = message.parameters
            await first.close()
            return first.client, second.client, answer

    with ingest_service(sqlite_url(tmp_path), max_calls=1, max_waiting=1, queue_seconds=1.0) as service:
        first, second, answer = asyncio.run(run())
        assert answer.reason == "error"
        assert (answer.info or "").startswith("Service Unavailable"), answer.info
        assert refused(service, "audiohook") == 1
        detail = service.store.get_call(second.session_id)
        assert detail is not None and detail.call.status == "failed"
        assert not any(isinstance(m.parameters, EventParameters) for m in second.received)
        assert stored_words(service, first.session_id) == list(FIRST.words)


def test_twilio_call_that_waits_too_long_is_closed_1013(tmp_path: Path) -> None:
    stream = TwilioStream(("inbound", "outbound"))

    async def run() -> int:
        async with live_session(service, TRANSCRIPTION_PATH) as first:
            await holding(first)
            async with websockets.connect(ws_url(service, TWILIO_PATH)) as ws:
                await ws.send(stream.connected())
                await ws.send(stream.start())
                frames = stream.media_frames({"inbound": LONG_TRACK, "outbound": LONG_TRACK})
                async with streaming(ws.send, frames):
                    with contextlib.suppress(ConnectionClosed):
                        await asyncio.wait_for(ws.recv(), 20)
                code = ws.close_code
            await first.close()
            assert code is not None
            return code

    with ingest_service(sqlite_url(tmp_path), max_calls=1, max_waiting=1, queue_seconds=1.0) as service:
        assert asyncio.run(run()) == 1013
        assert refused(service, "twilio") == 1
        assert service.wait_idle(10)
        detail = service.store.get_call(stream.call_sid)
        assert detail is not None and detail.call.status == "failed"


def test_plain_call_that_waits_too_long_gets_capacity_and_1013(tmp_path: Path) -> None:
    async def run() -> tuple[list[dict[str, object]], int]:
        async with live_session(service, TRANSCRIPTION_PATH) as first:
            await holding(first)
            async with websockets.connect(ws_url(service, STREAM_PATH)) as ws:
                await ws.send(start_message("waiting-plain", encoding="mulaw", sample_rate=8000, channels=2))
                frames = audio_frames(LONG_TRACK * 2, frame_bytes=2, frame_ms=200, sample_rate=8000)
                async with streaming(ws.send, frames):
                    received = await messages_until_closed(ws)
                code = ws.close_code
            await first.close()
            assert code is not None
            return received, code

    with ingest_service(sqlite_url(tmp_path), max_calls=1, max_waiting=1, queue_seconds=1.0) as service:
        received, code = asyncio.run(run())
        assert code == 1013
        errors = [m for m in received if m.get("type") == "error"]
        assert errors and errors[0]["code"] == "capacity", received
        assert refused(service, "stream") == 1
        assert service.wait_idle(10)
        detail = service.store.get_call("waiting-plain")
        assert detail is not None and detail.call.status == "failed"


def test_a_waiting_call_that_gets_its_slot_in_time_loses_nothing(tmp_path: Path) -> None:
    """The second call streams all its audio while the first holds the only slot (a third call is then
    refused: the second holds the one waiting place); once the first closes, the second's buffered
    audio is transcribed completely."""

    async def run() -> tuple[AudioHookClient, AudioHookClient, int]:
        async with live_session(service, TRANSCRIPTION_PATH) as first:
            await holding(first)
            async with live_session(service, TRANSCRIPTION_PATH) as second:
                await second.audio(SECOND.audio)
                await synced(second)
                async with live_session(service, TRANSCRIPTION_PATH) as third:
                    # refused only because the second call occupies the one waiting place
                    probe = await disconnect_of(third)
                assert (probe.info or "").startswith("Service Unavailable"), probe.info
                assert service.metrics.value("actors_ingest_waiting_calls") == 1
                events_while_waiting = sum(
                    isinstance(m.parameters, EventParameters) for m in second.client.received
                )
                await first.close()
                await second.close()
            return first.client, second.client, events_while_waiting

    with ingest_service(sqlite_url(tmp_path), max_calls=1, max_waiting=1, queue_seconds=30.0) as service:
        first, second, events_while_waiting = asyncio.run(run())
        assert events_while_waiting == 0, "the second call was transcribed while the slot was taken"
        assert refused(service, "audiohook") == 1  # the probe
        for client, call in ((first, FIRST), (second, SECOND)):
            detail = service.store.get_call(client.session_id)
            assert detail is not None and detail.call.status == "completed"
            assert stored_words(service, client.session_id) == list(call.words)
        assert any(isinstance(m.parameters, EventParameters) for m in second.received)
        status, body = scrape(service)
        assert status == 200 and "actors_ingest_waiting_calls 0.0" in body, "the gauge follows the calls"


def test_a_call_with_one_stream_waiting_is_bounded_too(tmp_path: Path) -> None:
    """Flux with ``max_calls=1`` (two streams per call): a 3-channel plain call has a stream that cannot
    get a slot while the call runs; its buffered audio is bounded like a waiting call's -- the call is
    refused (``capacity``, 1013) instead of buffering that channel until the end."""

    async def run() -> tuple[list[dict[str, object]], int]:
        async with websockets.connect(ws_url(service, STREAM_PATH)) as ws:
            await ws.send(start_message("three-channels", encoding="mulaw", sample_rate=8000, channels=3))
            frames = audio_frames(LONG_TRACK * 3, frame_bytes=3, frame_ms=200, sample_rate=8000)
            async with streaming(ws.send, frames):
                received = await messages_until_closed(ws)
            assert ws.close_code is not None
            return received, ws.close_code

    with ingest_service(
        sqlite_url(tmp_path), api="listen.v2", max_calls=1, max_waiting=0, queue_seconds=1.0
    ) as service:
        received, code = asyncio.run(run())
        assert code == 1013
        assert [m.get("code") for m in received if m.get("type") == "error"] == ["capacity"], received
        assert service.wait_idle(10)
        detail = service.store.get_call("three-channels")
        assert detail is not None and detail.call.status == "failed"


def test_twilio_and_plain_calls_refused_at_start_without_a_waiting_room(tmp_path: Path) -> None:
    """``max_waiting=0`` with the one slot taken: Twilio is closed 1013 right after ``start``; plain gets
    ``error`` ``capacity`` (the same code as a call refused while waiting) and 1013; neither is stored."""
    stream = TwilioStream(("inbound",))

    async def run() -> tuple[int | None, list[dict[str, object]], int | None]:
        async with live_session(service, TRANSCRIPTION_PATH) as first:
            await holding(first)
            async with websockets.connect(ws_url(service, TWILIO_PATH)) as twilio:
                await twilio.send(stream.connected())
                await twilio.send(stream.start())
                with contextlib.suppress(ConnectionClosed):
                    await asyncio.wait_for(twilio.recv(), 20)
            async with websockets.connect(ws_url(service, STREAM_PATH)) as plain:
                await plain.send(start_message("refused-plain", encoding="mulaw", sample_rate=8000))
                received = await messages_until_closed(plain)
            await first.close()
            return twilio.close_code, received, plain.close_code

    with ingest_service(sqlite_url(tmp_path), max_calls=1, max_waiting=0) as service:
        twilio_code, received, plain_code = asyncio.run(run())
        assert (twilio_code, plain_code) == (1013, 1013)
        assert [m["type"] for m in received] == ["error"], "a refused call is never told it started"
        assert received[-1]["code"] == "capacity", received
        assert str(received[-1]["message"]).startswith("Service Unavailable")
        assert refused(service, "twilio") == 1 and refused(service, "stream") == 1
        assert [c.platform for c in service.store.list_calls()] == ["audiohook"]
