"""Handshake: auth forms, request ids, refusals with status, dg-error and JSON body, query checks."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from actors.server import FaultRule, LocalServer
from tests.server.streaming import open_ws

V1 = {"model": "nova-3", "encoding": "linear16", "sample_rate": 16000}


def refused(call: Callable[[], object]) -> InvalidStatus:
    with pytest.raises(InvalidStatus) as info:
        call()
    return info.value


def assert_refusal(exc: InvalidStatus, status: int, err_code: str, message_part: str) -> None:
    response = exc.response
    assert response.status_code == status
    request_id = response.headers["dg-request-id"]
    assert len(request_id) == 36
    assert message_part in response.headers["dg-error"]
    assert response.headers["Content-Type"] == "application/json"
    body = json.loads(response.body)
    assert body == {"err_code": err_code, "err_msg": response.headers["dg-error"], "request_id": request_id}


def test_successful_upgrade_carries_a_request_id(local_server: LocalServer) -> None:
    with open_ws(local_server, "/v1/listen", V1) as ws:
        assert ws.response is not None
        first = ws.response.headers["dg-request-id"]
    with open_ws(local_server, "/v1/listen", V1) as ws:
        assert ws.response is not None
        assert ws.response.headers["dg-request-id"] != first


@pytest.mark.parametrize("scheme", ["Token", "token", "Bearer", "bearer"])
def test_authorization_header_schemes_are_accepted(
    make_server: Callable[..., LocalServer], scheme: str
) -> None:
    server = make_server(api_keys={"good"})
    url = f"{server.url}/v1/listen?model=nova-3"
    with connect(url, additional_headers={"Authorization": f"{scheme} good"}) as ws:
        assert ws.response is not None and ws.response.status_code == 101


def test_subprotocol_token_is_accepted_and_echoed(make_server: Callable[..., LocalServer]) -> None:
    server = make_server(api_keys={"good"})
    with connect(f"{server.url}/v1/listen", subprotocols=["token", "good"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "token"


def test_wrong_key_is_refused_with_401(make_server: Callable[..., LocalServer]) -> None:
    server = make_server(api_keys={"good"})
    exc = refused(lambda: open_ws(server, "/v1/listen", V1, key="bad"))
    assert_refusal(exc, 401, "INVALID_AUTH", "Invalid credentials.")
    exc = refused(lambda: connect(f"{server.url}/v1/listen", subprotocols=["token", "bad"]))  # type: ignore[list-item]
    assert exc.response.status_code == 401


def test_missing_credentials_are_refused_even_when_any_key_is_accepted(local_server: LocalServer) -> None:
    exc = refused(lambda: open_ws(local_server, "/v1/listen", V1, key=None))
    assert_refusal(exc, 401, "INVALID_AUTH", "Invalid credentials.")


def test_the_key_never_appears_in_a_refusal(make_server: Callable[..., LocalServer]) -> None:
    server = make_server(api_keys={"good"})
    exc = refused(lambda: open_ws(server, "/v1/listen", V1, key="super-secret-key"))
    assert b"super-secret-key" not in exc.response.body
    assert "super-secret-key" not in str(exc.response.headers)


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/v1/listen", {"model": "nova-3", "encoding": "bogus", "sample_rate": 16000}, "encoding"),
        ("/v1/listen", {"model": "nova-3", "interim_results": "maybe"}, "interim_results"),
        ("/v1/listen", {"model": "nova-3", "channels": "x"}, "channels"),
        ("/v1/listen", {"model": "nova-3", "encoding": "linear16"}, "sample_rate"),
        ("/v2/listen", {"encoding": "linear16", "sample_rate": 16000}, "model"),
        ("/v2/listen", {"model": "flux-general-en", "eot_threshold": "0.2"}, "eot_threshold"),
    ],
)
def test_bad_query_is_refused_with_400_naming_the_parameter(
    local_server: LocalServer, path: str, params: dict[str, object], named: str
) -> None:
    exc = refused(lambda: open_ws(local_server, path, params))
    assert_refusal(exc, 400, "INVALID_QUERY_PARAMETER", named)


def test_unknown_path_is_refused_with_404(local_server: LocalServer) -> None:
    exc = refused(lambda: open_ws(local_server, "/v3/listen", {}))
    assert_refusal(exc, 404, "NOT_FOUND", "/v3/listen")


@pytest.mark.parametrize(
    ("status", "err_code"),
    [(429, "TOO_MANY_REQUESTS"), (503, "SERVICE_UNAVAILABLE"), (402, "ASR_PAYMENT_REQUIRED")],
)
def test_reject_fault_refuses_with_the_given_status(
    make_server: Callable[..., LocalServer], status: int, err_code: str
) -> None:
    server = make_server()
    server.faults.add(FaultRule(kind="reject", status=status, match_tag="busy", times=1))
    exc = refused(lambda: open_ws(server, "/v1/listen", {**V1, "tag": "busy"}))
    assert_refusal(exc, status, err_code, "")
    with open_ws(server, "/v1/listen", {**V1, "tag": "busy"}) as ws:  # times=1: the next one passes
        assert ws.response is not None and ws.response.status_code == 101


def test_reject_fault_by_header_with_custom_reason(local_server: LocalServer) -> None:
    headers = {"x-actors-fault": "kind=reject;status=429;reason=slow down"}
    exc = refused(lambda: open_ws(local_server, "/v1/listen", V1, headers=headers))
    assert_refusal(exc, 429, "TOO_MANY_REQUESTS", "slow down")


def test_malformed_fault_header_is_a_400(local_server: LocalServer) -> None:
    exc = refused(lambda: open_ws(local_server, "/v1/listen", V1, headers={"x-actors-fault": "kind=explode"}))
    assert_refusal(exc, 400, "INVALID_QUERY_PARAMETER", "explode")
