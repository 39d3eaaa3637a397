"""The models each API serves, and how Deepgram refuses a model an endpoint does not serve.

One :class:`ModelCatalog` per API that takes a ``model`` query parameter, in :data:`CATALOGS`
(keyed by path). The local server checks every handshake against it (:func:`model_refusal`), and
documentation and error messages list :attr:`ModelCatalog.models` from here, so the set of known
models is declared once. Listen V1 and Flux models come from their options modules
(``LISTEN_V1_MODELS``, ``LISTEN_V2_MODELS``, the spec's enums); Speak V1's voices are the spec's
``SpeakV1Model`` enum (asyncapi.yml), declared here.

Refusals, as Deepgram answers them at the handshake (status 400, body ``{err_code, err_msg}``,
``dg-error`` = ``err_msg``):

* an unknown model on any of Listen V1, Flux and Speak: ``"Bad Request"`` / ``"Bad Request: No such
  model/version combination found."`` (recorded for Speak; the same wording is used
  for the listen endpoints, which have none of their own on record);
* a Flux model on /v1/listen: ``V2_MODEL_ON_V1_LISTEN_ENDPOINT`` / ``"Flux models are not
  supported on the `/v1/listen` endpoint. Please use `/v2/listen`."`` (documented: the
  code; the message is the one observed live).
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from actors.protocol.listen_v1.options import LISTEN_V1_MODELS, ListenV1Options
from actors.protocol.listen_v2.options import LISTEN_V2_MODELS, ListenV2Options
from actors.protocol.speak_v1.options import SpeakV1Options

__all__ = [
    "CATALOGS",
    "FLUX_ON_V1_LISTEN",
    "SPEAK_V1_MODELS",
    "ModelCatalog",
    "ModelRefusal",
    "catalog_for",
    "is_flux_model",
    "model_refusal",
]

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


@attrs.frozen
class ModelRefusal:
    """How Deepgram refuses a handshake over its ``model``: HTTP ``status``, ``err_code``, ``err_msg``."""

    err_code: str
    err_msg: str
    status: int = 400


NO_SUCH_MODEL_VERSION = ModelRefusal("Bad Request", "Bad Request: No such model/version combination found.")
FLUX_ON_V1_LISTEN = ModelRefusal(
    "V2_MODEL_ON_V1_LISTEN_ENDPOINT",
    "Flux models are not supported on the `/v1/listen` endpoint. Please use `/v2/listen`.",
)


def is_flux_model(model: str) -> bool:
    """Whether ``model`` names a Flux model (served only on /v2/listen)."""
    return model in LISTEN_V2_MODELS or model.startswith("flux-")


@attrs.frozen
class ModelCatalog:
    """The models one API serves (``api`` e.g. "listen.v1", at ``path``) and its refusal of others.

    ``default`` is the model used when the query names none (None: the API requires one, which
    option validation reports). ``unknown`` is the refusal of a model not in ``models``.
    """

    api: str
    path: str
    models: tuple[str, ...]
    default: str | None
    unknown: ModelRefusal

    def refusal(self, model: str | None) -> ModelRefusal | None:
        """Deepgram's refusal of ``model`` on this API, or None when it is served (or absent)."""
        if model is None or model in self.models:
            return None
        if self.api == ListenV1Options.API and is_flux_model(model):
            return FLUX_ON_V1_LISTEN
        return self.unknown


CATALOGS: Mapping[str, ModelCatalog] = {
    catalog.path: catalog
    for catalog in (
        ModelCatalog(
            ListenV1Options.API, ListenV1Options.PATH, LISTEN_V1_MODELS, "base", NO_SUCH_MODEL_VERSION
        ),
        ModelCatalog(
            ListenV2Options.API, ListenV2Options.PATH, LISTEN_V2_MODELS, None, NO_SUCH_MODEL_VERSION
        ),
        ModelCatalog(
            SpeakV1Options.API, SpeakV1Options.PATH, SPEAK_V1_MODELS, "aura-asteria-en", NO_SUCH_MODEL_VERSION
        ),
    )
}
"""Every API with a ``model`` parameter, keyed by its path (``"/v1/listen"``)."""


def catalog_for(path: str) -> ModelCatalog | None:
    """The model catalog of the API at ``path``; None when it takes no ``model`` (Agent V1)."""
    return CATALOGS.get(path.split("?", 1)[0].rstrip("/") or "/")


def model_refusal(path: str, model: str | None) -> ModelRefusal | None:
    """Deepgram's refusal of ``model`` at ``path``; None when the model is served or not checked."""
    catalog = catalog_for(path)
    return catalog.refusal(model) if catalog is not None else None
