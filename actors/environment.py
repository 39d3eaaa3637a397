"""Where a client connects: Deepgram's hosts by default, or any compatible server (the local one).

Shaped like the SDK's ``deepgram.environment.DeepgramClientEnvironment`` (``base``,
``production``, ``agent``, ``agent_rest``; ``PRODUCTION`` default), plus :meth:`local` to point
every API at one server such as ``actors.server.LocalServer``. A client with a credential and no
``environment`` uses ``PRODUCTION``; one with neither uses the embedded local server (its
``client.environment`` is None).
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlsplit

from actors.errors import OptionsError

_WS_SCHEMES = ("ws", "wss")
_HTTP_SCHEMES = ("http", "https")


def _checked_url(name: str, url: str, schemes: tuple[str, ...]) -> str:
    if not isinstance(url, str) or not url:
        raise OptionsError(name, f"expected a URL string, got {url!r}", url)
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.netloc:
        raise OptionsError(
            name, f"expected a {'/'.join(s + '://' for s in schemes)}host[:port] URL, got {url!r}", url
        )
    # The SDK concatenates paths onto these URLs, so a trailing slash would double it.
    return url.rstrip("/")


class DeepgramClientEnvironment:
    """The four base URLs a client uses; ``production`` serves Listen and Speak, ``agent`` the agent.

    ``base`` and ``agent_rest`` are the REST hosts (kept for SDK compatibility; sockets ignore
    them). URLs are validated and stored without a trailing slash. ``is_local`` is True for
    environments made by :meth:`local`: such a server accepts any key, so a client may omit it.
    """

    PRODUCTION: ClassVar[DeepgramClientEnvironment]

    def __init__(self, *, base: str, production: str, agent: str, agent_rest: str) -> None:
        self.base = _checked_url("base", base, _HTTP_SCHEMES + _WS_SCHEMES)
        self.production = _checked_url("production", production, _WS_SCHEMES)
        self.agent = _checked_url("agent", agent, _WS_SCHEMES)
        self.agent_rest = _checked_url("agent_rest", agent_rest, _HTTP_SCHEMES + _WS_SCHEMES)
        self.is_local = False

    @classmethod
    def local(cls, url: str) -> DeepgramClientEnvironment:
        """An environment sending every API to one server, e.g. ``LocalServer.url`` (``ws://127.0.0.1:PORT``).

        ``http://`` / ``https://`` are accepted and mapped to ``ws://`` / ``wss://``.
        """
        checked = _checked_url("url", url, _WS_SCHEMES + _HTTP_SCHEMES)
        scheme, _, rest = checked.partition("://")
        ws_url = f"{'wss' if scheme in ('wss', 'https') else 'ws'}://{rest}"
        http_url = f"{'https' if scheme in ('wss', 'https') else 'http'}://{rest}"
        env = cls(base=http_url, production=ws_url, agent=ws_url, agent_rest=http_url)
        env.is_local = True
        return env

    def __repr__(self) -> str:
        return (
            f"DeepgramClientEnvironment(production={self.production!r}, agent={self.agent!r}"
            + (", local" if self.is_local else "")
            + ")"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DeepgramClientEnvironment):
            return NotImplemented
        return (self.base, self.production, self.agent, self.agent_rest) == (
            other.base,
            other.production,
            other.agent,
            other.agent_rest,
        )

    def __hash__(self) -> int:
        return hash((self.base, self.production, self.agent, self.agent_rest))


DeepgramClientEnvironment.PRODUCTION = DeepgramClientEnvironment(
    base="https://api.deepgram.com",
    production="wss://api.deepgram.com",
    agent="wss://agent.deepgram.com",
    agent_rest="https://agent.deepgram.com",
)

__all__ = ["DeepgramClientEnvironment"]
