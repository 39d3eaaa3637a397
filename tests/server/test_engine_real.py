"""The real engines: espeak-ng synthesis and pocketsphinx recognition in owned worker processes."""

from __future__ import annotations

import audioop
import json

import pytest

from actors.errors import ActorsError
from actors.server.engines import get_engine
from actors.server.engines.espeak import EspeakSynthesizer
from tests.server.streaming import open_ws

pytest.importorskip("pocketsphinx")
pytest.importorskip("espeakng_loader")


@pytest.mark.parametrize("rate", [8000, 16000, 24000, 48000])
def test_espeak_speaks_at_any_rate(rate: int) -> None:
    pcm = EspeakSynthesizer().synthesize("Hello world.", rate)
    seconds = len(pcm) / 2 / rate
    assert 0.5 < seconds < 3.0
    assert audioop.rms(pcm, 2) > 500  # real signal, not silence
    assert EspeakSynthesizer().synthesize("  ", rate) == b""


def test_pocketsphinx_recognizes_espeak_speech_and_workers_stop() -> None:
    engine = get_engine("real")
    speech = engine.synthesizer().synthesize("The lazy dog.", 16000)
    audio = bytes(16000) + speech + bytes(32000)
    recognizer = engine.recognizer(16000)
    try:
        for offset in range(0, len(audio), 640):
            recognizer.feed(audio[offset : offset + 640])
        assert recognizer.audio_seconds == pytest.approx(len(audio) / 32000)
        assert not recognizer.in_speech and recognizer.last_voice_end is not None
        words = recognizer.commit()
        assert words and all(w.start < w.end for w in words)
        assert {"lazy", "dog"} & {w.text for w in words}
        assert recognizer.hypothesis() == []
    finally:
        recognizer.close()
        workers = list(engine._pool._workers)  # type: ignore[attr-defined]
        engine.close()
    assert workers and all(worker.process.poll() is not None for worker in workers)
    with pytest.raises(ActorsError, match="closed"):
        engine.recognizer(16000)


def test_speak_endpoint_with_real_engine(make_server: object) -> None:
    server = make_server(engine="real")  # type: ignore[operator]
    with open_ws(server, "/v1/speak", {"encoding": "mulaw", "sample_rate": 8000}) as ws:
        ws.recv(timeout=5)
        ws.send(json.dumps({"type": "Speak", "text": "Real speech."}))
        ws.send(json.dumps({"type": "Flush"}))
        audio = bytearray()
        while isinstance(frame := ws.recv(timeout=10), bytes):
            audio += frame
    assert json.loads(frame)["type"] == "Flushed"
    assert audioop.rms(audioop.ulaw2lin(bytes(audio), 2), 2) > 500
