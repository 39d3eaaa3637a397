"""The Listen V1 ApiSpec: ``/v1/listen`` on the production host, audio from the client."""

from __future__ import annotations

from actors.protocol.listen_v1.messages import (
    CLIENT_MESSAGES,
    SERVER_MESSAGES,
    ListenV1CloseStream,
    ListenV1Configure,
    ListenV1Finalize,
    ListenV1KeepAlive,
)
from actors.protocol.listen_v1.options import LISTEN_V1_MODELS, ListenV1Options
from actors.protocol.listen_v1.replay import LISTEN_V1_REPLAY
from actors.protocol.models import FLUX_ON_V1_LISTEN, ModelCatalog
from actors.protocol.production_api import production_api
from actors.protocol.session import KEEPALIVE_MESSAGE, SessionRules

__all__ = ["LISTEN_V1"]

_CLOSE_STREAM = '{"type":"CloseStream"}'

LISTEN_V1 = production_api(
    ListenV1Options,
    server_messages=SERVER_MESSAGES,
    client_messages=CLIENT_MESSAGES,
    # Sync (a barrier the server echoes) has no send method; send_raw sends it.
    client_sends=(ListenV1Finalize, ListenV1CloseStream, ListenV1KeepAlive, ListenV1Configure),
    session=SessionRules(
        # Deepgram closes after ~10 s without data (NET-0001); its docs say every 3-5 s.
        keepalive_kind="message",
        keepalive_interval=4.0,
        keepalive_message=KEEPALIVE_MESSAGE,
        finish_close=(_CLOSE_STREAM,),
        finish_finalize=('{"type":"Finalize"}', _CLOSE_STREAM),
        result_types=frozenset({"Results"}),
    ),
    audio_from="client",
    replay=LISTEN_V1_REPLAY,
    model_catalog=ModelCatalog(LISTEN_V1_MODELS, default="base", flux_refusal=FLUX_ON_V1_LISTEN),
)
"""Live speech-to-text (Nova models)."""
