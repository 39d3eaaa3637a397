"""The Listen V1 ApiSpec: ``/v1/listen`` on the production host, audio from the client."""

from __future__ import annotations

import attrs

from actors.protocol.listen_v1.messages import CLIENT_MESSAGES, SERVER_MESSAGES
from actors.protocol.listen_v1.options import ListenV1Options
from actors.protocol.listen_v1.replay import LISTEN_V1_REPLAY
from actors.protocol.production_api import production_api

__all__ = ["LISTEN_V1"]

LISTEN_V1 = attrs.evolve(
    production_api(
        "listen.v1",
        "/v1/listen",
        ListenV1Options,
        server_messages=SERVER_MESSAGES,
        client_messages=CLIENT_MESSAGES,
        audio_from="client",
    ),
    replay=LISTEN_V1_REPLAY,
)
"""Live speech-to-text (Nova models)."""
