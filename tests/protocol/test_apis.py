"""The API registry and the SDK-compatible import paths."""

from __future__ import annotations

import pytest

from actors.protocol import apis
from actors.protocol.apis import LISTEN_V1, LISTEN_V2, SPEAK_V1, all_apis, api_for_path


def test_specs_describe_each_api() -> None:
    assert (LISTEN_V1.name, LISTEN_V1.path, LISTEN_V1.host) == ("listen.v1", "/v1/listen", "production")
    assert (LISTEN_V2.name, LISTEN_V2.path) == ("listen.v2", "/v2/listen")
    assert (SPEAK_V1.name, SPEAK_V1.path) == ("speak.v1", "/v1/speak")
    assert LISTEN_V1.client_sends_binary and not LISTEN_V1.server_sends_binary
    assert SPEAK_V1.server_sends_binary and not SPEAK_V1.client_sends_binary
    assert LISTEN_V1.options_type is not None and LISTEN_V1.path == LISTEN_V1.options_type.PATH


def test_codecs_are_split_by_direction() -> None:
    assert set(LISTEN_V1.server_codec.classes) == {
        "Results", "Metadata", "UtteranceEnd", "SpeechStarted", "Error", "ConfigureSuccess",
        "ConfigureFailure", "Sync",
    }  # fmt: skip
    assert set(LISTEN_V1.client_codec.classes) == {
        "Finalize",
        "CloseStream",
        "KeepAlive",
        "Configure",
        "Sync",
    }
    assert set(SPEAK_V1.client_codec.classes) == {"Speak", "Flush", "Clear", "Close"}
    assert set(LISTEN_V2.client_codec.classes) == {"CloseStream", "ForceEndTurn", "Configure"}


def test_lookup_by_path() -> None:
    assert api_for_path("/v1/listen?model=nova-3") is LISTEN_V1
    assert api_for_path("/v2/listen/") is LISTEN_V2
    with pytest.raises(KeyError, match="no API at '/v9/nothing'"):
        api_for_path("/v9/nothing")
    assert {LISTEN_V1, LISTEN_V2, SPEAK_V1} <= set(all_apis())


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError):
        _ = apis.NOT_AN_API


def test_sdk_import_paths() -> None:
    from actors.listen.v1.types import ListenV1Options, ListenV1Results  # noqa: F401
    from actors.listen.v2.types import ListenV2ForceEndTurn, ListenV2TurnInfo  # noqa: F401
    from actors.speak.v1 import types as speak_types

    assert speak_types.SpeakV1Text.wire_type() == "Speak"
    assert "SpeakV1Cleared" in speak_types.__all__ and "CLIENT_MESSAGES" not in speak_types.__all__
