"""The pocketsphinx pool: reproducible results whatever the worker history, word timings, worker lifecycle."""

from __future__ import annotations

import array
import audioop
import contextlib
import json
import os
import signal
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from actors.errors import ActorsError
from actors.server import LocalServer
from actors.server.engines.base import Word
from actors.server.engines.espeak import EspeakSynthesizer
from actors.server.engines.real import RealEngine
from actors.server.engines.sphinx import SphinxRecognizer, _Worker
from tests.server.streaming import collect, of_type, open_ws, send_chunked

pytest.importorskip("pocketsphinx")
pytest.importorskip("espeakng_loader")

SAMPLES = Path(__file__).resolve().parents[2] / "actors" / "samples"
CHUNK_MS = 20


@pytest.fixture
def engine() -> Iterator[RealEngine]:
    """A real engine with two workers, closed (workers joined) at teardown."""
    real = RealEngine(workers=2)
    try:
        yield real
    finally:
        real.close()


def sample_channel(name: str, channel: int) -> bytes:
    """One channel of a shipped stereo sample call, 16 kHz linear16."""
    with wave.open(str(SAMPLES / f"{name}.wav")) as wav:
        assert (wav.getnchannels(), wav.getframerate()) == (2, 16000)
        stereo = wav.readframes(wav.getnframes())
    return audioop.tomono(stereo, 2, 1 - channel, channel)


def transcribe(recognizer: SphinxRecognizer, audio: bytes, rate: int = 16000) -> list[Word]:
    """Feed ``audio`` in 20 ms chunks, then commit; closes the recognizer."""
    chunk = rate * 2 * CHUNK_MS // 1000
    try:
        for offset in range(0, len(audio), chunk):
            recognizer.feed(audio[offset : offset + chunk])
        return recognizer.commit()
    finally:
        recognizer.close()


def onset_seconds(pcm: bytes, rate: int, threshold: int = 300) -> float:
    """Time of the first sample louder than ``threshold``."""
    samples = array.array("h", pcm)
    return next(i for i, s in enumerate(samples) if abs(s) > threshold) / rate


def test_same_audio_gives_identical_words_on_any_worker_in_any_order(engine: RealEngine) -> None:
    audio = sample_channel("call-1-order", 1)
    other = sample_channel("call-3-shipping", 0)
    first = engine.recognizer(16000)
    reference = transcribe(first, audio)  # a fresh decoder on its worker
    assert len(reference) >= 5, reference

    # The other worker decodes different audio first, then the same audio.
    transcribe(engine.recognizer(16000), other)
    runs = [transcribe(engine.recognizer(16000), audio)]
    # Both workers again, concurrently, each with a history now.
    recognizers = [engine.recognizer(16000), engine.recognizer(16000)]
    assert {r.worker_name for r in recognizers} == {"actors-sphinx-worker-0", "actors-sphinx-worker-1"}
    results: list[list[Word]] = [[], []]

    def run(index: int) -> None:
        results[index] = transcribe(recognizers[index], audio)

    threads = [threading.Thread(target=run, args=(i,), name=f"test-transcribe-{i}") for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    runs += results
    for run_words in runs:
        assert run_words == reference  # words, timings and confidences


@pytest.mark.parametrize("rate", [8000, 16000, 48000])
def test_speech_start_and_first_word_match_the_known_onset(engine: RealEngine, rate: int) -> None:
    speech = EspeakSynthesizer().synthesize("Hello. I want to check my order.", rate)
    lead = 1.2
    onset = lead + onset_seconds(speech, rate)
    audio = bytes(2 * int(lead * rate)) + speech + bytes(2 * rate)
    recognizer = engine.recognizer(rate)
    starts: list[float] = []
    chunk = rate * 2 * CHUNK_MS // 1000
    try:
        for offset in range(0, len(audio), chunk):
            recognizer.feed(audio[offset : offset + chunk])
            if recognizer.in_speech and recognizer.speech_started_at is not None and not starts:
                starts.append(recognizer.speech_started_at)
        words = recognizer.commit()
    finally:
        recognizer.close()
    assert starts and starts[0] == pytest.approx(onset, abs=0.06)
    assert words and words[0].start == pytest.approx(onset, abs=0.1)
    end_of_speech = lead + len(speech) / 2 / rate
    assert words[-1].end == pytest.approx(end_of_speech, abs=0.15)


def test_commit_in_the_middle_of_speech_keeps_word_timings(engine: RealEngine) -> None:
    synthesizer = EspeakSynthesizer()
    speech = synthesizer.synthesize("The weather today is sunny with a light breeze over the hills.", 16000)
    audio = bytes(16000) + speech + bytes(32000)
    whole = transcribe(engine.recognizer(16000), audio)
    cut = 2 * int(16000 * (1.0 + len(speech) / 2 / 16000 / 2))  # half-way through the speech
    recognizer = engine.recognizer(16000)
    try:
        for offset in range(0, cut, 640):
            recognizer.feed(audio[offset : min(offset + 640, cut)])
        before = recognizer.commit()
        for offset in range(cut, len(audio), 640):
            recognizer.feed(audio[offset : offset + 640])
        after = recognizer.commit()
    finally:
        recognizer.close()
    assert before and after
    assert all(b.end <= a.start + 0.05 for b in before[-1:] for a in after[:1])
    reference = {w.text: w for w in whole}
    matched = [(w, reference[w.text]) for w in after if w.text in reference and w.start > before[-1].end]
    assert matched, (whole, after)
    for word, ref in matched:
        assert word.start == pytest.approx(ref.start, abs=0.1), (word, ref)


def test_a_killed_worker_fails_its_stream_at_once_and_is_replaced(engine: RealEngine) -> None:
    recognizer = engine.recognizer(16000)
    victim = next(w for w in engine.pool.workers if w.name == recognizer.worker_name)
    recognizer.feed(bytes(3200))
    os.kill(victim.process.pid, signal.SIGKILL)
    started = time.monotonic()
    with pytest.raises(ActorsError, match=rf"{victim.name} \(pid \d+\) exited with status -9"):
        recognizer.feed(bytes(3200))
    assert time.monotonic() - started < 5
    with pytest.raises(ActorsError, match="exited"):  # every later call fails the same way, at once
        recognizer.hypothesis()
    recognizer.close()  # releasing a stream of a dead worker is quiet

    speech = bytes(16000) + EspeakSynthesizer().synthesize("The lazy dog.", 16000) + bytes(32000)
    names = set()
    for _ in range(2):  # one stream per worker: the dead one is replaced
        fresh = engine.recognizer(16000)
        names.add(fresh.worker_name)
        assert {"lazy", "dog"} & {w.text for w in transcribe(fresh, speech)}
    assert names == {"actors-sphinx-worker-0", "actors-sphinx-worker-1"}
    workers = engine.pool.workers
    assert victim not in workers and all(w.alive for w in workers)
    assert victim.process.returncode == -9  # reaped


def test_a_worker_that_dies_after_the_liveness_check_does_not_fail_a_new_stream(
    engine: RealEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine.recognizer(16000).close()  # both workers started
    victims = engine.pool.workers
    for victim in victims:
        os.kill(victim.process.pid, signal.SIGKILL)
        victim.process.wait(5)
    # A SIGKILL takes a moment to land: the pool's check can still see the process running.
    # Simulate exactly that: only a failed request shows the death.
    monkeypatch.setattr(_Worker, "alive", property(lambda worker: worker.failure is None))
    fresh = engine.recognizer(16000)  # the open on a dead worker is retried on a new one
    assert fresh.worker_name in {v.name for v in victims}
    assert fresh._worker not in victims and fresh._worker.alive
    fresh.feed(bytes(3200))
    fresh.close()


def test_workers_are_named_and_stop_with_the_server() -> None:
    psutil = pytest.importorskip("psutil")
    speech = bytes(16000) + EspeakSynthesizer().synthesize("Hello world.", 16000) + bytes(32000)
    with LocalServer(engine="real") as server:
        with open_ws(server, "/v1/listen", {"encoding": "linear16", "sample_rate": 16000}) as ws:
            send_chunked(ws, speech)
            ws.send('{"type": "CloseStream"}')
            messages = collect(ws, timeout=20)
        assert of_type(messages, "Metadata")
        workers = server.engine.pool.workers
        assert [w.name for w in workers] == ["actors-sphinx-worker-0", "actors-sphinx-worker-1"]
        for worker in workers:
            assert worker.name in psutil.Process(worker.process.pid).cmdline()
    assert all(worker.process.poll() is not None for worker in workers)


def test_a_worker_crash_closes_the_listen_stream_instead_of_hanging() -> None:
    with LocalServer(engine="real") as server:
        with open_ws(server, "/v1/listen", {"encoding": "linear16", "sample_rate": 16000}) as ws:
            ws.send(bytes(6400))
            # Hooks run in order: the Sync answer means the audio's hook is done, so the stream's
            # recognizer is open on a worker (the pool lists workers before they answered).
            ws.send(json.dumps({"type": "Sync", "id": 1}))
            while json.loads(ws.recv(timeout=30))["type"] != "Sync":
                pass
            for worker in server.engine.pool.workers:
                os.kill(worker.process.pid, signal.SIGKILL)
            started = time.monotonic()
            with contextlib.suppress(ConnectionClosed):  # the server may have closed already
                ws.send(bytes(3200))
            collect(ws, timeout=10)
            assert time.monotonic() - started < 10
            assert ws.close_code == 1011
        # the next stream gets new workers and is served
        with open_ws(server, "/v1/listen", {"encoding": "linear16", "sample_rate": 16000}) as ws:
            send_chunked(ws, bytes(16000))
            ws.send('{"type": "CloseStream"}')
            messages = collect(ws, timeout=20)
        assert of_type(messages, "Metadata")
        assert all(w.alive for w in server.engine.pool.workers)


@pytest.mark.parametrize("frame_aligned", [False, True])
def test_commit_decodes_speech_up_to_the_last_byte_fed(engine: RealEngine, frame_aligned: bool) -> None:
    speech = EspeakSynthesizer().synthesize("Please turn off the lights in the kitchen.", 16000)
    audio = bytes(16000) + speech  # the stream ends while the speaker is still talking
    if frame_aligned:  # nothing left over between the VAD's 30 ms frames
        audio = audio[: len(audio) - len(audio) % 960]
    recognizer = engine.recognizer(16000)
    try:
        for offset in range(0, len(audio), 640):
            recognizer.feed(audio[offset : offset + 640])
        assert recognizer.in_speech
        words = recognizer.commit()
        assert not recognizer.in_speech and recognizer.last_voice_end == pytest.approx(
            len(audio) / 32000, abs=0.03
        )
    finally:
        recognizer.close()
    assert "kitchen" in [w.text for w in words]
    assert words[-1].end == pytest.approx(len(audio) / 32000, abs=0.1)


def test_a_hung_worker_is_killed_after_the_call_timeout_and_replaced() -> None:
    engine = RealEngine(workers=1, call_timeout=3.0)
    try:
        recognizer = engine.recognizer(16000)
        recognizer.feed(bytes(3200))
        (hung,) = engine.pool.workers
        os.kill(hung.process.pid, signal.SIGSTOP)
        started = time.monotonic()
        with pytest.raises(ActorsError, match=r"actors-sphinx-worker-0 .* no answer within 3 s, killed it"):
            recognizer.feed(bytes(3200))
        assert 2.5 < time.monotonic() - started < 8
        assert hung.process.returncode == -signal.SIGKILL
        fresh = engine.recognizer(16000)
        fresh.feed(bytes(3200))
        assert fresh.audio_seconds == pytest.approx(0.1)
        fresh.close()
        assert engine.pool.workers[0] is not hung
    finally:
        engine.close()
