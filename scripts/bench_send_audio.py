#!/usr/bin/env python3
"""Per-call cost of ``StreamHandle.send_audio`` on supervised, lossless Listen V1 streams.

Opens N streams (default 200) through one ``Supervisor`` against an in-process ``LocalServer``,
then times only the ``send_audio`` calls of one thread feeding 640-byte (20 ms) chunks to every
stream in turn, as the streams benchmark's pacer does -- but as fast as it can, so the number is
the library's own cost per call (the flusher and the server run meanwhile, as in real use).
Prints microseconds per call for each round and the best round.

    .venv/bin/python scripts/bench_send_audio.py                 # 200 streams, 50 ms window
    .venv/bin/python scripts/bench_send_audio.py --flush 0       # immediate writes
    .venv/bin/python scripts/bench_send_audio.py --profile       # cProfile of one round
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors.protocol.apis import LISTEN_V1
from actors.protocol.auth import Auth
from actors.protocol.listen_v1.options import ListenV1Options
from actors.runtime import ConnectionConfig, StreamHandle, Supervisor
from actors.server import LocalServer

CHUNK = bytes(640)  # 20 ms of 16 kHz linear16 silence: no results, so only the send side works


def run_round(handles: list[StreamHandle], chunks_per_stream: int) -> float:
    """Feed ``chunks_per_stream`` chunks to every handle; return seconds per call."""
    send = [h.send_audio for h in handles]
    start = time.perf_counter()
    for _ in range(chunks_per_stream):
        for fn in send:
            fn(CHUNK)
    return (time.perf_counter() - start) / (chunks_per_stream * len(handles))


def main(argv: list[str] | None = None) -> int:
    """Open the streams, time a few rounds of sends, print the cost per call."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--chunks", type=int, default=50, help="chunks per stream per round (50)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--flush", type=float, default=0.05, help="audio_flush_interval (0.05)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one extra round")
    args = parser.parse_args(argv)
    with LocalServer(port=0, idle_timeout=60.0) as server:
        config = ConnectionConfig(
            api=LISTEN_V1,
            base_url=server.url,
            options=ListenV1Options(model="nova-3", encoding="linear16", sample_rate=16000),
            auth=Auth.token("bench-key"),
        )
        with Supervisor(max_connections=args.streams, audio_flush_interval=args.flush) as sup:
            handles = [sup.open_stream(config, [], stream_id=f"s{i}") for i in range(args.streams)]
            for handle in handles:
                if not handle.wait_open(30.0):
                    raise SystemExit(f"{handle.stream_id} did not open")
            results = []
            for r in range(args.rounds):
                per_call = run_round(handles, args.chunks)
                results.append(per_call)
                print(f"round {r}: {per_call * 1e6:.2f} us per send_audio", flush=True)
            if args.profile:
                import cProfile
                import pstats

                prof = cProfile.Profile()
                prof.enable()
                run_round(handles, args.chunks)
                prof.disable()
                pstats.Stats(prof).sort_stats("tottime").print_stats(20)
            print(f"best: {min(results) * 1e6:.2f} us per call ({args.streams} streams, flush {args.flush})")
            for handle in handles:
                handle.finish(timeout=30.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
