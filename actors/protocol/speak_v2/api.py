"""The Speak V2 ApiSpec: ``/v2/speak`` (Flux TTS) on the production host, audio from the server."""

from __future__ import annotations

from actors.protocol.production_api import production_api
from actors.protocol.speak_v2.messages import CLIENT_MESSAGES, SERVER_MESSAGES
from actors.protocol.speak_v2.options import SpeakV2Options

__all__ = ["SPEAK_V2"]

SPEAK_V2 = production_api(
    "speak.v2",
    "/v2/speak",
    SpeakV2Options,
    server_messages=SERVER_MESSAGES,
    client_messages=CLIENT_MESSAGES,
    audio_from="server",
)
"""Turn-based streaming text-to-speech (Flux TTS)."""
