"""The ingestion service end to end over real sockets: Twilio Media Streams and the plain /v1/stream."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from actors.ingest.service import STREAM_PATH, TWILIO_PATH
from tests.support.ingest import Call, conversation, ingest_service, stored_words, ws_url
from tests.support.plain_client import audio_frames, messages_until_closed, start_message, stop_message
from tests.support.twilio_client import TwilioStream, upgrade_headers

CALL = conversation([(0, ["my", "card", "was", "charged"]), (1, ["let", "me", "check"]), (0, ["thanks"])])
TOKEN = "twilio-auth-token-for-tests"


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/ingest.sqlite3"


def tracks_of(call: Call) -> dict[str, bytes]:
    return {"inbound": call.audio[0::2], "outbound": call.audio[1::2]}


async def twilio_call(
    service: object, stream: TwilioStream, call: Call, headers: dict[str, str] | None = None
) -> int:
    """Send the whole stream; return the close code the service ended it with."""
    async with websockets.connect(ws_url(service, TWILIO_PATH), additional_headers=headers or {}) as ws:  # type: ignore[arg-type]
        for frame in stream.call(tracks_of(call)):
            await ws.send(frame)
        with contextlib.suppress(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 30)
        assert ws.close_code is not None
        return ws.close_code


def test_twilio_both_tracks_become_two_channels(tmp_path: Path) -> None:
    stream = TwilioStream(("inbound", "outbound"), custom_parameters={"queue": "billing"})
    with ingest_service(
        sqlite_url(tmp_path), twilio_auth_token=TOKEN, public_url="wss://ingest.example.com"
    ) as service:
        headers = upgrade_headers(TOKEN, f"wss://ingest.example.com{TWILIO_PATH}")
        code = asyncio.run(twilio_call(service, stream, CALL, headers))
        assert code == 1000
        assert stored_words(service, stream.call_sid) == list(CALL.words)
        detail = service.store.get_call(stream.call_sid)
        assert detail is not None
        assert detail.call.status == "completed"
        assert detail.call.channels == ("inbound", "outbound")
        assert detail.call.metadata["queue"] == "billing"
        assert detail.call.platform_ids["streamSid"] == stream.stream_sid


def test_twilio_wrong_signature_is_refused_403(tmp_path: Path) -> None:
    with ingest_service(
        sqlite_url(tmp_path), twilio_auth_token=TOKEN, public_url="wss://ingest.example.com"
    ) as service:

        async def connect() -> None:
            headers = upgrade_headers("another-token", f"wss://ingest.example.com{TWILIO_PATH}")
            async with websockets.connect(ws_url(service, TWILIO_PATH), additional_headers=headers):
                pass

        with pytest.raises(InvalidStatus) as info:
            asyncio.run(connect())
        assert info.value.response.status_code == 403
        assert service.store.list_calls() == []


def test_twilio_garbage_frame_closes_with_the_protocol_code_and_keeps_what_was_heard(tmp_path: Path) -> None:
    stream = TwilioStream(("inbound",))
    half = conversation([(0, ["before", "garbage"])], channels=1)

    async def run() -> int:
        async with websockets.connect(ws_url(service, TWILIO_PATH)) as ws:
            for frame in [stream.connected(), stream.start(), *stream.media_frames({"inbound": half.audio})]:
                await ws.send(frame)
            await ws.send("this is not JSON")
            with contextlib.suppress(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 30)
            return ws.close_code or 0

    with ingest_service(sqlite_url(tmp_path)) as service:
        assert asyncio.run(run()) == 1007
        assert stored_words(service, stream.call_sid) == list(half.words)
        detail = service.store.get_call(stream.call_sid)
        assert detail is not None and detail.call.status == "failed"


def plain_headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


async def plain_call(
    service: object, call: Call, call_id: str, token: str | None = None
) -> list[dict[str, object]]:
    """A whole /v1/stream call; returns every JSON message the server sent."""
    async with websockets.connect(
        ws_url(service, STREAM_PATH), additional_headers=plain_headers(token)
    ) as ws:  # type: ignore[arg-type]
        await ws.send(
            start_message(
                call_id,
                encoding=call.encoding,
                sample_rate=call.sample_rate,
                channels=["agent", "customer"][: call.channels],
                metadata={"crm": "42"},
            )
        )
        width = 1 if call.encoding == "mulaw" else 2
        for frame in audio_frames(
            call.audio, frame_bytes=width * call.channels, sample_rate=call.sample_rate
        ):
            await ws.send(frame)
        await ws.send(stop_message())
        return await messages_until_closed(ws, 30)


def test_plain_stream_linear16_stereo(tmp_path: Path) -> None:
    call = conversation([(0, ["any", "app"]), (1, ["can", "stream"])], sample_rate=16000, encoding="linear16")
    with ingest_service(sqlite_url(tmp_path)) as service:
        received = asyncio.run(plain_call(service, call, "crm-call-1"))
        assert received[0]["type"] == "started"
        assert stored_words(service, "crm-call-1") == list(call.words)
        detail = service.store.get_call("crm-call-1")
        assert detail is not None and detail.call.metadata == {"crm": "42"}
        assert detail.call.channels == ("agent", "customer")
        stopped = {
            "type": "stopped",
            "call_id": "crm-call-1",
            "status": "completed",
            "segments": len(detail.segments),
        }
        assert received[-1] == stopped


def test_plain_stream_needs_the_bearer_token_when_one_is_set(tmp_path: Path) -> None:
    with ingest_service(sqlite_url(tmp_path), api_token="s3cret-token") as service:
        with pytest.raises(InvalidStatus) as info:
            asyncio.run(plain_call(service, CALL, "x", token="wrong"))
        assert info.value.response.status_code == 401
        received = asyncio.run(plain_call(service, CALL, "ok-call", token="s3cret-token"))
        assert received[-1]["status"] == "completed"


def test_plain_duplicate_call_id_is_refused_and_the_first_is_kept(tmp_path: Path) -> None:
    with ingest_service(sqlite_url(tmp_path)) as service:
        asyncio.run(plain_call(service, CALL, "dup"))
        again = asyncio.run(plain_call(service, CALL, "dup"))
        assert again[-1]["code"] == "duplicate_call"
        assert stored_words(service, "dup") == list(CALL.words)
