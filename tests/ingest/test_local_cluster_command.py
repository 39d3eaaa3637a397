"""``python -m actors.ingest.local_cluster`` as a user runs it: 2 instances + haproxy on PostgreSQL,
the JSON API answering through haproxy, SIGTERM draining everything and exiting 0."""

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

from actors.server import LocalServer
from tests.support.haproxy import haproxy_binary
from tests.support.resolver import REPO_ROOT

PASSWORD = "not-in-any-log-7f3a"


@pytest.mark.timeout(90)
@pytest.mark.parametrize(
    "command", [["-m", "actors", "ingest-cluster"], ["-m", "actors.ingest.local_cluster"]]
)
def test_the_command_starts_two_instances_behind_haproxy_and_drains_on_sigterm(
    postgres_url: str, command: list[str]
) -> None:
    haproxy_binary()
    env = {k: v for k, v in os.environ.items() if k != "DEEPGRAM_API_KEY"}
    # The store goes in the environment, not on a command line. The test server trusts every local
    # connection, so the password is ignored by it: it is there to show that no output carries it.
    env["ACTORS_INGEST_STORE"] = postgres_url.replace("postgres@", f"postgres:{PASSWORD}@", 1)
    with LocalServer(engine="deterministic") as deepgram:
        argv = [sys.executable, *command, "--instances", "2", "--port", "0"]
        proc = subprocess.Popen(
            [*argv, "--", "--url", deepgram.url], stderr=subprocess.PIPE, text=True, env=env, cwd=REPO_ROOT
        )
        assert proc.stderr is not None
        lines: list[str] = []
        try:
            for line in proc.stderr:
                lines.append(line)
                match = re.search(r"^local_cluster: 2 instance\(s\) behind (http://\S+) ", line)
                if match:
                    url = match.group(1)
                    break
            else:
                pytest.fail("".join(lines))
            with urllib.request.urlopen(f"{url}/readyz", timeout=10) as answer:
                assert answer.status == 200
            with urllib.request.urlopen(f"{url}/v1/calls", timeout=10) as answer:
                assert json.loads(answer.read()) == {"calls": []}
            assert any(line.startswith("[ingest-1] ") for line in lines), "".join(lines)
            assert any(line.startswith("[ingest-2] ") for line in lines), "".join(lines)
            assert PASSWORD not in "".join(lines)
            proc.send_signal(signal.SIGTERM)
            _, rest = proc.communicate(timeout=60)
            assert proc.returncode == 0, "".join(lines) + (rest or "")
            assert PASSWORD not in rest
        finally:
            if proc.poll() is None:  # a failed assertion: SIGTERM stops its children too (SIGKILL would not)
                proc.terminate()
                try:
                    proc.communicate(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(30)


@pytest.mark.timeout(90)
def test_an_instance_whose_stderr_reader_died_still_drains_and_exits_0(tmp_path: Path) -> None:
    """A launcher that is SIGKILLed leaves its instances with a broken stderr pipe: SIGTERM must still
    drain them (a failed status line used to end the command before the drain, and the process then
    hung on the service's threads)."""
    env = {k: v for k, v in os.environ.items() if k != "DEEPGRAM_API_KEY"}
    with LocalServer(engine="deterministic") as deepgram:
        argv = [sys.executable, "-m", "actors", "ingest", "--port", "0", "--url", deepgram.url]
        argv += ["--store", f"sqlite:///{tmp_path}/ingest.sqlite3"]
        proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO_ROOT)
        try:
            assert proc.stderr is not None
            for line in proc.stderr:
                if line.startswith("actors ingest: listening on"):
                    break
            proc.stderr.close()  # the reader is gone: every later write to stderr fails (EPIPE)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)


def test_bad_arguments_are_refused_naming_what_was_wrong() -> None:
    env = {k: v for k, v in os.environ.items() if k != "ACTORS_INGEST_STORE"}
    for args, says in [
        (["--instances", "x"], "argument --instances: invalid int value: 'x'"),
        (["--store", "sqlite:///x.db"], "postgresql:// --store"),
        (["--print-haproxy-config"], "--print-haproxy-config needs --backend"),
        (["--print-haproxy-config", "--backend", "nohost"], "expected NAME=HOST:PORT, got 'nohost'"),
    ]:
        done = subprocess.run(
            [sys.executable, "-m", "actors", "ingest-cluster", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO_ROOT,
            timeout=60,
        )
        assert done.returncode == 2 and says in done.stderr, (args, done.stderr)
