"""``examples/threaded_server.py`` against the local server with the REAL engine (pocketsphinx).

20 concurrent HTTP requests on one shared ``DeepgramClient`` keep the engine's small worker pool
busy for longer than the old flat 10 s finish deadline; every request must still get the
transcript the engine gives its audio alone (the engine's output depends only on the audio).
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from actors import DeepgramClient, DeepgramClientEnvironment
from actors.server import LocalServer
from tests.support.threads import run_together
from tests.support.wav import wav_bytes

pytest.importorskip("pocketsphinx")
pytest.importorskip("espeakng_loader")

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = REPO_ROOT / "examples" / "threaded_server.py"
SENTENCES = (
    "The lazy dog sleeps in the sun. I want to check my order.",
    "Thank you for calling. How can I help you today?",
    "Sure. What is the order number? It is five five five one two.",
    "Hello. The quick brown fox jumps over the lazy dog.",
)
REQUESTS = 20
RATE = 16000


def load_example() -> ModuleType:
    """The example as a module (``examples/`` is not a package)."""
    spec = importlib.util.spec_from_file_location("threaded_server_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bodies() -> list[bytes]:
    """One WAV body per sentence: espeak speech with a little silence around it."""
    from actors.server.engines.espeak import EspeakSynthesizer

    synth = EspeakSynthesizer()
    return [
        wav_bytes(bytes(RATE // 2) + synth.synthesize(text, RATE) + bytes(RATE // 2)) for text in SENTENCES
    ]


def post(url: str, body: bytes, timeout: float = 110.0) -> tuple[int, dict[str, Any]]:
    """POST ``body`` to ``url``; ``(status, JSON answer)`` (error statuses too)."""
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def transcription_server(make_server: Callable[..., LocalServer]) -> Iterator[Any]:
    """The example's server, in this process, on a real-engine local server; stopped at teardown."""
    local = make_server(engine="real")
    client = DeepgramClient(environment=DeepgramClientEnvironment.local(local.url))
    server = load_example().TranscriptionServer(("127.0.0.1", 0), client)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.timeout(240)
def test_twenty_concurrent_requests_each_get_their_own_transcript(
    transcription_server: Any, bodies: list[bytes]
) -> None:
    url = transcription_server.url + "/transcribe"
    # What the engine says for each sentence alone.
    expected = []
    for body in bodies:
        status, answer = post(url, body)
        assert status == 200, answer
        expected.append(answer["transcript"])
    assert all(expected), expected
    assert "lazy" in expected[0] and "dog" in expected[3]

    answers: dict[int, tuple[int, dict[str, Any]]] = run_together(
        REQUESTS,
        lambda i: post(url, bodies[i % len(bodies)]),
        name="test-client",
        start_timeout=30,
        join_timeout=200,
    )
    assert len(answers) == REQUESTS
    for i, (status, answer) in sorted(answers.items()):
        assert status == 200, f"request {i}: {answer}"
        assert answer["transcript"] == expected[i % len(bodies)], f"request {i}"
        assert answer["request_id"]
    assert len({answer["request_id"] for _, answer in answers.values()}) == REQUESTS


def test_bad_requests_get_a_clear_error(transcription_server: Any) -> None:
    base = transcription_server.url
    status, answer = post(base + "/elsewhere", b"\0\0")
    assert status == 404 and "/transcribe" in answer["error"]
    status, answer = post(base + "/transcribe?sample_rate=abc", b"\0\0")
    assert status == 400 and "sample_rate" in answer["error"]
    status, answer = post(base + "/transcribe?channels=2", b"\0\0")
    assert status == 400 and "whole 16-bit frames" in answer["error"]
    status, answer = post(base + "/transcribe", b"RIFF\0\0\0\0WAVEjunk")
    assert status == 400 and "WAV" in answer["error"]


@pytest.mark.timeout(120)
def test_the_script_serves_raw_pcm_and_shuts_down_cleanly_on_sigterm(
    make_server: Callable[..., LocalServer], bodies: list[bytes]
) -> None:
    local = make_server(engine="real")
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    env.pop("DEEPGRAM_API_KEY", None)
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "--port", "0", "--url", local.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("listening on http://"), first + process.stderr.read()  # type: ignore[union-attr]
        url = first.split()[-1] + "/transcribe?sample_rate=16000"
        with wave.open(io.BytesIO(bodies[0])) as wav:
            pcm = wav.readframes(wav.getnframes())
        status, answer = post(url, pcm)
        assert status == 200, answer
        assert "lazy" in answer["transcript"]
        process.terminate()
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert out.strip() == "stopped"
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
