"""Every ``examples/*.py`` runs as written, offline, and prints what its docstring promises.

Each example is run as its own process from the checkout root with no ``DEEPGRAM_API_KEY`` (so
against the embedded local server, or a ``LocalServer`` it starts). The parameters come from a
glob: a new example is run too, and must at least exit 0 and print something; add its promised
output to ``PROMISES``. ``threaded_server.py`` is a service, so it is driven over HTTP instead.
About 20 s for all of them (most of it the real engine's pocketsphinx workers starting).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
SAMPLE = ROOT / "actors" / "samples" / "call-1-order.wav"
TIMEOUT = 120
#: Examples that are services: each has a test of its own below that drives it.
DRIVEN = {"threaded_server.py"}

#: example file name -> patterns its standard output must contain (re.search, multiline).
PROMISES: dict[str, tuple[str, ...]] = {
    "live_transcription.py": (r"^channel 0: .*\w", r"^channel 1: .*order", r"^\d+ finals$"),
    "supervised_streams.py": (
        r"^call-1-order: .*order",
        r"^lifecycle events: 3 Closed, 3 Opened$",
        r"^3 of 3 calls finished cleanly$",
    ),
    "batch_transcription.py": (r"^call-1-order: ok .*channel \d: ", r"^3 of 3 calls ok$"),
    "speak_streaming.py": (r"^wrote .*speech\.wav: \d+ bytes, [1-9][\d.]* s of 16 kHz speech$",),
    "agent_conversation.py": (
        r"^user:  What is 2 \+ 2\?$",
        r"^agent: .*4",
        r"^[1-9]\d* bytes of agent speech$",
    ),
}


def offline_env() -> dict[str, str]:
    """This process's environment without a Deepgram key, with the checkout importable."""
    env = {k: v for k, v in os.environ.items() if k != "DEEPGRAM_API_KEY"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def test_the_examples_folder_has_one_example_per_use() -> None:
    names = {path.name for path in EXAMPLES}
    assert set(PROMISES) | DRIVEN <= names, names


@pytest.mark.timeout(TIMEOUT + 10)
@pytest.mark.parametrize("example", [p for p in EXAMPLES if p.name not in DRIVEN], ids=lambda p: p.name)
def test_example_runs_and_prints_what_it_promises(example: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(example)],
        cwd=ROOT,
        env=offline_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, f"{example.name} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert done.stdout.strip(), f"{example.name} printed nothing"
    for pattern in PROMISES.get(example.name, ()):
        found = re.search(pattern, done.stdout, flags=re.M)
        assert found, f"{example.name}: no {pattern!r} in\n{done.stdout}"


@pytest.mark.timeout(TIMEOUT + 10)
def test_threaded_server_example_transcribes_a_posted_call_and_stops_on_sigterm() -> None:
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "threaded_server.py"), "--port", "0"],
        cwd=ROOT,
        env=offline_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()  # blocks until the server listens (or exits)
        match = re.match(r"listening on (http://\S+)$", first.strip())
        assert match, f"unexpected first line {first!r}"
        url = match.group(1) + "/transcribe"
        request = urllib.request.Request(url, data=SAMPLE.read_bytes(), method="POST")
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            answer = json.loads(response.read())
        assert len(answer["channels"]) == 2, answer
        assert "order" in answer["transcript"], answer
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=30)
        assert server.returncode == 0, err
        assert out.strip() == "stopped", out
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
