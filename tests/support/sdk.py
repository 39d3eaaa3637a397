"""deepgram-sdk 7.16 (Deepgram's own client, a test dependency) pointed at a local server."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deepgram import DeepgramClientEnvironment


def sdk_environment(url: str) -> DeepgramClientEnvironment:
    """The SDK's environment sending every API (WebSocket and REST, the agent's included) to the
    server at ``url`` (``ws://host:port``). Imports the SDK: call it after ``importorskip``."""
    from deepgram import DeepgramClientEnvironment

    http = url.replace("ws://", "http://")
    return DeepgramClientEnvironment(base=http, production=url, agent=url, agent_rest=http)
