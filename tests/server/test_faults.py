"""Fault injection: every kind, matched by tag, by header and by path, with use limits."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable

import pytest
from websockets.exceptions import ConnectionClosed

from actors.errors import OptionsError
from actors.server import FaultRule, LocalServer
from actors.server.engines.deterministic import silence, synthesize_words
from actors.server.faults import FaultRegistry
from actors.server.session import GARBAGE_FRAME, UNKNOWN_TYPE
from tests.server.streaming import collect, open_ws, send_chunked

RAW = {"model": "nova-3", "encoding": "linear16", "sample_rate": 16000, "tag": "call-7"}
FLUX = {"model": "flux-general-en", "encoding": "linear16", "sample_rate": 16000, "tag": "call-7"}


def read_until_closed(ws: object, timeout: float = 5.0) -> list[str | bytes]:
    frames: list[str | bytes] = []
    try:
        while True:
            frames.append(ws.recv(timeout=timeout))  # type: ignore[attr-defined]
    except ConnectionClosed:
        pass
    return frames


def test_drop_cuts_tcp_after_the_given_audio(make_server: Callable[..., LocalServer]) -> None:
    server = make_server()
    server.faults.add(FaultRule(kind="drop", match_tag="call-7", after_audio_seconds=1.0))
    with open_ws(server, "/v1/listen", RAW) as ws:
        send_chunked(ws, silence(0.9))
        time.sleep(0.2)
        assert ws.close_code is None  # still open below the threshold
        with contextlib.suppress(ConnectionClosed):
            send_chunked(ws, silence(0.5))
        read_until_closed(ws)
        assert ws.close_code == 1006  # no close frame: an abrupt drop


def test_close_fault_sends_the_given_code_and_reason(make_server: Callable[..., LocalServer]) -> None:
    server = make_server()
    server.faults.add(FaultRule(kind="close", code=1011, reason="NET-0000", after_audio_seconds=0.5))
    with open_ws(server, "/v1/listen", RAW) as ws:
        with contextlib.suppress(ConnectionClosed):  # the close may overtake our sending
            send_chunked(ws, synthesize_words(["a"], 16000) + silence(1.0))
        collect(ws)
        assert (ws.close_code, ws.close_reason) == (1011, "NET-0000")


def test_close_fault_at_zero_fires_right_after_flux_connected(
    make_server: Callable[..., LocalServer],
) -> None:
    server = make_server()
    server.faults.add(FaultRule(kind="close", code=4000, reason="bye", path="/v2/listen"))
    with open_ws(server, "/v2/listen", FLUX) as ws:
        messages = collect(ws)
        assert [m["type"] for m in messages] == ["Connected"]
        assert (ws.close_code, ws.close_reason) == (4000, "bye")


def test_stall_stops_answering_for_its_duration(make_server: Callable[..., LocalServer]) -> None:
    server = make_server()
    server.faults.add(FaultRule(kind="stall", duration=0.8, path="/v2/listen"))
    with open_ws(server, "/v2/listen", FLUX) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "Connected"
        sent_at = time.monotonic()
        ws.send(json.dumps({"type": "ForceEndTurn"}))
        reply = json.loads(ws.recv(timeout=5))
        assert reply["type"] == "Warning"
        assert time.monotonic() - sent_at >= 0.7


def test_stall_without_duration_lasts_until_the_server_stops(make_server: Callable[..., LocalServer]) -> None:
    server = make_server()
    server.faults.add(FaultRule(kind="stall"))
    with open_ws(server, "/v1/listen", RAW) as ws:
        ws.send(json.dumps({"type": "Sync", "id": 1}))
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.5)
        started = time.monotonic()
        server.stop()
        # The stall ends with the server: the client's close answer is read, so stop() does not
        # sit out the server's 5 s close_timeout (it used to, for every stalled connection).
        assert time.monotonic() - started < 2.5
        read_until_closed(ws)
        assert ws.close_code == 1001


def test_garbage_and_unknown_type_are_sent_and_the_stream_goes_on(
    make_server: Callable[..., LocalServer],
) -> None:
    server = make_server()
    server.faults.add(FaultRule(kind="garbage", match_tag="g", after_audio_seconds=0.2))
    server.faults.add(FaultRule(kind="unknown_type", match_tag="u"))
    for tag, expected in (("g", GARBAGE_FRAME), ("u", UNKNOWN_TYPE)):
        with open_ws(server, "/v1/listen", {**RAW, "tag": tag}) as ws:
            send_chunked(ws, synthesize_words(["on"], 16000) + silence(0.3))
            ws.send(json.dumps({"type": "CloseStream"}))
            frames = read_until_closed(ws)
            assert ws.close_code == 1000
        if tag == "g":
            assert GARBAGE_FRAME in frames
        else:
            assert any(isinstance(f, str) and json.loads(f).get("type") == expected for f in frames)
        assert json.loads(frames[-1])["type"] == "Metadata"


def test_unknown_type_on_flux_keeps_sequence_ids(make_server: Callable[..., LocalServer]) -> None:
    server = make_server()
    server.faults.add(FaultRule(kind="unknown_type", path="/v2/listen"))
    with open_ws(server, "/v2/listen", FLUX) as ws:
        ws.send(json.dumps({"type": "CloseStream"}))
        messages = collect(ws)
    assert [m["type"] for m in messages] == ["Connected", UNKNOWN_TYPE]
    assert [m["sequence_id"] for m in messages] == [0, 1]


def test_fault_requested_by_header(local_server: LocalServer) -> None:
    headers = {"x-actors-fault": "kind=close;code=1011;reason=boom;after_audio_seconds=0.1"}
    with open_ws(local_server, "/v1/listen", RAW, headers=headers) as ws:
        with contextlib.suppress(ConnectionClosed):
            send_chunked(ws, silence(0.5))
        collect(ws)
        assert (ws.close_code, ws.close_reason) == (1011, "boom")


def test_rule_matches_only_its_tag_and_times(make_server: Callable[..., LocalServer]) -> None:
    server = make_server()
    server.faults.add(FaultRule(kind="close", match_tag="call-7", code=4001, times=1))
    with open_ws(server, "/v1/listen", {**RAW, "tag": "other"}) as ws:
        ws.send(json.dumps({"type": "CloseStream"}))
        collect(ws)
        assert ws.close_code == 1000
    with open_ws(server, "/v1/listen", RAW) as ws:
        collect(ws)
        assert ws.close_code == 4001
    with open_ws(server, "/v1/listen", RAW) as ws:
        ws.send(json.dumps({"type": "CloseStream"}))
        collect(ws)
        assert ws.close_code == 1000
    assert server.faults.rules() == []


def test_registry_take_counts_uses() -> None:
    registry = FaultRegistry()
    rule = registry.add(FaultRule(kind="drop", times=2))
    assert registry.take("/v1/listen", []) is rule
    assert registry.take("/v1/listen", []) is rule
    assert registry.take("/v1/listen", []) is None


@pytest.mark.parametrize(
    ("build", "named"),
    [
        (lambda: FaultRule(kind="explode"), "kind"),
        (lambda: FaultRule(kind="drop", after_audio_seconds=-1), "after_audio_seconds"),
        (lambda: FaultRule.from_header("kind=drop;after_audio_seconds=soon"), "after_audio_seconds"),
        (lambda: FaultRule.from_header("after_audio_seconds=1"), "x-actors-fault"),
        (lambda: FaultRule.from_header("kind=drop;colour=red"), "x-actors-fault"),
    ],
)
def test_bad_rules_raise_options_error_naming_the_field(build: Callable[[], object], named: str) -> None:
    with pytest.raises(OptionsError) as info:
        build()
    assert info.value.name == named


def test_header_form_parses_every_field() -> None:
    rule = FaultRule.from_header("kind=close; code=4002; reason=x y; after_audio_seconds=1.5; times=3")
    assert rule == FaultRule(kind="close", code=4002, reason="x y", after_audio_seconds=1.5, times=3)
