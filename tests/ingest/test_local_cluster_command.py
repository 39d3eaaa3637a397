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

import pytest

from actors.server import LocalServer
from tests.support.haproxy import haproxy_binary
from tests.support.resolver import REPO_ROOT

PASSWORD = "not-in-any-log-7f3a"


@pytest.mark.timeout(90)
def test_the_command_starts_two_instances_behind_haproxy_and_drains_on_sigterm(postgres_url: str) -> None:
    haproxy_binary()
    env = {k: v for k, v in os.environ.items() if k != "DEEPGRAM_API_KEY"}
    # The store goes in the environment, not on a command line. The test server trusts every local
    # connection, so the password is ignored by it: it is there to show that no output carries it.
    env["ACTORS_INGEST_STORE"] = postgres_url.replace("postgres@", f"postgres:{PASSWORD}@", 1)
    with LocalServer(engine="deterministic") as deepgram:
        argv = [sys.executable, "-m", "actors.ingest.local_cluster", "--instances", "2", "--port", "0"]
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
