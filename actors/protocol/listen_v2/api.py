"""The Listen V2 (Flux) ApiSpec: ``/v2/listen`` on the production host, audio from the client."""

from __future__ import annotations

import attrs

from actors.protocol.listen_v2.messages import CLIENT_MESSAGES, SERVER_MESSAGES
from actors.protocol.listen_v2.options import ListenV2Options
from actors.protocol.listen_v2.replay import LISTEN_V2_REPLAY
from actors.protocol.production_api import production_api

__all__ = ["LISTEN_V2"]

LISTEN_V2 = attrs.evolve(
    production_api(
        "listen.v2",
        "/v2/listen",
        ListenV2Options,
        server_messages=SERVER_MESSAGES,
        client_messages=CLIENT_MESSAGES,
        audio_from="client",
    ),
    replay=LISTEN_V2_REPLAY,
)
"""Conversational speech-to-text with turn detection (Flux)."""
