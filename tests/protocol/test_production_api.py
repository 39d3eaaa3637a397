"""``production_api``: the one builder of the Listen V1 / V2 and Speak V1 ApiSpecs."""

from __future__ import annotations

from typing import Any

import pytest

from actors.errors import OptionsError
from actors.protocol.apis import LISTEN_V1, LISTEN_V2, SPEAK_V1
from actors.protocol.production_api import production_api
from actors.protocol.speak_v1.messages import CLIENT_MESSAGES, SERVER_MESSAGES
from actors.protocol.speak_v1.options import SpeakV1Options


def test_audio_direction_and_codec_names_follow_the_api() -> None:
    assert (LISTEN_V1.client_sends_binary, LISTEN_V1.server_sends_binary) == (True, False)
    assert (LISTEN_V2.client_sends_binary, LISTEN_V2.server_sends_binary) == (True, False)
    assert (SPEAK_V1.client_sends_binary, SPEAK_V1.server_sends_binary) == (False, True)
    for api in (LISTEN_V1, LISTEN_V2, SPEAK_V1):
        assert api.host == "production"
        assert (api.server_codec.name, api.client_codec.name) == (f"{api.name} server", f"{api.name} client")


def test_an_unknown_audio_direction_is_refused_by_name() -> None:
    direction: Any = "both"
    with pytest.raises(OptionsError, match=r"audio_from.*'both'"):
        production_api(
            "speak.v1",
            "/v1/speak",
            SpeakV1Options,
            server_messages=SERVER_MESSAGES,
            client_messages=CLIENT_MESSAGES,
            audio_from=direction,
        )
