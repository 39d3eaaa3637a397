"""The Speak V2 ApiSpec: ``/v2/speak`` (Flux TTS) on the production host, audio from the server."""

from __future__ import annotations

from actors.protocol.production_api import production_api
from actors.protocol.session import SessionRules
from actors.protocol.speak_v2.messages import CLIENT_MESSAGES, SERVER_MESSAGES
from actors.protocol.speak_v2.options import SpeakV2Options

__all__ = ["SPEAK_V2"]

_FLUSH_AND_CLOSE = ('{"type":"Flush"}', '{"type":"Close"}')

SPEAK_V2 = production_api(
    SpeakV2Options,
    server_messages=SERVER_MESSAGES,
    client_messages=CLIENT_MESSAGES,
    client_sends=CLIENT_MESSAGES,
    session=SessionRules(
        # No KeepAlive message on /v2/speak (spec, SDK): pings keep an idle session open. The
        # finish flushes the open turn and closes, so its last audio, SpeechMetadata, Flushed
        # and SessionMetadata arrive before the server's close.
        keepalive_kind="ping",
        keepalive_interval=5.0,
        finish_close=_FLUSH_AND_CLOSE,
        finish_finalize=_FLUSH_AND_CLOSE,
        audio_is_result=True,
    ),
    audio_from="server",
)
"""Turn-based streaming text-to-speech (Flux TTS)."""
