"""The Speak V1 ApiSpec: ``/v1/speak`` on the production host, audio from the server."""

from __future__ import annotations

from actors.protocol.models import ModelCatalog
from actors.protocol.production_api import production_api
from actors.protocol.session import SessionRules
from actors.protocol.speak_v1.messages import CLIENT_MESSAGES, SERVER_MESSAGES
from actors.protocol.speak_v1.options import SPEAK_V1_MODELS, SpeakV1Options

__all__ = ["SPEAK_V1"]

_FLUSH_AND_CLOSE = ('{"type":"Flush"}', '{"type":"Close"}')

SPEAK_V1 = production_api(
    SpeakV1Options,
    server_messages=SERVER_MESSAGES,
    client_messages=CLIENT_MESSAGES,
    client_sends=CLIENT_MESSAGES,
    session=SessionRules(
        keepalive_kind="ping",
        keepalive_interval=5.0,
        finish_close=_FLUSH_AND_CLOSE,
        finish_finalize=_FLUSH_AND_CLOSE,
        audio_is_result=True,
    ),
    audio_from="server",
    model_catalog=ModelCatalog(SPEAK_V1_MODELS, default="aura-asteria-en"),
)
"""Streaming text-to-speech (Aura voices)."""
