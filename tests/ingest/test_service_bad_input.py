"""Bad input at the ingestion service: each gets the protocol's documented answer, other calls are
unaffected, and what was already transcribed is stored."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from actors.ingest.audiohook.messages import DisconnectParameters, MediaFormat
from actors.ingest.service import TRANSCRIPTION_PATH
from tests.support.audiohook_client import AudioHookClient
from tests.support.ingest import (
    API_KEY,
    audiohook_call,
    audiohook_connect,
    conversation,
    ingest_service,
    receive,
    stored_words,
    ws_url,
)

CALL = conversation([(0, ["good", "call"]), (1, ["still", "fine"])])


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/ingest.sqlite3"


def refused_status(service: object, client: AudioHookClient, **kwargs: object) -> int:
    async def connect() -> None:
        ws = await audiohook_connect(service, client, TRANSCRIPTION_PATH, **kwargs)  # type: ignore[arg-type]
        await ws.close()

    with pytest.raises(InvalidStatus) as info:
        asyncio.run(connect())
    return info.value.response.status_code


def test_wrong_signature_unknown_key_and_stale_signature_get_401(tmp_path: Path) -> None:
    with ingest_service(sqlite_url(tmp_path)) as service:
        started = time.monotonic()
        assert refused_status(service, AudioHookClient(), secret="d3Jvbmcgc2VjcmV0") == 401
        assert time.monotonic() - started >= 0.5, "failures are delayed like the reference's"
        assert refused_status(service, AudioHookClient(), api_key="not-a-configured-key") == 401
        assert refused_status(service, AudioHookClient(), now=time.time() - 60) == 401
        assert service.store.list_calls() == []


def test_missing_api_key_gets_401_and_missing_session_header_400(tmp_path: Path) -> None:
    async def connect(headers: dict[str, str]) -> None:
        async with websockets.connect(ws_url(service, TRANSCRIPTION_PATH), additional_headers=headers):
            pass

    with ingest_service(sqlite_url(tmp_path)) as service:
        client = AudioHookClient()
        headers = client.handshake_headers(
            target=TRANSCRIPTION_PATH,
            host=f"127.0.0.1:{service.port}",
            api_key=API_KEY,
            client_secret="",
            now=time.time(),
        )
        for name in ("X-API-KEY", "Audiohook-Session-Id"):
            partial = {k: v for k, v in headers.items() if k.lower() != name.lower()}
            with pytest.raises(InvalidStatus) as info:
                asyncio.run(connect(partial))
            assert info.value.response.status_code == (401 if name == "X-API-KEY" else 400)


async def session_until_disconnect(
    service: object, frames: list[str | bytes], client: AudioHookClient
) -> DisconnectParameters:
    async with await audiohook_connect(service, client, TRANSCRIPTION_PATH) as ws:  # type: ignore[arg-type]
        for frame in frames:
            await ws.send(frame)
        while True:
            message = await receive(ws, client)
            if isinstance(message.parameters, DisconnectParameters):
                await ws.send(client.close("error"))
                return message.parameters


def test_unsupported_media_is_a_disconnect_error(tmp_path: Path) -> None:
    client = AudioHookClient()
    l16 = MediaFormat(format="L16", channels=("external",), rate=8000)
    with ingest_service(sqlite_url(tmp_path)) as service:
        params = asyncio.run(session_until_disconnect(service, [client.open((l16,))], client))
        assert params.reason == "error" and "No supported media" in (params.info or "")


def test_out_of_order_seq_and_garbage_end_the_call_and_keep_its_words(tmp_path: Path) -> None:
    first_half = conversation([(0, ["kept", "words"])], tail_ms=1500)

    async def broken(kind: str) -> tuple[AudioHookClient, DisconnectParameters]:
        client = AudioHookClient()
        async with await audiohook_connect(service, client, TRANSCRIPTION_PATH) as ws:
            await ws.send(client.open())
            await receive(ws, client)
            for frame in client.frames(first_half.audio):
                await ws.send(frame)
            if kind == "seq":
                client.seq += 1  # skip a number
                await ws.send(client.ping())
            else:
                await ws.send("{not json")
            while True:
                message = await receive(ws, client)
                if isinstance(message.parameters, DisconnectParameters):
                    await ws.send(client.close("error"))
                    return client, message.parameters

    async def both() -> list[tuple[AudioHookClient, DisconnectParameters]]:
        good = asyncio.create_task(audiohook_call(service, CALL, TRANSCRIPTION_PATH))
        results = [await broken("seq"), await broken("garbage")]
        good_client = await good
        assert stored_words(service, good_client.session_id) == list(CALL.words)
        return results

    with ingest_service(sqlite_url(tmp_path)) as service:
        for client, params in asyncio.run(both()):
            assert params.reason == "error" and (params.info or "").startswith("Client Error")
            assert service.wait_idle(10)
            assert stored_words(service, client.session_id) == list(first_half.words)
            assert service.store.get_call(client.session_id).call.status == "failed"  # type: ignore[union-attr]


def test_client_vanishing_mid_call_keeps_what_was_heard(tmp_path: Path) -> None:
    half = conversation([(0, ["heard", "before"]), (1, ["the", "drop"])], tail_ms=1500)

    async def vanish() -> AudioHookClient:
        client = AudioHookClient()
        ws = await audiohook_connect(service, client, TRANSCRIPTION_PATH)
        await ws.send(client.open())
        await receive(ws, client)
        for frame in client.frames(half.audio):
            await ws.send(frame)
        ws.transport.abort()  # no close frame, no AudioHook close: the platform is gone
        with contextlib.suppress(ConnectionClosed):
            await ws.wait_closed()
        return client

    with ingest_service(sqlite_url(tmp_path)) as service:
        client = asyncio.run(vanish())
        assert service.wait_idle(15), "the vanished call is never closed"
        assert service.store.get_call(client.session_id).call.status != "active"  # type: ignore[union-attr]
        assert stored_words(service, client.session_id) == list(half.words)


def test_unknown_route_is_404(tmp_path: Path) -> None:
    async def connect() -> None:
        async with websockets.connect(ws_url(service, "/nope")):
            pass

    with ingest_service(sqlite_url(tmp_path)) as service:
        with pytest.raises(InvalidStatus) as info:
            asyncio.run(connect())
        assert info.value.response.status_code == 404


def test_no_secret_reaches_the_log_even_at_debug(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """AudioHook keys and secrets, bearer tokens and Twilio signatures never appear in any log record."""
    from tests.support.ingest import SECRET
    from tests.support.plain_client import stop_message
    from tests.support.twilio_client import TwilioStream, upgrade_headers

    token = "bearer-token-never-logged-123"
    twilio = "twilio-token-never-logged-456"

    async def calls() -> None:
        await audiohook_call(service, CALL, TRANSCRIPTION_PATH)
        await refused(api_key="wrong-key-never-logged")
        headers = upgrade_headers(twilio, "wss://ingest.example.com/twilio")
        async with websockets.connect(ws_url(service, "/twilio"), additional_headers=headers) as ws:
            stream = TwilioStream(("inbound",))
            for frame in [stream.connected(), stream.start(), stream.stop()]:
                await ws.send(frame)
            with contextlib.suppress(ConnectionClosed):
                await ws.recv()
        auth = {"Authorization": f"Bearer {token}"}
        async with websockets.connect(ws_url(service, "/v1/stream"), additional_headers=auth) as ws:
            await ws.send(stop_message())
            with contextlib.suppress(ConnectionClosed):
                await ws.recv()

    async def refused(**kwargs: str) -> None:
        with contextlib.suppress(InvalidStatus):
            ws = await audiohook_connect(service, AudioHookClient(), TRANSCRIPTION_PATH, **kwargs)
            await ws.close()

    caplog.set_level("DEBUG")
    with ingest_service(
        sqlite_url(tmp_path), api_token=token, twilio_auth_token=twilio, public_url="wss://ingest.example.com"
    ) as service:
        asyncio.run(calls())
    ours = [r for r in caplog.records if not r.name.startswith("websockets.client")]  # the test's own client
    text = "\n".join(r.getMessage() for r in ours)
    assert "X-API-KEY" in text or "x-api-key" in text.lower(), "debug logging of headers was captured"
    for secret in (SECRET, API_KEY, token, twilio, "wrong-key-never-logged"):
        assert secret not in text
