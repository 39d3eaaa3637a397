"""Deepgram's own SDK (7.16, test dependency) against the local server: Listen V1 and Flux, sync and async."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from actors.server import LocalServer
from actors.server.engines.deterministic import silence, synthesize_words
from tests.support.sdk import sdk_environment

deepgram = pytest.importorskip("deepgram")

WORDS = ["sdk", "sees", "nothing", "odd"]


def audio() -> bytes:
    return synthesize_words(WORDS, 16000, gap_ms=120) + silence(0.6)


def chunks(data: bytes, size: int = 3200) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def v1_summary(messages: list[Any]) -> tuple[list[str], list[str]]:
    kinds = [type(m).__name__ for m in messages]
    words = [
        w.word
        for m in messages
        if type(m).__name__ == "ListenV1Results" and m.is_final
        for w in m.channel.alternatives[0].words
    ]
    return kinds, words


def test_sync_sdk_listen_v1(local_server: LocalServer) -> None:
    client = deepgram.DeepgramClient(api_key="test-key", environment=sdk_environment(local_server.url))
    params = {
        "model": "nova-3",
        "encoding": "linear16",
        "sample_rate": 16000,
        "interim_results": True,
        "vad_events": True,
    }
    with client.listen.v1.connect(**params) as conn:
        for chunk in chunks(audio()):
            conn.send_media(chunk)
        conn.send_close_stream()
        messages = list(conn)
    kinds, words = v1_summary(messages)
    assert words == WORDS
    assert kinds[0] == "ListenV1SpeechStarted"
    assert kinds[-1] == "ListenV1Metadata"
    assert set(kinds) <= {"ListenV1SpeechStarted", "ListenV1Results", "ListenV1Metadata"}
    metadata = messages[-1]
    assert metadata.duration == pytest.approx(len(audio()) / 32000, abs=1e-3)


def test_async_sdk_listen_v1(local_server: LocalServer) -> None:
    async def scenario() -> list[Any]:
        client = deepgram.AsyncDeepgramClient(
            api_key="test-key", environment=sdk_environment(local_server.url)
        )
        async with client.listen.v1.connect(model="nova-3", encoding="linear16", sample_rate=16000) as conn:
            for chunk in chunks(audio()):
                await conn.send_media(chunk)
            await conn.send_finalize()
            await conn.send_close_stream()
            return [message async for message in conn]

    messages = asyncio.run(scenario())
    kinds, words = v1_summary(messages)
    assert words == WORDS
    assert kinds[-1] == "ListenV1Metadata"
    assert any(getattr(m, "from_finalize", False) for m in messages)


def flux_summary(messages: list[Any]) -> list[str]:
    """Message kinds, without the empty Updates Flux sends between turns."""
    out = []
    for m in messages:
        name = type(m).__name__
        if name == "ListenV2TurnInfo" and m.event == "Update" and not m.transcript:
            continue
        out.append(f"TurnInfo:{m.event}" if name == "ListenV2TurnInfo" else name)
    return out


def test_sync_sdk_listen_v2(local_server: LocalServer) -> None:
    client = deepgram.DeepgramClient(api_key="test-key", environment=sdk_environment(local_server.url))
    with client.listen.v2.connect(model="flux-general-en", encoding="linear16", sample_rate=16000) as conn:
        first = conn.recv()
        for chunk in chunks(audio(), 2560):
            conn.send_media(chunk)
        conn.send_close_stream()
        messages = [first, *conn]
    summary = flux_summary(messages)
    assert summary[0] == "ListenV2Connected"
    assert summary[1] == "TurnInfo:StartOfTurn"
    assert summary[-1] == "TurnInfo:EndOfTurn"
    assert set(summary[2:-1]) == {"TurnInfo:Update"}
    end = [m for m in messages if getattr(m, "event", None) == "EndOfTurn"][-1]
    assert end.transcript == " ".join(WORDS) and end.trigger == "model"
    assert [m.sequence_id for m in messages] == list(range(len(messages)))


def test_async_sdk_listen_v2_configure_and_force_end(local_server: LocalServer) -> None:
    async def scenario() -> list[Any]:
        client = deepgram.AsyncDeepgramClient(
            api_key="test-key", environment=sdk_environment(local_server.url)
        )
        async with client.listen.v2.connect(
            model="flux-general-en", encoding="linear16", sample_rate=16000, eot_threshold=1.0
        ) as conn:
            await conn.send_configure({"type": "Configure", "thresholds": {"eot_timeout_ms": 4000}})
            await conn.send_media(synthesize_words(["manual"], 16000) + silence(0.1))
            await conn.send_force_end_turn()
            await conn.send_close_stream()
            return [message async for message in conn]

    messages = asyncio.run(scenario())
    summary = flux_summary(messages)
    assert summary[:2] == ["ListenV2Connected", "ListenV2ConfigureSuccess"]
    assert messages[1].thresholds.eot_timeout_ms == 4000
    assert summary[-1] == "TurnInfo:EndOfTurn"
    assert messages[-1].trigger == "manual" and messages[-1].transcript == "manual"


def test_sdk_sees_handshake_refusals(make_server: Any) -> None:
    from websockets.exceptions import InvalidStatus

    server = make_server(api_keys={"right"})
    client = deepgram.DeepgramClient(api_key="wrong", environment=sdk_environment(server.url))
    with pytest.raises(InvalidStatus) as info, client.listen.v1.connect(model="nova-3"):
        pass
    assert info.value.response.status_code == 401

    async def scenario() -> None:
        aclient = deepgram.AsyncDeepgramClient(api_key="wrong", environment=sdk_environment(server.url))
        async with aclient.listen.v2.connect(model="flux-general-en"):
            pass

    from deepgram.core.api_error import ApiError

    with pytest.raises(ApiError) as api_info:
        asyncio.run(scenario())
    assert api_info.value.status_code == 401
