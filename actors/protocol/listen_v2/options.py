"""Connect options of Listen V2 / Flux (``/v2/listen``), in the spec's parameter order (the order
Deepgram's SDK puts them on the wire). ``model`` is required.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actors.protocol.options import ConnectOptions, Param

__all__ = ["LISTEN_V2_ENCODINGS", "LISTEN_V2_MODELS", "ListenV2Options"]

LISTEN_V2_ENCODINGS = ("linear16", "linear32", "mulaw", "alaw", "opus", "ogg-opus")
"""Audio encodings /v2/listen accepts for raw audio."""

LISTEN_V2_MODELS = ("flux-general-en", "flux-general-multi")
"""Flux models in the spec (newer names are accepted too, so ``model`` is not restricted)."""


class ListenV2Options(ConnectOptions):
    """Validated query parameters of a /v2/listen (Flux) connection."""

    API = "listen.v2"
    PATH = "/v2/listen"
    PARAMS = (
        Param("model", "str", required=True, doc="flux-general-en or flux-general-multi"),
        Param("encoding", "enum", choices=LISTEN_V2_ENCODINGS),
        Param("sample_rate", "int", minimum=1),
        Param("eager_eot_threshold", "float", minimum=0.3, maximum=0.9),
        Param("eot_threshold", "float", minimum=0.5, maximum=1.0),
        Param("eot_timeout_ms", "int", minimum=500, maximum=60000),
        Param("keyterm", "str", repeatable=True),
        Param("language_hint", "str", repeatable=True),
        Param("profanity_filter", "bool"),
        Param("numerals", "bool"),
        Param("redact", "enum", repeatable=True, choices=("numbers", "aggressive_numbers")),
        Param("mip_opt_out", "bool"),
        Param("tag", "str", repeatable=True, max_length=128),
    )

    if TYPE_CHECKING:

        def __init__(self, *, extra_query: Any = None, **params: Any) -> None: ...

        model: str | None
        encoding: str | None
        sample_rate: int | None
        eager_eot_threshold: float | None
        eot_threshold: float | None
        eot_timeout_ms: int | None
        keyterm: list[str] | None
        language_hint: list[str] | None
        profanity_filter: bool | None
        numerals: bool | None
        redact: list[str] | None
        mip_opt_out: bool | None
        tag: list[str] | None
