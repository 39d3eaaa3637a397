"""Agent V1 test data shared by the server and client tests."""

from __future__ import annotations

from typing import Any

#: A client-side function the deterministic responder calls for "weather" questions.
WEATHER: dict[str, Any] = {
    "name": "get_weather",
    "description": "Get the weather",
    "parameters": {
        "type": "object",
        "properties": {"location": {"type": "string"}},
        "required": ["location"],
    },
}


def agent_settings(**agent: Any) -> dict[str, Any]:
    """A ``Settings`` message: linear16 16 kHz in and out, Deepgram listen, plus ``agent`` fields."""
    return {
        "type": "Settings",
        "audio": {
            "input": {"encoding": "linear16", "sample_rate": 16000},
            "output": {"encoding": "linear16", "sample_rate": 16000},
        },
        "agent": {"listen": {"provider": {"type": "deepgram", "model": "nova-3"}}, **agent},
    }
