"""The Speak V2 ApiSpec: ``/v2/speak`` (Flux TTS) on the production host, audio from the server."""

from __future__ import annotations

from actors.protocol.production_api import production_api
from actors.protocol.session import SPEAK_SESSION
from actors.protocol.speak_v2.messages import CLIENT_MESSAGES, SERVER_MESSAGES
from actors.protocol.speak_v2.options import SpeakV2Options

__all__ = ["SPEAK_V2"]

SPEAK_V2 = production_api(
    SpeakV2Options,
    server_messages=SERVER_MESSAGES,
    client_messages=CLIENT_MESSAGES,
    client_sends=CLIENT_MESSAGES,
    session=SPEAK_SESSION,
    audio_from="server",
)
"""Turn-based streaming text-to-speech (Flux TTS)."""
