"""Flux's replay rules: finals are ``EndOfTurn``; empty between-turn Updates prove silence."""

from __future__ import annotations

from actors.protocol.listen_v2.messages import (
    ListenV2ConfigureFailure,
    ListenV2ConfigureSuccess,
    ListenV2Connected,
    ListenV2FatalError,
    ListenV2TurnInfo,
    ListenV2TurnInfoWordsItem,
    ListenV2Warning,
)
from actors.protocol.listen_v2.options import ListenV2Options
from actors.protocol.replay_rules import (
    DeclaredAudio,
    FinalSpan,
    ReplayRules,
    TurnSignal,
    replaced,
    shift_time,
)

__all__ = ["FLUX_ONSET_GUARD_SECONDS", "LISTEN_V2_REPLAY", "ListenV2ReplayRules"]

#: How much audio before an empty between-turn ``Update`` is still kept for replay: speech that
#: has begun is reported only once a word is recognised (the deterministic engine reports a word
#: when it ends; Deepgram's StartOfTurn comes some hundreds of ms after onset), so an empty Update
#: at ``t`` proves only that no turn began well before ``t``.
FLUX_ONSET_GUARD_SECONDS = 3.0

_END_OF_TURN = "EndOfTurn"
_NUMBERED = (
    ListenV2Connected,
    ListenV2TurnInfo,
    ListenV2ConfigureSuccess,
    ListenV2ConfigureFailure,
    ListenV2Warning,
    ListenV2FatalError,
)
_Numbered = (
    ListenV2Connected
    | ListenV2TurnInfo
    | ListenV2ConfigureSuccess
    | ListenV2ConfigureFailure
    | ListenV2Warning
    | ListenV2FatalError
)


def _shift_words(words: list[ListenV2TurnInfoWordsItem], offset: float) -> list[ListenV2TurnInfoWordsItem]:
    return [
        replaced(w, start=shift_time(w.start, offset), end=shift_time(w.end, offset))
        if w.start is not None and w.end is not None
        else w
        for w in words
    ]


class ListenV2ReplayRules(ReplayRules):
    """Finals: ``TurnInfo`` ``EndOfTurn`` (one channel). Times: the turn's audio window and words;
    ``turn_index`` restarts at 0 per connection, and so does ``sequence_id`` (0 for ``Connected``).
    Flux sends no final during silence: an empty ``Update`` while no turn is open is silence
    evidence, minus :data:`FLUX_ONSET_GUARD_SECONDS`. ``Connected`` greets each connection.
    """

    silence_guard_seconds: float | None = FLUX_ONSET_GUARD_SECONDS
    numbers_messages = True

    def declared_audio(self, options: object) -> DeclaredAudio | None:
        """``encoding`` / ``sample_rate`` of :class:`ListenV2Options`."""
        if not isinstance(options, ListenV2Options):
            return None
        encoding = options.encoding
        return DeclaredAudio(None if encoding is None else str(encoding), options.sample_rate, 1)

    def final_span(self, msg: object) -> FinalSpan | None:
        """The audio window an ``EndOfTurn`` closes."""
        if not isinstance(msg, ListenV2TurnInfo) or msg.event != _END_OF_TURN:
            return None
        return FinalSpan(0, 1, float(msg.audio_window_start), float(msg.audio_window_end))

    def rebase(self, msg: object, seconds: float, turns: int) -> object:
        """A ``TurnInfo`` with its window and words moved by ``seconds``, ``turn_index`` by ``turns``."""
        if not isinstance(msg, ListenV2TurnInfo) or (seconds == 0 and turns == 0):
            return msg
        return replaced(
            msg,
            audio_window_start=shift_time(msg.audio_window_start, seconds),
            audio_window_end=shift_time(msg.audio_window_end, seconds),
            words=_shift_words(msg.words, seconds) if msg.words else msg.words,
            turn_index=int(msg.turn_index) + turns,
        )

    def turns_closed(self, msg: object) -> int | None:
        """After an ``EndOfTurn`` the turns up to its ``turn_index`` are complete."""
        if isinstance(msg, ListenV2TurnInfo) and msg.event == _END_OF_TURN:
            return int(msg.turn_index) + 1
        return None

    def sequence_id(self, msg: object) -> int | None:
        """Every Flux server message's ``sequence_id`` (None when absent)."""
        if not isinstance(msg, _NUMBERED):
            return None
        value = msg.sequence_id
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def with_sequence_id(self, msg: object, value: int) -> object:
        """``msg`` with ``sequence_id=value``."""
        if not isinstance(msg, _NUMBERED):
            return msg
        numbered: _Numbered = msg
        return replaced(numbered, sequence_id=value)

    def without_words_before(self, msg: object, seconds: float, tolerance: float) -> object:
        """The turn's words from ``seconds`` on (words without times are kept)."""
        if not isinstance(msg, ListenV2TurnInfo):
            return msg
        words = msg.words or []
        kept = [w for w in words if w.start is None or w.start >= seconds - tolerance]
        if len(kept) == len(words):
            return msg
        return replaced(msg, words=kept, transcript=" ".join(w.word for w in kept))

    def turn_signal(self, msg: object) -> tuple[TurnSignal, float]:
        """EndOfTurn closes; an empty Update is IDLE up to its window end; any other turn event opens."""
        if not isinstance(msg, ListenV2TurnInfo):
            return TurnSignal.NONE, 0.0
        if msg.event == _END_OF_TURN:
            return TurnSignal.CLOSED, 0.0
        if msg.event != "Update" or msg.transcript or msg.words:
            return TurnSignal.OPEN, 0.0  # StartOfTurn, Eager/Resumed, unknown, or words: a turn runs
        return TurnSignal.IDLE, float(msg.audio_window_end)

    def is_greeting(self, msg: object) -> bool:
        """``Connected``: each connection's first message."""
        return isinstance(msg, ListenV2Connected)

    def transcript(self, final: object) -> str:
        """The turn's transcript."""
        return str(final.transcript or "") if isinstance(final, ListenV2TurnInfo) else ""


#: The rules ``LISTEN_V2.replay`` declares.
LISTEN_V2_REPLAY = ListenV2ReplayRules()
