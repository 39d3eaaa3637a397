"""A `ClusterPool` worker that also runs its share of the benchmark's real-time streams itself.

``bench_cluster.py`` starts its pool with ``ClusterPool(worker_class=PacedWorker)``: every Ray
worker process is then a normal `SupervisorWorker` (one `Supervisor`, Ray's threads, the pool's
event stream) plus these two methods, which run exactly what the one-process run
(``benchlib.child``) runs -- the same `LoadRun`: `ActorsDriver` (one pacer thread, the streams
spread over 4 phases, the supervisor's shared 50 ms audio flusher), the same probes, the same
`LiveSampler` of audio lag, RSS and threads -- on the worker's own Supervisor, in the worker's own
process. So each worker paces the audio next to the sockets it goes out on, as it does for the
pool's batch calls (``run_call``), and the driver does no per-chunk work at all.

The streams are opened on the worker's Supervisor directly, not through the pool's live-stream
path (``open_stream`` / ``send_audio``): their results stop at the probes in the worker instead of
travelling to the driver.
"""

from __future__ import annotations

import os
from typing import Any

from actors.cluster.worker import SupervisorWorker
from benchlib.child import LoadRun
from benchlib.schedule import Schedule


class PacedWorker(SupervisorWorker):
    """`SupervisorWorker` + one benchmark load at a time: `bench_open`, then `bench_run`."""

    def __init__(self, name: str, namespace: str, limiter: str | None, max_streams: int) -> None:
        super().__init__(name, namespace, limiter, max_streams)
        self._load: LoadRun | None = None

    def bench_open(self, url: str, streams: int, seconds: float, chunk_ms: int) -> dict[str, Any]:
        """Open ``streams`` Listen V1 streams to ``url`` on this worker's Supervisor (returns once
        all are connected); the audio is ``seconds`` long, cut in ``chunk_ms`` chunks."""
        if self._load is not None:
            raise RuntimeError("bench_open: a load is already open on this worker; run it first")
        load = LoadRun("actors", url, streams, seconds, chunk_ms, supervisor=self.supervisor)
        load.open()
        self._load = load
        return {"pid": os.getpid(), "streams": streams}

    def bench_run(self, t0: float) -> dict[str, Any]:
        """Send the opened streams' audio in real time from monotonic time ``t0`` (the machine's
        clock, shared by every process on the host), finish them and return the measurements:
        `LoadRun`'s, plus ``lag_counts`` (the audio-lag histogram, to merge) and ``pid``."""
        load, self._load = self._load, None
        if load is None:
            raise RuntimeError("bench_run: no load was opened on this worker (call bench_open first)")
        result = load.send_and_finish(Schedule.starting_at(t0, load.streams, load.audio.chunk_seconds))
        assert load.sampler is not None
        result["lag_counts"] = load.sampler.lag.counts()
        result["pid"] = os.getpid()
        return result
