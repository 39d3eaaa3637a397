"""The Agent V1 ApiSpec: ``/v1/agent/converse`` on the agent host, audio both ways, no options."""

from __future__ import annotations

from actors.protocol.agent_v1.codec import client_codec, server_codec
from actors.protocol.agent_v1.messages import CLIENT_MESSAGES
from actors.protocol.apis import ApiSpec
from actors.protocol.session import KEEPALIVE_MESSAGE, SessionRules

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
    client_sends=CLIENT_MESSAGES,
    session=SessionRules(
        # The agent docs: KeepAlive every 8 s while no audio is streamed. The client ends the
        # session with a close frame (no finish message).
        keepalive_kind="message",
        keepalive_interval=8.0,
        keepalive_message=KEEPALIVE_MESSAGE,
        result_types=frozenset({"ConversationText"}),
        audio_is_result=True,
    ),
)
"""The Voice Agent: user audio in, agent audio and conversation events out (Settings first)."""
