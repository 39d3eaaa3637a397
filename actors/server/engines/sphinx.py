"""Real speech-to-text: pocketsphinx (its bundled US-English model) in worker processes.

pocketsphinx holds the GIL while decoding, so decoders live in a small pool of worker processes
owned by :class:`SphinxPool` (named ``actors-sphinx-worker-N``, started on first use, stopped
by :meth:`SphinxPool.close`). Each :class:`SphinxRecognizer` is a stream on one worker; every
call is a synchronous request over that worker's socket (serialized by a lock), so a worker
serves many streams one call at a time while other workers run in parallel. A worker that dies
fails the calls of its streams with an :class:`~actors.errors.ActorsError` at once (never a
hang) and is replaced for the next stream.

In the worker, audio is resampled to 16 kHz, gated by ``pocketsphinx.Endpointer`` (VAD):
``start_utt`` on speech start, ``end_utt`` on speech end (words then become final), ``hyp()``
for interim words. Decoders are reused across streams (creating one costs ~0.5 s), but every
stream starts from the same state: features re-initialized and the cepstral mean set to the
learned :data:`~actors.server.engines.cmninit.CMNINIT`, so a stream's words, timings and
confidences depend on its audio only, never on which worker decoded what before.
Pronunciation suffixes (``to(2)``) and fillers (``<sil>``, ``[NOISE]``) are stripped.
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
import time
from multiprocessing.connection import Connection
from typing import Any

from actors.errors import ActorsError
from actors.server.engines.base import Word
from actors.server.engines.cmninit import CMNINIT

DECODER_RATE = 16000
#: A worker that has not answered one request within this many seconds is killed and replaced.
CALL_TIMEOUT_SECONDS = 60.0
_LIVENESS_POLL_SECONDS = 0.5
_VARIANT = re.compile(r"\(\d+\)$")
_STOP = "stop"

WordTuple = tuple[str, float, float, float]


# -- worker process side ---------------------------------------------------------------------------


class Stream:
    """One recognition stream on a decoder: resampling, Endpointer gating, utterances, word timings.

    With ``cmninit`` set (the worker always sets it) the decoder's features are re-initialized and
    its cepstral mean set to ``cmninit`` first, so the stream's output depends on its audio only.
    ``search=False`` only extracts features (used to learn the cepstral mean; no words result).
    """

    def __init__(
        self, sample_rate: int, decoder: Any, *, cmninit: str | None = None, search: bool = True
    ) -> None:
        if cmninit is not None:
            decoder.reinit_feat()
            decoder.set_cmn(cmninit)
        self.sample_rate = sample_rate
        self.decoder = decoder
        self.search = search
        self.endpointer = _new_endpointer()
        # Audio time (s) at which the current Endpointer started: its timestamps are relative to it.
        self.endpointer_origin = 0.0
        self.frames_consumed = 0  # 16 kHz samples handed to Endpointers so far
        self.frame_bytes = self.endpointer.frame_bytes
        self.ratecv_state: Any = None
        self.pending = b""
        self.odd = b""
        self.samples_in = 0
        self.in_utt = False
        self.utt_start = 0.0
        self.speech_started_at: float | None = None
        self.last_voice_end: float | None = None
        self.final: list[WordTuple] = []

    def feed(self, pcm: bytes) -> tuple[float, bool, float | None, float | None]:
        """Consume linear16 at the stream's rate; return the voice activity state (see :meth:`state`)."""
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
        """``(audio_seconds, in_speech, speech_started_at, last_voice_end)``."""
        return (
            self.samples_in / self.sample_rate,
            bool(self.endpointer.in_speech),
            self.speech_started_at,
            self.last_voice_end,
        )

    def _frame(self, frame: bytes) -> None:
        speech = self.endpointer.process(frame)
        self.frames_consumed += len(frame) // 2
        if self.endpointer.in_speech and not self.in_utt:
            self.in_utt = True
            self.utt_start = self.endpointer_origin + float(self.endpointer.speech_start)
            self.speech_started_at = self.utt_start
            self.decoder.start_utt()
        if speech is not None and self.in_utt:
            self.decoder.process_raw(speech, not self.search, False)
        if not self.endpointer.in_speech and self.in_utt:
            self._end_utt()
            self.last_voice_end = self.endpointer_origin + float(self.endpointer.speech_end)

    def _drain_endpointer(self) -> None:
        """Decode the speech the Endpointer still holds (its window) and start a fresh Endpointer.

        Used when an utterance is forced to end while speech continues (Finalize, CloseStream):
        otherwise the last ~0.3 s of audio sent (often the last word) would never be decoded.
        """
        last = self.pending or bytes(2)  # end_stream needs a non-empty last frame
        tail = self.endpointer.end_stream(last)
        self.frames_consumed += len(last) // 2
        self.pending = b""
        if tail:
            self.decoder.process_raw(tail, not self.search, False)
        self.endpointer = _new_endpointer()
        self.endpointer_origin = self.frames_consumed / DECODER_RATE
        self.last_voice_end = self.endpointer_origin

    def _end_utt(self) -> None:
        self.decoder.end_utt()
        if self.search:
            self.final.extend(self._words(final=True))
        self.in_utt = False

    def _words(self, final: bool) -> list[WordTuple]:
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

    def hypothesis(self) -> list[WordTuple]:
        """Final-but-uncommitted words plus the current partial hypothesis."""
        partial = (
            self._words(final=False) if self.search and self.in_utt and self.decoder.hyp() is not None else []
        )
        return self.final + partial

    def commit(self) -> list[WordTuple]:
        """End the current utterance (if any), decoding all audio fed so far; return the uncommitted words.

        Speech that continues after a commit starts a new utterance (the VAD restarts).
        """
        if self.in_utt:
            self._drain_endpointer()
            self._end_utt()
        words, self.final = self.final, []
        return words

    def close(self) -> None:
        """End a running utterance so the decoder can serve another stream."""
        if self.in_utt:
            self.decoder.end_utt()
            self.in_utt = False


def _new_endpointer() -> Any:
    from pocketsphinx import Endpointer

    return Endpointer(sample_rate=DECODER_RATE)


def _worker_main(connection: Connection) -> None:
    """Serve requests ``(op, stream_id, payload)`` until ``stop``; reply ``(ok, value)``."""
    from pocketsphinx import Decoder

    idle_decoders: list[Any] = []
    streams: dict[int, Stream] = {}
    while True:
        try:
            op, stream_id, payload = connection.recv()
        except EOFError:  # the server went away: nothing left to serve
            return
        if op == _STOP:
            connection.send((True, None))
            return
        try:
            if op == "open":
                decoder = (
                    idle_decoders.pop() if idle_decoders else Decoder(samprate=DECODER_RATE, loglevel="FATAL")
                )
                streams[stream_id] = Stream(payload, decoder, cmninit=CMNINIT)
                result: Any = None
            elif op == "feed":
                result = streams[stream_id].feed(payload)
            elif op == "hypothesis":
                result = streams[stream_id].hypothesis()
            elif op == "commit":  # the voice activity state changes too (a forced end of speech)
                committing = streams[stream_id]
                result = (committing.commit(), committing.state())
            elif op == "close":
                closing = streams.pop(stream_id, None)
                if closing is not None:
                    closing.close()
                    idle_decoders.append(closing.decoder)
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
    ``__main__`` (breaking unguarded scripts) and fork is unsafe in a threaded server. Once a
    request fails because the process died (or hung past ``call_timeout`` seconds and was
    killed), the worker stays failed: every later call raises the same error at once.
    """

    def __init__(self, index: int, call_timeout: float = CALL_TIMEOUT_SECONDS) -> None:
        self.call_timeout = call_timeout
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
        self.failure: str | None = None

    @property
    def alive(self) -> bool:
        """True while the process runs and no request to it has failed for lack of an answer."""
        return self.failure is None and self.process.poll() is None

    def call(self, op: str, stream_id: int, payload: Any = None, timeout: float | None = None) -> Any:
        """Send one request and wait for its answer; ``ActorsError`` if it fails or the worker is gone."""
        with self.lock:
            if self.failure is not None:
                raise ActorsError(self.failure)
            try:
                self.connection.send((op, stream_id, payload))
                self._wait_for_answer(self.call_timeout if timeout is None else timeout)
                ok, value = self.connection.recv()
            except (EOFError, OSError) as exc:
                self.failure = self._describe_death(exc)
                raise ActorsError(self.failure) from exc
        if not ok:
            raise ActorsError(f"pocketsphinx worker {self.name} failed: {value}")
        return value

    def _wait_for_answer(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.connection.poll(_LIVENESS_POLL_SECONDS):
            if self.process.poll() is not None:
                raise EOFError("no answer")
            if time.monotonic() >= deadline:
                self.process.kill()  # stuck: free its CPU; the pool replaces it
                self.process.wait()
                raise TimeoutError(f"no answer within {timeout:g} s, killed it")

    def _describe_death(self, exc: BaseException) -> str:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(1.0)  # it is exiting: collect the exit status for the message
        code = self.process.poll()
        how = "is still running" if code is None else f"exited with status {code}"
        return (
            f"pocketsphinx worker {self.name} (pid {self.process.pid}) {how} and stopped answering "
            f"({type(exc).__name__}: {exc}); this stream's recognition is lost, new streams get a new worker"
        )

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the process to exit, kill it if it does not within ``timeout``, reap it, close the socket."""
        with contextlib.suppress(ActorsError):  # already gone: just reap it
            self.call(_STOP, 0, timeout=timeout)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)
        self.connection.close()


class SphinxPool:
    """The owned pool of pocketsphinx worker processes; recognizers are spread round-robin.

    Whenever a recognizer is opened, workers found dead are reaped and replaced by new ones with
    the same names.
    """

    def __init__(self, workers: int = 2, call_timeout: float = CALL_TIMEOUT_SECONDS) -> None:
        if workers < 1:
            raise ActorsError(f"the pocketsphinx pool needs at least one worker, got {workers}")
        if call_timeout <= 0:
            raise ActorsError(f"call_timeout must be positive, got {call_timeout}")
        self.size = workers
        self.call_timeout = call_timeout
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._closed = False

    @property
    def workers(self) -> list[_Worker]:
        """The current worker processes (empty before the first recognizer and after close)."""
        with self._lock:
            return list(self._workers)

    def recognizer(self, sample_rate: int) -> SphinxRecognizer:
        """Open a stream on the next worker (starting the workers on first use).

        A worker that dies between the liveness check and the stream's ``open`` (a kill is not
        instant) is replaced and the stream opened on another: nothing of it was lost yet. Each
        failed ``open`` marks its worker dead, so after ``size`` of them a new worker is tried.
        """
        if sample_rate < 1000:
            raise ActorsError(f"sample_rate must be at least 1000 Hz, got {sample_rate}")
        retries = self.size
        while True:
            worker, stream_id = self._next_worker()
            try:
                worker.call("open", stream_id, sample_rate)
            except ActorsError:
                if worker.failure is None or retries == 0:
                    raise  # the worker answered with an error (not a death), or new ones die too
                retries -= 1
                continue
            return SphinxRecognizer(worker, stream_id, sample_rate)

    def _next_worker(self) -> tuple[_Worker, int]:
        """Replace dead workers, then pick the next one round-robin with a new stream id."""
        dead: list[_Worker] = []
        with self._lock:
            if self._closed:
                raise ActorsError("the pocketsphinx pool is closed (the server stopped)")
            if not self._workers:
                self._workers = [_Worker(index, self.call_timeout) for index in range(self.size)]
            for index, candidate in enumerate(self._workers):
                if not candidate.alive:
                    dead.append(candidate)
                    self._workers[index] = _Worker(index, self.call_timeout)
            stream_id = next(self._ids)
            worker = self._workers[stream_id % len(self._workers)]
        for gone in dead:
            gone.stop(timeout=1.0)
        return worker, stream_id

    def close(self) -> None:
        """Stop and join every worker process. Idempotent."""
        with self._lock:
            self._closed = True
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.stop()


class SphinxRecognizer:
    """A :class:`~actors.server.engines.base.Recognizer` backed by a stream on a worker process.

    Every method raises ``ActorsError`` (naming the worker) if the worker process died.
    """

    def __init__(self, worker: _Worker, stream_id: int, sample_rate: int) -> None:
        self._worker = worker
        self._id = stream_id
        self.sample_rate = sample_rate
        self.audio_seconds = 0.0
        self.in_speech = False
        self.speech_started_at: float | None = None
        self.last_voice_end: float | None = None
        self._closed = False

    @property
    def worker_name(self) -> str:
        """The name of the worker process decoding this stream."""
        return self._worker.name

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
        """End the current utterance (decoding all audio fed so far); return every uncommitted word."""
        words, state = self._worker.call("commit", self._id)
        self.audio_seconds, self.in_speech, self.speech_started_at, self.last_voice_end = state
        return [Word(*item) for item in words]

    def close(self) -> None:
        """Release the stream (its decoder goes back to the worker's pool)."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(ActorsError):  # the worker is gone (server stopping): nothing to release
            self._worker.call("close", self._id)


if __name__ == "__main__":  # a worker process started by _Worker: argv = [fd, name]
    _worker_main(Connection(int(sys.argv[1])))
