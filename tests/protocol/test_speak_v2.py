"""Speak V2 (Flux TTS) protocol: the ApiSpec, codec round trips of every message, unknown fields
kept, and connect-option validation as asyncapi.yml documents it."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from actors.errors import OptionsError
from actors.protocol.apis import SPEAK_V2, all_apis, api_for_path
from actors.protocol.base import UnknownMessage
from actors.protocol.speak_v2.options import SpeakV2Options
from actors.speak.v2 import types
from tests.protocol.speak_v2_samples import SPEAK_V2_SAMPLES

IDS = [name for name, _, _ in SPEAK_V2_SAMPLES]


def test_speak_v2_is_registered_on_the_production_host() -> None:
    assert (SPEAK_V2.name, SPEAK_V2.path, SPEAK_V2.host) == ("speak.v2", "/v2/speak", "production")
    assert SPEAK_V2.server_sends_binary and not SPEAK_V2.client_sends_binary
    assert SPEAK_V2 in all_apis() and api_for_path("/v2/speak?model=flux-alexis-en") is SPEAK_V2
    assert SPEAK_V2.options_type is SpeakV2Options
    assert set(SPEAK_V2.client_codec.classes) == {"Speak", "Flush", "Interrupt", "Configure", "Close"}
    assert set(SPEAK_V2.server_codec.classes) == {
        "Connected",
        "SpeechStarted",
        "SpeechMetadata",
        "Flushed",
        "SessionMetadata",
        "SpeechInterrupted",
        "ConfigureSuccess",
        "ConfigureFailure",
        "Warning",
        "Error",
    }


def test_the_sdk_import_path_exports_every_class_the_sdk_has() -> None:
    import deepgram.speak.v2.types as sdk_types

    sdk_names = {n for n in sdk_types.__all__ if not n.endswith("Code")}  # the codes are plain str unions
    assert sdk_names <= set(types.__all__)
    assert "CLIENT_MESSAGES" not in types.__all__


@pytest.mark.parametrize(("name", "direction", "data"), SPEAK_V2_SAMPLES, ids=IDS)
def test_every_message_round_trips_through_its_codec(name: str, direction: str, data: dict[str, Any]) -> None:
    codec = SPEAK_V2.server_codec if direction == "server" else SPEAK_V2.client_codec
    message = codec.decode(orjson.dumps(data).decode())
    assert type(message) is getattr(types, name)
    assert orjson.loads(codec.encode(message)) == data


@pytest.mark.parametrize(("name", "direction", "data"), SPEAK_V2_SAMPLES, ids=IDS)
def test_unknown_fields_are_kept_and_re_sent(name: str, direction: str, data: dict[str, Any]) -> None:
    codec = SPEAK_V2.server_codec if direction == "server" else SPEAK_V2.client_codec
    newer = {**copy.deepcopy(data), "added_later": {"x": 1}}
    message = codec.decode(orjson.dumps(newer).decode())
    assert message.added_later == {"x": 1}
    assert orjson.loads(codec.encode(message)) == newer


def test_spec_omissions_decode_the_optional_fields_as_none() -> None:
    """The spec's controls_applied has no breaks_applied; an Interrupt without offset gets no text split."""
    decoded = SPEAK_V2.server_codec.decode(
        '{"type":"SpeechInterrupted","audio_played_ms":10,"metadata":{"speech_id":"s","audio_duration_ms":10,'
        '"input_character_count":1,"billable_character_count":1,'
        '"controls_applied":{"pronunciations_applied":0,"pronunciation_warnings":0}}}'
    )
    assert isinstance(decoded, types.SpeakV2SpeechInterrupted)
    assert decoded.text_spoken is None and decoded.metadata.controls_applied.breaks_applied is None
    assert SPEAK_V2.client_codec.encode(types.SpeakV2Interrupt()) == '{"type":"Interrupt"}'


def test_an_unknown_server_message_is_kept_raw() -> None:
    decoded = SPEAK_V2.server_codec.decode('{"type":"BrandNew","x":1}')
    assert isinstance(decoded, UnknownMessage) and decoded.type == "BrandNew"


def test_a_message_missing_a_required_field_is_a_decode_error() -> None:
    from actors.protocol.base import DecodeError

    decoded = SPEAK_V2.server_codec.decode('{"type":"Flushed"}')
    assert isinstance(decoded, DecodeError) and "speech_id" in decoded.reason


# -- options --------------------------------------------------------------------------------------


def test_options_serialise_in_the_sdks_order() -> None:
    options = SpeakV2Options(
        tag=["a", "b"], mip_opt_out=True, sample_rate="16000", encoding="mulaw", model="flux-alexis-en"
    )
    assert (
        options.query_string()
        == "model=flux-alexis-en&encoding=mulaw&sample_rate=16000&mip_opt_out=true&tag=a&tag=b"
    )


@pytest.mark.parametrize(
    ("params", "name", "words"),
    [
        ({}, "model", "required"),
        ({"model": "aura-2-thalia-en"}, "model", "/v1/speak"),
        ({"model": "flux"}, "model", "flux-{voice}-{language}"),
        ({"model": "flux-alexis-en", "encoding": "opus"}, "encoding", "linear16, mulaw, alaw"),
        ({"model": "flux-alexis-en", "sample_rate": 22050}, "sample_rate", "44100"),
        (
            {"model": "flux-alexis-en", "encoding": "mulaw", "sample_rate": 24000},
            "sample_rate",
            "8000 or 16000",
        ),
        (
            {"model": "flux-alexis-en", "encoding": "alaw", "sample_rate": 48000},
            "sample_rate",
            "encoding=alaw",
        ),
        ({"model": "flux-alexis-en", "speed": 2.0}, "speed", "1.5"),
        ({"model": "flux-alexis-en", "speed": 1.07}, "speed", "0.05"),
        ({"model": "flux-alexis-en", "expressivity": 3}, "expressivity", "2"),
        ({"model": "flux-alexis-en", "mip_opt_out": "maybe"}, "mip_opt_out", "true or false"),
        ({"model": "flux-alexis-en", "voice": "x"}, "voice", "extra_query"),
    ],
)
def test_strict_options_name_what_is_wrong(params: dict[str, Any], name: str, words: str) -> None:
    with pytest.raises(OptionsError) as caught:
        SpeakV2Options.from_kwargs(strict=True, **params)
    assert caught.value.name == name and words in str(caught.value)


def test_companded_encodings_accept_8000_and_16000_and_linear16_every_listed_rate() -> None:
    for encoding in ("mulaw", "alaw"):
        for rate in (8000, 16000):
            SpeakV2Options.from_kwargs(
                strict=True, model="flux-alexis-en", encoding=encoding, sample_rate=rate
            )
    for rate in (8000, 16000, 24000, 32000, 44100, 48000):
        SpeakV2Options.from_kwargs(strict=True, model="flux-alexis-en", encoding="linear16", sample_rate=rate)


def test_lenient_options_leave_values_to_the_service_but_check_types() -> None:
    lenient = SpeakV2Options.from_kwargs(model="aura-2-thalia-en", encoding="mulaw", sample_rate=24000)
    assert lenient.model == "aura-2-thalia-en"
    with pytest.raises(OptionsError):
        SpeakV2Options.from_kwargs(model="flux-alexis-en", sample_rate="fast")
    with pytest.raises(OptionsError):
        SpeakV2Options.from_kwargs(encoding="linear16")  # model is required in either mode


def test_the_server_side_parse_is_strict() -> None:
    with pytest.raises(OptionsError):
        SpeakV2Options.from_query("model=flux-alexis-en&encoding=alaw&sample_rate=24000")
    parsed = SpeakV2Options.from_query("model=flux-alexis-en&encoding=alaw&sample_rate=8000&tag=x")
    assert parsed.tag == ["x"] and parsed.sample_rate == 8000
