"""The Speak V1 ApiSpec: ``/v1/speak`` on the production host, audio from the server."""

from __future__ import annotations

from actors.protocol.apis import ApiSpec
from actors.protocol.codec import Codec
from actors.protocol.speak_v1.messages import CLIENT_MESSAGES, SERVER_MESSAGES
from actors.protocol.speak_v1.options import SpeakV1Options

__all__ = ["SPEAK_V1"]

SPEAK_V1 = ApiSpec(
    name="speak.v1",
    path="/v1/speak",
    host="production",
    options_type=SpeakV1Options,
    server_codec=Codec(SERVER_MESSAGES, name="speak.v1 server"),
    client_codec=Codec(CLIENT_MESSAGES, name="speak.v1 client"),
    server_sends_binary=True,
    client_sends_binary=False,
)
"""Streaming text-to-speech (Aura voices)."""
