"""How a live session of each API is kept open and ended: :class:`SessionRules`, pure data.

Every API declares its rules once, on its :class:`~actors.protocol.apis.ApiSpec` (``api.session``);
the runtime derives its keepalive plan, its finish and its result metrics from them instead of
matching API names or message strings.
"""

from __future__ import annotations

from typing import Literal

import attrs

from actors._lean_attrs import LeanFrozen

__all__ = ["KEEPALIVE_MESSAGE", "SPEAK_SESSION", "FinishMode", "SessionRules"]

FinishMode = Literal["close", "finalize"]

#: The ``KeepAlive`` text frame of Listen V1 and Agent V1.
KEEPALIVE_MESSAGE = '{"type":"KeepAlive"}'


def _check_interval(_inst: object, _attr: object, value: float) -> None:
    if not value > 0:
        raise ValueError(f"keepalive_interval must be > 0 seconds, got {value!r}")


@attrs.frozen(repr=False, eq=False)
class SessionRules(LeanFrozen):
    """What keeps one API's session open while the client is silent, and how it ends gracefully.

    * ``keepalive_kind``: ``"message"`` sends ``keepalive_message`` (a JSON text frame) after
      ``keepalive_interval`` seconds of client silence; ``"ping"`` sends a WebSocket ping.
    * ``finish_close`` / ``finish_finalize``: the JSON text frames a graceful finish sends, in
      order, for ``finish(mode="close")`` / ``finish(mode="finalize")``; an empty tuple means the
      client ends the session with a close frame itself (Agent).
    * ``result_types``: the wire ``type`` tags that count as results (time to first result);
      ``audio_is_result``: the server's first audio counts as a result too (Speak, Agent).
    """

    keepalive_kind: Literal["message", "ping"]
    keepalive_interval: float = attrs.field(validator=_check_interval)
    keepalive_message: str | None = None
    finish_close: tuple[str, ...] = ()
    finish_finalize: tuple[str, ...] = ()
    result_types: frozenset[str] = frozenset()
    audio_is_result: bool = False

    def __attrs_post_init__(self) -> None:
        if self.keepalive_kind not in ("message", "ping"):
            raise ValueError(f"keepalive_kind must be 'message' or 'ping', got {self.keepalive_kind!r}")
        if self.keepalive_kind == "message" and not self.keepalive_message:
            raise ValueError("a message keepalive needs keepalive_message")

    def finish_frames(self, mode: FinishMode) -> tuple[str, ...]:
        """The text frames ``finish(mode)`` sends; ``ValueError`` for an unknown mode."""
        if mode == "close":
            return self.finish_close
        if mode == "finalize":
            return self.finish_finalize
        raise ValueError(f"finish mode must be 'close' or 'finalize', got {mode!r}")


_FLUSH_AND_CLOSE = ('{"type":"Flush"}', '{"type":"Close"}')

SPEAK_SESSION = SessionRules(
    # No KeepAlive message on /v1/speak or /v2/speak (spec, SDK): pings keep an idle session
    # open. The finish flushes the open text and closes, so the last audio (and Flushed, and on
    # V2 SpeechMetadata and SessionMetadata) arrive before the server's close.
    keepalive_kind="ping",
    keepalive_interval=5.0,
    finish_close=_FLUSH_AND_CLOSE,
    finish_finalize=_FLUSH_AND_CLOSE,
    audio_is_result=True,
)
"""How both streaming TTS APIs (Speak V1 and V2) keep a session open and finish it."""
