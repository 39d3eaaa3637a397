"""The Listen V1 ApiSpec: ``/v1/listen`` on the production host, audio from the client."""

from __future__ import annotations

from actors.protocol.apis import ApiSpec
from actors.protocol.codec import Codec
from actors.protocol.listen_v1.messages import CLIENT_MESSAGES, SERVER_MESSAGES
from actors.protocol.listen_v1.options import ListenV1Options

__all__ = ["LISTEN_V1"]

LISTEN_V1 = ApiSpec(
    name="listen.v1",
    path="/v1/listen",
    host="production",
    options_type=ListenV1Options,
    server_codec=Codec(SERVER_MESSAGES, name="listen.v1 server"),
    client_codec=Codec(CLIENT_MESSAGES, name="listen.v1 client"),
    server_sends_binary=False,
    client_sends_binary=True,
)
"""Live speech-to-text (Nova models)."""
