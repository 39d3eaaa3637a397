"""Model checks at the handshake: known models are served; unknown ones and a Flux model on
/v1/listen get Deepgram's 400 refusals (``actors.protocol.models`` declares both, once)."""

from __future__ import annotations

import json

import pytest
from websockets.exceptions import InvalidStatus

from actors.protocol.listen_v1.options import LISTEN_V1_MODELS
from actors.protocol.listen_v2.options import LISTEN_V2_MODELS
from actors.protocol.models import catalog_for, catalogs, model_refusal
from actors.protocol.speak_v1.options import SPEAK_V1_MODELS
from actors.server import LocalServer, listen_v2, speak_v1
from tests.server.streaming import open_ws

CATALOGS = catalogs()

NO_SUCH_VERSION = "Bad Request: No such model/version combination found."
FLUX_ON_V1 = "Flux models are not supported on the `/v1/listen` endpoint. Please use `/v2/listen`."


def refusal_of(
    server: LocalServer, path: str, params: dict[str, object] | list[tuple[str, object]]
) -> tuple[int, dict[str, str], str]:
    """``(status, body, dg-error)`` of a refused handshake."""
    with pytest.raises(InvalidStatus) as info:
        open_ws(server, path, params).close()
    response = info.value.response
    body = json.loads(response.body)
    assert body["request_id"] == response.headers["dg-request-id"]
    return response.status_code, body, response.headers["dg-error"]


@pytest.mark.parametrize(
    ("path", "model", "err_code", "err_msg"),
    [
        ("/v1/listen", "nova-99", "Bad Request", NO_SUCH_VERSION),
        ("/v1/listen", "flux-general-en", "V2_MODEL_ON_V1_LISTEN_ENDPOINT", FLUX_ON_V1),
        ("/v1/listen", "flux-general-multi", "V2_MODEL_ON_V1_LISTEN_ENDPOINT", FLUX_ON_V1),
        ("/v2/listen", "flux-general-xx", "Bad Request", NO_SUCH_VERSION),
        ("/v2/listen", "nova-3", "Bad Request", NO_SUCH_VERSION),
        ("/v1/speak", "aura-2-nobody-en", "Bad Request", NO_SUCH_VERSION),
        ("/v1/speak", "nova-3", "Bad Request", NO_SUCH_VERSION),
    ],
)
def test_unserved_models_get_deepgrams_400(
    local_server: LocalServer, path: str, model: str, err_code: str, err_msg: str
) -> None:
    status, body, dg_error = refusal_of(local_server, path, {"model": model})
    assert status == 400
    assert (body["err_code"], body["err_msg"], dg_error) == (err_code, err_msg, err_msg)


def test_the_last_model_parameter_is_the_one_checked(local_server: LocalServer) -> None:
    status, body, _ = refusal_of(local_server, "/v1/speak", [("model", "aura-2-thalia-en"), ("model", "x")])
    assert status == 400 and body["err_msg"] == NO_SUCH_VERSION
    with open_ws(local_server, "/v1/speak", [("model", "x"), ("model", "aura-2-thalia-en")]) as ws:
        assert json.loads(ws.recv(timeout=5))["model_name"] == "aura-2-thalia-en"


@pytest.mark.parametrize("path", sorted(CATALOGS))
def test_every_catalog_model_is_served(local_server: LocalServer, path: str) -> None:
    models = CATALOGS[path].models
    for model in (models[0], models[len(models) // 2], models[-1]):
        with open_ws(local_server, path, {"model": model}) as ws:
            assert ws.response is not None and ws.response.status_code == 101
            first = json.loads(ws.recv(timeout=5)) if path != "/v1/listen" else None
        assert first is None or first["type"] in ("Connected", "Metadata")


def test_omitted_model_uses_the_default_or_is_required(local_server: LocalServer) -> None:
    with open_ws(local_server, "/v1/speak", {}) as ws:
        assert json.loads(ws.recv(timeout=5))["model_name"] == CATALOGS["/v1/speak"].default
    with open_ws(local_server, "/v1/listen", {}) as ws:
        assert ws.response is not None and ws.response.status_code == 101
    status, body, dg_error = refusal_of(local_server, "/v2/listen", {})
    assert (status, body["err_code"]) == (400, "INVALID_QUERY_PARAMETER") and "model" in dg_error


def test_catalogs_are_the_protocol_enums_and_the_server_derives_from_them() -> None:
    assert CATALOGS["/v1/listen"].models == LISTEN_V1_MODELS
    assert CATALOGS["/v2/listen"].models == LISTEN_V2_MODELS
    assert CATALOGS["/v1/speak"].models == SPEAK_V1_MODELS
    assert "aura-2-thalia-en" in SPEAK_V1_MODELS and len(set(SPEAK_V1_MODELS)) == len(SPEAK_V1_MODELS)
    assert listen_v2.MODELS is CATALOGS["/v2/listen"].models
    assert CATALOGS["/v1/speak"].default == speak_v1.DEFAULT_MODEL
    assert catalog_for("/v1/agent/converse") is None and model_refusal("/v1/agent/converse", "x") is None
    assert catalog_for("/v1/listen/?x=1") is CATALOGS["/v1/listen"]
