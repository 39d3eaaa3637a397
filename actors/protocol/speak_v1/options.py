"""Connect options of Speak V1 (``/v1/speak``), in the spec's parameter order."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actors.protocol.options import ConnectOptions, Param

__all__ = ["SPEAK_V1_ENCODINGS", "SPEAK_V1_SAMPLE_RATES", "SpeakV1Options"]

SPEAK_V1_ENCODINGS = ("linear16", "mulaw", "alaw")
"""Encodings streaming TTS supports."""

SPEAK_V1_SAMPLE_RATES = (8000, 16000, 24000, 32000, 48000)
"""Sample rates streaming TTS supports (mulaw/alaw: 8000 and 16000 only)."""


class SpeakV1Options(ConnectOptions):
    """Validated query parameters of a /v1/speak connection (all optional)."""

    API = "speak.v1"
    PATH = "/v1/speak"
    PARAMS = (
        Param("encoding", "enum", choices=SPEAK_V1_ENCODINGS),
        Param("mip_opt_out", "bool"),
        Param("model", "str", doc="an aura-* or aura-2-* voice; default aura-asteria-en"),
        Param("sample_rate", "int", choices=SPEAK_V1_SAMPLE_RATES),
        Param("speed", "float", minimum=0.0, doc="speaking rate; 1 is normal"),
    )

    if TYPE_CHECKING:

        def __init__(self, *, extra_query: Any = None, **params: Any) -> None: ...

        encoding: str | None
        mip_opt_out: bool | None
        model: str | None
        sample_rate: int | None
        speed: float | None
