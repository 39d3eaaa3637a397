"""The values a supervised stream reports: :class:`StreamState`, :class:`StreamMetrics`,
:class:`StreamResult` (and the ``keep_finals`` setting that shapes it)."""

from __future__ import annotations

import enum
import functools

import attrs

from actors.errors import ActorsError, OptionsError
from actors.protocol.apis import all_apis
from actors.protocol.replay_rules import ReplayRules
from actors.runtime.metrics import MetricsSnapshot


class StreamState(enum.Enum):
    """Where a logical stream is in its life."""

    QUEUED = "queued"  # waiting for an admission slot
    CONNECTING = "connecting"
    OPEN = "open"
    RECONNECTING = "reconnecting"  # between connections: backoff, then queued again
    CLOSED = "closed"


@attrs.frozen
class StreamMetrics:
    """Counters of one logical stream (the connection actor's own metrics are in ``connection``)."""

    stream_id: str
    state: str
    connections: int
    reconnects: int
    replayed_seconds: float
    replay_dropped_seconds: float
    audio_seconds: float
    finals: int
    duplicate_finals_dropped: int
    request_ids: tuple[str, ...]
    #: Seconds of audio held for a lossless replay now (not yet covered by finals or silence).
    replay_buffered_seconds: float = 0.0
    connection: MetricsSnapshot | None = None


#: What a stream keeps of its finals for :class:`StreamResult`: all (True), none (False), the last N.
KeepFinals = bool | int


def check_keep_finals(value: object) -> KeepFinals:
    """Validate a ``keep_finals`` setting; ``OptionsError`` names what was wrong."""
    if isinstance(value, bool) or (isinstance(value, int) and value >= 0):
        return value
    raise OptionsError(
        "keep_finals", f"must be True (all), False (none) or a count >= 0 (the last N), got {value!r}", value
    )


@attrs.frozen
class StreamResult:
    """How a supervised stream ended: its final results, request ids, metrics and error (None if ok).

    ``finals`` holds what the stream was told to keep (``open_stream(keep_finals=...)``): every
    final (True), none (False, the default for supervised streams: a long call would otherwise
    grow without bound -- subscribers see every final as it arrives), or the last N.
    ``metrics.finals`` always counts them all.
    """

    stream_id: str
    finals: tuple[object, ...]
    request_ids: tuple[str, ...]
    metrics: StreamMetrics
    error: ActorsError | None = None
    close_code: int | None = None
    close_reason: str = ""
    keep_finals: KeepFinals = True

    @property
    def ok(self) -> bool:
        """True when the stream finished without an error."""
        return self.error is None

    @property
    def transcript(self) -> str:
        """The final transcripts joined with spaces (Listen V1 channel 0 alternative 0, or Flux turns).

        Raises :class:`ActorsError` when the stream kept no finals (``keep_finals=False``); with
        ``keep_finals=N`` it is the transcript of the last N finals.
        """
        if not self.keep_finals:
            raise ActorsError(
                f"stream {self.stream_id} kept no finals, so it has no transcript: open the stream with "
                "open_stream(..., keep_finals=True), or collect the finals in a subscriber"
            )
        parts = [text for text in (_transcript_of(m) for m in self.finals) if text]
        return " ".join(parts)

    def raise_for_error(self) -> StreamResult:
        """Raise :attr:`error` if there is one, else return self."""
        if self.error is not None:
            raise self.error
        return self


def _transcript_of(msg: object) -> str:
    """The transcript of one final, by the rules of whichever replayable API it belongs to."""
    for rules in _replay_rules():
        text = rules.transcript(msg)
        if text:
            return text
    return ""


@functools.cache
def _replay_rules() -> tuple[ReplayRules, ...]:
    return tuple(api.replay for api in all_apis() if api.replay is not None)


__all__ = ["KeepFinals", "StreamMetrics", "StreamResult", "StreamState", "check_keep_finals"]
