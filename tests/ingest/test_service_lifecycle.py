"""`python -m actors ingest` as a process: SIGKILL mid-call loses no committed segment and the call is
marked interrupted on restart; SIGTERM drains (the call ends gracefully, its transcripts are sent,
the process exits 0)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

import websockets

from actors.ingest.audiohook.messages import DisconnectParameters
from actors.ingest.service import TRANSCRIPTION_PATH
from actors.ingest.store import open_store
from actors.server import LocalServer
from tests.support.audiohook_client import AudioHookClient
from tests.support.ingest import API_KEY, SECRET, conversation, receive, running_ingest, transcript_events

CALL = conversation([(0, ["first", "words", "committed"]), (1, ["then", "the", "crash"])], tail_ms=2000)


async def connect(port: int, client: AudioHookClient) -> websockets.ClientConnection:
    import time

    headers = client.handshake_headers(
        target=TRANSCRIPTION_PATH,
        host=f"127.0.0.1:{port}",
        api_key=API_KEY,
        client_secret=SECRET,
        now=time.time(),
    )
    return await websockets.connect(f"ws://127.0.0.1:{port}{TRANSCRIPTION_PATH}", additional_headers=headers)


async def kill_after_first_transcript(
    port: int, client: AudioHookClient, proc: subprocess.Popen[str]
) -> None:
    """Send the whole call; once a transcript came back (so a row is committed), SIGKILL the service
    while the call is still open."""
    ws = await connect(port, client)
    await ws.send(client.open())
    await receive(ws, client)
    for frame in client.frames(CALL.audio):
        await ws.send(frame)
    while not transcript_events(client):
        await receive(ws, client)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    ws.transport.abort()


def test_sigkill_mid_call_keeps_committed_segments_and_restart_marks_it_interrupted(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path}/ingest.sqlite3"
    with LocalServer(engine="deterministic") as deepgram:
        client = AudioHookClient()
        with running_ingest(store_url, deepgram.url) as service:
            asyncio.run(kill_after_first_transcript(service.port, client, service.proc))
            reported = transcript_events(client)
        store = open_store(store_url)
        detail = store.get_call(client.session_id)
        assert detail is not None and detail.call.status == "active"
        stored = {(s.channel, s.transcript) for s in detail.segments}
        for event in reported:
            text = event["alternatives"][0]["interpretations"][0]["transcript"]
            assert (event["channelId"], text) in stored or any(
                c == event["channelId"] and t in text for c, t in stored
            ), f"reported {text!r} is not in the store"
        store.close()
        with running_ingest(store_url, deepgram.url) as service:
            assert any("marked interrupted" in line for line in service.lines), "".join(service.lines)
            service.proc.send_signal(signal.SIGTERM)
            assert service.proc.wait(timeout=30) == 0
        store = open_store(store_url)
        after = store.get_call(client.session_id)
        assert after is not None and after.call.status == "interrupted"
        assert {(s.channel, s.transcript) for s in after.segments} == stored
        store.close()


def test_sigterm_drains_a_live_call_and_exits_0(tmp_path: Path) -> None:
    """SIGTERM mid-call: the client gets ``disconnect`` ``completed``; audio it sends until its ``close``
    is still transcribed; every transcript comes before ``closed``; the process exits 0."""
    store_url = f"sqlite:///{tmp_path}/ingest.sqlite3"
    first_turn_end = max(w.end for w in CALL.words if w.channel == 0 and w.word == "committed")
    cut = 2 * round((first_turn_end + 0.2) * 8000)  # stereo PCMU: 2 bytes per sample instant

    async def live_call(port: int, proc: subprocess.Popen[str]) -> AudioHookClient:
        client = AudioHookClient()
        async with await connect(port, client) as ws:
            await ws.send(client.open())
            await receive(ws, client)
            for frame in client.frames(CALL.audio[:cut]):
                await ws.send(frame)
            while not transcript_events(client):
                await receive(ws, client)
            proc.send_signal(signal.SIGTERM)
            while not isinstance((await receive(ws, client)).parameters, DisconnectParameters):
                pass
            for frame in client.frames(CALL.audio[cut:]):  # the rest of the call, after the disconnect
                await ws.send(frame)
            await ws.send(client.close("end"))
            while (await receive(ws, client)).type != "closed":
                pass
        return client

    with LocalServer(engine="deterministic") as deepgram, running_ingest(store_url, deepgram.url) as service:
        client = asyncio.run(live_call(service.port, service.proc))
        assert service.proc.wait(timeout=40) == 0, "".join(service.lines)
    disconnect = next(m for m in client.received if isinstance(m.parameters, DisconnectParameters))
    assert disconnect.parameters.reason == "completed"  # type: ignore[union-attr]
    assert client.received[-1].type == "closed"
    store = open_store(store_url)
    detail = store.get_call(client.session_id)
    store.close()
    assert detail is not None and detail.call.status == "completed"
    words = sorted((s.channel, str(w["word"])) for s in detail.segments for w in s.words)
    assert words == sorted((w.channel, w.word) for w in CALL.words), "audio sent after the disconnect is kept"
    sent = sorted(
        (e["channelId"], t["value"])
        for e in transcript_events(client)
        for t in e["alternatives"][0]["interpretations"][0]["tokens"]
    )
    assert sent == words, "every committed word was sent back before closed"
