"""One live call -> one supervised Deepgram stream (or one per channel with Flux) -> committed segments.

A :class:`CallPipeline` is created by a platform handler on the call's :class:`~actors.ingest.calls.CallStart`
and fed the call's events. What it promises:

* **One stream per call** (Listen V1, ``multichannel`` for a stereo call; the platform's interleaved
  bytes are forwarded unchanged) opened on the service's :class:`~actors.ingest.streams.StreamHost`
  (its :class:`~actors.runtime.Supervisor`, or a Ray cluster's workers with ``--ray``), with
  lossless reconnect. With Flux (``listen.v2``, one channel per stream) a stereo call gets one stream
  per channel.
* **Admission.** The host's ``max_connections`` is the Deepgram concurrency limit: a call with
  a stream over it waits (its audio buffered by the stream). A waiting call that has buffered more than
  ``queue_seconds`` of audio is *refused*: ``on_abort("capacity", ...)`` lets the handler answer in
  the platform's own way; the call is stored as ``failed``. Never silently dropped.
* **Commit before report.** Every non-empty final becomes a store segment through the shared
  :class:`~actors.ingest.store.writer.SegmentWriter`; ``on_utterance`` (AudioHook transcripts) runs
  only after the rows are committed. :meth:`finish` returns once the stream is finished, every
  segment of the call is committed and the call row is closed.
* Timestamps are mapped onto the call timeline (:class:`~actors.ingest.timeline.Timeline`).

Threads: :meth:`audio`, :meth:`paused`, :meth:`resumed` never block (the event loop calls them);
:meth:`begin`, :meth:`retire` and :meth:`finish` block on the database or the stream and
run on the service's worker pool. Subscriber callbacks come from the runtime's threads, commit
callbacks from the writer thread.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import ssl
import threading
import time
from collections.abc import Callable
from typing import Literal

import attrs

from actors.errors import ActorsError
from actors.ingest.audio import deinterleave
from actors.ingest.audiohook import transcripts
from actors.ingest.calls import CallAudio, CallEnd, CallStart
from actors.ingest.finals import UtteranceAssembler, segment_from_results, segment_from_turn
from actors.ingest.live_feed import LiveFeed
from actors.ingest.metrics import IngestMetrics
from actors.ingest.store.errors import BacklogFull, StoreError
from actors.ingest.store.models import CallStatus, Segment
from actors.ingest.store.store import TranscriptStore
from actors.ingest.store.writer import SegmentWriter
from actors.ingest.streams import CallStream, StreamHost
from actors.ingest.timeline import Timeline
from actors.protocol.apis import LISTEN_V1, LISTEN_V2, ApiSpec
from actors.protocol.auth import Auth
from actors.protocol.listen_v1.messages import ListenV1Finalize, ListenV1Results
from actors.protocol.listen_v1.options import LISTEN_V1_AUDIO_FORMAT_OPTIONS
from actors.protocol.listen_v2.messages import ListenV2TurnInfo
from actors.protocol.listen_v2.options import LISTEN_V2_MODELS
from actors.runtime import ConnectionConfig, events
from actors.runtime.policy import RestartPolicy
from actors.runtime.stream import StreamState

log = logging.getLogger("actors.ingest.call")

#: Why a call is aborted by the service: refused for capacity, or its transcription failed.
AbortKind = Literal["capacity", "failed"]
#: Query options the service sets per call from the platform's media (a ``--param`` may not).
PER_CALL_OPTIONS = LISTEN_V1_AUDIO_FORMAT_OPTIONS
#: The Flux model when ``--param model=...`` names none (``/v2/listen`` requires a model).
DEFAULT_FLUX_MODEL = LISTEN_V2_MODELS[0]


@attrs.frozen
class StreamSettings:
    """What every call's stream shares: where Deepgram is, the API (Listen V1 or Flux), extra
    options, bounds."""

    base_url: str
    auth: Auth = attrs.field(repr=False)
    api: ApiSpec = LISTEN_V1
    params: tuple[tuple[str, str], ...] = ()
    queue_seconds: float = 30.0
    finish_timeout: float = 30.0
    max_restarts: int = 10
    ssl_context: ssl.SSLContext | None = None


@attrs.frozen
class CallServices:
    """The service's shared parts a call uses."""

    stream_host: StreamHost
    store: TranscriptStore
    writer: SegmentWriter
    metrics: IngestMetrics
    settings: StreamSettings
    #: Where the live page's feed hears of calls starting, segments committed and calls ending.
    feed: LiveFeed | None = None


@attrs.frozen
class _Lane:
    """One Deepgram stream of the call and its timeline; ``channel`` is None for a multichannel stream."""

    handle: CallStream
    timeline: Timeline
    channel: int | None


class CallPipeline:
    """One call's transcription: see the module docstring for what it promises."""

    def __init__(
        self,
        start: CallStart,
        services: CallServices,
        *,
        on_utterance: Callable[[transcripts.Segment], None] | None = None,
        on_abort: Callable[[AbortKind, str], None] | None = None,
    ) -> None:
        self.start = start
        self.call_id = start.call_id
        self._services = services
        self._on_utterance = on_utterance
        self._on_abort = on_abort
        self._lock = threading.Lock()
        self._committed = threading.Condition()
        self._outstanding = 0
        self._lanes: list[_Lane] = []
        self._retired: list[_Lane] = []
        self._generation = 0
        self._language = start.language
        self._assembler = UtteranceAssembler()
        self._report_lock = threading.Lock()  # utterances leave in commit order, from any thread
        self._began_at = time.monotonic()
        self._first_result_after: float | None = None
        self._aborted: AbortKind | None = None
        self._failure: str | None = None
        self._ended_at: float | None = None
        self._request_ids: list[str] = []
        self.segments_stored = 0
        self.audio_seconds = 0.0

    # -- lifecycle (worker pool) ---------------------------------------------------------------

    def begin(self) -> bool:
        """Record the call and open its stream(s); False (and ``on_abort`` not called) if the call id
        is already in the store. Raises :class:`StoreError` when the database cannot record it, and an
        :class:`~actors.errors.ActorsError` (the call then stored ``failed``) when its stream cannot be
        opened: :class:`OptionsError` when Deepgram's options are invalid, another when the stream
        host cannot take it (e.g. no Ray worker of the pool is alive)."""
        if not self._services.store.start_call(self.start):
            return False
        self._services.metrics.call_started(self.start.platform)
        try:
            with self._lock:
                self._lanes = self._open_lanes()
        except ActorsError:  # wrong options, or no worker to run the stream: close its row, then say so
            self._services.store.end_call(self.call_id, "failed")
            self._services.metrics.call_ended(self.start.platform, "error")
            raise
        if self._services.feed is not None:
            self._services.feed.call_started(self.start, time.time())
        log.info(
            "call %s started: platform %s, %d channel(s) %s %d Hz, language %s",
            self.call_id,
            self.start.platform,
            len(self.start.channels),
            self.start.encoding,
            self.start.sample_rate,
            self._language or "default",
        )
        return True

    def switch_language(self, language: str) -> list[_Lane]:
        """The platform changed the language: new stream(s) from now on (never blocks).

        Deepgram fixes the language per connection, so the call goes on with new
        streams starting at its current position; pass what this returns to :meth:`retire`, which
        finishes the old ones (their finals are stored) on the worker pool.
        """
        with self._lock:
            if self._aborted or self._ended_at is not None or language == self._language:
                return []
            self._language = language
            if self._services.settings.api is LISTEN_V2:
                return []  # Flux takes no language option: the same streams go on
            old = self._lanes
            self._generation += 1
            try:
                self._lanes = self._open_lanes()
            except ActorsError as exc:  # no new stream (e.g. no Ray worker alive): the call cannot go on
                self._failure = f"the stream for language {language} could not be opened: {exc}"
                self._abort_later("failed", f"transcription failed: {self._failure}")
                return []
            self._retired.extend(old)
        return old

    def retire(self, old: list[_Lane]) -> None:
        """Record the language change; finish the streams :meth:`switch_language` replaced (if any)
        and report their last utterances (blocks)."""
        try:
            self._services.store.set_language(self.call_id, self._language or "")
        except StoreError as exc:
            log.warning("call %s: language change not recorded: %s", self.call_id, exc)
        if not old:
            return
        for lane in old:
            lane.handle.finish(timeout=self._services.settings.finish_timeout)
        self._flush_utterances()

    def finish(self, end: CallEnd, timeout: float | None = None) -> CallStatus:
        """Finish the stream(s), wait until every segment is committed, close the call row.

        Returns the stored status: ``completed``, or ``failed`` (refused, transcription failed, or
        a protocol error ended the call).
        """
        settings = self._services.settings
        limit = settings.finish_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        with self._lock:
            self._ended_at = time.monotonic()
            lanes = self._retired + self._lanes
        for lane in lanes:
            if self._aborted == "capacity":
                with contextlib.suppress(KeyError, ActorsError):  # it may have ended meanwhile
                    self._services.stream_host.stop_stream(lane.handle.stream_id)
                lane.handle.wait_closed(timeout=5.0)
                continue
            result = lane.handle.finish(timeout=max(0.5, deadline - time.monotonic()))
            if result.error is None:
                continue
            if lane.timeline.seconds_sent == 0:
                # e.g. the stream of a language Deepgram refuses, replaced by an update before any audio
                log.warning("call %s: a stream that carried no audio failed: %s", self.call_id, result.error)
            elif self._failure is None:
                self._failure = str(result.error)
        self._wait_committed(max(0.5, deadline - time.monotonic()))
        self._flush_utterances()
        status: CallStatus = "completed"
        if self._aborted is not None or self._failure is not None or end.reason == "error":
            status = "failed"
        store = self._services.store
        try:
            for lane in lanes:
                for request_id in lane.handle.request_ids:
                    store.add_request_id(self.call_id, request_id)
            store.end_call(self.call_id, status, stats=self._stats(lanes))
        except StoreError as exc:
            log.error("call %s: end not recorded: %s", self.call_id, exc)
        if self._services.feed is not None:
            self._services.feed.call_ended(self.call_id, status)
        metrics = self._services.metrics
        metrics.finalized(time.monotonic() - self._ended_at)
        outcome: str = end.reason if status == "completed" else "error"
        if self._aborted == "capacity":
            outcome = "refused"
        elif status == "completed" and end.detail == "drain":
            outcome = "drained"
        metrics.call_ended(self.start.platform, outcome)
        log.info(
            "call %s ended: %s (%s), %.1f s of audio, %d segment(s), request ids %s%s",
            self.call_id,
            status,
            end.reason,
            self.audio_seconds,
            self.segments_stored,
            ",".join(r for lane in lanes for r in lane.handle.request_ids) or "-",
            f"; {self._failure}" if self._failure else "",
        )
        return status

    def _stats(self, lanes: list[_Lane]) -> dict[str, float]:
        """The call's own figures, stored with it at its end."""
        metrics = [lane.handle.metrics for lane in lanes]
        stats: dict[str, float] = {
            "audio_seconds": round(self.audio_seconds, 3),
            "segments": self.segments_stored,
            "streams": len(lanes),
            "connections": sum(m.connections for m in metrics),
            "reconnects": sum(m.reconnects for m in metrics),
            "replayed_seconds": round(sum(m.replayed_seconds for m in metrics), 3),
            "duplicate_finals_dropped": sum(m.duplicate_finals_dropped for m in metrics),
        }
        if self._first_result_after is not None:
            stats["time_to_first_result_seconds"] = round(self._first_result_after, 3)
        if self._ended_at is not None:
            stats["finalize_seconds"] = round(time.monotonic() - self._ended_at, 3)
        return stats

    # -- audio path (event loop; never blocks) -----------------------------------------------------

    def audio(self, chunk: CallAudio) -> None:
        """Send a chunk of the call's audio (ignored once the call was aborted or ended)."""
        start = self.start
        seconds = len(chunk.audio) / start.bytes_per_second
        with self._lock:
            if self._aborted is not None or self._ended_at is not None:
                return
            lanes = self._lanes
            self.audio_seconds += seconds
            width = 1 if start.encoding == "mulaw" else 2
            try:
                for lane in lanes:
                    data = chunk.audio
                    if lane.channel is not None:
                        data = deinterleave(data, len(start.channels), lane.channel, width)
                    lane.timeline.sent(chunk.position, seconds)
                    lane.handle.send_audio(data)
            except ActorsError as exc:  # the stream failed (or ended): StreamFailed, OptionsError...
                self._failure = str(exc)
                self._abort_later("failed", f"transcription failed: {exc}")
                return
            waiting = any(lane.handle.state is StreamState.QUEUED for lane in lanes)
            over = waiting and lanes[0].timeline.seconds_sent > self._services.settings.queue_seconds
        self._services.metrics.audio_received(start.platform, seconds)
        if over and self._slots_taken():
            self._abort_later(
                "capacity",
                f"no transcription capacity: the call waited {self._services.settings.queue_seconds:g} s "
                "for a Deepgram stream",
            )

    def paused(self) -> None:
        """The platform paused: finalize so the utterance in progress ends where the pause began."""
        with self._lock:
            lanes = list(self._lanes) if self._aborted is None else []
        for lane in lanes:
            if lane.channel is None:
                with contextlib.suppress(ActorsError):
                    lane.handle.send(ListenV1Finalize())

    @property
    def aborted(self) -> AbortKind | None:
        """Why the service aborted the call, if it did."""
        return self._aborted

    @property
    def waiting(self) -> bool:
        """True while one of the call's streams waits for a Deepgram slot (admission)."""
        with self._lock:
            return any(lane.handle.state is StreamState.QUEUED for lane in self._lanes)

    # -- internals ---------------------------------------------------------------------------------

    def _slots_taken(self) -> bool:
        """True when every Deepgram slot is held by a stream past ``QUEUED``: only then does a ``QUEUED``
        stream really wait (one just admitted stays ``QUEUED`` until a connector thread starts it,
        and fast input can pass ``queue_seconds`` in that time). Checked only while over the bound."""
        host = self._services.stream_host
        limit = host.max_connections
        busy = sum(1 for handle in host.streams() if handle.state is not StreamState.QUEUED)
        return limit is not None and busy >= limit

    def _abort_later(self, kind: AbortKind, reason: str) -> None:
        """Mark the call aborted (once) and tell the handler; the lock may be held."""
        if self._aborted is not None:
            return
        self._aborted = kind
        if kind == "capacity":
            self._services.metrics.call_refused(self.start.platform, "capacity")
        log.warning("call %s aborted: %s", self.call_id, reason)
        if self._on_abort is not None:
            self._on_abort(kind, reason)

    def _query(self, channels: int) -> list[tuple[str, str]]:
        settings, start = self._services.settings, self.start
        query = [(k, v) for k, v in settings.params if k not in PER_CALL_OPTIONS and k != "language"]
        query += [("encoding", start.encoding), ("sample_rate", str(start.sample_rate))]
        if settings.api is LISTEN_V1:
            query.append(("channels", str(channels)))
            if channels > 1:
                query.append(("multichannel", "true"))
        if settings.api is LISTEN_V2 and "model" not in dict(settings.params):
            query.append(("model", DEFAULT_FLUX_MODEL))  # Flux requires one; Listen V1 has a default
        language = self._language or dict(settings.params).get("language")
        if language and settings.api is LISTEN_V1:
            query.append(("language", language))
        return query

    def _open_lanes(self) -> list[_Lane]:
        settings = self._services.settings
        api = settings.api
        flux = api is LISTEN_V2
        options_type = api.options_type
        assert options_type is not None
        channels = len(self.start.channels)
        lanes: list[_Lane] = []
        for channel in range(channels) if flux else (None,):
            query = self._query(1 if flux else channels)
            options = options_type.from_query(query, allow_unknown=True, strict=False)
            config = ConnectionConfig(
                api=api,
                base_url=settings.base_url,
                auth=settings.auth,
                options=options,
                ssl_context=settings.ssl_context,
            )
            timeline = Timeline()
            suffix = "" if self._generation == 0 else f"~{self._generation}"
            stream_id = f"{self.call_id}{suffix}" if channel is None else f"{self.call_id}{suffix}#{channel}"
            try:
                handle = self._services.stream_host.open_stream(
                    config,
                    subscribers=[functools.partial(self._on_event, timeline, channel)],
                    restart=RestartPolicy.on_failure(max_restarts=settings.max_restarts, within=60.0),
                    lossless=True,
                    stream_id=stream_id,
                )
            except ActorsError:  # a Flux call's first channel may be open already: it must not linger
                for lane in lanes:
                    with contextlib.suppress(KeyError, ActorsError):
                        self._services.stream_host.stop_stream(lane.handle.stream_id)
                raise
            lanes.append(_Lane(handle=handle, timeline=timeline, channel=channel))
        return lanes

    def _on_event(self, timeline: Timeline, channel: int | None, event: object) -> None:
        """Subscriber of one stream of the call (runtime threads); ``channel`` is None for a
        multichannel stream."""
        if isinstance(event, ListenV1Results | ListenV2TurnInfo):
            if self._first_result_after is None:
                self._first_result_after = time.monotonic() - self._began_at
                self._services.metrics.first_result(self._first_result_after)
            if isinstance(event, ListenV1Results):
                segment = segment_from_results(self.call_id, event, timeline)
                speech_final = bool(event.speech_final or event.from_finalize)
            else:
                segment = segment_from_turn(self.call_id, channel or 0, event, timeline)
                speech_final = True
            if segment is not None:
                self._store(segment, speech_final)
        elif isinstance(event, events.Reconnected):
            self._services.metrics.reconnected()
            log.info("call %s: stream reconnected (attempt %d)", self.call_id, event.attempt)
        elif isinstance(event, events.Reconnecting):
            log.info("call %s: stream lost, reconnecting: %s", self.call_id, event.cause)

    def _store(self, segment: Segment, speech_final: bool) -> None:
        received = time.monotonic()
        with self._committed:
            self._outstanding += 1
        try:
            self._services.writer.add(
                segment, functools.partial(self._on_committed, speech_final=speech_final, received=received)
            )
        except (BacklogFull, RuntimeError) as exc:
            with self._committed:
                self._outstanding -= 1
                self._committed.notify_all()
            self._failure = f"segment not stored: {exc}"
            log.error("call %s: %s", self.call_id, self._failure)

    def _on_committed(self, segment: Segment, *, speech_final: bool, received: float) -> None:
        """Writer thread: the row is committed -- count it, report completed utterances."""
        metrics = self._services.metrics
        metrics.final_committed(time.monotonic() - received)
        metrics.finals_stored(1)
        self.segments_stored += 1
        if self._services.feed is not None:
            self._services.feed.segment_committed(segment, self.start.channels)
        with self._report_lock:
            self._report(self._assembler.add(segment, speech_final))
        with self._committed:
            self._outstanding -= 1
            self._committed.notify_all()

    def _wait_committed(self, timeout: float) -> None:
        with self._committed:
            if not self._committed.wait_for(lambda: self._outstanding == 0, timeout):
                log.error("call %s: %d segment(s) not committed in time", self.call_id, self._outstanding)

    def _flush_utterances(self) -> None:
        """Report the utterances still open (after a finalize); waits for pending commits first."""
        self._wait_committed(self._services.settings.finish_timeout)
        with self._report_lock:
            self._report(self._assembler.flush())

    def _report(self, utterances: list[transcripts.Segment]) -> None:
        if self._on_utterance is None:
            return
        for utterance in utterances:
            try:
                self._on_utterance(utterance)
            except Exception:  # a broken platform socket must not stop the writer thread
                log.exception("call %s: reporting a transcript failed", self.call_id)


__all__ = ["PER_CALL_OPTIONS", "AbortKind", "CallPipeline", "CallServices", "StreamSettings"]
