"""A voice-agent conversation (Agent V1) with the SDK-shaped client, driven by text turns.

The client sends ``Settings``, waits for ``SettingsApplied``, then injects user lines (as if the
user had said them) and prints the agent's answers (``ConversationText``); the agent's speech
arrives as ``bytes`` and is counted. Leaving the ``with`` block waits for replies still owed.
Without ``DEEPGRAM_API_KEY`` the embedded local server answers with its small deterministic
responder (simple arithmetic, otherwise "You said: ..."); with a key, Deepgram's agent does. Run
it from the repository root::

    python examples/agent_conversation.py

It prints ``user: ...`` / ``agent: ...`` lines, then ``N bytes of agent speech``.
"""

from __future__ import annotations

import sys
from typing import Any

from actors import DeepgramClient
from actors.agent.v1.types import (
    AgentV1AgentAudioDone,
    AgentV1ConversationText,
    AgentV1InjectUserMessage,
    AgentV1Settings,
    AgentV1SettingsApplied,
)
from actors.client.sockets import AgentV1SocketClient

LINES = ("What is 2 + 2?", "Thank you, that is all.")
TIMEOUT = 30.0
SETTINGS: dict[str, Any] = {
    "audio": {
        "input": {"encoding": "linear16", "sample_rate": 16000},
        "output": {"encoding": "linear16", "sample_rate": 16000, "container": "none"},
    },
    "agent": {
        "listen": {"provider": {"type": "deepgram", "model": "nova-3"}},
        "think": {"provider": {"type": "open_ai", "model": "gpt-4o-mini"}, "prompt": "You are brief."},
        "speak": {"provider": {"type": "deepgram", "model": "aura-2-thalia-en"}},
    },
}


def wait_for(socket: AgentV1SocketClient, kind: type, audio: bytearray) -> None:
    """Read the socket until a message of ``kind``, printing answers and counting audio on the way."""
    while True:
        message = socket.recv(timeout=TIMEOUT)
        if isinstance(message, bytes):
            audio.extend(message)
        elif isinstance(message, AgentV1ConversationText) and message.role == "assistant":
            print(f"agent: {message.content}", flush=True)
        if isinstance(message, kind):
            return


def main() -> int:
    """Hold the conversation; 0 when every line was answered."""
    audio = bytearray()
    client = DeepgramClient()  # no key and no DEEPGRAM_API_KEY: the embedded server
    with client.agent.v1.connect() as socket:
        socket.send_settings(AgentV1Settings(**SETTINGS))
        wait_for(socket, AgentV1SettingsApplied, audio)
        for line in LINES:
            print(f"user:  {line}", flush=True)
            socket.send_inject_user_message(AgentV1InjectUserMessage(content=line))
            wait_for(socket, AgentV1AgentAudioDone, audio)
    print(f"{len(audio)} bytes of agent speech")
    return 0 if audio else 1


if __name__ == "__main__":
    sys.exit(main())
