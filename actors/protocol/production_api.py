"""Building the :class:`ApiSpec` of an API served on the production host with plain codecs.

Listen V1, Listen V2, Speak V1 and Speak V2 differ only in their options class (which names the API
and its path), message classes, session and replay rules and which way audio flows; this is the one
place that turns those into an ``ApiSpec``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from actors.errors import OptionsError
from actors.protocol.apis import ApiSpec
from actors.protocol.base import Message
from actors.protocol.codec import Codec
from actors.protocol.models import ModelCatalog
from actors.protocol.options import ConnectOptions
from actors.protocol.replay_rules import ReplayRules
from actors.protocol.session import SessionRules

__all__ = ["production_api"]


def production_api(
    options_type: type[ConnectOptions],
    *,
    server_messages: Iterable[type[Message]],
    client_messages: Iterable[type[Message]],
    client_sends: Iterable[type[Message]],
    audio_from: Literal["client", "server"],
    session: SessionRules,
    replay: ReplayRules | None = None,
    model_catalog: ModelCatalog | None = None,
) -> ApiSpec:
    """The ``ApiSpec`` of the API whose connect options are ``options_type`` on the production host.

    Its name and path are the options class's ``API`` and ``PATH`` (``"listen.v1"``,
    ``"/v1/listen"``: declared once, there). Its codecs are named ``"<name> server"`` /
    ``"<name> client"``; ``client_sends`` are the client messages the sockets have a typed send
    method for; binary frames (audio) flow only from ``audio_from``; ``session`` says how a live
    session is kept open and finished, and ``replay`` how a supervised stream replays it
    losslessly (None: never); ``model_catalog`` lists the models it serves.
    """
    if audio_from not in ("client", "server"):
        raise OptionsError("audio_from", f"expected 'client' or 'server', got {audio_from!r}", audio_from)
    name = options_type.API
    return ApiSpec(
        name=name,
        path=options_type.PATH,
        host="production",
        options_type=options_type,
        server_codec=Codec(server_messages, name=f"{name} server"),
        client_codec=Codec(client_messages, name=f"{name} client"),
        server_sends_binary=audio_from == "server",
        client_sends_binary=audio_from == "client",
        client_sends=tuple(client_sends),
        session=session,
        replay=replay,
        model_catalog=model_catalog,
    )
