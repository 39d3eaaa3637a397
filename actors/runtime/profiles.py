"""What differs between the five APIs at runtime, as data: keepalive and graceful finish.

One table instead of one connection class per API. Keyed by ``ApiSpec.name``.
"""

from __future__ import annotations

from typing import Literal

import attrs

from actors.runtime.keepalive import KEEPALIVE_FRAME, KeepalivePlan

FinishMode = Literal["close", "finalize"]


@attrs.frozen
class ApiProfile:
    """Runtime behaviour of one API.

    * ``keepalive`` -- the plan used when ``ConnectionConfig.keepalive`` is on.
    * ``finish_frames`` -- JSON text frames sent by ``finish(mode)``, per mode; an empty tuple
      means the client ends the session with a close frame itself (Agent).
    * ``result_types`` -- wire ``type`` tags counted as results by the metrics; ``audio_is_result``
      makes the first server audio count too (Speak, Agent).
    """

    keepalive: KeepalivePlan
    finish_frames: dict[str, tuple[str, ...]]
    result_types: frozenset[str] = frozenset()
    audio_is_result: bool = False


_CLOSE_STREAM = '{"type":"CloseStream"}'

PROFILES: dict[str, ApiProfile] = {
    "listen.v1": ApiProfile(
        # Deepgram closes after ~10 s without data (NET-0001); its docs say every 3-5 s.
        keepalive=KeepalivePlan(kind="message", interval=4.0, frame=KEEPALIVE_FRAME),
        finish_frames={"close": (_CLOSE_STREAM,), "finalize": ('{"type":"Finalize"}', _CLOSE_STREAM)},
        result_types=frozenset({"Results"}),
    ),
    "listen.v2": ApiProfile(
        keepalive=KeepalivePlan(kind="ping", interval=5.0),
        finish_frames={"close": (_CLOSE_STREAM,), "finalize": (_CLOSE_STREAM,)},
        result_types=frozenset({"TurnInfo"}),
    ),
    "speak.v1": ApiProfile(
        keepalive=KeepalivePlan(kind="ping", interval=5.0),
        finish_frames={
            "close": ('{"type":"Flush"}', '{"type":"Close"}'),
            "finalize": ('{"type":"Flush"}', '{"type":"Close"}'),
        },
        audio_is_result=True,
    ),
    "speak.v2": ApiProfile(
        # No KeepAlive message on /v2/speak (spec, SDK): pings keep an idle session open. The
        # finish flushes the open turn and closes, so its last audio, SpeechMetadata, Flushed
        # and SessionMetadata arrive before the server's close.
        keepalive=KeepalivePlan(kind="ping", interval=5.0),
        finish_frames={
            "close": ('{"type":"Flush"}', '{"type":"Close"}'),
            "finalize": ('{"type":"Flush"}', '{"type":"Close"}'),
        },
        audio_is_result=True,
    ),
    "agent.v1": ApiProfile(
        # The agent docs: KeepAlive every 8 s while no audio is streamed.
        keepalive=KeepalivePlan(kind="message", interval=8.0, frame=KEEPALIVE_FRAME),
        finish_frames={"close": (), "finalize": ()},
        result_types=frozenset({"ConversationText"}),
        audio_is_result=True,
    ),
}


def profile_for(api_name: str) -> ApiProfile:
    """The profile of ``api_name`` ("listen.v1", ...); ``ValueError`` lists the known names."""
    try:
        return PROFILES[api_name]
    except KeyError:
        raise ValueError(f"no runtime profile for API {api_name!r}; known: {sorted(PROFILES)}") from None


__all__ = ["PROFILES", "ApiProfile", "FinishMode", "profile_for"]
