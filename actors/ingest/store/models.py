"""The store's records: a call (:class:`CallRecord`), a final segment (:class:`Segment`), both together."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import attrs

#: A call's state in the store. ``interrupted``: the service died while the call was active.
CallStatus = Literal["active", "completed", "failed", "interrupted"]
CALL_STATUSES: tuple[CallStatus, ...] = ("active", "completed", "failed", "interrupted")

#: One word of a final, as Deepgram sent it (``word``, ``start``, ``end``, ``confidence``...).
Word = Mapping[str, object]


def _words(value: Sequence[Word]) -> tuple[Word, ...]:
    return tuple(dict(w) for w in value)


@attrs.frozen
class Segment:
    """One final transcript of one channel of a call, ``start``..``end`` s on the call's timeline.

    ``key`` is the natural key that makes a re-delivered final a no-op; it defaults to
    ``"<channel>:<start ms>:<end ms>"``, so the same final delivered twice is stored once.
    """

    call_id: str
    channel: int
    start: float
    end: float
    transcript: str
    words: tuple[Word, ...] = attrs.field(default=(), converter=_words)
    speaker: int | None = None
    confidence: float | None = None
    key: str = attrs.field(default="")

    def __attrs_post_init__(self) -> None:
        if not self.key:
            default = f"{self.channel}:{round(self.start * 1000)}:{round(self.end * 1000)}"
            object.__setattr__(self, "key", default)


@attrs.frozen
class CallRecord:
    """A call as stored: identity, lifecycle, the Deepgram request ids that served it, its metadata,
    its own figures once it ended (``stats``) and the service instance that owns it (``instance_id``;
    None for a call recorded without one, e.g. before schema version 3)."""

    id: str
    platform: str
    platform_ids: Mapping[str, str]
    started_at: float
    ended_at: float | None
    status: CallStatus
    request_ids: tuple[str, ...]
    metadata: Mapping[str, str]
    language: str | None
    channels: tuple[str, ...]
    stats: Mapping[str, float] = attrs.field(factory=dict)
    instance_id: str | None = None


@attrs.frozen
class CallDetail:
    """A call with its final segments ordered by ``(start, channel)``."""

    call: CallRecord
    segments: tuple[Segment, ...]
