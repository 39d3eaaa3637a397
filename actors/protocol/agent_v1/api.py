"""The Agent V1 ApiSpec: ``/v1/agent/converse`` on the agent host, audio both ways, no options."""

from __future__ import annotations

from actors.protocol.agent_v1.codec import client_codec, server_codec
from actors.protocol.apis import ApiSpec

__all__ = ["AGENT_V1"]

AGENT_V1 = ApiSpec(
    name="agent.v1",
    path="/v1/agent/converse",
    host="agent",
    options_type=None,
    server_codec=server_codec(),
    client_codec=client_codec(),
    server_sends_binary=True,
    client_sends_binary=True,
)
"""The Voice Agent: user audio in, agent audio and conversation events out (Settings first)."""
