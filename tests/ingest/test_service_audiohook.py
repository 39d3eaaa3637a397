"""The ingestion service end to end over real sockets: AudioHook calls into SQLite (and PostgreSQL).

A Genesys-like client (tests/support/audiohook_client.py, written from the AudioHook protocol) streams stereo
PCMU calls made of deterministic words; the service transcribes them on the embedded server and
every word must land in the store with its channel and times, and come back as transcript events
whose offsets match -- only after the rows were committed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from actors.ingest.audiohook.messages import DisconnectParameters, parse_duration
from actors.ingest.service import AUDIOHOOK_PATH, TRANSCRIPTION_PATH
from tests.support.audiohook_client import MONO_EXTERNAL, STEREO_INVERTED, AudioHookClient
from tests.support.ingest import (
    API_KEY,
    SECRET,
    audiohook_call,
    audiohook_connect,
    conversation,
    ingest_service,
    receive,
    stored_words,
    transcript_events,
)

CALL = conversation([(0, ["hello", "thanks", "for", "calling"]), (1, ["hi", "my", "order"]), (0, ["sure"])])


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/ingest.sqlite3"


def test_stereo_call_lands_in_the_store_and_comes_back_as_transcripts(tmp_path: Path) -> None:
    with ingest_service(sqlite_url(tmp_path)) as service:
        client = asyncio.run(audiohook_call(service, CALL, TRANSCRIPTION_PATH))
        assert stored_words(service, client.session_id) == list(CALL.words)
        detail = service.store.get_call(client.session_id)
        assert detail is not None
        assert detail.call.status == "completed"
        assert detail.call.platform == "audiohook"
        assert detail.call.channels == ("external", "internal")
        assert detail.call.platform_ids["conversation_id"] == client.conversation_id
        assert detail.call.request_ids, "the Deepgram request id is recorded"
        stats = detail.call.stats
        assert stats["audio_seconds"] == round(CALL.seconds, 3) and stats["segments"] == len(detail.segments)
        assert (stats["streams"], stats["reconnects"]) == (1, 0)
        assert stats["time_to_first_result_seconds"] > 0
        events = transcript_events(client)
        assert events, "the Transcription Connector gets transcripts"
        assert all(e["isFinal"] for e in events)
        by_event = sorted(
            (
                e["channelId"],
                t["value"],
                round(parse_duration(t["offset"], "offset"), 3),
            )
            for e in events
            for t in e["alternatives"][0]["interpretations"][0]["tokens"]
        )
        assert by_event == sorted((w.channel, w.word, w.start) for w in CALL.words)
        text = {e["channelId"]: [] for e in events}  # type: ignore[var-annotated]
        for e in events:
            text[e["channelId"]].append(e["alternatives"][0]["interpretations"][0]["transcript"])
        assert " ".join(text[1]) == "hi my order"


def test_monitor_route_stores_but_sends_no_transcripts(tmp_path: Path) -> None:
    with ingest_service(sqlite_url(tmp_path)) as service:
        client = asyncio.run(audiohook_call(service, CALL, AUDIOHOOK_PATH))
        assert stored_words(service, client.session_id) == list(CALL.words)
        assert transcript_events(client) == []


def test_transcripts_on_the_audiohook_route_when_asked(tmp_path: Path) -> None:
    with ingest_service(sqlite_url(tmp_path)) as service:
        client = asyncio.run(audiohook_call(service, CALL, AUDIOHOOK_PATH + "?transcripts=true"))
        assert len({w.word for w in CALL.words}) <= sum(
            len(e["alternatives"][0]["interpretations"][0]["tokens"]) for e in transcript_events(client)
        )


def test_inverted_channels_keep_their_labels(tmp_path: Path) -> None:
    with ingest_service(sqlite_url(tmp_path)) as service:
        client = asyncio.run(audiohook_call(service, CALL, TRANSCRIPTION_PATH, media=(STEREO_INVERTED,)))
        detail = service.store.get_call(client.session_id)
        assert detail is not None and detail.call.channels == ("internal", "external")
        assert stored_words(service, client.session_id) == list(CALL.words)


def test_mono_call(tmp_path: Path) -> None:
    mono = conversation([(0, ["just", "one", "side"])], channels=1)
    with ingest_service(sqlite_url(tmp_path)) as service:
        client = asyncio.run(audiohook_call(service, mono, TRANSCRIPTION_PATH, media=(MONO_EXTERNAL,)))
        assert stored_words(service, client.session_id) == list(mono.words)


def test_several_calls_at_once_do_not_mix(tmp_path: Path) -> None:
    calls = [conversation([(i % 2, [f"call{i}", "word"])]) for i in range(6)]

    async def run_all() -> list[AudioHookClient]:
        return list(await asyncio.gather(*(audiohook_call(service, c, TRANSCRIPTION_PATH) for c in calls)))

    with ingest_service(sqlite_url(tmp_path)) as service:
        clients = asyncio.run(run_all())
        for client, call in zip(clients, calls, strict=True):
            assert stored_words(service, client.session_id) == list(call.words)


def test_stereo_call_into_postgresql(postgres_url: str) -> None:
    with ingest_service(postgres_url) as service:
        client = asyncio.run(audiohook_call(service, CALL, TRANSCRIPTION_PATH))
        assert stored_words(service, client.session_id) == list(CALL.words)


def test_connection_probe_open_close_without_audio(tmp_path: Path) -> None:
    async def probe() -> AudioHookClient:
        client = AudioHookClient()
        async with await audiohook_connect(service, client, TRANSCRIPTION_PATH) as ws:
            await ws.send(client.open())
            await receive(ws, client)
            await ws.send(client.close())
            await receive(ws, client)
        return client

    with ingest_service(sqlite_url(tmp_path)) as service:
        client = asyncio.run(probe())
        assert client.received[-1].type == "closed"
        assert not any(isinstance(m.parameters, DisconnectParameters) for m in client.received)


def test_audiohook_over_tls_with_the_host_name_genesys_dials(tmp_path: Path) -> None:
    """Genesys connects only over TLS with a certificate for the host it dials; the signature covers
    that host as ``@authority``. The service serves TLS itself from --tls-cert/--tls-key."""
    from tests.support.tls import make_test_pki

    host = "audiohook.example.com"
    pki = make_test_pki(tmp_path / "pki", [host])

    async def call_over_tls() -> AudioHookClient:
        import ssl
        import time

        import websockets

        client = AudioHookClient()
        headers = client.handshake_headers(
            target=TRANSCRIPTION_PATH, host=host, api_key=API_KEY, client_secret=SECRET, now=time.time()
        )
        context = ssl.create_default_context(cafile=str(pki.ca_cert))
        async with websockets.connect(
            f"wss://{host}{TRANSCRIPTION_PATH}",
            additional_headers=headers,
            ssl=context,
            host="127.0.0.1",
            port=service.port,
        ) as ws:
            await ws.send(client.open())
            await receive(ws, client)
            for frame in client.frames(CALL.audio):
                await ws.send(frame)
            await ws.send(client.close())
            while (await receive(ws, client)).type != "closed":
                pass
        return client

    with ingest_service(
        sqlite_url(tmp_path), tls_cert=str(pki.leaf_cert), tls_key=str(pki.leaf_key)
    ) as service:
        assert service.url.startswith("https://")
        client = asyncio.run(call_over_tls())
        assert stored_words(service, client.session_id) == list(CALL.words)
        assert transcript_events(client)
