"""The service's plain-HTTP routes over its real port (http.client, no test client of the API object):
/healthz, /readyz (503 "draining" while a drain runs, 503 "store unavailable" when the database is
gone), /metrics during and after a call, and the JSON API /v1/calls[/{id}] with and without the
bearer token, on SQLite and PostgreSQL; plus the drain of Twilio and plain calls."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import socket
import threading
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families
from websockets.exceptions import ConnectionClosed, InvalidStatus

from actors.ingest.audiohook.messages import DisconnectParameters, PongParameters
from actors.ingest.service import STREAM_PATH, TRANSCRIPTION_PATH, TWILIO_PATH, IngestService
from tests.support.audiohook_client import AudioHookClient
from tests.support.ingest import (
    audiohook_call,
    audiohook_connect,
    conversation,
    ingest_service,
    live_session,
    stored_words,
    ws_url,
)
from tests.support.plain_client import audio_frames, start_message
from tests.support.postgres import PostgresServer
from tests.support.twilio_client import TwilioStream

CALL = conversation([(0, ["where", "is", "my", "parcel"]), (1, ["it", "ships", "today"])])
TOKEN = "ops-api-token-for-tests"


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/ingest.sqlite3"


def get(service: IngestService, path: str, token: str | None = None) -> tuple[int, str, bytes]:
    """``GET path`` on the service's port: ``(status, content type, body)``."""
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read()
    finally:
        connection.close()


def get_json(service: IngestService, path: str, token: str | None = None) -> dict[str, object]:
    status, content_type, body = get(service, path, token)
    assert status == 200, (status, body)
    assert content_type.startswith("application/json")
    value = json.loads(body)
    assert isinstance(value, dict)
    return value


def test_healthz_and_readyz(tmp_path: Path) -> None:
    with ingest_service(sqlite_url(tmp_path)) as service:
        assert get(service, "/healthz")[0] == 200
        status, _, body = get(service, "/readyz")
        assert status == 200, body


def test_readyz_says_draining_and_upgrades_get_503_while_a_drain_runs(tmp_path: Path) -> None:
    """``drain()`` runs in a thread while a call is open: the call gets ``disconnect`` ``completed``;
    until it answers, /readyz is 503 "draining" and a new AudioHook upgrade is refused 503."""
    outcome: list[bool] = []

    async def run() -> tuple[AudioHookClient, DisconnectParameters, tuple[int, str, bytes], int]:
        async with live_session(service, TRANSCRIPTION_PATH) as s:
            await s.audio(CALL.audio)
            await s.send(s.client.ping())  # the service has read all the audio before the drain begins
            await s.until(PongParameters)
            drainer = threading.Thread(
                target=lambda: outcome.append(service.drain(timeout=20)), name="test-drain"
            )
            drainer.start()
            try:
                message = await s.until(DisconnectParameters)
                assert isinstance(message.parameters, DisconnectParameters)
                ready = await asyncio.to_thread(get, service, "/readyz")
                with pytest.raises(InvalidStatus) as refused:
                    await audiohook_connect(service, AudioHookClient(), TRANSCRIPTION_PATH)
                await s.close()
            finally:
                await asyncio.to_thread(drainer.join, 30)
            return s.client, message.parameters, ready, refused.value.response.status_code

    with ingest_service(sqlite_url(tmp_path)) as service:
        client, disconnect, ready, upgrade_status = asyncio.run(run())
        assert disconnect.reason == "completed"
        assert ready[0] == 503 and b"draining" in ready[2], ready
        assert upgrade_status == 503
        assert outcome == [True], "the drain finished the call in time and lost nothing"
        assert client.received[-1].type == "closed"
        detail = service.store.get_call(client.session_id)
        assert detail is not None and detail.call.status == "completed"
        assert stored_words(service, client.session_id) == list(CALL.words)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page by (name, sorted labels)."""
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_metrics_after_a_call(tmp_path: Path) -> None:
    with ingest_service(sqlite_url(tmp_path)) as service:
        client = asyncio.run(audiohook_call(service, CALL, TRANSCRIPTION_PATH))
        segments = len(service.store.get_call(client.session_id).segments)  # type: ignore[union-attr]
        status, content_type, body = get(service, "/metrics")
        assert status == 200 and content_type.startswith("text/plain")
        page = samples(body.decode())
        assert page[("actors_ingest_active_calls", (("platform", "audiohook"),))] == 0
        assert page[("actors_ingest_finals_stored_total", ())] == segments > 0
        assert page[("actors_ingest_final_to_commit_seconds_count", ())] == segments
        assert page[("actors_ingest_store_commit_seconds_count", ())] > 0
        assert page[("actors_ingest_time_to_first_result_seconds_count", ())] == 1
        assert page[("actors_ingest_calls_total", (("outcome", "completed"), ("platform", "audiohook")))] == 1
        assert page[("actors_ingest_audio_seconds_total", (("platform", "audiohook"),))] == pytest.approx(
            CALL.seconds, abs=0.01
        )


def test_active_calls_gauge_during_a_call(tmp_path: Path) -> None:
    async def run() -> float:
        async with live_session(service, TRANSCRIPTION_PATH) as s:
            await s.audio(CALL.audio[:3200])
            await s.send(s.client.ping())
            await s.until(PongParameters)
            _, _, body = await asyncio.to_thread(get, service, "/metrics")
            await s.close()
        return samples(body.decode())[("actors_ingest_active_calls", (("platform", "audiohook"),))]

    with ingest_service(sqlite_url(tmp_path)) as service:
        assert asyncio.run(run()) == 1


def check_calls_api(service: IngestService, token: str | None = None) -> None:
    """One call, then /v1/calls lists it and /v1/calls/{id} returns it with its segments."""
    client = asyncio.run(audiohook_call(service, CALL, TRANSCRIPTION_PATH))
    listing = get_json(service, "/v1/calls", token)
    calls = listing["calls"]
    assert isinstance(calls, list) and [c["id"] for c in calls] == [client.session_id]
    assert calls[0]["status"] == "completed" and calls[0]["platform"] == "audiohook"
    assert get_json(service, "/v1/calls?active=true", token)["calls"] == []
    detail = get_json(service, f"/v1/calls/{quote(client.session_id)}", token)
    call = detail["call"]
    assert isinstance(call, dict)
    assert call["id"] == client.session_id and call["channels"] == ["external", "internal"]
    assert call["request_ids"], "the Deepgram request id is shown"
    segments = detail["segments"]
    assert isinstance(segments, list) and segments
    words = sorted((s["channel"], w["word"], round(w["start"], 3)) for s in segments for w in s["words"])
    assert words == sorted((w.channel, w.word, w.start) for w in CALL.words)
    assert {s["channel_label"] for s in segments} == {"external", "internal"}
    status, _, _ = get(service, "/v1/calls/no-such-call", token)
    assert status == 404


def test_calls_api_on_loopback_without_a_token(tmp_path: Path) -> None:
    with ingest_service(sqlite_url(tmp_path)) as service:
        check_calls_api(service)


def test_calls_api_needs_the_bearer_token_when_one_is_set(tmp_path: Path) -> None:
    with ingest_service(sqlite_url(tmp_path), api_token=TOKEN) as service:
        check_calls_api(service, TOKEN)
        for path in ("/v1/calls", "/v1/calls/anything"):
            assert get(service, path)[0] == 401
            assert get(service, path, "not-the-token")[0] == 401
        assert get(service, "/healthz")[0] == 200, "ops routes carry no personal data: no token"
        assert get(service, "/metrics")[0] == 200


def test_calls_api_on_postgresql(postgres_url: str) -> None:
    with ingest_service(postgres_url, api_token=TOKEN) as service:
        check_calls_api(service, TOKEN)
        assert get(service, "/v1/calls")[0] == 401


def test_unknown_http_path_is_404(tmp_path: Path) -> None:
    with ingest_service(sqlite_url(tmp_path)) as service:
        assert get(service, "/nope")[0] == 404

        async def upgrade() -> None:
            async with websockets.connect(ws_url(service, "/healthz")):
                pass

        with pytest.raises(InvalidStatus):
            asyncio.run(upgrade())


def test_drain_ends_twilio_and_plain_calls_gracefully(tmp_path: Path) -> None:
    """A drain with a Twilio and a plain call open: plain gets ``error`` ``going_away``, both sockets
    close 1001 once every final is committed; both calls are stored ``completed`` with every word."""
    stream = TwilioStream(("inbound", "outbound"))
    outcome: list[bool] = []

    async def run() -> tuple[list[str], int | None, int | None]:
        received: list[str] = []
        async with (
            websockets.connect(ws_url(service, TWILIO_PATH)) as twilio,
            websockets.connect(ws_url(service, STREAM_PATH)) as plain,
        ):
            tracks = {"inbound": CALL.audio[0::2], "outbound": CALL.audio[1::2]}
            for frame in [stream.connected(), stream.start(), *stream.media_frames(tracks)]:
                await twilio.send(frame)
            await plain.send(start_message("plain-drained", encoding="mulaw", sample_rate=8000, channels=2))
            received.append(str(await plain.recv()))  # started
            for chunk in audio_frames(CALL.audio, frame_bytes=2, sample_rate=8000):
                await plain.send(chunk)
            for ws in (twilio, plain):  # a WebSocket ping round trip: every frame before it was read
                await asyncio.wait_for(await ws.ping(), 10)
            drainer = threading.Thread(
                target=lambda: outcome.append(service.drain(timeout=20)), name="test-drain"
            )
            drainer.start()
            try:
                with contextlib.suppress(ConnectionClosed):
                    while True:
                        received.append(str(await asyncio.wait_for(plain.recv(), 20)))
                with contextlib.suppress(ConnectionClosed):
                    await asyncio.wait_for(twilio.recv(), 20)
            finally:
                await asyncio.to_thread(drainer.join, 30)
            return received, twilio.close_code, plain.close_code

    with ingest_service(sqlite_url(tmp_path)) as service:
        received, twilio_code, plain_code = asyncio.run(run())
        assert (twilio_code, plain_code) == (1001, 1001)
        assert json.loads(received[-1])["code"] == "going_away", received
        assert outcome == [True]
        for call_id in (stream.call_sid, "plain-drained"):
            detail = service.store.get_call(call_id)
            assert detail is not None and detail.call.status == "completed"
            assert stored_words(service, call_id) == list(CALL.words)


def test_store_down_makes_readyz_503_and_new_calls_are_refused(
    postgres_url: str, postgres_server: PostgresServer
) -> None:
    """The PostgreSQL database goes away: /readyz says 503 "store unavailable", a new AudioHook call
    gets ``disconnect`` ``error`` "Service Unavailable: ...", /v1/calls answers 503."""

    async def refused_call() -> DisconnectParameters:
        async with live_session(service, TRANSCRIPTION_PATH) as s:
            message = await s.until(DisconnectParameters)
            await s.close()
        assert isinstance(message.parameters, DisconnectParameters)
        return message.parameters

    with ingest_service(postgres_url) as service:
        assert get(service, "/readyz")[0] == 200
        name = postgres_url.rsplit("/", 1)[1]
        with psycopg.connect(postgres_server.url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
        status, _, body = get(service, "/readyz")
        assert status == 503 and b"store unavailable" in body, body
        disconnect = asyncio.run(refused_call())
        assert disconnect.reason == "error"
        assert (disconnect.info or "").startswith("Service Unavailable"), disconnect.info
        assert get(service, "/v1/calls")[0] == 503
        assert service.metrics.value("actors_ingest_store_up") == 0
        refused = service.metrics.value(
            "actors_ingest_refused_calls_total", platform="audiohook", reason="store_unavailable"
        )
        assert refused == 1


def raw_http(service: IngestService, request: bytes) -> bytes:
    """Send ``request`` on a fresh TCP connection; return every byte until the server closes it."""
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_head_has_no_body_and_other_methods_get_405(tmp_path: Path) -> None:
    with ingest_service(sqlite_url(tmp_path)) as service:
        head = raw_http(service, b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        status_line, _, rest = head.partition(b"\r\n")
        assert status_line == b"HTTP/1.1 200 OK", head
        headers, _, body = rest.partition(b"\r\n\r\n")
        assert b"Content-Length: 3" in headers and body == b"", head
        posted = raw_http(service, b"POST /v1/calls HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        assert posted.startswith(b"HTTP/1.1 405 "), posted
        assert b"Allow: GET, HEAD" in posted


def test_a_repeated_authorization_header_is_refused_not_half_read(tmp_path: Path) -> None:
    """Two ``Authorization`` headers (the right token and another): 401 on the JSON API and on the
    /v1/stream upgrade, whichever of the two a dict would have kept."""

    def twice(path: str, extra: list[tuple[str, str]]) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
        try:
            connection.putrequest("GET", path)
            for name, value in [
                *extra,
                ("Authorization", "Bearer wrong"),
                ("Authorization", f"Bearer {TOKEN}"),
            ]:
                connection.putheader(name, value)
            connection.endheaders()
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    upgrade = [
        ("Connection", "Upgrade"),
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
    ]
    with ingest_service(sqlite_url(tmp_path), api_token=TOKEN) as service:
        status, body = twice("/v1/calls", [])
        assert status == 401 and b"more than one Authorization" in body
        assert twice(STREAM_PATH, upgrade)[0] == 401
        assert get(service, "/v1/calls", TOKEN)[0] == 200
