"""One wire sample per Speak V2 (``/v2/speak``) message, shaped as asyncapi.yml's ``SpeakV2_*`` schemas
(and deepgram-sdk 7.16's types for the messages the spec does not list yet).

(class name, direction, wire data); used by the codec round trips and the SDK parity tests.
"""

from __future__ import annotations

from typing import Any

CONTROLS = {"pronunciations_applied": 0, "breaks_applied": 0, "pronunciation_warnings": 0}
TURN = {
    "speech_id": "dg_sp_0123456789ab",
    "audio_duration_ms": 1840,
    "input_character_count": 27,
    "billable_character_count": 27,
    "controls_applied": CONTROLS,
}

SPEAK_V2_SAMPLES: list[tuple[str, str, dict[str, Any]]] = [
    (
        "SpeakV2Connected",
        "server",
        {
            "type": "Connected",
            "request_id": "3d1b2c5e-1111-4a4a-9b9b-000000000001",
            "model_name": "flux-alexis-en",
            "model_version": "2026-01-01.0",
            "model_uuids": ["6f1c3b2a-2222-4c4c-8d8d-000000000002"],
        },
    ),
    ("SpeakV2SpeechStarted", "server", {"type": "SpeechStarted", "speech_id": "dg_sp_0123456789ab"}),
    ("SpeakV2SpeechMetadata", "server", {"type": "SpeechMetadata", **TURN}),
    ("SpeakV2Flushed", "server", {"type": "Flushed", "speech_id": "dg_sp_0123456789ab"}),
    (
        "SpeakV2SessionMetadata",
        "server",
        {
            "type": "SessionMetadata",
            "total_audio_duration_ms": 5200,
            "total_input_character_count": 81,
            "total_billable_character_count": 80,
        },
    ),
    (
        "SpeakV2SpeechInterrupted",
        "server",
        {
            "type": "SpeechInterrupted",
            "audio_played_ms": 950,
            "text_spoken": "Hello there, ",
            "text_remaining": "how are you?",
            "metadata": TURN,
        },
    ),
    ("SpeakV2ConfigureSuccess", "server", {"type": "ConfigureSuccess", "applied": {"speed": 1.25}}),
    (
        "SpeakV2ConfigureFailure",
        "server",
        {
            "type": "ConfigureFailure",
            "code": "SPEED_OUT_OF_RANGE",
            "field": "speed",
            "value": 2.0,
            "description": "speed must be between 0.5 and 1.5",
        },
    ),
    ("SpeakV2Warning", "server", {"type": "Warning", "code": "NO_ACTIVE_SPEECH", "description": "no turn"}),
    ("SpeakV2Error", "server", {"type": "Error", "code": "NET-0001", "description": "no message for 60 s"}),
    ("SpeakV2Speak", "client", {"type": "Speak", "text": "Hello there, how are you?"}),
    ("SpeakV2Flush", "client", {"type": "Flush"}),
    (
        "SpeakV2Interrupt",
        "client",
        {"type": "Interrupt", "playback_offset": {"type": "time_ms", "value": 950}},
    ),
    ("SpeakV2Configure", "client", {"type": "Configure", "speed": 0.9}),
    ("SpeakV2Close", "client", {"type": "Close"}),
]
