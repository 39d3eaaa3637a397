"""Where a Deepgram timestamp falls on the call's own timeline.

Deepgram times count only the audio sent on one stream (the runtime's lossless reconnect keeps
them continuous across reconnects). The call's timeline also counts what the platform skipped --
AudioHook ``discarded`` and ``resumed.discarded``, a Twilio gap turned into a pause -- and a stream
opened mid-call (after a language change) starts at the call position of its first audio. A
:class:`Timeline` records a mark at every jump and maps stream seconds back to call seconds.
"""

from __future__ import annotations

import bisect

#: Positions closer than this (s) count as contiguous (float noise from byte counts).
_TOLERANCE = 1e-6


class Timeline:
    """Stream seconds -> call seconds for one stream, built from the chunks sent on it.

    Call :meth:`sent` for every chunk in order (its call ``position`` and length in seconds);
    :meth:`to_call` maps a stream time. Not thread-safe: the call pipeline serialises access.
    """

    def __init__(self) -> None:
        self._stream_marks: list[float] = []
        self._call_marks: list[float] = []
        self._sent = 0.0
        self._expected: float | None = None

    @property
    def seconds_sent(self) -> float:
        """Seconds of audio sent on the stream so far."""
        return self._sent

    def sent(self, position: float, seconds: float) -> None:
        """Record a chunk that starts at call ``position`` s and lasts ``seconds``."""
        if self._expected is None or abs(position - self._expected) > _TOLERANCE:
            self._stream_marks.append(self._sent)
            self._call_marks.append(position)
        self._sent += seconds
        self._expected = position + seconds

    def to_call(self, stream_seconds: float) -> float:
        """The call time of ``stream_seconds`` (times before the first chunk map onto its start)."""
        if not self._stream_marks:
            return stream_seconds
        index = max(0, bisect.bisect_right(self._stream_marks, stream_seconds) - 1)
        return self._call_marks[index] + (stream_seconds - self._stream_marks[index])


__all__ = ["Timeline"]
