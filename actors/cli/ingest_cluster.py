"""``python -m actors ingest-cluster``: several ingest instances behind haproxy on one machine, on one
PostgreSQL store (the launcher of :mod:`actors.ingest.local_cluster`, which documents it)."""

from __future__ import annotations

import argparse
from typing import Any

from actors.ingest import local_cluster


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``ingest-cluster`` sub-command (the launcher's own options)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "ingest-cluster",
        help="run N ingest instances behind haproxy on one PostgreSQL store",
        description=local_cluster.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    local_cluster.add_arguments(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    """Start the instances and haproxy, serve until SIGTERM/SIGINT, drain; the exit status."""
    return local_cluster.run(args)
