"""Entry point of the command line: one sub-command per module in `actors.cli`.

Each sub-command module exposes ``add_parser(subparsers) -> argparse.ArgumentParser`` and
``run(args) -> int`` (the exit status). Modules are imported only when listed here, so a
sub-command whose optional dependencies are missing does not break the others.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

SUBCOMMANDS = ("serve", "transcribe", "speak", "agent", "ingest")


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every available sub-command."""
    parser = argparse.ArgumentParser(prog="python -m actors", description=__doc__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"actors.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("actors.cli."):
                continue  # sub-command not built yet
            raise
        sub_parser = module.add_parser(sub)
        sub_parser.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``) and run the chosen sub-command; return its exit status."""
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else sys.argv[1:])
    return int(args._run(args))
