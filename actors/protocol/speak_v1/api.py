"""The Speak V1 ApiSpec: ``/v1/speak`` on the production host, audio from the server."""

from __future__ import annotations

from actors.protocol.production_api import production_api
from actors.protocol.speak_v1.messages import CLIENT_MESSAGES, SERVER_MESSAGES
from actors.protocol.speak_v1.options import SpeakV1Options

__all__ = ["SPEAK_V1"]

SPEAK_V1 = production_api(
    "speak.v1",
    "/v1/speak",
    SpeakV1Options,
    server_messages=SERVER_MESSAGES,
    client_messages=CLIENT_MESSAGES,
    audio_from="server",
)
"""Streaming text-to-speech (Aura voices)."""
