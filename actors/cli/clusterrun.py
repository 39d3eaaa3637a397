"""``transcribe --ray``: the same batch run, with the calls spread over a Ray cluster.

Each call goes to the least loaded `SupervisorWorker` of a `ClusterPool` (one per cluster CPU by
default, ``--ray-workers``), which decodes and streams it exactly as a local run does; every server
message comes back to this process, which writes the outputs with the same `CallWriter` -- so they
are byte-equal to a local run's -- and drives the same progress display and summary. ``--concurrency``
is the cluster-wide connection limit, held by the pool's `AdmissionLimiter` actor; a few more calls
than that are handed out at once, so a worker has the next call decoded when a slot frees.

A worker that dies mid-call (its process killed, its node gone) loses the calls it ran: each is
run again from its start on a live worker (the outputs are written only when a call succeeds, so a
re-run never leaves a half-file), at most ``--ray-reruns`` times, and the summary says so per call.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from actors.cli.argtypes import non_negative_int, positive_int
from actors.cli.audiofile import STDIN
from actors.cli.calljob import StreamSettings, describe_error
from actors.cli.ctrl_c import CtrlCFlag, wait_interruptibly
from actors.cli.outputs import CallFiles, CallWriter
from actors.cli.progress import ProgressView
from actors.cli.summary import CallOutcome
from actors.cli.target import Target
from actors.errors import OptionsError

if TYPE_CHECKING:
    from actors.cli.transcribe import Call
    from actors.cluster.pool import ClusterCallResult, ClusterPool


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--ray``, ``--ray-workers`` and ``--ray-reruns`` to the transcribe parser."""
    group = parser.add_argument_group(
        "Ray cluster",
        "spread the calls over a Ray cluster (needs the ray extra: pip install 'actors-deepgram[ray]')",
    )
    group.add_argument(
        "--ray",
        nargs="?",
        const="auto",
        metavar="auto|local|HOST:PORT",
        help="run the calls on a Ray cluster: auto (the one running on this machine, or RAY_ADDRESS), local "
        "(a private one started for this run) or the head's HOST:PORT (default when given alone: auto)",
    )
    group.add_argument(
        "--ray-workers", type=positive_int, help="worker processes to start (default: one per cluster CPU)"
    )
    group.add_argument(
        "--ray-reruns",
        type=non_negative_int,
        default=2,
        help="times a call is run again after its worker died (default 2)",
    )


def check_cluster_inputs(calls: Sequence[Call]) -> None:
    """Standard input cannot be spread over a cluster: raise `OptionsError` when a call reads it."""
    if any(c.path == STDIN for c in calls):
        raise OptionsError(
            "--ray", "standard input (-) cannot be sent to a Ray cluster; pass the file's path"
        )


def trust_note(target: Target, environ: Mapping[str, str]) -> str | None:
    """A note for the user when ``SSL_CERT_FILE``/``SSL_CERT_DIR`` is set here but the TLS connections
    are made by the workers, which trust what their nodes' environment says."""
    if not target.url.startswith("wss://"):
        return None
    names = [name for name in ("SSL_CERT_FILE", "SSL_CERT_DIR") if environ.get(name)]
    if not names:
        return None
    return (
        f"note: {' and '.join(names)} {'is' if len(names) == 1 else 'are'} set here, but with --ray the TLS "
        "connections are made by the Ray workers, which trust what their nodes' environment says "
        "(set it where `ray start` runs)"
    )


def check_target_reachable(target: Target) -> None:
    """A server on this machine's loopback (the embedded one, or a local ``--url``) is out of reach of
    the other machines: refuse a cluster with nodes there."""
    from actors.cluster.connect import driver_address, node_addresses, unreachable_nodes

    others = unreachable_nodes(target.url, node_addresses(), driver_address())
    if others:
        where = "the embedded server listens" if target.kind == "embedded" else f"{target.url} is"
        raise OptionsError(
            "--ray",
            f"{where} on this machine only, and the cluster has nodes on {', '.join(sorted(others))}: "
            "set DEEPGRAM_API_KEY, or pass --url with a server the nodes reach",
        )


class _DriverSink:
    """One call's results on this machine (a `CallSink`): its `CallWriter` (the outputs; made at the
    first message, as a local call's is when it starts, and made again when the call is re-run) and
    its progress line."""

    def __init__(self, call: Call, out: Path, view: ProgressView) -> None:
        self.call = call
        self.files = CallFiles(out, call.stem)
        self.view = view
        self.multichannel = call.audio.channels > 1
        self.lock = threading.Lock()
        self._writer: CallWriter | None = None

    def message(self, message: Mapping[str, Any]) -> None:
        with self.lock:
            self.writer().add(message)

    def writer(self) -> CallWriter:
        """The call's writer (lock held), made when first needed."""
        if self._writer is None:
            self._writer = CallWriter(self.files, self.multichannel)
        return self._writer

    def abort(self) -> None:
        """Drop what the current attempt wrote (lock held): only its partial JSONL is left."""
        if self._writer is not None:
            self._writer.abort()
            self._writer = None

    def progress(self, sent: float | None, heard: str | None, state: str | None) -> None:
        self.view.update_call(self.call.name, sent=sent, heard=heard, state=state)

    def restart(self, reason: str) -> None:
        with self.lock:
            self.abort()
        self.view.update_call(self.call.name, sent=0.0, state=f"re-running ({reason})")


def transcribe_on_cluster(
    calls: Sequence[Call],
    args: argparse.Namespace,
    settings: StreamSettings,
    target: Target,
    concurrency: int,
    progress: ProgressView,
) -> tuple[list[CallOutcome], bool]:
    """Run ``calls`` on a `ClusterPool`; return an outcome per call (input order) and whether the run
    was interrupted (Ctrl-C, taken through a :class:`~actors.cli.ctrl_c.CtrlCFlag`)."""
    from actors.cluster.pool import ClusterPool

    check_target_reachable(target)
    note = trust_note(target, os.environ)
    if note:
        print(note, file=sys.stderr)
    outcomes: list[CallOutcome] = []
    interrupted = False
    with ClusterPool(args.ray_workers, max_connections=concurrency, max_reruns=args.ray_reruns) as pool:
        in_flight = concurrency + len(pool.workers())
        submitted: list[tuple[Call, _DriverSink, float, Future[ClusterCallResult]]] = []
        ctrl_c = CtrlCFlag()
        try:
            with ctrl_c:
                watched = functools.partial(wait_interruptibly, check=ctrl_c.check)
                for call in calls:
                    while len(submitted) - len(outcomes) >= in_flight:
                        outcomes.append(_finish(*submitted[len(outcomes)], watched))
                    ctrl_c.check()
                    submitted.append(_submit(pool, call, settings, target, args.out, progress))
                while len(outcomes) < len(submitted):
                    outcomes.append(_finish(*submitted[len(outcomes)], watched))
        except KeyboardInterrupt:
            interrupted = True
            pool.stop_calls()  # running calls finish with what they sent
            for item in submitted[len(outcomes) :]:
                outcomes.append(_finish(*item, lambda f: f.result()))
            outcomes += [c.interrupted("not started") for c in calls[len(submitted) :]]
    return outcomes, interrupted


def _submit(
    pool: ClusterPool, call: Call, settings: StreamSettings, target: Target, out: Path, progress: ProgressView
) -> tuple[Call, _DriverSink, float, Future[ClusterCallResult]]:
    sink = _DriverSink(call, out, progress)
    progress.start_call(call.name, call.audio.duration or 0.0)
    future = pool.run_call(
        call.name,
        call.stem,
        Path(call.path).suffix,
        Path(call.path).read_bytes(),
        call.settings(settings),
        target,
        sink,
    )
    return call, sink, time.monotonic(), future


def _finish(
    call: Call,
    sink: _DriverSink,
    started: float,
    future: Future[ClusterCallResult],
    wait: Callable[[Future[Any]], None],
) -> CallOutcome:
    wait(future)
    result = future.result()
    outcome = result.outcome
    error = outcome.error
    status = outcome.status
    with sink.lock:
        if status == "ok":
            try:
                sink.writer().commit()
            except OSError as exc:  # e.g. the disk filled up: the call is not done
                error, status = describe_error(exc), "failed"
        sink.abort()  # a no-op after a commit
    final = attrs.evolve(
        outcome,
        wall_seconds=time.monotonic() - started,
        error=error,
        status=status,
        stem=call.stem,
        input=call.path,
        metadata=call.metadata,
        worker=result.worker,
        reruns=result.reruns,
        audio_seconds=outcome.audio_seconds or (call.audio.duration or 0.0),
    )
    sink.view.end_call(call.name, final.describe(), final.error)
    return final
