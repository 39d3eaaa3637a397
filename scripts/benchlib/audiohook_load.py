"""The ingestion benchmark's load: N concurrent AudioHook calls at real time, in their own process.

``python -m benchlib.audiohook_load --port P --calls N --seconds S --out FILE`` builds N distinct
calls (:mod:`benchlib.ingest_calls`), then runs one asyncio task per call, started ``stagger`` s
apart in total: a signed upgrade on ``--path`` (as Genesys signs it), ``open`` (stereo PCMU),
``opened``, the call's 200 ms binary frames on an absolute schedule (frame ``k`` due at
``opened + k * 0.2`` s on the loop clock, so delays do not accumulate), a ``ping`` every 5 s (as the
reference client does), ``close``, and the wait for ``closed``. Every server message is read as it
comes; transcript entities are counted. Writes every call's record (session id, expected words,
timings, transcripts, error) as JSON to ``--out`` and prints a one-line JSON summary on stdout.

The messages are written here from the AudioHook protocol as plain JSON, not with the service's own
message classes, so the load does not share the service's serializer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import attrs
import websockets

from benchlib.ingest_calls import API_KEY, FRAME_SECONDS, SECRET, BenchCall, build_call
from benchlib.procstat import cpu_seconds
from benchlib.stats import percentile

PING_EVERY = 25  # frames: 5 s
OPEN_TIMEOUT = 30.0
CLOSE_TIMEOUT = 60.0


def _duration(seconds: float) -> str:
    text = f"{seconds:.9f}".rstrip("0").rstrip(".")
    return f"PT{text}S"


@attrs.define
class CallRecord:
    """What one call saw: timings (s), lags of its frames, transcripts received, the first error."""

    index: int
    session_id: str
    words: list[tuple[int, str, float]]
    connect_s: float | None = None
    open_s: float | None = None
    close_s: float | None = None
    frames_sent: int = 0
    lags: list[float] = attrs.field(factory=list)
    events: int = 0
    tokens: list[tuple[int, str]] = attrs.field(factory=list)
    disconnect: str | None = None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The record as JSON-ready data (lags summarised)."""
        return {
            "index": self.index,
            "session_id": self.session_id,
            "words": self.words,
            "connect_s": self.connect_s,
            "open_s": self.open_s,
            "close_s": self.close_s,
            "frames_sent": self.frames_sent,
            "lag_max_s": max(self.lags, default=0.0),
            "events": self.events,
            "tokens": self.tokens,
            "disconnect": self.disconnect,
            "error": self.error,
        }


class AudioHookCall:
    """The client side of one AudioHook session (numbering, position, message checks)."""

    def __init__(self, record: CallRecord) -> None:
        self.record = record
        self.session_id = record.session_id
        self.organization_id = str(uuid.uuid4())
        self.seq = 0
        self.serverseq = 0
        self.position = 0.0
        self.opened = asyncio.Event()
        self.closed = asyncio.Event()

    def message(self, kind: str, parameters: dict[str, Any]) -> str:
        """The next client message of ``kind``."""
        self.seq += 1
        return json.dumps(
            {
                "version": "2",
                "id": self.session_id,
                "type": kind,
                "seq": self.seq,
                "serverseq": self.serverseq,
                "position": _duration(self.position),
                "parameters": parameters,
            },
            separators=(",", ":"),
        )

    def open_message(self) -> str:
        """``open`` offering stereo PCMU (external, internal)."""
        return self.message(
            "open",
            {
                "organizationId": self.organization_id,
                "conversationId": str(uuid.uuid4()),
                "participant": {
                    "id": str(uuid.uuid4()), "ani": "+15551230000", "aniName": "", "dnis": "+18005550100",
                },
                "media": [
                    {"type": "audio", "format": "PCMU", "channels": ["external", "internal"], "rate": 8000},
                ],
                "language": "en-US",
                "customConfig": {},
            },
        )  # fmt: skip

    def receive(self, text: str) -> None:
        """Check and act on one server message."""
        message = json.loads(text)
        if message.get("id") != self.session_id or message.get("seq") != self.serverseq + 1:
            raise RuntimeError(f"bad server message numbering: {text[:200]}")
        self.serverseq = message["seq"]
        kind, params = message["type"], message.get("parameters", {})
        if kind == "opened":
            if not params.get("media"):
                raise RuntimeError(f"no media accepted: {text[:200]}")
            self.opened.set()
        elif kind == "event":
            for entity in params.get("entities", ()):
                if entity.get("type") == "transcript":
                    self.record.events += 1
                    data = entity["data"]
                    for token in data["alternatives"][0]["interpretations"][0]["tokens"]:
                        self.record.tokens.append((int(data["channelId"]), str(token["value"])))
        elif kind == "closed":
            self.closed.set()
        elif kind == "disconnect":
            self.record.disconnect = f"{params.get('reason')}: {params.get('info', '')}"
            self.closed.set()


async def _reader(ws: Any, call: AudioHookCall) -> None:
    async for text in ws:
        if not isinstance(text, str):
            raise RuntimeError("the server sent a binary frame")
        call.receive(text)


async def run_call(
    record: CallRecord, bench_call: BenchCall, port: int, path: str, start_at: float, deflate: bool = True
) -> None:
    """One whole session, starting at loop time ``start_at``; failures are kept in ``record.error``."""
    from actors.ingest.audiohook.signatures import sign_request

    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, start_at - loop.time()))  # pacing: the call's start time
    call = AudioHookCall(record)
    headers = sign_request(
        target=path,
        host=f"127.0.0.1:{port}",
        organization_id=call.organization_id,
        session_id=call.session_id,
        correlation_id=str(uuid.uuid4()),
        api_key=API_KEY,
        client_secret=SECRET,
        created=int(time.time()),
    )
    frames = bench_call.frames()
    try:
        began = loop.time()
        async with websockets.connect(
            f"ws://127.0.0.1:{port}{path}",
            additional_headers=headers,
            max_size=None,
            open_timeout=30,
            compression="deflate" if deflate else None,
        ) as ws:
            record.connect_s = loop.time() - began
            reader = asyncio.create_task(_reader(ws, call))
            try:
                sent_open = loop.time()
                await ws.send(call.open_message())
                await _wait(call.opened, reader, OPEN_TIMEOUT, "opened")
                opened = loop.time()
                record.open_s = opened - sent_open
                for k, frame in enumerate(frames):
                    due = opened + k * FRAME_SECONDS
                    delay = due - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)  # pacing: real time against the absolute schedule
                    if call.closed.is_set():
                        break  # the service disconnected us
                    record.lags.append(max(0.0, loop.time() - due))
                    await ws.send(frame)
                    call.position += len(frame) / 16000
                    record.frames_sent += 1
                    if k % PING_EVERY == PING_EVERY - 1:
                        await ws.send(call.message("ping", {}))
                if not call.closed.is_set():
                    sent_close = loop.time()
                    await ws.send(call.message("close", {"reason": "end"}))
                    await _wait(call.closed, reader, CLOSE_TIMEOUT, "closed")
                    record.close_s = loop.time() - sent_close
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
    except Exception as exc:  # recorded per call; the run goes on
        record.error = f"{type(exc).__name__}: {exc}"[:300]


async def _wait(event: asyncio.Event, reader: asyncio.Task[None], timeout: float, what: str) -> None:
    """Wait for ``event``; if the reader ends first (socket closed, bad message), raise its reason."""
    waiter = asyncio.create_task(event.wait())
    done, _ = await asyncio.wait({waiter, reader}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    if waiter in done:
        return
    waiter.cancel()
    if reader in done:
        exc = reader.exception()
        raise RuntimeError(f"socket ended before {what!r}: {exc!r}")
    raise TimeoutError(f"no {what!r} within {timeout:g} s")


async def run_all(
    calls: list[BenchCall], port: int, path: str, stagger: float, deflate: bool = True
) -> list[CallRecord]:
    """Run every call (call ``i`` starts ``i * stagger / N`` s after the first); return their records."""
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.1
    records = [
        CallRecord(i, str(uuid.uuid4()), [(w.channel, w.word, w.start) for w in c.words])
        for i, c in enumerate(calls)
    ]
    step = stagger / len(calls)
    await asyncio.gather(
        *(
            run_call(r, c, port, path, t0 + r.index * step, deflate)
            for r, c in zip(records, calls, strict=True)
        )
    )
    return records


def summary(records: list[CallRecord], wall: float) -> dict[str, Any]:
    """Figures over all calls: errors, lags, open/close times, transcripts received."""
    lags = [lag for r in records for lag in r.lags]
    errors = [f"call {r.index}: {r.error}" for r in records if r.error]
    errors += [f"call {r.index}: disconnect {r.disconnect}" for r in records if r.disconnect]
    opens = [r.open_s for r in records if r.open_s is not None]
    closes = [r.close_s for r in records if r.close_s is not None]
    return {
        "calls": len(records),
        "wall_seconds": round(wall, 3),
        "frames_sent": sum(r.frames_sent for r in records),
        "errors": len(errors),
        "first_errors": errors[:5],
        "lag_p99_ms": _ms(percentile(lags, 99)),
        "lag_max_ms": _ms(max(lags, default=None)),
        "connect_p99_ms": _ms(percentile([r.connect_s for r in records if r.connect_s is not None], 99)),
        "open_p50_ms": _ms(percentile(opens, 50)),
        "open_p99_ms": _ms(percentile(opens, 99)),
        "close_p50_ms": _ms(percentile(closes, 50)),
        "close_p99_ms": _ms(percentile(closes, 99)),
        "events": sum(r.events for r in records),
        "tokens": sum(len(r.tokens) for r in records),
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def main(argv: list[str] | None = None) -> int:
    """Build the calls, run them, write the records, print the summary."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--calls", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--path", default="/api/v1/voicetranscription/ws")
    parser.add_argument("--stagger", type=float, default=1.5, help="spread of the call starts (s)")
    parser.add_argument("--out", type=Path, required=True, help="every call's record, as JSON")
    parser.add_argument(
        "--no-deflate", action="store_true", help="do not offer permessage-deflate (websockets offers it)"
    )
    args = parser.parse_args(argv)
    calls = [build_call(i, args.seconds) for i in range(args.calls)]
    sys.stderr.write(f"{time.strftime('%H:%M:%S')} load: {args.calls} calls built, starting\n")
    started, cpu0 = time.monotonic(), cpu_seconds()
    records = asyncio.run(run_all(calls, args.port, args.path, args.stagger, not args.no_deflate))
    wall, cpu = time.monotonic() - started, cpu_seconds() - cpu0
    args.out.write_text(json.dumps([r.as_json() for r in records]))
    sys.stdout.write(json.dumps(dict(summary(records, wall), cpu_seconds=round(cpu, 3))) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
