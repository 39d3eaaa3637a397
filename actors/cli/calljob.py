"""One call of a transcribe run: stream a decoded recording as a supervised Listen V1 stream.

`CallJob.run` opens the stream on the supervisor, sends the audio paced by a `Pacer`, finishes
gracefully, and writes the outputs. It never raises for a failure of the call itself: the reason
ends up in the returned `CallOutcome`, so one bad call cannot stop the others.

Flow control: audio is never sent more than `StreamSettings.max_lead` seconds ahead of the
results received. Unpaced ("--fast") streaming therefore runs exactly as fast as the service
transcribes, and the supervisor's lossless-replay buffer (audio not yet covered by a final) stays
far below its bound, so a reconnect never loses words even on long calls.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import attrs

from actors.cli.audiofile import AudioFile
from actors.cli.outputs import CallFiles, CallWriter, Segment
from actors.cli.pacing import Pacer
from actors.cli.progress import ProgressView
from actors.cli.summary import CallOutcome
from actors.cli.target import Target
from actors.errors import ActorsError, ConnectionClosedError, OptionsError, StreamFailed
from actors.protocol.apis import LISTEN_V1
from actors.protocol.base import Message, UnknownMessage
from actors.protocol.listen_v1.options import LISTEN_V1_AUDIO_FORMAT_OPTIONS
from actors.runtime import ConnectionConfig, events
from actors.runtime.policy import RestartPolicy
from actors.runtime.supervisor import Supervisor


@attrs.frozen
class StreamSettings:
    """What every call of a run shares: query options, pacing, chunking, retries and deadlines."""

    query: tuple[tuple[str, str], ...]
    speed: float | None
    chunk_seconds: float = 0.1
    max_restarts: int = 5
    connect_timeout: float = 30.0
    finish_timeout: float | None = None  # None: scaled to the call's length
    max_lead: float = 20.0
    stall_patience: float = 10.0
    extra_query: tuple[tuple[str, str], ...] = ()  # one call's own options (a manifest's params)


def listen_query(
    base: tuple[tuple[str, str], ...],
    audio: AudioFile,
    multichannel: bool,
    extra: tuple[tuple[str, str], ...] = (),
) -> list[tuple[str, str]]:
    """The Listen V1 query for one recording: the run's options, the call's own ``extra`` ones (a key
    there replaces the run's values of it), plus its audio format."""
    replaced = {k for k, _ in extra} | LISTEN_V1_AUDIO_FORMAT_OPTIONS
    query = [(k, v) for k, v in base if k not in replaced]
    query += [(k, v) for k, v in extra if k not in LISTEN_V1_AUDIO_FORMAT_OPTIONS]
    query += [("encoding", audio.encoding), ("sample_rate", str(audio.sample_rate))]
    query += [("channels", str(audio.channels))]
    if multichannel:
        query.append(("multichannel", "true"))
    return query


def describe_error(error: BaseException) -> str:
    """A one-line reason for the summary: the error's own message, never a traceback."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text if isinstance(error, ActorsError) else f"{type(error).__name__}: {text}"


class CallRecorder(Protocol):
    """Where a `CallJob` records the server's messages: `CallWriter` (the outputs on disk), or a
    recorder that forwards them elsewhere (a Ray worker sends them to the driver)."""

    def add(self, message: Mapping[str, Any]) -> Segment | None:
        """Record one server message; return its final segment, if it carries one."""
        ...

    @property
    def segments(self) -> list[Segment]:
        """The final segments so far, in arrival order."""
        ...

    def commit(self) -> None:
        """The call succeeded (may raise OSError when the outputs cannot be written)."""
        ...

    def abort(self) -> None:
        """The call failed or was interrupted. A no-op after `commit`."""
        ...


#: Makes a call's recorder from its output files and whether it is multichannel.
RecorderFactory = Callable[[CallFiles, bool], CallRecorder]


class CallJob:
    """Streams one recording and records everything the service sends back for it.

    ``recorder`` makes what records the messages (default: a `CallWriter` of the outputs).
    """

    def __init__(
        self,
        name: str,
        audio: AudioFile,
        files: CallFiles,
        settings: StreamSettings,
        target: Target,
        progress: ProgressView,
        stop: threading.Event,
        recorder: RecorderFactory = CallWriter,
    ) -> None:
        self.name = name
        self.audio = audio
        self.settings = settings
        self.target = target
        self.progress = progress
        self.stop = stop
        self.multichannel = audio.channels > 1
        self.files = files
        self._recorder = recorder
        self.writer: CallRecorder | None = None  # created when the call starts, not while it queues
        self._reconnects = 0
        self._heard = threading.Condition()
        self._heard_until = 0.0  # audio time covered by the results received so far
        self._sent_until = 0.0  # audio time sent so far
        self._finishing = threading.Event()
        self._summary_received = threading.Event()  # the Metadata a graceful finish ends with
        self._first_sent_at: float | None = None  # monotonic time of the first audio sent
        self._time_to_first_result: float | None = None
        self._request_ids: tuple[str, ...] = ()

    def config(self) -> ConnectionConfig:
        """The connection config of this call's stream (options validated here, once per call)."""
        options_type = LISTEN_V1.options_type
        assert options_type is not None
        options = options_type.from_query(
            listen_query(self.settings.query, self.audio, self.multichannel, self.settings.extra_query)
        )
        return self.target.connection_config(
            LISTEN_V1, options=options, connect_timeout=self.settings.connect_timeout
        )

    def on_event(self, event: Any) -> None:
        """Subscriber of the stream: record messages, follow reconnects and failures."""
        writer = self.writer
        if writer is None:
            return
        if isinstance(event, Message):
            message = LISTEN_V1.server_codec.to_dict(event)
            segment = writer.add(message)
            if message.get("type") == "Results":
                self._note_first_result()
                self._advance(float(message.get("start") or 0.0) + float(message.get("duration") or 0.0))
            elif message.get("type") == "Metadata" and self._finishing.is_set():
                self._summary_received.set()
            if segment is not None:
                self.progress.update_call(self.name, heard=segment.text)
        elif isinstance(event, UnknownMessage):
            writer.add(dict(event.raw))
        elif isinstance(event, events.Reconnecting):
            self.progress.update_call(self.name, state="reconnecting")
        elif isinstance(event, events.Reconnected):
            self._reconnects += 1
            self.progress.update_call(self.name, state="streaming")

    def _note_first_result(self) -> None:
        if self._time_to_first_result is None and self._first_sent_at is not None:
            self._time_to_first_result = time.monotonic() - self._first_sent_at

    def _advance(self, heard_until: float) -> None:
        with self._heard:
            if heard_until > self._heard_until:
                self._heard_until = heard_until
                self._heard.notify_all()

    def _wait_for_results(self, audio_seconds: float) -> None:
        """Hold the sender until results cover ``audio_seconds - max_lead`` (or stop, or no progress)."""
        wanted = audio_seconds - self.settings.max_lead
        with self._heard:
            while self._heard_until < wanted and not self.stop.is_set():
                before = self._heard_until
                self._heard.wait(self.settings.stall_patience)
                if self._heard_until == before:
                    return  # no result for a while (long silence?): do not stall the call for it

    def run(self, supervisor: Supervisor) -> CallOutcome:
        """Stream the call to the end (or until ``stop``) and return how it went.

        The outputs get their final names only when the call succeeded (`CallWriter.commit`);
        otherwise only ``<stem>.partial.jsonl`` is left (`CallWriter.abort`).
        """
        started = time.monotonic()
        error: BaseException | None = None
        self.progress.start_call(self.name, self.audio.duration or 0.0)
        writer = self.writer = self._recorder(self.files, self.multichannel)
        try:
            error = self._stream(supervisor)
        except ActorsError as exc:
            error = exc
        except OSError as exc:  # network errors that escape the runtime's own classification
            error = exc
        except BaseException:
            writer.abort()
            raise
        if error is None:
            try:
                writer.commit()
            except OSError as exc:  # e.g. the disk filled up: the call is not done
                error = exc
        writer.abort()  # a no-op after a commit
        wall = time.monotonic() - started
        words = sum(len(s.words) or len(s.text.split()) for s in writer.segments)
        outcome = CallOutcome(
            name=self.name,
            audio_seconds=self._audio_seconds(),
            wall_seconds=wall,
            reconnects=self._reconnects,
            words=words,
            error=describe_error(error).removeprefix(f"stream {self.name}: ") if error is not None else None,
            status="ok" if error is None else "interrupted" if self.stop.is_set() else "failed",
            stem=self.files.stem,
            request_ids=self._request_ids,
            time_to_first_result=self._time_to_first_result,
        )
        self.progress.end_call(self.name, outcome.describe(), outcome.error)
        return outcome

    def _stream(self, supervisor: Supervisor) -> BaseException | None:
        handle = supervisor.open_stream(
            self.config(),
            subscribers=[self.on_event],
            restart=RestartPolicy.on_failure(max_restarts=self.settings.max_restarts, within=60.0),
            lossless=True,
            stream_id=self.name,
        )
        if not handle.wait_open(timeout=self.settings.connect_timeout):
            handle.finish(timeout=1.0)
            return ActorsError(f"no connection within {self.settings.connect_timeout:.0f} s")
        pacer = Pacer(self.settings.speed, self.stop)
        sent_all = False
        try:
            for chunk, end in self.audio.chunks(self.settings.chunk_seconds):
                self._wait_for_results(end)
                if not pacer.wait_until(end):
                    break
                if self._first_sent_at is None:
                    self._first_sent_at = time.monotonic()
                handle.send_audio(chunk)
                self._sent_until = end
                self.progress.update_call(self.name, sent=end)
            else:
                sent_all = True
                self.progress.update_call(self.name, state="finishing")
        except (StreamFailed, OptionsError):
            pass  # the stream failed or was closed mid-call; its result below says how
        self._finishing.set()
        result = handle.finish(timeout=self._finish_timeout())
        self._request_ids = result.request_ids
        if result.error is not None:
            return result.error
        if self.stop.is_set():
            return ActorsError(
                f"stopped; results cover {self._heard_until:.1f} of {self._audio_seconds():.1f} s of audio"
            )
        if not sent_all or not self._fully_heard():
            return ConnectionClosedError(
                result.close_code or 1006,
                f"{result.close_reason or 'the service ended the stream early'}; "
                f"results cover {self._heard_until:.1f} of {self._audio_seconds():.1f} s of audio",
            )
        return None

    def _audio_seconds(self) -> float:
        """The call's length: from its header, or (audio piped without one) what was sent."""
        return self.audio.duration if self.audio.duration is not None else self._sent_until

    def _fully_heard(self) -> bool:
        """True when the service answered for all the audio: results reach (nearly) its end, or
        the stream ended with the summary ``Metadata`` that only a graceful finish produces."""
        return self._heard_until >= self._audio_seconds() - 0.25 or self._summary_received.is_set()

    def _finish_timeout(self) -> float:
        """How long the last results may take: flow control keeps at most ``max_lead`` s unheard."""
        if self.settings.finish_timeout is not None:
            return self.settings.finish_timeout
        backlog = min(self._audio_seconds(), self.settings.max_lead)
        return 60.0 + 2.0 * backlog * self.audio.channels
