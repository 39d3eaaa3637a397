"""The platform-neutral call model: what every ingress (AudioHook, Twilio, plain) turns its protocol into.

A platform session is a sans-I/O state machine that takes the platform's frames and returns
``CallEvent`` values for the service (and frames to send back to the platform). The service maps
one call to one supervised Deepgram stream:

* :class:`CallStart` once, first: who the call is (``platform`` and its ids), the audio format
  (``encoding`` as Deepgram names it -- ``"mulaw"`` or ``"linear16"`` --, ``sample_rate``, and
  ``channels``: one label per interleaved channel, in sample order, e.g. ``("external",
  "internal")``), ``language`` if the platform gave one, and free-form ``metadata``.
* :class:`CallAudio` for each chunk: raw samples in the start's format, interleaved per sample in
  ``channels`` order, a whole number of sample frames. ``position`` is the chunk's start on the
  call's own timeline in seconds (audio received plus audio the platform said it discarded).
* :class:`CallPaused` / :class:`CallResumed` around a pause (no audio in between); ``discarded``
  is the seconds of the call's timeline skipped while paused (0 if none).
* :class:`CallUpdated` when the platform changes the call's language mid-call.
* :class:`CallEnd` once, last: ``reason`` is ``"completed"`` (the platform closed it normally),
  ``"disconnected"`` (the platform vanished or sent a disconnect), or ``"error"`` (a protocol
  error; ``detail`` says which).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import attrs

#: Platforms the service speaks.
Platform = Literal["audiohook", "twilio", "stream"]
#: How a call ended.
EndReason = Literal["completed", "disconnected", "error"]


def _frozen_mapping(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return dict(value or {})


@attrs.frozen
class CallStart:
    """A call begins: its identity, audio format and metadata (see the module docstring)."""

    platform: Platform
    call_id: str
    encoding: Literal["mulaw", "linear16"]
    sample_rate: int
    channels: tuple[str, ...]
    platform_ids: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_mapping)
    language: str | None = None
    metadata: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_mapping)

    @property
    def bytes_per_second(self) -> int:
        """Bytes of interleaved audio per second of call time."""
        width = 1 if self.encoding == "mulaw" else 2
        return width * self.sample_rate * len(self.channels)


@attrs.frozen
class CallAudio:
    """A chunk of interleaved audio in the call's format, starting at ``position`` s on the call timeline."""

    audio: bytes = attrs.field(repr=lambda b: f"<{len(b)} bytes>")
    position: float


@attrs.frozen
class CallPaused:
    """The platform paused the audio at ``position`` s (no audio until :class:`CallResumed`)."""

    position: float


@attrs.frozen
class CallResumed:
    """Audio resumes; ``discarded`` s of the call timeline were skipped while paused."""

    position: float
    discarded: float = 0.0


@attrs.frozen
class CallUpdated:
    """The platform changed the call's language (``language``) at ``position`` s."""

    position: float
    language: str


@attrs.frozen
class CallEnd:
    """The call is over (``reason``: completed, disconnected or error; ``detail`` for errors)."""

    reason: EndReason
    position: float
    detail: str | None = None


CallEvent = CallStart | CallAudio | CallPaused | CallResumed | CallUpdated | CallEnd

__all__ = [
    "CallAudio",
    "CallEnd",
    "CallEvent",
    "CallPaused",
    "CallResumed",
    "CallStart",
    "CallUpdated",
    "EndReason",
    "Platform",
]
