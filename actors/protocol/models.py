"""The models each API serves, and how Deepgram refuses a model an endpoint does not serve.

Each API that takes a ``model`` query parameter declares its :class:`ModelCatalog` once, on its
``ApiSpec`` (``model_catalog``, in its ``api.py``), from the model list of its options module
(``LISTEN_V1_MODELS``, ``LISTEN_V2_MODELS``, ``SPEAK_V1_MODELS``: the spec's enums). The local
server checks every handshake against it (:func:`model_refusal`), and documentation and error
messages list :attr:`ModelCatalog.models`, so the set of known models is declared once.

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

import attrs

from actors._lean_attrs import LeanFrozen

__all__ = [
    "FLUX_ON_V1_LISTEN",
    "NO_SUCH_MODEL_VERSION",
    "ModelCatalog",
    "ModelRefusal",
    "catalog_for",
    "catalogs",
    "is_flux_model",
    "model_refusal",
]


@attrs.frozen(repr=False, eq=False)
class ModelRefusal(LeanFrozen):
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
    # Imported here: Listen V1's catalog refers to this, and its cold start imports no other API.
    from actors.protocol.listen_v2.options import LISTEN_V2_MODELS

    return model in LISTEN_V2_MODELS or model.startswith("flux-")


@attrs.frozen(repr=False, eq=False)
class ModelCatalog(LeanFrozen):
    """The models one API serves, and its refusal of others.

    ``default`` is the model used when the query names none (None: the API requires one, which
    option validation reports). ``unknown`` is the refusal of a model not in ``models``;
    ``flux_refusal``, when set, is the refusal of a Flux model instead (Listen V1).
    """

    models: tuple[str, ...]
    default: str | None
    unknown: ModelRefusal = NO_SUCH_MODEL_VERSION
    flux_refusal: ModelRefusal | None = None

    def refusal(self, model: str | None) -> ModelRefusal | None:
        """Deepgram's refusal of ``model`` on this API, or None when it is served (or absent)."""
        if model is None or model in self.models:
            return None
        if self.flux_refusal is not None and is_flux_model(model):
            return self.flux_refusal
        return self.unknown


def catalogs() -> dict[str, ModelCatalog]:
    """Every API's model catalog, keyed by its path (``"/v1/listen"``); APIs without a ``model``
    parameter (Agent V1) have none."""
    from actors.protocol.apis import all_apis

    return {api.path: api.model_catalog for api in all_apis() if api.model_catalog is not None}


def catalog_for(path: str) -> ModelCatalog | None:
    """The model catalog of the API at ``path``; None when it takes no ``model`` (Agent V1) or no
    API is there."""
    from actors.protocol.apis import api_for_path

    try:
        return api_for_path(path).model_catalog
    except KeyError:
        return None


def model_refusal(path: str, model: str | None) -> ModelRefusal | None:
    """Deepgram's refusal of ``model`` at ``path``; None when the model is served or not checked."""
    catalog = catalog_for(path)
    return catalog.refusal(model) if catalog is not None else None
