"""`python -m actors serve` in a subprocess: prints its URL, serves Listen V1, exits 0 on SIGINT."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys

from websockets.sync.client import connect

from actors.server.engines.deterministic import silence, synthesize_words


def test_serve_runs_until_interrupted() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "actors",
            "serve",
            "--port",
            "0",
            "--engine",
            "deterministic",
            "--api-key",
            "k",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"ws://127\.0\.0\.1:\d+", line)
        assert match, line
        url = f"{match.group(0)}/v1/listen?model=nova-3&encoding=linear16&sample_rate=16000"
        with connect(url, additional_headers={"Authorization": "Token k"}) as ws:
            ws.send(synthesize_words(["cli"], 16000) + silence(0.2))
            ws.send(json.dumps({"type": "CloseStream"}))
            messages = [json.loads(frame) for frame in ws]
        assert messages[0]["channel"]["alternatives"][0]["transcript"] == "cli"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_reports_a_taken_port() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "actors", "serve", "--port", str(port), "--engine", "deterministic"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2
    assert "actors serve:" in result.stdout
