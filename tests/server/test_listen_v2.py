"""Listen V2 (Flux) over real sockets: Connected, the TurnInfo state machine, Configure, ForceEndTurn."""

from __future__ import annotations

import itertools
import json
from typing import Any

from actors.server import LocalServer
from actors.server.engines.deterministic import silence, synthesize_words
from tests.server.streaming import collect, of_type, open_ws, send_chunked

FLUX = {"model": "flux-general-en", "encoding": "linear16", "sample_rate": 16000}
CLOSE = json.dumps({"type": "CloseStream"})
CHUNK = 2560  # 80 ms


def flux_session(
    server: LocalServer, params: dict[str, Any], *steps: bytes | dict[str, Any]
) -> list[dict[str, Any]]:
    with open_ws(server, "/v2/listen", params) as ws:
        for step in steps:
            if isinstance(step, bytes):
                send_chunked(ws, step, CHUNK)
            else:
                ws.send(json.dumps(step))
        ws.send(CLOSE)
        messages = collect(ws)
        assert ws.close_code == 1005  # Flux closes without a status code after CloseStream
    return messages


def events(messages: list[dict[str, Any]]) -> list[str]:
    return [m["event"] for m in of_type(messages, "TurnInfo")]


def in_turns(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The TurnInfo messages of turns: without the empty Updates Flux sends between turns."""
    out, active = [], False
    for m in of_type(messages, "TurnInfo"):
        if m["event"] == "StartOfTurn":
            active = True
        if active or m["event"] != "Update":
            out.append(m)
        if m["event"] == "EndOfTurn":
            active = False
    return out


def test_connected_first_and_sequence_ids_count_every_message(local_server: LocalServer) -> None:
    audio = synthesize_words(["hi", "there"], 16000) + silence(0.6)
    messages = flux_session(local_server, FLUX, audio)
    assert messages[0]["type"] == "Connected"
    assert [m["sequence_id"] for m in messages] == list(range(len(messages)))
    assert all(m["request_id"] == messages[0]["request_id"] for m in messages)


def test_turn_starts_updates_and_ends_on_model_confidence(local_server: LocalServer) -> None:
    audio = synthesize_words(["hello", "world", "again"], 16000) + silence(0.6)
    turn = in_turns(flux_session(local_server, FLUX, audio))
    assert turn[0]["event"] == "StartOfTurn" and turn[0]["transcript"] == "hello"
    assert "Update" in events(turn)
    end = turn[-1]
    assert end["event"] == "EndOfTurn" and end["trigger"] == "model"
    assert end["transcript"] == "hello world again"
    assert end["end_of_turn_confidence"] >= 0.7
    assert [w["word"] for w in end["words"]] == ["hello", "world", "again"]
    assert all(m["turn_index"] == 0 for m in turn)
    updates = [m for m in turn if m["event"] == "Update"]
    for before, after in itertools.pairwise(updates):
        assert after["audio_window_end"] - before["audio_window_end"] >= 0.25 - 1e-6


def test_turn_index_increments_after_end_of_turn(local_server: LocalServer) -> None:
    audio = synthesize_words(["one"], 16000) + silence(0.6) + synthesize_words(["two"], 16000) + silence(0.6)
    ends = [
        m for m in of_type(flux_session(local_server, FLUX, audio), "TurnInfo") if m["event"] == "EndOfTurn"
    ]
    assert [(m["turn_index"], m["transcript"]) for m in ends] == [(0, "one"), (1, "two")]


def test_eager_end_of_turn_then_resumed(local_server: LocalServer) -> None:
    # a 0.3 s pause reaches the eager threshold (0.4 -> 0.2 s of silence) but not eot (0.9 -> 0.45 s)
    audio = synthesize_words(["wait"], 16000, gap_ms=300) + synthesize_words(["more"], 16000) + silence(0.8)
    params = {**FLUX, "eager_eot_threshold": 0.4, "eot_threshold": 0.9}
    turn = in_turns(flux_session(local_server, params, audio))
    sequence = [m["event"] for m in turn if m["event"] != "Update"]
    assert sequence == ["StartOfTurn", "EagerEndOfTurn", "TurnResumed", "EagerEndOfTurn", "EndOfTurn"]
    eager, end = turn[-2] if turn[-2]["event"] == "EagerEndOfTurn" else None, turn[-1]
    assert end["transcript"] == "wait more"
    assert eager is None or eager["transcript"] == end["transcript"]


def test_threshold_one_ends_only_on_timeout(local_server: LocalServer) -> None:
    audio = synthesize_words(["slow"], 16000) + silence(1.0)
    params = {**FLUX, "eot_threshold": 1.0, "eot_timeout_ms": 700}
    end = in_turns(flux_session(local_server, params, audio))[-1]
    assert end["event"] == "EndOfTurn" and end["trigger"] == "timeout"


def test_force_end_turn_is_manual_and_warns_without_a_turn(local_server: LocalServer) -> None:
    audio = synthesize_words(["cut"], 16000) + silence(0.1)
    messages = flux_session(
        local_server,
        {**FLUX, "eot_threshold": 1.0},
        {"type": "ForceEndTurn"},
        audio,
        {"type": "ForceEndTurn"},
    )
    warning = of_type(messages, "Warning")[0]
    assert warning["code"] == "FORCE_END_TURN_NO_ACTIVE_TURN"
    end = of_type(messages, "TurnInfo")[-1]
    assert (end["event"], end["trigger"], end["transcript"]) == ("EndOfTurn", "manual", "cut")


def test_configure_success_reports_active_values_and_failure_on_bad_input(local_server: LocalServer) -> None:
    messages = flux_session(
        local_server,
        FLUX,
        {
            "type": "Configure",
            "thresholds": {"eot_threshold": 0.8, "eot_timeout_ms": 3000},
            "keyterms": ["acme"],
        },
        {"type": "Configure", "thresholds": {"eot_threshold": 3}},
    )
    success = of_type(messages, "ConfigureSuccess")[0]
    assert success["thresholds"] == {
        "eager_eot_threshold": None,
        "eot_threshold": 0.8,
        "eot_timeout_ms": 3000,
    }
    assert success["keyterms"] == ["acme"]
    failure = of_type(messages, "ConfigureFailure")[0]
    assert "eot_threshold" in failure["description"]


def test_configure_changes_turn_detection(local_server: LocalServer) -> None:
    audio = synthesize_words(["late"], 16000) + silence(1.0)
    configure = {"type": "Configure", "thresholds": {"eot_threshold": 1.0, "eot_timeout_ms": 600}}
    end = in_turns(flux_session(local_server, FLUX, configure, audio))[-1]
    assert end["trigger"] == "timeout"


def test_close_stream_sends_pending_update_without_end_of_turn(local_server: LocalServer) -> None:
    audio = synthesize_words(["unfinished"], 16000) + silence(0.05)
    turn = of_type(flux_session(local_server, {**FLUX, "eot_threshold": 1.0}, audio), "TurnInfo")
    assert "EndOfTurn" not in events(turn)
    assert turn[-1]["event"] == "Update" and turn[-1]["transcript"] == "unfinished"


def test_server_answers_websocket_pings(local_server: LocalServer) -> None:
    with open_ws(local_server, "/v2/listen", FLUX) as ws:
        assert ws.ping().wait(5)
        assert json.loads(ws.recv(timeout=5))["type"] == "Connected"


def test_undecodable_flux_audio_closes_1008(local_server: LocalServer) -> None:
    with open_ws(local_server, "/v2/listen", {"model": "flux-general-en"}) as ws:
        ws.send(b"garbage bytes, not a container")
        collect(ws)
        assert (ws.close_code, ws.close_reason) == (1008, "DATA-0000")
