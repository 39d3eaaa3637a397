"""Helpers for the ingestion service's end-to-end tests: calls made of deterministic words, a running
service in front of the embedded Deepgram-compatible server, and platform drivers over real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys
import threading
import warnings
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import attrs
import websockets
from websockets.asyncio.client import ClientConnection

from actors.ingest.audiohook.messages import ClosedParameters, EventParameters, MediaFormat, ServerMessage
from actors.ingest.config import IngestConfig
from actors.ingest.service import IngestService
from actors.server import LocalServer
from actors.server.engines.deterministic import expected_words, interleave, synthesize_words
from tests.support.audiohook_client import STEREO, AudioHookClient
from tests.support.resolver import REPO_ROOT

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

API_KEY = "test-audiohook-key"
SECRET = "TXlTdXBlclNlY3JldEtleVRlbGxOby0xITJAMyM0JDU="  # base64, as Genesys integrations configure it


@attrs.frozen
class ExpectedWord:
    """A word the deterministic engine must report: channel, text, start and end on the call timeline."""

    channel: int
    word: str
    start: float
    end: float


@attrs.frozen
class Call:
    """A synthetic call: interleaved audio in ``encoding`` and the words it carries."""

    audio: bytes = attrs.field(repr=False)
    channels: int
    encoding: str
    sample_rate: int
    words: tuple[ExpectedWord, ...]

    @property
    def seconds(self) -> float:
        """The call's length."""
        width = 1 if self.encoding == "mulaw" else 2
        return len(self.audio) / (width * self.channels * self.sample_rate)


def conversation(
    turns: Sequence[tuple[int, Sequence[str]]],
    *,
    channels: int = 2,
    sample_rate: int = 8000,
    encoding: str = "mulaw",
    pause_ms: int = 400,
    tail_ms: int = 1000,
) -> Call:
    """A call where each ``(channel, words)`` turn follows the previous one after ``pause_ms``."""
    tracks = [bytearray() for _ in range(channels)]
    cursor = 0  # samples
    expected: list[ExpectedWord] = []
    for channel, words in turns:
        start = cursor + pause_ms * sample_rate // 1000
        track = tracks[channel]
        track.extend(bytes(2 * (start - len(track) // 2)))
        pcm = synthesize_words(list(words), sample_rate)
        for w in expected_words(list(words), sample_rate, offset_seconds=start / sample_rate):
            expected.append(ExpectedWord(channel, w.text, round(w.start, 3), round(w.end, 3)))
        track.extend(pcm)
        cursor = len(track) // 2
    total = cursor + tail_ms * sample_rate // 1000
    for track in tracks:
        track.extend(bytes(2 * (total - len(track) // 2)))
    audio = interleave([bytes(track) for track in tracks])
    if encoding == "mulaw":
        audio = audioop.lin2ulaw(audio, 2)
    return Call(audio, channels, encoding, sample_rate, tuple(expected))


def stored_words(service: IngestService, call_id: str) -> list[ExpectedWord]:
    """Every word stored for ``call_id``, in order of (start, channel)."""
    detail = service.store.get_call(call_id)
    assert detail is not None, f"call {call_id} is not in the store"
    words = [
        ExpectedWord(s.channel, str(w["word"]), round(float(w["start"]), 3), round(float(w["end"]), 3))  # type: ignore[arg-type]
        for s in detail.segments
        for w in s.words
    ]
    return sorted(words, key=lambda w: (w.start, w.channel))


@contextmanager
def ingest_service(
    store: str, *, deepgram: LocalServer | None = None, **config: Any
) -> Iterator[IngestService]:
    """An :class:`IngestService` on an ephemeral loopback port, transcribing on a deterministic
    embedded server (or on ``deepgram``, a started server the caller owns, e.g. with faults or a
    handshake hook); AudioHook key :data:`API_KEY` / :data:`SECRET` is configured."""
    config.setdefault("audiohook_keys", {API_KEY: SECRET})
    with (
        contextlib.nullcontext(deepgram)
        if deepgram is not None
        else LocalServer(engine="deterministic") as server
    ):
        service = IngestService(
            IngestConfig(host="127.0.0.1", port=0, store=store, **config),
            deepgram_url=server.url,
            api_key="local",
        )
        service.start()
        try:
            yield service
        finally:
            service.stop()


def ws_url(service: IngestService | int, path: str) -> str:
    """The ``ws://`` URL of ``path`` on ``service`` (or on a loopback port)."""
    port = service if isinstance(service, int) else service.port
    return f"ws://127.0.0.1:{port}{path}"


async def audiohook_connect(
    service: IngestService | int,
    client: AudioHookClient,
    path: str,
    *,
    api_key: str = API_KEY,
    secret: str = SECRET,
    now: float | None = None,
) -> ClientConnection:
    """Open a signed AudioHook socket (as Genesys does)."""
    import time

    headers = client.handshake_headers(
        target=path,
        host=f"127.0.0.1:{service if isinstance(service, int) else service.port}",
        api_key=api_key,
        client_secret=secret,
        now=now or time.time(),
    )
    return await websockets.connect(ws_url(service, path), additional_headers=headers, max_size=None)


async def receive(ws: ClientConnection, client: AudioHookClient, timeout: float = 20.0) -> ServerMessage:
    """The next server message, checked by the client."""
    text = await asyncio.wait_for(ws.recv(), timeout)
    assert isinstance(text, str), "AudioHook servers send text frames only"
    return client.receive(text)


async def audiohook_call(
    service: IngestService | int,
    call: Call,
    path: str,
    *,
    client: AudioHookClient | None = None,
    media: tuple[MediaFormat, ...] = (STEREO,),
    realtime: float | None = None,
) -> AudioHookClient:
    """A whole AudioHook session: open, the call's audio, close; returns the client (its ``received``)."""
    client = client or AudioHookClient()
    async with await audiohook_connect(service, client, path) as ws:
        await ws.send(client.open(media))
        await receive(ws, client)
        assert client.media is not None, f"no media accepted: {client.received[-1]}"
        for frame in client.frames(call.audio):
            await ws.send(frame)
            if realtime:
                await asyncio.sleep(0.2 / realtime)  # pacing like a live platform, not synchronisation
        await ws.send(client.close())
        while not isinstance((await receive(ws, client)).parameters, ClosedParameters):
            pass
    return client


async def audiohook_call_to_port(port: int, call: Call, path: str) -> AudioHookClient:
    """:func:`audiohook_call` against a service in another process, on ``port``."""
    return await audiohook_call(port, call, path)


def transcript_events(client: AudioHookClient) -> list[dict[str, Any]]:
    """The ``data`` of every transcript entity the client received, in order."""
    out: list[dict[str, Any]] = []
    for message in client.received:
        if isinstance(message.parameters, EventParameters):
            for entity in message.parameters.entities:
                if entity.type == "transcript":
                    out.append(dict(entity.data))  # type: ignore[arg-type]
    return out


@attrs.define
class Running:
    """A running ``python -m actors ingest`` child: the process, its port, its stderr lines."""

    proc: subprocess.Popen[str]
    port: int
    lines: list[str]


@contextmanager
def running_ingest(
    store: str, deepgram: str | None, *extra: str, env: dict[str, str] | None = None
) -> Iterator[Running]:
    """Run ``python -m actors ingest`` (``--url deepgram`` unless None) with the test AudioHook key;
    yield once it listens; its stderr is collected by a named thread joined at the end."""
    child_env = dict(os.environ if env is None else env, ACTORS_INGEST_AUDIOHOOK_KEYS=f"{API_KEY}={SECRET}")
    if env is None:
        child_env.pop("DEEPGRAM_API_KEY", None)
    target = ["--url", deepgram] if deepgram is not None else []
    argv = [sys.executable, "-m", "actors", "ingest", "--port", "0", "--store", store, *target, *extra]
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, env=child_env, cwd=REPO_ROOT)
    assert proc.stderr is not None
    lines: list[str] = []
    port = 0
    for line in proc.stderr:
        lines.append(line)
        match = re.search(r"^actors ingest: listening on https?://[^\s:]+:(\d+)", line)
        if match:
            port = int(match.group(1))
            break
    assert port, "".join(lines)
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr or ()), name="test-ingest-stderr")
    reader.start()
    try:
        yield Running(proc, port, lines)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        reader.join(timeout=10)


def shifted(words: Sequence[ExpectedWord], seconds: float) -> list[ExpectedWord]:
    """``words`` moved ``seconds`` later on the call timeline."""
    return [
        ExpectedWord(w.channel, w.word, round(w.start + seconds, 3), round(w.end + seconds, 3)) for w in words
    ]


def same_words(got: Sequence[ExpectedWord], want: Sequence[ExpectedWord], tolerance: float = 0.0015) -> bool:
    """True when ``got`` and ``want`` hold the same words on the same channels, times within ``tolerance``."""
    if [(w.channel, w.word) for w in got] != [(w.channel, w.word) for w in want]:
        return False
    return all(
        abs(g.start - w.start) <= tolerance and abs(g.end - w.end) <= tolerance
        for g, w in zip(got, want, strict=True)
    )


def event_tokens(client: AudioHookClient) -> list[tuple[int, str, float]]:
    """``(channel, word, offset)`` of every token of every transcript event the client received, sorted."""
    from actors.ingest.audiohook.messages import parse_duration

    return sorted(
        (int(e["channelId"]), str(t["value"]), round(parse_duration(t["offset"], "offset"), 3))
        for e in transcript_events(client)
        for t in e["alternatives"][0]["interpretations"][0]["tokens"]
    )


@attrs.define
class LiveSession:
    """An open AudioHook socket and its client, for tests that interleave messages with audio."""

    ws: ClientConnection
    client: AudioHookClient

    async def send(self, *frames: str | bytes) -> None:
        """Send frames in order."""
        for frame in frames:
            await self.ws.send(frame)

    async def audio(self, audio: bytes) -> None:
        """Send real audio as 200 ms frames (the client's position advances)."""
        await self.send(*self.client.frames(audio))

    async def until(self, kind: type, timeout: float = 20.0) -> ServerMessage:
        """Read (and check) server messages until one whose parameters are a ``kind``."""
        while True:
            message = await receive(self.ws, self.client, timeout)
            if isinstance(message.parameters, kind):
                return message

    async def close(self) -> ServerMessage:
        """The close transaction: ``close`` then read until ``closed``."""
        await self.send(self.client.close())
        return await self.until(ClosedParameters)


@contextlib.asynccontextmanager
async def live_session(
    service: IngestService,
    path: str,
    *,
    client: AudioHookClient | None = None,
    media: tuple[MediaFormat, ...] = (STEREO,),
    **open_options: Any,
) -> AsyncIterator[LiveSession]:
    """Connect, ``open`` and read the server's first answer (``opened``, or a ``disconnect``)."""
    client = client or AudioHookClient()
    async with await audiohook_connect(service, client, path) as ws:
        await ws.send(client.open(media, **open_options))
        await receive(ws, client)
        yield LiveSession(ws, client)
