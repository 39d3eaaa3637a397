"""Replay pacing: how fast replayed (and backlogged) audio may go to a new connection.

Deepgram processes streaming audio at most 1.25x real time; a client that
pushes a long replay in one burst gets ahead of that and risks the new connection being closed.
So a supervised stream replays at ``replay_speed`` times real time:

* a number -- at most that many seconds of audio per second of wall time, counted from the
  moment the connection was attached (cumulatively, never in bursts above it);
* ``None`` -- as fast as the socket takes it (no pacing);
* ``"auto"`` (the default) -- no pacing for a loopback URL (the local server has no cap and
  tests want speed), :data:`DEEPGRAM_REALTIME_CAP` (1.25) for any other target. 1.25 is the
  documented cap itself: the pacer never exceeds it on average since the attach, and the service's
  own clock started earlier (at the handshake), so its view of the rate is lower still.

Everything here is pure: callers pass ``now``.
"""

from __future__ import annotations

import ipaddress
import math
from typing import Literal
from urllib.parse import urlsplit

from actors.errors import OptionsError

#: Deepgram's documented streaming cap, in seconds of audio per second of wall time.
DEEPGRAM_REALTIME_CAP = 1.25
ReplaySpeed = float | None | Literal["auto"]


def is_loopback_url(url: str) -> bool:
    """True when ``url`` points at this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_replay_speed(value: object) -> ReplaySpeed:
    """Validate a ``replay_speed`` setting; raise :class:`OptionsError` naming it when wrong."""
    if value is None:
        return None
    if value == "auto":
        return "auto"
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if is_number and math.isfinite(value) and value > 0:  # type: ignore[arg-type,operator]
        return float(value)  # type: ignore[arg-type]
    raise OptionsError(
        "replay_speed",
        f"must be a number > 0 (times real time), None (no pacing) or 'auto', got {value!r}",
        value,
    )


def resolve_replay_speed(value: ReplaySpeed, base_url: str) -> float | None:
    """The pacing speed for a stream to ``base_url``: ``"auto"`` resolved (see the module docstring)."""
    checked = check_replay_speed(value)
    if checked == "auto":
        return None if is_loopback_url(base_url) else DEEPGRAM_REALTIME_CAP
    return checked


class ReplayPacer:
    """How much audio may have been sent ``now``, at ``speed`` times real time since ``started_at``.

    ``bytes_per_second`` is the stream's audio rate; ``frame_bytes`` the size of one sample frame
    (allowances are whole frames so a cut never splits a sample).
    """

    def __init__(self, speed: float, bytes_per_second: int, frame_bytes: int, started_at: float) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed!r}")
        self.speed = speed
        self.bytes_per_second = bytes_per_second
        self.frame_bytes = max(1, frame_bytes)
        self.started_at = started_at

    def allowance(self, now: float) -> int:
        """Bytes that may have been sent in total by ``now`` (whole frames)."""
        elapsed = max(0.0, now - self.started_at)
        allowed = int(elapsed * self.speed * self.bytes_per_second)
        return allowed - allowed % self.frame_bytes


__all__ = [
    "DEEPGRAM_REALTIME_CAP",
    "ReplayPacer",
    "ReplaySpeed",
    "check_replay_speed",
    "is_loopback_url",
    "resolve_replay_speed",
]
