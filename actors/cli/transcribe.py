"""`python -m actors transcribe CALL...`: stream many recorded calls at once, write transcripts.

Each WAV file becomes its own supervised Listen V1 stream (stereo calls use ``multichannel``, one
speaker per channel), ``--concurrency`` at a time, paced at real time (``--realtime``) or as fast
as the service accepts (``--fast``, the default). Per call, ``--out`` gets ``<call>.jsonl`` (every
server message), ``<call>.txt`` (the transcript), ``<call>.srt`` and ``<call>.vtt`` (captions),
by speaker with ``--param diarize=true``. They get these names only once the call succeeded; a
failed or interrupted call leaves ``<call>.partial.jsonl`` instead. ``summary.json`` and
``summary.csv`` list every call (status, audio seconds, words, request ids, reconnects, time to
first result, error); ``--skip-existing`` resumes a batch, skipping the calls already done.
A live display follows the calls; a summary table ends the run. Exit status: 0 if every call
was transcribed (or skipped), 1 if any failed (each with its reason), 2 for bad usage
(``--out`` included, checked before any audio is sent), 130 when interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from pathlib import Path
from typing import Any

import attrs
from rich.console import Console

from actors.cli.audiofile import AudioFile, read_audio
from actors.cli.calljob import CallJob, StreamSettings, describe_error
from actors.cli.outputs import CallFiles, prepare_output_dir
from actors.cli.progress import PROGRESS_MODES, make_progress
from actors.cli.summary import CallOutcome, print_summary
from actors.cli.summaryfiles import previous_outcomes, skipped_outcome, write_summary
from actors.cli.target import Target, add_target_arguments, open_target
from actors.errors import ActorsError, AudioFileError, OptionsError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``transcribe`` sub-command."""
    parser = subparsers.add_parser(
        "transcribe",
        help="stream recorded calls (WAV) to Listen V1 and write transcripts and captions",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("calls", nargs="+", metavar="CALL", help="WAV files (PCM, 1-20 channels)")
    parser.add_argument(
        "--out",
        "-o",
        type=Path,
        default=Path("out"),
        help="output directory, created if needed (default: out)",
    )
    parser.add_argument(
        "--skip-existing",
        action="store_true",
        help="skip calls whose outputs in --out are complete (resume an interrupted batch)",
    )
    parser.add_argument(
        "--concurrency",
        "-j",
        type=_positive_int,
        help="calls streamed at once (default: the CPU count for the embedded server, 16 otherwise)",
    )
    pacing = parser.add_mutually_exclusive_group()
    pacing.add_argument(
        "--realtime",
        dest="speed",
        action="store_const",
        const=1.0,
        help="send audio at real time, like a live call",
    )
    pacing.add_argument(
        "--fast",
        dest="speed",
        action="store_const",
        const=None,
        help="send as fast as the service accepts (default)",
    )
    pacing.add_argument("--speed", type=_positive_float, help="send at this multiple of real time, e.g. 2.5")
    parser.set_defaults(speed=None)
    listen = parser.add_argument_group("Listen V1 options")
    listen.add_argument("--model", default="nova-3", help="model (default: nova-3)")
    listen.add_argument("--language", help="language, e.g. en-US")
    listen.add_argument("--smart-format", action="store_true", help="smart formatting (punctuation, numbers)")
    listen.add_argument(
        "--interim-results", action="store_true", help="also request (and record) interim results"
    )
    listen.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other Listen V1 query parameter, repeatable (e.g. --param keyterm=refund)",
    )
    tuning = parser.add_argument_group("tuning")
    tuning.add_argument(
        "--chunk-ms", type=_positive_int, default=100, help="audio per message in ms (default 100)"
    )
    tuning.add_argument(
        "--retries",
        type=_non_negative_int,
        default=5,
        help="reconnects allowed per call per minute (default 5)",
    )
    tuning.add_argument(
        "--finish-timeout",
        type=_positive_float,
        help="seconds to wait for the last results (default: scaled to length)",
    )
    tuning.add_argument(
        "--progress",
        choices=PROGRESS_MODES,
        default="auto",
        help="live display, plain lines, or off (default auto)",
    )
    add_target_arguments(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    """Transcribe every call in ``args.calls``; return the exit status."""
    err = Console(file=sys.stderr, highlight=False, soft_wrap=True)
    out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    try:
        query = base_query(args)
        _check_query(query)
        prepare_output_dir(args.out)
    except OptionsError as exc:
        err.print(f"error: {exc}", markup=False)
        return EXIT_USAGE
    calls, unreadable = load_calls(args.calls)
    for path, outcome in unreadable:
        err.print(f"error: {path}: {outcome.error}", markup=False)
    outcomes = [attrs.evolve(outcome, input=path) for path, outcome in unreadable]
    if args.skip_existing:
        calls, skipped = skip_completed(calls, args.out)
        outcomes += skipped
        if skipped:
            err.print(f"skipping {len(skipped)} calls already done in {args.out}/", markup=False)
    started = time.monotonic()
    interrupted = False
    if calls:
        try:
            with open_target(args) as target:
                err.print(target.describe(), markup=False)
                done, interrupted = transcribe_calls(calls, args, query, target)
                outcomes += done
        except OptionsError as exc:
            err.print(f"error: {exc}", markup=False)
            return EXIT_USAGE
        except KeyboardInterrupt:  # during server start-up or shutdown
            interrupted = True
            reported = {o.name for o in outcomes}
            outcomes += [_interrupted(c, "interrupted") for c in calls if c.name not in reported]
    order = {name: i for i, name in enumerate(call_names(args.calls))}
    outcomes.sort(key=lambda o: order.get(o.name, len(order)))
    wall = time.monotonic() - started
    print_summary(out, outcomes, wall)
    try:
        write_summary(args.out, outcomes, wall, interrupted)
    except OSError as exc:
        err.print(f"error: could not write the summary in {args.out}: {exc}", markup=False)
        return EXIT_FAILED
    out.print(f"outputs in {args.out}/ (summary.json, summary.csv)", markup=False)
    if interrupted:
        err.print("interrupted", markup=False)
        return EXIT_INTERRUPTED
    return EXIT_OK if outcomes and all(o.ok for o in outcomes) else EXIT_FAILED


def skip_completed(calls: Sequence[Call], out: Path) -> tuple[list[Call], list[CallOutcome]]:
    """Split ``calls`` into those to transcribe and ``skipped`` outcomes for those already done in ``out``.

    Done: complete outputs under their final names, not contradicted by the previous summary
    (see `actors.cli.summaryfiles.skipped_outcome`).
    """
    previous = previous_outcomes(out)
    todo: list[Call] = []
    skipped: list[CallOutcome] = []
    for call in calls:
        outcome = skipped_outcome(
            call.name, call.path, CallFiles(out, call.stem), previous, call.audio.duration or 0.0
        )
        if outcome is None:
            todo.append(call)
        else:
            skipped.append(outcome)
    return todo, skipped


def base_query(args: argparse.Namespace) -> tuple[tuple[str, str], ...]:
    """The Listen V1 query shared by every call (the audio format is added per call)."""
    query: list[tuple[str, str]] = [("model", args.model)]
    if args.language:
        query.append(("language", args.language))
    if args.smart_format:
        query.append(("smart_format", "true"))
    if args.interim_results:
        query.append(("interim_results", "true"))
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise OptionsError("--param", f"expected KEY=VALUE, got {item!r}", item)
        query.append((key.strip(), value))
    return tuple(query)


def _check_query(query: tuple[tuple[str, str], ...]) -> None:
    """Validate the shared options once, before any file is read (a typo should not cost a run)."""
    from actors.protocol.apis import LISTEN_V1

    options_type = LISTEN_V1.options_type
    assert options_type is not None
    probe = [*query, ("encoding", "linear16"), ("sample_rate", "16000")]
    options_type.from_query(probe)


@attrs.frozen
class Call:
    """A readable input: its path as given, its name in the display, its output stem, its audio."""

    path: str
    name: str
    stem: str
    audio: AudioFile


def output_stems(paths: Sequence[str]) -> list[str]:
    """A distinct output file stem per call: the file name without extension, numbered on clashes."""
    stems: list[str] = []
    for path in paths:
        base = Path(path).stem or "call"
        stem, n = base, 1
        while stem in stems:
            n += 1
            stem = f"{base}-{n}"
        stems.append(stem)
    return stems


def call_names(paths: Sequence[str]) -> list[str]:
    """How calls are named in progress and summary: file names, or the unique stems when names clash."""
    names = [Path(p).name for p in paths]
    return names if len(set(names)) == len(names) else output_stems(paths)


def load_calls(paths: Sequence[str]) -> tuple[list[Call], list[tuple[str, CallOutcome]]]:
    """Read every file; unreadable or unsupported ones become ``(path, failed outcome)`` pairs.

    The outcome's error omits the path (the summary row names the call already).
    """
    calls: list[Call] = []
    failed: list[tuple[str, CallOutcome]] = []
    for path, name, stem in zip(paths, call_names(paths), output_stems(paths), strict=True):
        try:
            calls.append(Call(path, name, stem, read_audio(path)))
        except AudioFileError as exc:
            failed.append((path, CallOutcome(name=name, error=str(exc).removeprefix(f"{exc.path}: "))))
    return calls, failed


def default_concurrency(target: Target) -> int:
    """Enough parallel calls to keep the service busy without overloading the embedded engines."""
    if target.kind == "embedded":
        return max(1, os.cpu_count() or 1)
    return 16


def transcribe_calls(
    calls: Sequence[Call],
    args: argparse.Namespace,
    query: tuple[tuple[str, str], ...],
    target: Target,
) -> tuple[list[CallOutcome], bool]:
    """Stream ``calls`` through one supervisor, ``--concurrency`` at a time.

    Returns one outcome per call, and whether the run was interrupted (Ctrl-C): then running
    calls stop sending, finish with what the service heard, and calls not started are reported.
    """
    from actors.runtime.supervisor import Supervisor

    concurrency = min(args.concurrency or default_concurrency(target), len(calls))
    settings = StreamSettings(
        query=query,
        speed=args.speed,
        chunk_seconds=args.chunk_ms / 1000.0,
        max_restarts=args.retries,
        finish_timeout=args.finish_timeout,
    )
    stop = threading.Event()
    progress = make_progress(
        args.progress, sys.stderr, len(calls), sum(c.audio.duration or 0.0 for c in calls)
    )
    outcomes: list[CallOutcome] = []
    interrupted = False
    try:
        with (
            Supervisor(max_connections=concurrency) as supervisor,
            ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="actors-transcribe") as pool,
        ):
            jobs = [
                (c, CallJob(c.name, c.audio, CallFiles(args.out, c.stem), settings, target, progress, stop))
                for c in calls
            ]
            futures: list[tuple[Call, CallJob, Future[CallOutcome]]] = [
                (call, job, pool.submit(job.run, supervisor)) for call, job in jobs
            ]
            try:
                for call, job, future in futures:
                    _wait_interruptibly(future)
                    outcomes.append(_result_of(call, job, future))
            except KeyboardInterrupt:
                interrupted = True
                stop.set()  # pacers return at once; running calls finish with what they sent
                for _, _, future in futures:
                    future.cancel()
                for call, job, future in futures[len(outcomes) :]:
                    outcomes.append(_result_of(call, job, future))
    finally:
        progress.close()
    return outcomes, interrupted


#: How often the main thread wakes while it waits for a call, so that Ctrl-C is acted on at once.
SIGNAL_CHECK_SECONDS = 0.2


def _wait_interruptibly(future: Future[CallOutcome]) -> None:
    """Wait until ``future`` is done, waking every `SIGNAL_CHECK_SECONDS`.

    The kernel hands SIGINT to any thread of the process; Python runs its handler (raising
    KeyboardInterrupt) only in the main thread, when that thread next runs. A main thread
    blocked in an untimed ``future.result()`` while another thread took the signal would notice
    Ctrl-C only when the call ends, minutes later. The timed wait is for the signal only: the
    call's completion still ends it at once.
    """
    while not futures_wait([future], timeout=SIGNAL_CHECK_SECONDS).done:
        pass


def _interrupted(call: Call, reason: str) -> CallOutcome:
    return CallOutcome(
        name=call.name,
        audio_seconds=call.audio.duration or 0.0,
        error=reason,
        status="interrupted",
        stem=call.stem,
        input=call.path,
    )


def _result_of(call: Call, job: CallJob, future: Future[CallOutcome]) -> CallOutcome:
    if future.cancelled():
        return _interrupted(call, "not started")
    try:
        return attrs.evolve(future.result(), input=call.path)
    except (
        ActorsError,
        OSError,
        ValueError,
    ) as exc:  # a bug-free job never raises; report it per call anyway
        return CallOutcome(
            name=job.name,
            audio_seconds=job.audio.duration or 0.0,
            error=describe_error(exc),
            stem=call.stem,
            input=call.path,
        )


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value
