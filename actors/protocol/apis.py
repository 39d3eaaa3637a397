"""The five APIs as data: :class:`ApiSpec` and the registry ``LISTEN_V1``, ``LISTEN_V2``,
``SPEAK_V1``, ``SPEAK_V2``, ``AGENT_V1``.

The constants are resolved lazily (PEP 562) from each API's ``api`` module, so an API package can
import :class:`ApiSpec` from here without an import cycle, and ``AGENT_V1`` appears as soon as
``actors.protocol.agent_v1.api`` exists.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Literal

import attrs

from actors._lean_attrs import LeanFrozen

if TYPE_CHECKING:
    # Codec and ConnectOptions are only annotations (attrs keeps them as strings), so importing
    # this module does not import the codec.
    from actors.protocol.base import Message
    from actors.protocol.codec import Codec
    from actors.protocol.listen_v1.api import LISTEN_V1
    from actors.protocol.listen_v2.api import LISTEN_V2
    from actors.protocol.models import ModelCatalog
    from actors.protocol.options import ConnectOptions
    from actors.protocol.replay_rules import ReplayRules
    from actors.protocol.session import SessionRules
    from actors.protocol.speak_v1.api import SPEAK_V1
    from actors.protocol.speak_v2.api import SPEAK_V2

    AGENT_V1: ApiSpec

__all__ = [
    "AGENT_V1",
    "LISTEN_V1",
    "LISTEN_V2",
    "SPEAK_V1",
    "SPEAK_V2",
    "ApiSpec",
    "all_apis",
    "api_for_path",
]

Host = Literal["production", "agent"]


@attrs.frozen(repr=False, eq=False)
class ApiSpec(LeanFrozen):
    """What the runtime, client and server need to know about one WebSocket API.

    * ``name``: ``"listen.v1"``; ``path``: ``"/v1/listen"``; ``host``: which base URL serves it
      (``"production"`` = api.deepgram.com, ``"agent"`` = agent.deepgram.com).
    * ``options_type``: the connect-options class (None when the API takes no query parameters).
    * ``server_codec`` decodes what the server sends; ``client_codec`` what the client sends.
    * ``server_sends_binary`` / ``client_sends_binary``: whether binary frames (audio) flow that way.
    * ``client_sends``: the client messages the SDK-shaped sockets have a typed send method for
      (each a class of ``client_codec``). Message ``ListenV1Finalize`` of ``listen.v1`` is
      ``send_listen_v_1_finalize`` with the alias ``send_finalize`` on the sync and the async
      socket; ``client_sends_binary`` adds ``send_listen_v_1_media`` / ``send_media``. The methods
      are written out in ``actors/client/sockets.py`` and ``async_sockets.py``;
      ``tests/client/test_send_methods.py`` fails when a socket does not match this tuple.
    * ``session``: how a live session is kept open and finished
      (:class:`~actors.protocol.session.SessionRules`).
    * ``replay``: how a supervised stream replays this API losslessly after a reconnect (finals,
      times, silence evidence: :class:`~actors.protocol.replay_rules.ReplayRules`); None = never
      replayed (Speak, Agent).
    * ``model_catalog``: the models it serves and how others are refused
      (:class:`~actors.protocol.models.ModelCatalog`); None = it takes no ``model`` (Agent).
    """

    name: str
    path: str
    host: Host
    options_type: type[ConnectOptions] | None
    server_codec: Codec = attrs.field(repr=False)
    client_codec: Codec = attrs.field(repr=False)
    server_sends_binary: bool
    client_sends_binary: bool
    client_sends: tuple[type[Message], ...] = attrs.field(repr=False)
    session: SessionRules = attrs.field(repr=False)
    replay: ReplayRules | None = attrs.field(default=None, repr=False)
    model_catalog: ModelCatalog | None = attrs.field(default=None, repr=False)

    def __reduce__(self) -> tuple[object, tuple[str]]:
        """Pickle by name: each spec is a module constant, and its codecs are not data (a spec sent
        to another process, e.g. a Ray worker, is that process's own constant)."""
        return (_spec_named, (self.name,))


def _spec_named(name: str) -> ApiSpec:
    """The registry constant whose `ApiSpec.name` is ``name`` (``"listen.v1"`` -> ``LISTEN_V1``)."""
    spec = __getattr__(name.upper().replace(".", "_"))
    assert isinstance(spec, ApiSpec)
    return spec


_MODULES = {
    "LISTEN_V1": "actors.protocol.listen_v1.api",
    "LISTEN_V2": "actors.protocol.listen_v2.api",
    "SPEAK_V1": "actors.protocol.speak_v1.api",
    "SPEAK_V2": "actors.protocol.speak_v2.api",
    "AGENT_V1": "actors.protocol.agent_v1.api",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        spec = getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as e:
        if e.name != module:
            raise
        raise AttributeError(f"{name} is not available: {module} is not installed") from None
    globals()[name] = spec
    return spec


def all_apis() -> tuple[ApiSpec, ...]:
    """Every available API (AGENT_V1 only once its package exists)."""
    found = []
    for name in _MODULES:
        try:
            found.append(__getattr__(name))
        except AttributeError:
            continue
    return tuple(found)


def api_for_path(path: str) -> ApiSpec:
    """The API served at ``path`` (query string ignored); raises KeyError naming the known paths."""
    path = path.split("?", 1)[0].rstrip("/") or "/"
    for api in all_apis():
        if api.path == path:
            return api
    known = ", ".join(api.path for api in all_apis())
    raise KeyError(f"no API at {path!r}; known paths: {known}")
