"""Property tests: encode -> decode is the identity for generated messages of every class."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.protocol.apis import LISTEN_V1, LISTEN_V2, SPEAK_V1
from actors.protocol.base import Message
from actors.protocol.codec import Codec
from tests.protocol.strategies import json_values, message_strategy

CASES: list[tuple[Codec, type[Message]]] = [
    (codec, cls)
    for api in (LISTEN_V1, LISTEN_V2, SPEAK_V1)
    for codec in (api.server_codec, api.client_codec)
    for cls in codec.classes.values()
]


@pytest.mark.parametrize(
    ("codec", "cls"), CASES, ids=lambda v: getattr(v, "__name__", getattr(v, "name", ""))
)
def test_encode_decode_is_identity(codec: Codec, cls: type[Message]) -> None:
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(message_strategy(cls))
    def check(msg: Message) -> None:
        decoded = codec.decode(codec.encode(msg))
        assert decoded == msg, (decoded, msg)
        assert codec.to_dict(decoded) == codec.to_dict(msg)

    check()


@settings(max_examples=200, deadline=None)
@given(st.one_of(json_values, st.binary(max_size=40), st.text(max_size=40)))
def test_decode_never_raises(frame: object) -> None:
    for api in (LISTEN_V1, LISTEN_V2, SPEAK_V1):
        for codec in (api.server_codec, api.client_codec):
            if isinstance(frame, bytes | str):
                codec.decode(frame)
            codec.decode_obj(frame)


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from([c for _, c in CASES]).flatmap(lambda cls: message_strategy(cls)),
    st.sampled_from(["channel", "words", "sequence_id", "text", "request_id", "transcript"]),
    json_values,
)
def test_corrupted_known_messages_never_raise(msg: Message, key: str, value: object) -> None:
    from actors.protocol.codec import to_dict

    data = to_dict(msg)
    data[key] = value
    for api in (LISTEN_V1, LISTEN_V2, SPEAK_V1):
        api.server_codec.decode_obj(data)
        api.client_codec.decode_obj(data)
