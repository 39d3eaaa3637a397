"""Listen V1 features that change the Results shape, over real sockets: punctuate/smart_format,
numerals (query and mid-stream Configure), diarize, search, detect_entities, keyterm/keywords."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from actors.server import LocalServer
from actors.server.engines.deterministic import expected_words, silence, synthesize_words
from actors.server.formatting import number_runs
from tests.server.streaming import collect, final_words, of_type, open_ws, send_chunked

RAW: dict[str, Any] = {"model": "nova-3", "encoding": "linear16", "sample_rate": 16000, "endpointing": 300}
CLOSE = json.dumps({"type": "CloseStream"})
RECORDED = Path("/work/shared/reference/recorded/listen/websocket")


def run(server: LocalServer, params: Any, audio: bytes) -> list[dict[str, Any]]:
    with open_ws(server, "/v1/listen", params) as ws:
        send_chunked(ws, audio)
        ws.send(CLOSE)
        return collect(ws)


def finals(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Final Results that carry words."""
    return [
        m for m in of_type(messages, "Results") if m["is_final"] and m["channel"]["alternatives"][0]["words"]
    ]


def transcripts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["channel"]["alternatives"][0]["transcript"] for m in finals(messages)]


TWO_SENTENCES = (
    synthesize_words(["hello", "there", "general", "kenobi"])
    + silence(0.5)
    + synthesize_words(["how", "are", "you"])
)


def test_without_punctuation_words_and_transcript_are_lower_case(local_server: LocalServer) -> None:
    messages = run(local_server, RAW, TWO_SENTENCES + silence(0.5))
    assert transcripts(messages) == ["hello there general kenobi", "how are you"]
    assert all("punctuated_word" not in w and "speaker" not in w for w in final_words(messages))
    assert all("entities" not in m and "search" not in m["channel"] for m in of_type(messages, "Results"))


@pytest.mark.parametrize("flag", ["punctuate", "smart_format"])
def test_punctuation_capitalises_sentences_and_ends_them_at_speech_final(
    local_server: LocalServer, flag: str
) -> None:
    messages = run(local_server, {**RAW, flag: True}, TWO_SENTENCES + silence(0.5))
    assert transcripts(messages) == ["Hello there general kenobi.", "How are you."]
    words = final_words(messages)
    assert [w["punctuated_word"] for w in words[:4]] == ["Hello", "there", "general", "kenobi."]
    assert [w["word"] for w in words[:4]] == ["hello", "there", "general", "kenobi"]


def test_a_final_that_is_not_speech_final_continues_the_sentence(local_server: LocalServer) -> None:
    params = {**RAW, "punctuate": True, "endpointing": "false"}
    with open_ws(local_server, "/v1/listen", params) as ws:
        ws.send(synthesize_words(["one", "more"]) + silence(0.2))
        ws.send(json.dumps({"type": "Finalize"}))
        ws.send(synthesize_words(["thing"]) + silence(0.2))
        ws.send(CLOSE)
        messages = collect(ws)
    assert transcripts(messages) == ["One more", "thing."]
    assert [m["from_finalize"] for m in finals(messages)] == [True, False]


def test_interim_results_are_punctuated_like_the_final_but_without_the_period(
    local_server: LocalServer,
) -> None:
    params = {**RAW, "punctuate": True, "interim_results": True}
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
    messages = run(local_server, params, synthesize_words(words) + silence(0.5))
    interims = [m for m in of_type(messages, "Results") if not m["is_final"]]
    texts = [m["channel"]["alternatives"][0]["transcript"] for m in interims]
    assert texts and all(t.startswith("Alpha") and not t.endswith(".") for t in texts if t)
    assert transcripts(messages) == ["Alpha bravo charlie delta echo foxtrot."]


def test_smart_format_writes_spoken_digits_as_one_word_like_the_recording(local_server: LocalServer) -> None:
    audio = synthesize_words(["testing", "one", "two", "three"], leading_ms=200) + silence(0.5)
    messages = run(local_server, {**RAW, "smart_format": True}, audio)
    (final,) = finals(messages)
    alternative = final["channel"]["alternatives"][0]
    assert alternative["transcript"] == "Testing 123."
    spoken = expected_words(["testing", "one", "two", "three"], leading_ms=200)
    testing, number = alternative["words"]
    assert number["word"] == "123" and number["punctuated_word"] == "123."
    assert (number["start"], number["end"]) == (round(spoken[1].start, 3), round(spoken[3].end, 3))
    assert testing["punctuated_word"] == "Testing"
    # the same word keys as the live service's recorded smart_format Results
    recorded = json.loads(next(RECORDED.glob("a6d1*-d7334c*-response.json")).read_text())
    recorded_word = recorded["channel"]["alternatives"][0]["words"][1]
    assert recorded_word["word"] == "123" and recorded_word["punctuated_word"] == "123."
    assert set(number) == set(recorded_word)


def test_numerals_combine_number_words_as_cardinals(local_server: LocalServer) -> None:
    spoken = ["nineteen", "ninety", "nine", "and", "twenty", "three", "hundred", "five"]
    messages = run(local_server, {**RAW, "numerals": True}, synthesize_words(spoken) + silence(0.5))
    assert transcripts(messages) == ["1999 and 2305"]
    assert "punctuated_word" not in final_words(messages)[0]


def test_configure_turns_numerals_on_mid_stream(local_server: LocalServer) -> None:
    with open_ws(local_server, "/v1/listen", RAW) as ws:
        send_chunked(ws, synthesize_words(["one", "two"]) + silence(0.5))
        ws.send(json.dumps({"type": "Configure", "features": {"numerals": True}}))
        send_chunked(ws, synthesize_words(["three", "four"]) + silence(0.5))
        ws.send(json.dumps({"type": "Configure", "features": {"numerals": False}}))
        send_chunked(ws, synthesize_words(["five"]) + silence(0.5))
        ws.send(CLOSE)
        messages = collect(ws)
    assert transcripts(messages) == ["one two", "34", "five"]
    kinds = [
        m["type"]
        for m in messages
        if m["type"] != "Results" or (m["is_final"] and m["channel"]["alternatives"][0]["words"])
    ]
    assert kinds == ["Results", "ConfigureSuccess", "Results", "ConfigureSuccess", "Results", "Metadata"]


def test_configure_with_non_boolean_features_gets_a_schema_error(local_server: LocalServer) -> None:
    with open_ws(local_server, "/v1/listen", RAW) as ws:
        bad = json.dumps({"type": "Configure", "features": {"numerals": "yes"}})
        ws.send(bad)
        error = json.loads(ws.recv(timeout=5))
    assert error["type"] == "Error" and error["variant"] == "SchemaError"
    assert "features" in error["description"] and error["message"] == bad


def test_diarize_switches_speaker_after_a_pause_of_a_second(local_server: LocalServer) -> None:
    audio = (
        synthesize_words(["hello", "there"])
        + silence(1.2)
        + synthesize_words(["hi", "back"])
        + silence(0.5)
        + synthesize_words(["again"])
        + silence(1.0)
        + synthesize_words(["first"])
        + silence(0.5)
    )
    for params in ({**RAW, "diarize": True}, {**RAW, "diarize_model": "latest"}):
        words = final_words(run(local_server, params, audio))
        assert [(w["word"], w["speaker"]) for w in words] == [
            ("hello", 0),
            ("there", 0),
            ("hi", 1),
            ("back", 1),
            ("again", 1),
            ("first", 0),
        ]


def test_search_reports_hits_per_query(local_server: LocalServer) -> None:
    spoken = ["the", "account", "number", "please", "account"]
    params = [*RAW.items(), ("search", "account"), ("search", "Account Number"), ("search", "refund")]
    messages = run(local_server, params, synthesize_words(spoken, leading_ms=100) + silence(0.5))
    (final,) = finals(messages)
    timing = expected_words(spoken, leading_ms=100)
    account, phrase, refund = final["channel"]["search"]
    assert account["query"] == "account"
    assert [(h["start"], h["end"], h["snippet"]) for h in account["hits"]] == [
        (round(timing[1].start, 3), round(timing[1].end, 3), "account"),
        (round(timing[4].start, 3), round(timing[4].end, 3), "account"),
    ]
    assert phrase["query"] == "Account Number"
    assert [(h["start"], h["end"], h["snippet"]) for h in phrase["hits"]] == [
        (round(timing[1].start, 3), round(timing[2].end, 3), "account number")
    ]
    assert 0 < phrase["hits"][0]["confidence"] <= 1
    assert refund == {"query": "refund", "hits": []}


@pytest.mark.parametrize("numerals", [False, True])
def test_detect_entities_labels_numbers_on_finals_only(local_server: LocalServer, numerals: bool) -> None:
    spoken = ["call", "five", "five", "five", "one", "two", "now"]
    params = {**RAW, "detect_entities": True, "numerals": numerals, "interim_results": True}
    audio = synthesize_words(spoken) + silence(0.5) + synthesize_words(["thanks"]) + silence(0.5)
    messages = run(local_server, params, audio)
    first, second = finals(messages)
    (entity,) = first["entities"]
    assert entity["label"] == "CARDINAL" and entity["value"] == "55512"
    assert entity["raw_value"] == "five five five one two"
    assert (entity["start_word"], entity["end_word"]) == ((1, 2) if numerals else (1, 6))
    words = first["channel"]["alternatives"][0]["words"]
    assert [w["word"] for w in words[entity["start_word"] : entity["end_word"]]] == (
        ["55512"] if numerals else ["five", "five", "five", "one", "two"]
    )
    assert second["entities"] == []
    assert all("entities" not in m for m in of_type(messages, "Results") if not m["is_final"])


def test_keyterm_and_keywords_are_accepted(local_server: LocalServer) -> None:
    params = [*RAW.items(), ("keyterm", "acme corp"), ("keywords", "acme:2")]
    messages = run(local_server, params, synthesize_words(["acme"]) + silence(0.5))
    assert transcripts(messages) == ["acme"]


@pytest.mark.parametrize(
    ("spoken", "digits"),
    [
        ("one two three", ["123"]),
        ("twenty three", ["23"]),
        ("one hundred five", ["105"]),
        ("two thousand twenty", ["2020"]),
        ("zero five", ["05"]),
        ("twenty-one", ["21"]),
        ("hundred", ["100"]),
        ("a 42 b", ["42"]),
        ("one x two", ["1", "2"]),
    ],
)
def test_number_runs_read_cardinals_greedily(spoken: str, digits: list[str]) -> None:
    assert [run.digits for run in number_runs(spoken.split())] == digits
