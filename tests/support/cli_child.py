"""The command line (``python -m actors ...``) as a child process a test can interrupt with Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence


def start_interruptible_cli(args: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen[str]:
    """Start ``python -m actors ARGS`` with ``env``, stdout and stderr piped as text, and SIGINT
    back at its default action in the child (a test runner may ignore it), so ``send_signal(SIGINT)``
    is a real Ctrl-C."""
    return subprocess.Popen(
        [sys.executable, "-m", "actors", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
