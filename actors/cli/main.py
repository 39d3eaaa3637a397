"""Entry point of the command line (`actors ...` or `python -m actors ...`): one sub-command per
module in `actors.cli`.

Each sub-command module exposes ``add_parser(subparsers) -> argparse.ArgumentParser`` and
``run(args) -> int`` (the exit status). Modules are imported only when listed here, so a
sub-command whose optional dependencies are missing does not break the others.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

SUBCOMMANDS = ("serve", "transcribe", "speak", "agent", "ingest", "ingest-cluster")
#: The name the project is published under on PyPI (``actors`` there is an unrelated project);
#: the import package is ``actors``.
DISTRIBUTION = "actors-deepgram"

DESCRIPTION = """\
Stream audio and text to Deepgram's WebSocket APIs (Listen V1, Flux, Speak V1, Voice Agent) through
supervised, reconnecting streams. Without DEEPGRAM_API_KEY every command uses an embedded local
Deepgram-compatible server with offline engines; --url points a command at any compatible server.

commands:
  transcribe  transcribe recorded calls (files, directories, manifests or stdin) in parallel, writing
              JSONL, TXT, SRT and VTT per call
  speak       turn text into speech with Speak V1 (or V2: --flux) and save it as a WAV file
  agent       hold a scripted conversation (text lines or recorded user audio) with the Voice Agent API
  serve       run the local Deepgram-compatible server, for tests and offline development
  ingest      run the ingestion service that takes live calls (Genesys AudioHook, Twilio Media Streams,
              plain streams), transcribes them and stores the transcripts
  ingest-cluster  run N ingest instances behind haproxy on one PostgreSQL store (one machine)
"""


def version() -> str:
    """The installed distribution's version, else the import package's ``__version__``."""
    import importlib.metadata  # only for --version: it costs ~10 ms at every start otherwise

    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        import actors

        return str(getattr(actors, "__version__", "unknown"))


class _VersionAction(argparse.Action):
    """``--version``: print ``PROG VERSION`` and exit (the version is looked up only then)."""

    def __call__(self, parser: argparse.ArgumentParser, *_args: object, **_kwargs: object) -> None:
        print(f"{parser.prog} {version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every available sub-command."""
    parser = argparse.ArgumentParser(
        prog=_prog(),
        usage="%(prog)s [-h] [--version] COMMAND ...",
        description=DESCRIPTION,
        epilog="Run '%(prog)s COMMAND --help' for a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_VersionAction, nargs=0, help="print the version and exit")
    # The commands are described in DESCRIPTION (one sentence each); argparse's own list is hidden.
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, help=argparse.SUPPRESS, prog=parser.prog
    )
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"actors.cli.{name.replace('-', '_')}")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("actors.cli."):
                continue  # sub-command not built yet
            raise
        sub_parser = module.add_parser(sub)
        sub_parser.set_defaults(run_subcommand=module.run)
    return parser


def _prog() -> str:
    """``actors`` when run as the console script, ``python -m actors`` otherwise."""
    return "actors" if os.path.basename(sys.argv[0]) == "actors" else "python -m actors"


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``) and run the chosen sub-command; return its exit status."""
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else sys.argv[1:])
    return int(args.run_subcommand(args))
