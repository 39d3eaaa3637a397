"""`python -m actors transcribe CALL...`: stream many recorded calls at once, write transcripts.

Each call (a file, a file found in a directory, a manifest row, or standard input) becomes its own
supervised Listen V1 stream (stereo calls use ``multichannel``, one speaker per channel),
``--concurrency`` at a time, paced at real time (``--realtime``) or as fast
as the service accepts (``--fast``, the default). Per call, ``--out`` gets ``<call>.jsonl`` (every
server message), ``<call>.txt`` (the transcript), ``<call>.srt`` and ``<call>.vtt`` (captions),
by speaker with ``--param diarize=true``. They get these names only once the call succeeded; a
failed or interrupted call leaves ``<call>.partial.jsonl`` instead. ``summary.json`` and
``summary.csv`` list every call (status, audio seconds, words, request ids, reconnects, time to
first result, error); ``--skip-existing`` resumes a batch, skipping the calls already done.
``--ray auto|local|HOST:PORT`` spreads the calls over a Ray cluster (the ray extra; see
`actors.cli.clusterrun`): the same outputs, display and summary. A live display follows the calls;
a summary table ends the run. Exit status: 0 if every call
was transcribed (or skipped), 1 if any failed (each with its reason), 2 for bad usage
(``--out`` included, checked before any audio is sent), 130 when interrupted.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs
from rich.console import Console

from actors.cli.argtypes import non_negative_int, positive_float, positive_int
from actors.cli.audiofile import AudioFile, read_audio
from actors.cli.calljob import CallJob, StreamSettings, describe_error
from actors.cli.clusterrun import add_cluster_arguments, check_cluster_inputs, transcribe_on_cluster
from actors.cli.ctrl_c import wait_interruptibly
from actors.cli.inputs import AUDIO_EXTENSIONS, AUDIO_PARAMS, STDIN, CallInput, resolve_inputs, safe_stem
from actors.cli.outputs import CallFiles, prepare_output_dir
from actors.cli.progress import PROGRESS_MODES, make_progress
from actors.cli.summary import CallOutcome, print_summary
from actors.cli.summaryfiles import previous_outcomes, skipped_outcome, write_summary
from actors.cli.target import Target, add_target_arguments, open_target
from actors.errors import ActorsError, AudioFileError, OptionsError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
#: Default --concurrency for Deepgram (and any --url): enough parallel calls to hide per-call connect
#: and finish latency; the service itself scales far beyond it. The embedded server's is measured.
REMOTE_CONCURRENCY = 16


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``transcribe`` sub-command."""
    parser = subparsers.add_parser(
        "transcribe",
        help="transcribe recorded calls with Listen V1 and write transcripts and captions",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "calls",
        nargs="*",
        metavar="CALL",
        help="a recording (WAV, FLAC, OGG/Opus, MP3), a directory (searched recursively), "
        "or - for one recording on standard input",
    )
    parser.add_argument(
        "--manifest",
        action="append",
        default=[],
        metavar="FILE",
        help="a CSV (with header) or JSONL list of calls: path (relative to the manifest), and optional "
        "call_id (names the outputs), params (per-call Listen V1 options: JSON object or k=v&k=v) and "
        "metadata (JSON object); repeatable",
    )
    parser.add_argument(
        "--glob",
        metavar="PATTERN",
        help="which files of a CALL directory to take, by name (e.g. '*.wav'; a pattern with / matches the "
        f"path below the directory; default: *.{{{','.join(AUDIO_EXTENSIONS)}}}, any case)",
    )
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
        type=positive_int,
        help="calls streamed at once (default: twice the engine's worker processes for the embedded server, "
        f"{REMOTE_CONCURRENCY} for Deepgram or --url)",
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
    pacing.add_argument("--speed", type=positive_float, help="send at this multiple of real time, e.g. 2.5")
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
        "--chunk-ms", type=positive_int, default=100, help="audio per message in ms (default 100)"
    )
    tuning.add_argument(
        "--retries",
        type=non_negative_int,
        default=5,
        help="reconnects allowed per call per minute (default 5)",
    )
    tuning.add_argument(
        "--finish-timeout",
        type=positive_float,
        help="seconds to wait for the last results (default: scaled to length)",
    )
    tuning.add_argument(
        "--progress",
        choices=PROGRESS_MODES,
        default="auto",
        help="live display, plain lines, or off (default auto)",
    )
    add_target_arguments(parser)
    add_cluster_arguments(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    """Transcribe every call in ``args.calls``; return the exit status."""
    try:
        return _run(args)
    finally:
        if args.ray is not None:
            from actors.cluster.connect import leave_cluster

            leave_cluster()


def _run(args: argparse.Namespace) -> int:
    err = Console(file=sys.stderr, highlight=False, soft_wrap=True)
    out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    try:
        query = base_query(args)
        _check_query(query, flags=_flag_options(args))
        inputs = resolve_inputs(args.calls, args.manifest, args.glob)
        for item in inputs:
            if item.params:
                _check_query(query, item.params, where=f"{item.where or item.path}: params")
        prepare_output_dir(args.out)
        if args.ray is not None:
            _check_ray_address(args.ray)
    except OptionsError as exc:
        err.print(f"error: {exc}", markup=False)
        return EXIT_USAGE
    calls, unreadable = load_calls(inputs)
    if args.ray is not None:
        try:
            check_cluster_inputs(calls)
            if calls:
                err.print(_join_cluster(args.ray), markup=False)
        except OptionsError as exc:
            err.print(f"error: {exc}", markup=False)
            return EXIT_USAGE
        except ActorsError as exc:  # the cluster cannot be reached or joined
            err.print(f"error: {exc}", markup=False)
            return EXIT_FAILED
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
            outcomes += [c.interrupted("interrupted") for c in calls if c.name not in reported]
    order = {name: i for i, name in enumerate(call_names(inputs))}
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


def _check_ray_address(text: str) -> None:
    """Raise `OptionsError` for a ``--ray`` value that is not auto, local or HOST:PORT."""
    from actors.cluster.connect import ClusterError, parse_address

    try:
        parse_address(text)
    except ClusterError as exc:
        raise OptionsError("--ray", str(exc), text) from None


def _join_cluster(text: str) -> str:
    from actors.cluster.connect import join_cluster

    return join_cluster(text)


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
            skipped.append(attrs.evolve(outcome, metadata=call.metadata))
    return todo, skipped


def base_query(args: argparse.Namespace) -> tuple[tuple[str, str], ...]:
    """The Listen V1 query shared by every call (the audio format is added per call).

    A ``--param`` for an option that has its own flag (``model=...``) replaces the flag's value.
    """
    flagged = _flag_options(args)
    query: list[tuple[str, str]] = [("model", args.model)] if "model" in flagged else []
    if args.language and "language" in flagged:
        query.append(("language", args.language))
    if args.smart_format and "smart_format" in flagged:
        query.append(("smart_format", "true"))
    if args.interim_results and "interim_results" in flagged:
        query.append(("interim_results", "true"))
    for item in args.param:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise OptionsError("--param", f"expected KEY=VALUE, got {item!r}", item)
        if key in AUDIO_PARAMS:
            raise OptionsError(
                f"--param {item}", f"{key!r} is set from each file's audio; it cannot be given", item
            )
        query.append((key, value))
    return tuple(query)


#: The Listen V1 options that have their own flag (see `base_query`).
_FLAGS = {
    "model": "--model",
    "language": "--language",
    "smart_format": "--smart-format",
    "interim_results": "--interim-results",
}


def _flag_options(args: argparse.Namespace) -> dict[str, str]:
    """Which options came from their own flag rather than ``--param``: option -> flag."""
    from_params = {item.partition("=")[0].strip() for item in args.param}
    return {key: flag for key, flag in _FLAGS.items() if key not in from_params}


def _check_query(
    query: tuple[tuple[str, str], ...],
    extra: tuple[tuple[str, str], ...] = (),
    where: str = "--param",
    flags: dict[str, str] | None = None,
) -> None:
    """Validate the options (with a call's ``extra`` ones) before any file is read, so a typo costs
    no run; the error names the option, the value and why (unknown option, bad value), and where it
    came from: ``where`` (``--param``, a manifest row), or the option's own flag in ``flags``."""
    from actors.protocol.apis import LISTEN_V1

    options_type = LISTEN_V1.options_type
    assert options_type is not None
    known = [p.name for p in options_type.PARAMS]
    for key, value in extra or query:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=3)
            hint = f"; did you mean {' or '.join(close)}?" if close else f"; known: {', '.join(known)}"
            raise OptionsError(f"{where} {key}={value}", f"unknown Listen V1 option {key!r}{hint}", value)
    probe = [*merge_query(query, extra), ("encoding", "linear16"), ("sample_rate", "16000")]
    try:
        options_type.from_query(probe)
    except OptionsError as exc:
        given = [v for k, v in (*query, *extra) if k == exc.name]
        shown = f"{exc.name}={given[-1]}" if given else exc.name
        reason = str(exc).removeprefix(f"{exc.name}: ")
        flag = (flags or {}).get(exc.name) if not extra else None
        label = f"{flag} {given[-1]!r}" if flag and given else f"{where} {shown}"
        raise OptionsError(label, f"bad value for {exc.name!r}: {reason}", exc.value) from None


def merge_query(
    query: tuple[tuple[str, str], ...], extra: tuple[tuple[str, str], ...]
) -> tuple[tuple[str, str], ...]:
    """``query`` with a call's own options: a key in ``extra`` replaces every value of it in ``query``."""
    replaced = {k for k, _ in extra}
    return (*((k, v) for k, v in query if k not in replaced), *extra)


@attrs.frozen
class Call:
    """A readable input: its path as given, its name in the display, its output stem, its audio,
    and what its manifest row gave (per-call Listen V1 options, metadata)."""

    path: str
    name: str
    stem: str
    audio: AudioFile
    params: tuple[tuple[str, str], ...] = ()
    metadata: dict[str, object] = attrs.field(factory=dict)

    def settings(self, run: StreamSettings) -> StreamSettings:
        """The run's stream settings with this call's own options added to the query."""
        return attrs.evolve(run, extra_query=self.params) if self.params else run

    def interrupted(self, reason: str) -> CallOutcome:
        """The outcome of this call when the run was interrupted before it ended (``reason``: why)."""
        return CallOutcome(
            name=self.name,
            audio_seconds=self.audio.duration or 0.0,
            error=reason,
            status="interrupted",
            stem=self.stem,
            input=self.path,
            metadata=self.metadata,
        )


def _as_input(item: CallInput | str) -> CallInput:
    return item if isinstance(item, CallInput) else CallInput(item)


def _base_name(item: CallInput) -> str:
    if item.call_id is not None:
        return item.call_id
    return "stdin" if item.path == STDIN else Path(item.path).name


def output_stems(inputs: Sequence[CallInput | str]) -> list[str]:
    """A distinct output file stem per call: its call id (made file-safe) or the file name without
    extension (``stdin`` for standard input), numbered ``-2``, ``-3``... on clashes."""
    stems: list[str] = []
    for item in map(_as_input, inputs):
        if item.call_id is not None:
            base = safe_stem(item.call_id)
        else:
            base = "stdin" if item.path == STDIN else Path(item.path).stem or "call"
        stem, n = base, 1
        while stem in stems:
            n += 1
            stem = f"{base}-{n}"
        stems.append(stem)
    return stems


def call_names(inputs: Sequence[CallInput | str]) -> list[str]:
    """How calls are named in progress and summary: call ids or file names, or the unique stems when
    names clash."""
    items = [_as_input(i) for i in inputs]
    names = [_base_name(i) for i in items]
    return names if len(set(names)) == len(names) else output_stems(items)


def load_calls(inputs: Sequence[CallInput | str]) -> tuple[list[Call], list[tuple[str, CallOutcome]]]:
    """Read every input; unreadable or unsupported ones become ``(path, failed outcome)`` pairs.

    The outcome's error omits the path (the summary row names the call already).
    """
    items = [_as_input(i) for i in inputs]
    calls: list[Call] = []
    failed: list[tuple[str, CallOutcome]] = []
    for item, name, stem in zip(items, call_names(items), output_stems(items), strict=True):
        try:
            audio = read_audio(item.path)
        except AudioFileError as exc:
            failed.append((item.path, CallOutcome(name=name, error=str(exc).removeprefix(f"{exc.path}: "))))
            continue
        calls.append(Call(item.path, name, stem, audio, item.params, item.metadata))
    return calls, failed


def default_concurrency(target: Target) -> int:
    """Calls streamed at once by default: for the embedded server twice its engine's worker
    processes (measured: +22% throughput over one call per worker, since each call's network and
    finish time overlap another's decoding); a documented fixed number for Deepgram or a URL."""
    if target.kind == "embedded":
        return 2 * (target.engine_workers or max(1, os.cpu_count() or 1))
    return REMOTE_CONCURRENCY


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
    if args.ray is not None:
        try:
            return transcribe_on_cluster(calls, args, settings, target, concurrency, progress)
        finally:
            progress.close()
    outcomes: list[CallOutcome] = []
    interrupted = False
    try:
        with (
            Supervisor(max_connections=concurrency) as supervisor,
            ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="actors-transcribe") as pool,
        ):
            jobs = [
                (
                    c,
                    CallJob(
                        c.name,
                        c.audio,
                        CallFiles(args.out, c.stem),
                        c.settings(settings),
                        target,
                        progress,
                        stop,
                    ),
                )
                for c in calls
            ]
            futures: list[tuple[Call, CallJob, Future[CallOutcome]]] = [
                (call, job, pool.submit(job.run, supervisor)) for call, job in jobs
            ]
            try:
                for call, job, future in futures:
                    wait_interruptibly(future)
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


def _result_of(call: Call, job: CallJob, future: Future[CallOutcome]) -> CallOutcome:
    if future.cancelled():
        return call.interrupted("not started")
    try:
        return attrs.evolve(future.result(), input=call.path, metadata=call.metadata)
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
