"""The Speak V1 ApiSpec: ``/v1/speak`` on the production host, audio from the server."""

from __future__ import annotations

from actors.protocol.models import ModelCatalog
from actors.protocol.production_api import production_api
from actors.protocol.session import SPEAK_SESSION
from actors.protocol.speak_v1.messages import CLIENT_MESSAGES, SERVER_MESSAGES
from actors.protocol.speak_v1.options import SPEAK_V1_MODELS, SpeakV1Options

__all__ = ["SPEAK_V1"]

SPEAK_V1 = production_api(
    SpeakV1Options,
    server_messages=SERVER_MESSAGES,
    client_messages=CLIENT_MESSAGES,
    client_sends=CLIENT_MESSAGES,
    session=SPEAK_SESSION,
    audio_from="server",
    model_catalog=ModelCatalog(SPEAK_V1_MODELS, default="aura-asteria-en"),
)
"""Streaming text-to-speech (Aura voices)."""
