"""What a lossless reconnect needs to know about one API's messages: :class:`ReplayRules`.

A supervised stream replays the audio its finals do not cover yet into a new connection and
stitches the connections' results into one timeline. Which messages are finals, which audio they
cover, which fields are times, what proves silence, and which messages belong only to the first
or the last connection differ per API; each replayable API declares them once, on its
``ApiSpec.replay`` (``actors.protocol.listen_v1.replay``, ``actors.protocol.listen_v2.replay``).
An API whose ``replay`` is None (Speak, Agent) is never replayed.

Every method takes any event (a typed message of the API, an ``UnknownMessage``, a
``DecodeError``, a runtime lifecycle event) and must answer for anything it does not know with the
neutral value: not final, unchanged, no signal. Pure: no sockets, no clock, no state.
"""

from __future__ import annotations

import enum
from typing import Any, TypeVar, cast

import attrs

from actors._lean_attrs import LeanFrozen
from actors.protocol.base import WireObject

_W = TypeVar("_W", bound=WireObject)

__all__ = ["TIME_DIGITS", "DeclaredAudio", "FinalSpan", "ReplayRules", "TurnSignal", "replaced", "shift_time"]

#: Rebased timestamps are rounded to the microsecond to hide float noise.
TIME_DIGITS = 6


def shift_time(value: float, offset: float) -> float:
    """``value`` seconds moved by ``offset`` seconds, rounded to :data:`TIME_DIGITS` digits."""
    return round(value + offset, TIME_DIGITS)


def replaced(obj: _W, **changes: object) -> _W:
    """A copy of the wire object ``obj`` with ``changes`` (field names, checked) applied."""
    # wire_object classes are attrs classes that type checkers see through dataclass_transform only
    return cast(_W, attrs.evolve(cast(Any, obj), **changes))


@attrs.frozen(repr=False, eq=False)
class FinalSpan(LeanFrozen):
    """The audio a final result covers: ``start``..``end`` seconds of ``channel`` (of ``channels``)."""

    channel: int
    channels: int
    start: float
    end: float


@attrs.frozen(repr=False, eq=False)
class DeclaredAudio(LeanFrozen):
    """The audio format a stream's connect options declare (``encoding`` None: a container)."""

    encoding: str | None
    sample_rate: int | None
    channels: int = 1


class TurnSignal(enum.Enum):
    """What one message says about the API's turns (used to prove silence between turns)."""

    NONE = "none"  # nothing: not a turn message
    OPEN = "open"  # a turn is running (or may be: in doubt, keep the audio)
    CLOSED = "closed"  # the open turn ended
    IDLE = "idle"  # no turn open and nothing recognised up to the message's heard-until time


class ReplayRules:
    """One API's replay rules. The defaults describe an API with no finals and no times.

    Subclasses override what their API has. Messages are returned new (``attrs.evolve``), never
    changed in place.
    """

    #: Seconds of audio before an :attr:`TurnSignal.IDLE` edge still kept (speech that has begun
    #: is reported only once a word is recognised). None: the API gives no silence evidence.
    silence_guard_seconds: float | None = None
    #: Whether the server numbers its messages (``sequence_id``) per connection, so the stream
    #: continues the numbers across connections.
    numbers_messages: bool = False

    def declared_audio(self, options: object) -> DeclaredAudio | None:
        """The audio format ``options`` (the API's connect options, or None) declare; None: nothing."""
        return None

    def final_span(self, msg: object) -> FinalSpan | None:
        """The audio ``msg`` covers if it is a final result (in its connection's timeline), else None."""
        return None

    def rebase(self, msg: object, seconds: float, turns: int) -> object:
        """``msg`` with its times moved by ``seconds`` and its turn numbers by ``turns``."""
        return msg

    def turns_closed(self, msg: object) -> int | None:
        """How many turns of its connection are complete once ``msg`` arrived (None: not a turn end)."""
        return None

    def sequence_id(self, msg: object) -> int | None:
        """The per-connection message number of ``msg`` (None: it has none)."""
        return None

    def with_sequence_id(self, msg: object, value: int) -> object:
        """``msg`` renumbered to ``value`` (only called when :meth:`sequence_id` gave a number)."""
        return msg

    def without_words_before(self, msg: object, seconds: float, tolerance: float) -> object:
        """The final ``msg`` keeping only the words that start at or after ``seconds``."""
        return msg

    def turn_signal(self, msg: object) -> tuple[TurnSignal, float]:
        """What ``msg`` says about turns, and (for IDLE) how much audio the server has heard."""
        return TurnSignal.NONE, 0.0

    def is_greeting(self, msg: object) -> bool:
        """Whether ``msg`` greets a new connection (forwarded from the first connection only)."""
        return False

    def is_summary(self, msg: object) -> bool:
        """Whether ``msg`` summarises a session (forwarded only from the connection that finishes)."""
        return False

    def transcript(self, final: object) -> str:
        """The transcript text of the final ``final`` for ``StreamResult.transcript`` ("" if none)."""
        return ""
