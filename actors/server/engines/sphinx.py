"""Real speech-to-text: pocketsphinx (its bundled US-English model) in worker processes.

pocketsphinx holds the GIL while decoding, so decoders live in a small pool of worker processes
owned by :class:`SphinxPool` (named ``actors-sphinx-worker-N``, started on first use, stopped
by :meth:`SphinxPool.close`). Each :class:`SphinxRecognizer` is a stream on one worker; every
call is a synchronous request over that worker's pipe (serialized by a lock), so a worker serves
many streams one call at a time while other workers run in parallel.

In the worker, audio is resampled to 16 kHz, gated by ``pocketsphinx.Endpointer`` (VAD):
``start_utt`` on speech start, ``end_utt`` on speech end (words then become final), ``hyp()``
for interim words. Decoders are reused across streams of a worker so their CMN stays warm
(ENGINES.md: a cold decoder costs a lot of WER). Pronunciation suffixes (``to(2)``) and fillers
(``<sil>``, ``[NOISE]``) are stripped.
"""

from __future__ import annotations

import audioop  # stdlib up to 3.12; the audioop-lts wheel provides it from 3.13
import contextlib
import itertools
import re
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any

from actors.errors import ActorsError
from actors.server.engines.base import Word

DECODER_RATE = 16000
_VARIANT = re.compile(r"\(\d+\)$")
_STOP = "stop"


# -- worker process side ---------------------------------------------------------------------------


class _Stream:
    """One recognition stream inside a worker process."""

    def __init__(self, sample_rate: int, decoder: Any) -> None:
        from pocketsphinx import Endpointer

        self.sample_rate = sample_rate
        self.decoder = decoder
        self.endpointer = Endpointer(sample_rate=DECODER_RATE)
        self.frame_bytes = self.endpointer.frame_bytes
        self.ratecv_state: Any = None
        self.pending = b""
        self.odd = b""
        self.samples_in = 0
        self.in_utt = False
        self.utt_start = 0.0
        self.speech_started_at: float | None = None
        self.last_voice_end: float | None = None
        self.final: list[tuple[str, float, float, float]] = []

    def feed(self, pcm: bytes) -> tuple[float, bool, float | None, float | None]:
        data = self.odd + pcm
        usable = len(data) - len(data) % 2
        data, self.odd = data[:usable], data[usable:]
        self.samples_in += len(data) // 2
        if self.sample_rate != DECODER_RATE:
            data, self.ratecv_state = audioop.ratecv(
                data, 2, 1, self.sample_rate, DECODER_RATE, self.ratecv_state
            )
        self.pending += data
        while len(self.pending) >= self.frame_bytes:
            frame, self.pending = self.pending[: self.frame_bytes], self.pending[self.frame_bytes :]
            self._frame(frame)
        return self.state()

    def state(self) -> tuple[float, bool, float | None, float | None]:
        return (
            self.samples_in / self.sample_rate,
            bool(self.endpointer.in_speech),
            self.speech_started_at,
            self.last_voice_end,
        )

    def _frame(self, frame: bytes) -> None:
        speech = self.endpointer.process(frame)
        if self.endpointer.in_speech and not self.in_utt:
            self.in_utt = True
            self.utt_start = float(self.endpointer.speech_start)
            self.speech_started_at = self.utt_start
            self.decoder.start_utt()
        if speech is not None and self.in_utt:
            self.decoder.process_raw(speech, False, False)
        if not self.endpointer.in_speech and self.in_utt:
            self._end_utt()
            self.last_voice_end = float(self.endpointer.speech_end)

    def _end_utt(self) -> None:
        self.decoder.end_utt()
        self.final.extend(self._words(final=True))
        self.in_utt = False

    def _words(self, final: bool) -> list[tuple[str, float, float, float]]:
        out = []
        for segment in self.decoder.seg():
            word = _VARIANT.sub("", segment.word)
            if not word or word.startswith(("<", "[")):
                continue
            start = self.utt_start + segment.start_frame / 100
            end = self.utt_start + (segment.end_frame + 1) / 100
            confidence = float(segment.prob) if final else 0.5
            out.append((word, round(start, 3), round(end, 3), round(min(max(confidence, 0.0), 1.0), 4)))
        return out

    def hypothesis(self) -> list[tuple[str, float, float, float]]:
        partial = self._words(final=False) if self.in_utt and self.decoder.hyp() is not None else []
        return self.final + partial

    def commit(self) -> list[tuple[str, float, float, float]]:
        if self.in_utt:
            self._end_utt()
            self.in_utt = True  # keep the utterance going on the same speech region
            self.utt_start = self.samples_in / self.sample_rate
            self.decoder.start_utt()
        words, self.final = self.final, []
        return words

    def close(self) -> None:
        if self.in_utt:
            self.decoder.end_utt()
            self.in_utt = False


def _worker_main(connection: Connection) -> None:
    """Serve requests ``(op, stream_id, payload)`` until ``stop``; reply ``(ok, value)``."""
    from pocketsphinx import Decoder

    idle_decoders: list[Any] = []
    streams: dict[int, _Stream] = {}
    while True:
        try:
            op, stream_id, payload = connection.recv()
        except EOFError:
            return
        if op == _STOP:
            connection.send((True, None))
            return
        try:
            if op == "open":
                decoder = (
                    idle_decoders.pop() if idle_decoders else Decoder(samprate=DECODER_RATE, loglevel="FATAL")
                )
                streams[stream_id] = _Stream(payload, decoder)
                result: Any = None
            elif op == "feed":
                result = streams[stream_id].feed(payload)
            elif op == "hypothesis":
                result = streams[stream_id].hypothesis()
            elif op == "commit":
                result = streams[stream_id].commit()
            elif op == "close":
                stream = streams.pop(stream_id, None)
                if stream is not None:
                    stream.close()
                    idle_decoders.append(stream.decoder)
                result = None
            else:
                raise ValueError(f"unknown request {op!r}")
            connection.send((True, result))
        except Exception as exc:
            connection.send((False, f"{type(exc).__name__}: {exc}"))


# -- server process side ---------------------------------------------------------------------------


class _Worker:
    """One owned worker process (``python -m actors.server.engines.sphinx``) and the socket to it.

    A fresh interpreter rather than ``multiprocessing`` spawn/fork: spawn re-imports the user's
    ``__main__`` (breaking unguarded scripts) and fork is unsafe in a threaded server.
    """

    def __init__(self, index: int) -> None:
        self.name = f"actors-sphinx-worker-{index}"
        parent, child = socket.socketpair()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-W",
                "ignore::DeprecationWarning",
                "-m",
                "actors.server.engines.sphinx",
                str(child.fileno()),
                self.name,
            ],
            pass_fds=(child.fileno(),),
            stdin=subprocess.DEVNULL,
        )
        child.close()
        self.connection = Connection(parent.detach())
        self.lock = threading.Lock()

    def call(self, op: str, stream_id: int, payload: Any = None) -> Any:
        with self.lock:
            try:
                self.connection.send((op, stream_id, payload))
                ok, value = self.connection.recv()
            except (EOFError, OSError, BrokenPipeError) as exc:
                raise ActorsError(f"pocketsphinx worker {self.name} is gone: {exc}") from exc
        if not ok:
            raise ActorsError(f"pocketsphinx worker {self.name} failed: {value}")
        return value

    def stop(self, timeout: float = 5.0) -> None:
        with contextlib.suppress(ActorsError):  # already gone: just reap it
            self.call(_STOP, 0)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)
        self.connection.close()


class SphinxPool:
    """The owned pool of pocketsphinx worker processes; recognizers are spread round-robin."""

    def __init__(self, workers: int = 2) -> None:
        if workers < 1:
            raise ActorsError(f"the pocketsphinx pool needs at least one worker, got {workers}")
        self.size = workers
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._closed = False

    def recognizer(self, sample_rate: int) -> SphinxRecognizer:
        """Open a stream on the next worker (starting the workers on first use)."""
        if sample_rate < 1000:
            raise ActorsError(f"sample_rate must be at least 1000 Hz, got {sample_rate}")
        with self._lock:
            if self._closed:
                raise ActorsError("the pocketsphinx pool is closed (the server stopped)")
            if not self._workers:
                self._workers = [_Worker(index) for index in range(self.size)]
            stream_id = next(self._ids)
            worker = self._workers[stream_id % len(self._workers)]
        worker.call("open", stream_id, sample_rate)
        return SphinxRecognizer(worker, stream_id, sample_rate)

    def close(self) -> None:
        """Stop and join every worker process. Idempotent."""
        with self._lock:
            self._closed = True
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.stop()


class SphinxRecognizer:
    """A :class:`~actors.server.engines.base.Recognizer` backed by a stream on a worker process."""

    def __init__(self, worker: _Worker, stream_id: int, sample_rate: int) -> None:
        self._worker = worker
        self._id = stream_id
        self.sample_rate = sample_rate
        self.audio_seconds = 0.0
        self.in_speech = False
        self.speech_started_at: float | None = None
        self.last_voice_end: float | None = None
        self._closed = False

    def feed(self, pcm: bytes) -> None:
        """Send audio to the worker and update the voice activity state."""
        if self._closed:
            raise ActorsError("SphinxRecognizer.feed called after close()")
        state = self._worker.call("feed", self._id, bytes(pcm))
        self.audio_seconds, self.in_speech, self.speech_started_at, self.last_voice_end = state

    def hypothesis(self) -> list[Word]:
        """Final-but-uncommitted words plus the current partial hypothesis."""
        return [Word(*item) for item in self._worker.call("hypothesis", self._id)]

    def commit(self) -> list[Word]:
        """End the current utterance (if any) and return every uncommitted word."""
        return [Word(*item) for item in self._worker.call("commit", self._id)]

    def close(self) -> None:
        """Release the stream (its decoder goes back to the worker's warm pool)."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(ActorsError):  # the worker is gone (server stopping): nothing to release
            self._worker.call("close", self._id)


if __name__ == "__main__":  # a worker process started by _Worker: argv = [fd, name]
    _worker_main(Connection(int(sys.argv[1])))
