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
            SpeakV1Options,
            server_messages=SERVER_MESSAGES,
            client_messages=CLIENT_MESSAGES,
            client_sends=CLIENT_MESSAGES,
            audio_from=direction,
            session=SPEAK_V1.session,
        )


def test_every_api_declares_its_session_rules_once_on_its_spec() -> None:
    from actors.protocol.apis import all_apis

    for api in all_apis():
        rules = api.session
        assert rules.keepalive_interval > 0
        assert rules.finish_frames("close") == rules.finish_close
        assert rules.finish_frames("finalize") == rules.finish_finalize
        if rules.keepalive_kind == "message":
            assert rules.keepalive_message == '{"type":"KeepAlive"}'
    assert LISTEN_V1.session.finish_finalize == ('{"type":"Finalize"}', '{"type":"CloseStream"}')
    assert SPEAK_V1.session.audio_is_result and not LISTEN_V1.session.audio_is_result


def test_session_rules_refuse_what_cannot_work() -> None:
    from actors.protocol.session import SessionRules

    with pytest.raises(ValueError, match="keepalive_interval"):
        SessionRules(keepalive_kind="ping", keepalive_interval=0)
    with pytest.raises(ValueError, match="keepalive_message"):
        SessionRules(keepalive_kind="message", keepalive_interval=4.0)
    with pytest.raises(ValueError, match="finish mode"):
        SessionRules(keepalive_kind="ping", keepalive_interval=4.0).finish_frames("later")  # type: ignore[arg-type]
