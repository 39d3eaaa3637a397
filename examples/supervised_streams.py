"""Actor-native: the three sample calls as supervised, lossless streams on one ``Supervisor``.

Each call is one ``StreamHandle``; a subscriber (a plain callable, run on the runtime's read pool)
collects the finals of its call, and a ``queue.Queue`` subscriber shows the lifecycle events. The
supervisor would reconnect a failed connection and replay the audio not yet covered by a final;
here nothing fails. Without ``DEEPGRAM_API_KEY`` the calls go to a ``LocalServer`` started here
(the real pocketsphinx engine); with a key, to Deepgram. Run it from the repository root::

    python examples/supervised_streams.py

It prints ``call-N: transcript`` per call, then ``3 of 3 calls finished cleanly``.
"""

from __future__ import annotations

import os
import queue
import sys
import wave
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path

from actors.listen.v1.types import ListenV1Results
from actors.protocol.apis import LISTEN_V1
from actors.protocol.auth import Auth
from actors.protocol.listen_v1.options import ListenV1Options
from actors.runtime import ConnectionConfig, RestartPolicy, StreamResult, Supervisor, events

SAMPLES = sorted((Path(__file__).resolve().parents[1] / "actors" / "samples").glob("*.wav"))
CHUNK_MS = 100


def main() -> int:
    """Run every sample call as its own supervised stream; 0 when all finished cleanly."""
    with ExitStack() as stack:
        key = os.environ.get("DEEPGRAM_API_KEY")
        if key:
            base_url, auth = "wss://api.deepgram.com", Auth.token(key)
        else:
            from actors.server import LocalServer

            server = stack.enter_context(LocalServer(engine="real"))
            base_url, auth = server.url, Auth.token("any-key-works-locally")
        supervisor = stack.enter_context(Supervisor(max_connections=10))
        lifecycle: queue.Queue[object] = queue.Queue()
        texts: dict[str, list[str]] = defaultdict(list)
        results: dict[str, StreamResult] = {}
        handles = {}
        for path in SAMPLES:
            with wave.open(str(path)) as wav:
                rate, channels = wav.getframerate(), wav.getnchannels()
                audio = wav.readframes(wav.getnframes())
            config = ConnectionConfig(
                api=LISTEN_V1,
                base_url=base_url,
                auth=auth,
                options=ListenV1Options.from_kwargs(
                    model="nova-3",
                    encoding="linear16",
                    sample_rate=rate,
                    channels=channels,
                    multichannel=True,
                ),
            )
            call_id = path.stem

            def collect(event: object, call_id: str = call_id) -> None:
                if isinstance(event, ListenV1Results) and event.is_final:
                    transcript = event.channel.alternatives[0].transcript
                    if transcript:
                        texts[call_id].append(transcript)

            handle = supervisor.open_stream(
                config,
                subscribers=[collect, lifecycle],
                restart=RestartPolicy.on_failure(max_restarts=5, within=60.0),
                stream_id=call_id,
            )
            chunk = rate * channels * 2 * CHUNK_MS // 1000
            for offset in range(0, len(audio), chunk):
                handle.send_audio(audio[offset : offset + chunk])  # buffered until the stream is open
            handles[call_id] = handle
        for call_id, handle in handles.items():
            results[call_id] = handle.finish(timeout=60.0)  # never raises: the error is on the result
    seen: dict[str, int] = defaultdict(int)
    while not lifecycle.empty():  # every stream has ended: the queue holds all its events
        event = lifecycle.get_nowait()
        if isinstance(event, events.Opened | events.Reconnecting | events.Reconnected | events.Closed):
            seen[type(event).__name__] += 1
    print("lifecycle events:", ", ".join(f"{count} {name}" for name, count in sorted(seen.items())))
    for call_id in handles:
        print(f"{call_id}: {' '.join(texts[call_id])}")
    clean = sum(result.error is None for result in results.values())
    print(f"{clean} of {len(results)} calls finished cleanly")
    return 0 if clean == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
