"""Connect options of Speak V2 / Flux TTS (``/v2/speak``), in the order Deepgram's SDK sends them.

``model`` is required and follows ``flux-{voice}-{language}``; ``encoding`` is a streaming
encoding; ``mulaw`` and ``alaw`` only at 8000 or 16000 Hz (asyncapi.yml, ``SpeakV2SampleRate``).
``speed`` and ``expressivity`` are deepgram-sdk 7.16 parameters the spec does not list yet.
As everywhere, values are checked in strict mode only (see :mod:`actors.protocol.options`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from actors.errors import OptionsError
from actors.protocol.options import ConnectOptions, Param

__all__ = [
    "SPEAK_V2_COMPANDED_SAMPLE_RATES",
    "SPEAK_V2_ENCODINGS",
    "SPEAK_V2_MODEL_PATTERN",
    "SPEAK_V2_SAMPLE_RATES",
    "SPEAK_V2_SPEED_RANGE",
    "SPEAK_V2_SPEED_STEP",
    "SpeakV2Options",
]

SPEAK_V2_ENCODINGS = ("linear16", "mulaw", "alaw")
"""Encodings of the raw streaming audio (the spec's ``SpeakV2Encoding``); default linear16."""

SPEAK_V2_SAMPLE_RATES = (8000, 16000, 24000, 32000, 44100, 48000)
"""Sample rates with linear16 (the spec's ``SpeakV2SampleRate``)."""

SPEAK_V2_COMPANDED_SAMPLE_RATES = (8000, 16000)
"""The only sample rates with mulaw or alaw."""

SPEAK_V2_MODEL_PATTERN = re.compile(r"flux-[a-z0-9]+(?:-[a-z0-9]+)*-[a-z]{2,3}(?:-[a-z0-9]+)?")
"""``flux-{voice}-{language}``, e.g. ``flux-alexis-en``."""

#: Speed: 0.5 to 1.5 in steps of 0.05 (the SDK's ``SpeakV2Speed``).
SPEAK_V2_SPEED_RANGE = (0.5, 1.5)
SPEAK_V2_SPEED_STEP = 0.05
_SPEED_STEP = SPEAK_V2_SPEED_STEP


class SpeakV2Options(ConnectOptions):
    """Validated query parameters of a /v2/speak (Flux TTS) connection; ``model`` is required.

    Strict mode also refuses a model not of the form ``flux-{voice}-{language}`` (an Aura voice
    belongs on /v1/speak), ``mulaw``/``alaw`` at a rate other than 8000/16000, and a speed off
    the 0.05 grid.
    """

    API = "speak.v2"
    PATH = "/v2/speak"
    PARAMS = (
        Param("model", "str", required=True, doc="flux-{voice}-{language}, e.g. flux-alexis-en"),
        Param("encoding", "enum", choices=SPEAK_V2_ENCODINGS),
        Param("sample_rate", "int", choices=SPEAK_V2_SAMPLE_RATES),
        Param(
            "speed",
            "float",
            minimum=SPEAK_V2_SPEED_RANGE[0],
            maximum=SPEAK_V2_SPEED_RANGE[1],
            doc="speech rate; 1.0 nominal, 0.05 steps",
        ),
        Param("expressivity", "int", minimum=-2, maximum=2, doc="-2 calm .. 2 animated; 0 default"),
        Param("mip_opt_out", "bool"),
        Param("tag", "str", repeatable=True, max_length=128),
    )

    def __init__(self, *, extra_query: Any = None, strict: bool = False, **params: Any) -> None:
        super().__init__(extra_query=extra_query, strict=strict, **params)
        if self.strict:
            self._check_combinations()

    def _check_combinations(self) -> None:
        model = self.model
        if model is not None and not SPEAK_V2_MODEL_PATTERN.fullmatch(model):
            hint = "; Aura voices are served on /v1/speak" if model.startswith("aura") else ""
            raise OptionsError(
                "model",
                f"must be flux-{{voice}}-{{language}} (e.g. flux-alexis-en), got {model!r}{hint}",
                model,
            )
        encoding, rate = self.encoding, self.sample_rate
        if encoding in ("mulaw", "alaw") and rate is not None and rate not in SPEAK_V2_COMPANDED_SAMPLE_RATES:
            raise OptionsError(
                "sample_rate", f"must be 8000 or 16000 with encoding={encoding}; got {rate}", rate
            )
        speed = self.speed
        if speed is not None and abs(speed / _SPEED_STEP - round(speed / _SPEED_STEP)) > 1e-6:
            raise OptionsError("speed", f"must be a multiple of 0.05 (0.5 to 1.5); got {speed}", speed)

    if TYPE_CHECKING:
        model: str | None
        encoding: str | None
        sample_rate: int | None
        speed: float | None
        expressivity: int | None
        mip_opt_out: bool | None
        tag: list[str] | None
