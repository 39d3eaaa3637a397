"""One benchmark client run, in its own process: ``python -m benchlib.child --client actors ...``.

Prints one JSON object (the :class:`RunResult` fields) as the last line of stdout. Phases:
import + setup (baseline taken after), open all streams, real-time sending (RSS, threads and
audio lag sampled), finish all streams. CPU is counted from the baseline to the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from benchlib.audio import BYTES_PER_SECOND, build_audio
from benchlib.probe import DelayLog, StreamProbe
from benchlib.procstat import (
    LiveSampler,
    ProcessSnapshot,
    cpu_by_thread_group,
    cpu_seconds,
    thread_times,
    usage_counters,
)
from benchlib.schedule import Schedule
from benchlib.stats import percentile

#: actors; deepgram-sdk sync and asyncio clients; the raw one-thread floor client.
CLIENTS = ("actors", "sdk", "sdk-async", "raw")


def make_driver(client: str, url: str, audio: Any, probes: list[StreamProbe], supervisor: Any = None) -> Any:
    """The driver object for ``client`` (one of :data:`CLIENTS`); ``supervisor``: a running actors
    Supervisor to use instead of the driver's own (actors only)."""
    if client == "actors":
        from benchlib.driver_actors import ActorsDriver

        return ActorsDriver(url, audio, probes, supervisor)
    if client not in CLIENTS:
        raise ValueError(f"unknown client {client!r}; expected one of {CLIENTS}")
    if supervisor is not None:
        raise ValueError("supervisor: only the actors client runs on a Supervisor")
    if client == "sdk":
        from benchlib.driver_sdk import SdkDriver

        return SdkDriver(url, audio, probes)
    if client == "sdk-async":
        from benchlib.driver_sdk_async import AsyncSdkDriver

        return AsyncSdkDriver(url, audio, probes)
    from benchlib.driver_raw import RawDriver

    return RawDriver(url, audio, probes)


def wire_frame_ms(driver: Any, probes: list[StreamProbe], audio: Any) -> float | None:
    """Mean audio frame on the wire in ms of audio: the driver's own count when it coalesces
    (``driver.wire``: bytes, frames), else one frame per chunk handed over."""
    audio_bytes, frames = getattr(driver, "wire", None) or (0, 0)
    if not frames:
        audio_bytes = sum(p.sent_bytes for p in probes)
        frames = audio_bytes // len(audio.chunks[0])
    if not frames:
        return None
    return audio_bytes / frames / BYTES_PER_SECOND * 1000.0


def _progress(message: str) -> None:
    """A timestamped phase line on stderr (shown by the parent when a run fails)."""
    sys.stderr.write(f"{time.strftime('%H:%M:%S')} {message}\n")
    sys.stderr.flush()


class LoadRun:
    """One client run in two steps: :meth:`open` the streams, then :meth:`send_and_finish` on a schedule.

    Split so that several processes can open first and then start sending at one shared time
    (``bench_cluster.py``); :func:`run` does both at once. CPU is counted from just before opening.
    """

    def __init__(
        self, client: str, url: str, streams: int, seconds: float, chunk_ms: int, supervisor: Any = None
    ) -> None:
        self.client = client
        self.streams = streams
        self.chunk_ms = chunk_ms
        self.audio = build_audio(seconds, chunk_ms)
        self.delays = DelayLog()
        self.probes = [StreamProbe(i, self.delays) for i in range(streams)]
        self.driver = make_driver(client, url, self.audio, self.probes, supervisor)
        self.sampler: LiveSampler | None = None
        self.first: ProcessSnapshot | None = None  # taken once the first stream is open
        self._opened_in = 0.0

    def open(self) -> None:
        """Take the baseline, then open every stream (returns once all are connected)."""
        self.base = ProcessSnapshot()
        self.cpu0 = cpu_seconds()
        self.usage0 = usage_counters()
        wall0 = time.monotonic()
        _progress(f"{self.client}: opening {self.streams} streams")
        self.driver.open_all(self._first_open)
        _progress(f"{self.client}: all open, sending")
        self._opened_in = time.monotonic() - wall0
        self.cpu_open = cpu_seconds()

    def _first_open(self) -> None:
        self.first = ProcessSnapshot()

    def send_and_finish(self, schedule: Schedule) -> dict[str, Any]:
        """Send every chunk on ``schedule`` (lag and RSS sampled), finish every stream; the measurements."""
        audio, streams = self.audio, self.streams
        sampler = LiveSampler(
            schedule.starts, audio.chunk_seconds, len(audio.chunks), self.driver.sent_chunks
        )
        self.sampler = sampler
        sampler.start()
        threads_before = thread_times()
        self.driver.start_sending(schedule)
        self.driver.wait_sent()
        cpu_sent = cpu_seconds()
        by_thread = cpu_by_thread_group(
            threads_before, thread_times(), getattr(self.driver, "joined_threads", None)
        )
        sampler.stop()
        _progress(f"{self.client}: all sent, finishing")
        self.driver.finish_all()
        _progress(f"{self.client}: finished")
        cpu_end = cpu_seconds()
        usage = {k: round(v - self.usage0[k], 3) for k, v in usage_counters().items()}
        stream_seconds = streams * audio.seconds
        errors = [e for p in self.probes for e in p.errors]
        # The sampler thread is the benchmark's own; every other new thread belongs to the client.
        threads = sampler.peak_threads - self.base.threads - 1
        delay_values = list(self.delays.values)
        base = self.base
        return {
            "client": self.client,
            "streams": streams,
            "seconds": audio.seconds,
            "chunk_ms": self.chunk_ms,
            "wire_frame_ms": wire_frame_ms(self.driver, self.probes, audio),
            "flush_interval": getattr(self.driver, "flush_interval", None),
            "implementation": getattr(self.driver, "implementation", ""),
            "open_seconds": round(self._opened_in, 3),
            "cpu_seconds": round(cpu_end - self.cpu0, 3),
            "cpu_open_seconds": round(self.cpu_open - self.cpu0, 3),
            "cpu_streaming_seconds": round(cpu_sent - self.cpu_open, 3),
            # Where the streaming CPU went: {thread group: {"user", "system", "threads"}}.
            "cpu_by_thread": by_thread,
            "cpu_per_stream_second": (cpu_end - self.cpu0) / stream_seconds,
            "rss_base_bytes": base.rss,
            "rss_peak_bytes": sampler.peak_rss,
            "rss_per_stream_bytes": (sampler.peak_rss - base.rss) / streams,
            # What each stream after the first adds: the one-time costs of the first (lazy imports,
            # generated codec hooks, the process's shared threads) are not a per-stream cost.
            "rss_first_stream_bytes": None if self.first is None else self.first.rss - base.rss,
            "rss_per_added_stream_bytes": (
                (sampler.peak_rss - self.first.rss) / (streams - 1)
                if self.first is not None and streams > 1
                else None
            ),
            "threads_base": base.threads,
            "threads_peak": sampler.peak_threads,
            "threads": threads,
            "threads_per_stream": threads / streams,
            # Threads that do not grow with N (actors: the supervisor's and the pacer; the others:
            # their pacer or loop thread).
            "fixed_threads": getattr(self.driver, "fixed_threads", 0),
            "delay_p50_ms": _ms(percentile(delay_values, 50)),
            "delay_p99_ms": _ms(percentile(delay_values, 99)),
            "delay_samples": len(delay_values),
            "lag_p50_ms": sampler.lag.percentile_ms(50),
            "lag_p99_ms": sampler.lag.percentile_ms(99),
            "lag_max_ms": sampler.lag.max_ms(),
            "finals": sum(p.finals for p in self.probes),
            "finals_expected": streams * audio.expected_finals,
            "errors": len(errors),
            "first_errors": errors[:3],
            "usage": usage,
        }


def run(client: str, url: str, streams: int, seconds: float, chunk_ms: int) -> dict[str, Any]:
    """Run ``streams`` real-time streams of ``seconds`` audio; return the measurements."""
    load = LoadRun(client, url, streams, seconds, chunk_ms)
    load.open()
    return load.send_and_finish(Schedule.begin(streams, load.audio.chunk_seconds))


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 2)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run, print the JSON result line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--client", choices=CLIENTS, required=True)
    parser.add_argument(
        "--url", required=True, help="ws://127.0.0.1:PORT of a server started with --stamp-send-time"
    )
    parser.add_argument("--streams", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--chunk-ms", type=int, default=20)
    args = parser.parse_args(argv)
    if args.streams < 1:
        parser.error("--streams must be >= 1")
    result = run(args.client, args.url, args.streams, args.seconds, args.chunk_ms)
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
