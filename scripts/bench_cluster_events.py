#!/usr/bin/env python3
"""How a worker's events reach the driver: Ray streaming generator vs ``ray.util.queue.Queue``.

The issue left the choice to measurement. Each way carries the same events -- a ~1 KB dict like a
Listen V1 ``Results`` message -- produced by the same thread inside a Ray actor at a fixed rate
(``--rate`` events/s, i.e. streams x results per second), and consumed by one driver thread:

* ``generator``: what `actors.cluster` does -- one long-lived ``num_returns="streaming"`` actor
  method yields whatever accumulated since the last yield, as one list;
* ``queue``: the producer ``put_nowait_batch`` es what accumulated, the driver blocks on ``get``
  then takes the rest with ``get_nowait_batch`` (each a call to the queue actor);
* ``generator+10ms``: the same, gathering for 10 ms after the first event of a batch;
* ``generator-1``: the generator yielding one event per item (the floor of per-item overhead).

Printed: events/s delivered, delivery latency p50/p99 (production time -> driver, same clock:
one machine), driver CPU. Run: ``.venv/bin/python scripts/bench_cluster_events.py`` (about 1 min).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

EVENT = {"type": "Results", "channel": {"alternatives": [{"transcript": "word " * 40, "words": []}]}}


class Producer:
    """Produces ``(t_produced, event)`` at ``rate`` per second on its own thread, into an outbox."""

    def __init__(self, rate: float, seconds: float) -> None:
        self.rate, self.seconds = rate, seconds
        self.cond = threading.Condition()
        self.items: list[tuple[float, dict[str, Any]]] = []
        self.done = False
        self.thread = threading.Thread(target=self._run, name="bench-producer")

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        start = time.monotonic()
        total = int(self.rate * self.seconds)
        tick = threading.Event()
        for i in range(total):
            due = start + i / self.rate
            delay = due - time.monotonic()
            if delay > 0:
                tick.wait(delay)  # pacing the producer, not synchronisation
            with self.cond:
                self.items.append((time.time(), EVENT))
                self.cond.notify()
        with self.cond:
            self.done = True
            self.cond.notify()

    def take(self, window: float = 0.0) -> list[tuple[float, dict[str, Any]]] | None:
        with self.cond:
            while not self.items and not self.done:
                self.cond.wait()
            if window and not self.done:
                self.cond.wait(window)  # gather for a window after the first event
            if not self.items:
                return None
            items, self.items = self.items, []
            return items


class Source:
    """The Ray actor: one producer, three ways out."""

    def generator(self, rate: float, seconds: float, per_item: bool, window: float) -> Iterator[Any]:
        producer = Producer(rate, seconds)
        producer.start()
        while (batch := producer.take(window)) is not None:
            if per_item:
                for item in batch:  # noqa: UP028 - Ray's generator tasks do not take `yield from`
                    yield item
            else:
                yield batch
        producer.thread.join()

    def into_queue(self, q: Any, rate: float, seconds: float) -> int:
        producer = Producer(rate, seconds)
        producer.start()
        sent = 0
        while (batch := producer.take()) is not None:
            q.put_nowait_batch(batch)
            sent += len(batch)
        producer.thread.join()
        q.put(None)
        return sent


def run(way: str, rate: float, seconds: float) -> dict[str, float]:
    import ray
    from ray.util.queue import Queue

    source = ray.remote(Source).options(max_concurrency=4).remote()
    latencies: list[float] = []
    cpu0, wall0 = time.process_time(), time.monotonic()
    if way.startswith("generator"):
        window = 0.01 if way == "generator+10ms" else 0.0
        gen = source.generator.options(num_returns="streaming").remote(
            rate, seconds, way == "generator-1", window
        )
        for ref in gen:
            got = ray.get(ref)
            now = time.time()
            for produced, _ in [got] if way == "generator-1" else got:
                latencies.append(now - produced)
    else:
        q = Queue(maxsize=0)
        done = source.into_queue.remote(q, rate, seconds)
        finished = False
        while not finished:
            first = q.get(block=True)
            rest = q.get_nowait_batch(q.qsize()) if q.qsize() else []
            now = time.time()
            for item in [first, *rest]:
                if item is None:
                    finished = True
                    continue
                latencies.append(now - item[0])
        ray.get(done)
        ray.kill(q.actor)
    wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
    ray.kill(source)
    latencies.sort()
    return {
        "events": len(latencies),
        "per_s": len(latencies) / wall,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
        "driver_cpu_s": cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rates", default="500,5000,20000", help="events per second to produce, comma-separated"
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per measurement")
    args = parser.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    tmp = tempfile.mkdtemp(prefix="actors-be-", dir="/tmp")
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="WARNING", _temp_dir=tmp)
    try:
        print(
            f"{'rate/s':>8} {'way':<12} {'delivered/s':>12} {'p50 ms':>8} {'p99 ms':>8} {'driver CPU s':>13}"
        )
        for rate in (float(r) for r in args.rates.split(",")):
            for way in ("generator", "generator+10ms", "queue", "generator-1"):
                if way == "generator-1" and rate > 5000:
                    print(f"{rate:8.0f} {way:<12} {'skipped: one object per event cannot keep up':>44}")
                    continue
                r = run(way, rate, args.seconds)
                print(
                    f"{rate:8.0f} {way:<12} {r['per_s']:12.0f} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f} "
                    f"{r['driver_cpu_s']:13.2f}"
                )
        print(
            "floor: the producer's rate (every way delivers all events; the question is at what latency/CPU)"
        )
    finally:
        ray.shutdown()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
