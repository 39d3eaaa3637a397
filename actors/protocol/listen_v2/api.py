"""The Listen V2 (Flux) ApiSpec: ``/v2/listen`` on the production host, audio from the client."""

from __future__ import annotations

from actors.protocol.listen_v2.messages import CLIENT_MESSAGES, SERVER_MESSAGES
from actors.protocol.listen_v2.options import LISTEN_V2_MODELS, ListenV2Options
from actors.protocol.listen_v2.replay import LISTEN_V2_REPLAY
from actors.protocol.models import ModelCatalog
from actors.protocol.production_api import production_api
from actors.protocol.session import SessionRules

__all__ = ["LISTEN_V2"]

_CLOSE_STREAM = '{"type":"CloseStream"}'

LISTEN_V2 = production_api(
    ListenV2Options,
    server_messages=SERVER_MESSAGES,
    client_messages=CLIENT_MESSAGES,
    client_sends=CLIENT_MESSAGES,
    session=SessionRules(
        keepalive_kind="ping",
        keepalive_interval=5.0,
        finish_close=(_CLOSE_STREAM,),
        finish_finalize=(_CLOSE_STREAM,),
        result_types=frozenset({"TurnInfo"}),
    ),
    audio_from="client",
    replay=LISTEN_V2_REPLAY,
    model_catalog=ModelCatalog(LISTEN_V2_MODELS, default=None),
)
"""Conversational speech-to-text with turn detection (Flux)."""
