"""The Listen V2 (Flux) ApiSpec: ``/v2/listen`` on the production host, audio from the client."""

from __future__ import annotations

from actors.protocol.apis import ApiSpec
from actors.protocol.codec import Codec
from actors.protocol.listen_v2.messages import CLIENT_MESSAGES, SERVER_MESSAGES
from actors.protocol.listen_v2.options import ListenV2Options

__all__ = ["LISTEN_V2"]

LISTEN_V2 = ApiSpec(
    name="listen.v2",
    path="/v2/listen",
    host="production",
    options_type=ListenV2Options,
    server_codec=Codec(SERVER_MESSAGES, name="listen.v2 server"),
    client_codec=Codec(CLIENT_MESSAGES, name="listen.v2 client"),
    server_sends_binary=False,
    client_sends_binary=True,
)
"""Conversational speech-to-text with turn detection (Flux)."""
