"""Connect options of Speak V1 (``/v1/speak``), in the spec's parameter order."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actors.protocol.options import ConnectOptions, Param

__all__ = ["SPEAK_V1_ENCODINGS", "SPEAK_V1_MODELS", "SPEAK_V1_SAMPLE_RATES", "SpeakV1Options"]

SPEAK_V1_ENCODINGS = ("linear16", "mulaw", "alaw")
"""Encodings streaming TTS supports."""

SPEAK_V1_SAMPLE_RATES = (8000, 16000, 24000, 32000, 48000)
"""Sample rates streaming TTS supports (mulaw/alaw: 8000 and 16000 only)."""


SPEAK_V1_MODELS = (
    "aura-angus-en", "aura-arcas-en", "aura-asteria-en", "aura-athena-en", "aura-helios-en",
    "aura-hera-en", "aura-luna-en", "aura-orion-en", "aura-orpheus-en", "aura-perseus-en",
    "aura-stella-en", "aura-zeus-en",
    "aura-2-amalthea-en", "aura-2-andromeda-en", "aura-2-apollo-en", "aura-2-arcas-en",
    "aura-2-aries-en", "aura-2-asteria-en", "aura-2-athena-en", "aura-2-atlas-en", "aura-2-aurora-en",
    "aura-2-callista-en", "aura-2-cora-en", "aura-2-cordelia-en", "aura-2-delia-en", "aura-2-draco-en",
    "aura-2-electra-en", "aura-2-harmonia-en", "aura-2-helena-en", "aura-2-hera-en", "aura-2-hermes-en",
    "aura-2-hyperion-en", "aura-2-iris-en", "aura-2-janus-en", "aura-2-juno-en", "aura-2-jupiter-en",
    "aura-2-luna-en", "aura-2-mars-en", "aura-2-minerva-en", "aura-2-neptune-en", "aura-2-odysseus-en",
    "aura-2-ophelia-en", "aura-2-orion-en", "aura-2-orpheus-en", "aura-2-pandora-en", "aura-2-phoebe-en",
    "aura-2-pluto-en", "aura-2-saturn-en", "aura-2-selene-en", "aura-2-thalia-en", "aura-2-theia-en",
    "aura-2-vesta-en", "aura-2-zeus-en",
    "aura-2-agustina-es", "aura-2-alvaro-es", "aura-2-antonia-es", "aura-2-aquila-es", "aura-2-carina-es",
    "aura-2-celeste-es", "aura-2-diana-es", "aura-2-estrella-es", "aura-2-gloria-es", "aura-2-javier-es",
    "aura-2-luciano-es", "aura-2-nestor-es", "aura-2-olivia-es", "aura-2-selena-es", "aura-2-silvia-es",
    "aura-2-sirio-es", "aura-2-valerio-es",
    "aura-2-aurelia-de", "aura-2-elara-de", "aura-2-fabian-de", "aura-2-julius-de", "aura-2-kara-de",
    "aura-2-lara-de", "aura-2-viktoria-de",
    "aura-2-beatrix-nl", "aura-2-cornelia-nl", "aura-2-daphne-nl", "aura-2-hestia-nl", "aura-2-lars-nl",
    "aura-2-leda-nl", "aura-2-rhea-nl", "aura-2-roman-nl", "aura-2-sander-nl",
    "aura-2-agathe-fr", "aura-2-hector-fr",
    "aura-2-cesare-it", "aura-2-cinzia-it", "aura-2-demetra-it", "aura-2-dionisio-it", "aura-2-elio-it",
    "aura-2-flavio-it", "aura-2-livia-it", "aura-2-maia-it", "aura-2-melia-it", "aura-2-perseo-it",
    "aura-2-ama-ja", "aura-2-ebisu-ja", "aura-2-fujin-ja", "aura-2-izanami-ja", "aura-2-uzume-ja",
)  # fmt: skip
"""Speak V1 voices: the spec's ``SpeakV1Model`` enum (asyncapi.yml), in its order."""


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
