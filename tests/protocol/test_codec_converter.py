"""The codec as a cattrs codec: ``codec.converter`` structures/unstructures exactly as decode/encode.

Covers every class of every API (generated instances), the tag-dispatching union hook, the error
path (FieldError naming the field), user-registered hooks (own types, and overriding a WireObject
class in a private converter), self-referencing classes, and the lazily created unknown-fields dict.
"""

from __future__ import annotations

from typing import Any, cast

import attrs
import orjson
import pytest
from hypothesis import HealthCheck, given, settings

from actors.errors import ActorsError, FieldError, ProtocolError
from actors.protocol.apis import AGENT_V1, LISTEN_V1, LISTEN_V2, SPEAK_V1
from actors.protocol.base import (
    DecodeError,
    Message,
    UnknownMessage,
    WireObject,
    stored_unknown_fields,
    wire_object,
)
from actors.protocol.codec import (
    Codec,
    default_converter,
    default_hooks,
    make_converter,
    structure,
    to_dict,
)
from actors.protocol.hook_source import generated_class
from actors.protocol.listen_v1.messages import (
    SERVER_MESSAGES,
    ListenV1Results,
    ListenV1ResultsMetadataModelInfo,
    ListenV1UtteranceEnd,
)
from tests.protocol.strategies import message_strategy
from tests.protocol.test_codec import results_frame

CODECS: list[Codec] = [
    codec
    for api in (LISTEN_V1, LISTEN_V2, SPEAK_V1, AGENT_V1)
    for codec in (api.server_codec, api.client_codec)
]


def _classes(codec: Codec) -> list[type[Message]]:
    """Every class a codec decodes (each shape of a multi-shape agent type)."""
    shapes = getattr(codec, "shapes", None)
    if shapes is None:
        return list(codec.classes.values())
    return [cls for tag in codec.classes for cls in shapes(tag)]


CASES = [(codec, cls) for codec in CODECS for cls in _classes(codec)]


@pytest.mark.parametrize(("codec", "cls"), CASES, ids=[f"{c.name}:{k.__name__}" for c, k in CASES])
def test_converter_equals_decode_and_encode_for_every_class(codec: Codec, cls: type[Message]) -> None:
    converter = codec.converter

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(message_strategy(cls))
    def check(msg: Message) -> None:
        assert converter.unstructure(msg) == codec.to_dict(msg)
        data = orjson.loads(codec.encode(msg))
        try:
            direct = converter.structure(data, cls)
        except ActorsError:
            direct = None  # generated agent providers can be invalid on purpose (attrs validator)
        if direct is not None:
            assert direct == msg
            assert converter.unstructure(direct) == data
        decoded = codec.decode_obj(data)
        if isinstance(decoded, DecodeError):
            # Refused by decode (or a selector chose another shape that refuses it): so by the union.
            with pytest.raises(ProtocolError):
                converter.structure(data, codec.message_type)
            return
        assert converter.structure(data, type(decoded)) == decoded
        assert converter.structure(data, codec.message_type) == decoded
        assert converter.unstructure(decoded) == codec.to_dict(decoded)

    check()


@pytest.mark.parametrize("codec", CODECS, ids=[c.name for c in CODECS])
def test_every_codec_shares_the_default_converter(codec: Codec) -> None:
    assert codec.converter is default_converter()


def test_the_default_path_is_the_default_converters_hooks() -> None:
    """One mechanism: decode, encode, from_dict/to_dict and model_validate use the converter's hooks."""
    converter = default_converter()
    assert default_hooks().converter is converter
    hook = converter.get_structure_hook(ListenV1Results)
    assert generated_class(hook) is ListenV1Results
    frame = results_frame(2)
    data = orjson.loads(frame)
    assert hook(data) == LISTEN_V1.server_codec.decode(frame) == structure(ListenV1Results, data)
    assert ListenV1Results.model_validate(data) == hook(data)
    msg = hook(data)
    assert converter.get_unstructure_hook(ListenV1Results)(msg) == to_dict(msg) == data
    assert orjson.loads(LISTEN_V1.server_codec.encode(msg)) == data


def test_results_through_the_converter_equal_decode_field_for_field() -> None:
    frame = results_frame(5)
    data = orjson.loads(frame)
    converter = default_converter()
    assert LISTEN_V1.server_codec.converter is converter
    msg = converter.structure(data, ListenV1Results)
    assert msg == LISTEN_V1.server_codec.decode(frame)
    assert msg.channel.alternatives[0].words[4].punctuated_word == "W4"
    assert converter.unstructure(msg) == data
    assert orjson.loads(converter.dumps(msg)) == data  # the orjson-preconfigured converter's dumps
    assert converter.loads(frame, ListenV1Results) == msg


def test_union_hook_dispatches_on_type_with_unknown_fallback() -> None:
    codec = LISTEN_V1.server_codec
    converter = codec.converter
    end = converter.structure(
        {"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": 1.5}, codec.message_type
    )
    assert isinstance(end, ListenV1UtteranceEnd) and end.last_word_end == 1.5
    unknown = converter.structure({"type": "Brand New", "x": 1}, codec.message_type)
    assert isinstance(unknown, UnknownMessage) and unknown.raw == {"type": "Brand New", "x": 1}
    assert converter.unstructure(unknown) == {"type": "Brand New", "x": 1}
    with pytest.raises(ProtocolError, match="missing 'type'"):
        converter.structure({"channel": [0, 1]}, codec.message_type)
    with pytest.raises(ProtocolError, match="UtteranceEnd: last_word_end: expected a number"):
        converter.structure(
            {"type": "UtteranceEnd", "channel": [0], "last_word_end": "x"}, codec.message_type
        )


def test_agent_union_hook_picks_the_shape() -> None:
    codec = AGENT_V1.client_codec
    dynamic = codec.converter.structure(
        {"type": "InjectAgentMessage", "is_dynamic": True, "message": "hi"}, codec.message_type
    )
    assert dynamic == codec.decode('{"type":"InjectAgentMessage","is_dynamic":true,"message":"hi"}')
    assert type(dynamic).__name__ == "AgentV1InjectDynamicAgentMessage"


def test_field_error_names_the_path_through_the_converter() -> None:
    data = orjson.loads(results_frame(3))
    data["channel"]["alternatives"][0]["words"][2]["start"] = "soon"
    with pytest.raises(FieldError) as caught:
        LISTEN_V1.server_codec.converter.structure(data, ListenV1Results)
    assert caught.value.path == ["channel", "alternatives", "words", "start"]
    assert str(caught.value) == "channel.alternatives.words.start: expected a number, got str 'soon'"
    decoded = LISTEN_V1.server_codec.decode_obj(data)
    assert isinstance(decoded, DecodeError)
    assert decoded.reason == f"Results: {caught.value}"


@pytest.mark.parametrize(
    ("where", "value", "reason"),
    [
        (("channel",), [1], "channel: expected an object, got list [1]"),
        (("channel", "alternatives"), [7], "channel.alternatives: expected an object, got int 7"),
        (("metadata", "model_info"), "m", "metadata.model_info: expected an object, got str 'm'"),
        (("channel", "alternatives", 0, "words"), [None], "channel.alternatives.words: expected an object"),
        (("channel_index",), [0, "1"], "channel_index: expected an integer, got str '1'"),
    ],
)
def test_a_non_object_where_an_object_belongs_is_a_decode_error(
    where: tuple[Any, ...], value: Any, reason: str
) -> None:
    data = orjson.loads(results_frame(2))
    target = data
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    decoded = LISTEN_V1.server_codec.decode(orjson.dumps(data))
    assert isinstance(decoded, DecodeError)
    assert decoded.reason.startswith(f"Results: {reason}")


def test_decoding_the_same_data_twice_shares_no_mutable_state() -> None:
    data = orjson.loads(results_frame(2))
    a = LISTEN_V1.server_codec.from_dict(data)
    b = LISTEN_V1.server_codec.from_dict(data)
    assert isinstance(a, ListenV1Results) and isinstance(b, ListenV1Results)
    assert a == b
    assert a.channel_index is not b.channel_index
    assert a.channel_index is not data["channel_index"]
    assert a.channel.alternatives[0].words is not b.channel.alternatives[0].words
    a.unknown_fields["mine"] = 1
    assert b.unknown_fields == {} and "mine" not in data
    a.channel.alternatives[0].words[0].unknown_fields["x"] = 2
    assert b.channel.alternatives[0].words[0].unknown_fields == {}


def test_unknown_fields_dict_is_created_on_first_read() -> None:
    msg = LISTEN_V1.server_codec.decode('{"type":"UtteranceEnd","channel":[0,1],"last_word_end":1.5}')
    assert isinstance(msg, ListenV1UtteranceEnd)
    assert stored_unknown_fields(msg) is None  # nothing allocated while decoding
    assert msg == ListenV1UtteranceEnd(channel=[0, 1], last_word_end=1.5, unknown_fields={})
    assert msg.unknown_fields == {}
    assert msg.unknown_fields is msg.unknown_fields
    msg.unknown_fields = {"late": True}
    assert msg.late is True  # type: ignore[attr-defined]
    assert orjson.loads(LISTEN_V1.server_codec.encode(msg))["late"] is True
    evolved = attrs.evolve(cast(Any, msg), last_word_end=2.0)
    assert evolved.unknown_fields == {"late": True}


# --- user hooks ------------------------------------------------------------------------------------


@attrs.frozen
class CallTag:
    """A user's own type (not a WireObject), stored as "team/number" on the wire."""

    team: str
    number: int


def test_user_hooks_for_own_types_work_on_a_codec_converter() -> None:
    converter = LISTEN_V1.server_codec.converter  # the shared converter: a new type is harmless

    def call_tag(value: str, _: type) -> CallTag:
        team, number = value.split("/")
        return CallTag(team, int(number))

    converter.register_structure_hook(CallTag, call_tag)
    converter.register_unstructure_hook(CallTag, lambda t: f"{t.team}/{t.number}")
    assert converter.structure("sales/7", CallTag) == CallTag("sales", 7)
    assert converter.unstructure(CallTag("sales", 7)) == "sales/7"
    assert converter.structure(["a/1", "b/2"], list[CallTag]) == [CallTag("a", 1), CallTag("b", 2)]
    # ... and messages still go through the generated hooks.
    assert converter.structure(
        orjson.loads(results_frame(1)), ListenV1Results
    ) == LISTEN_V1.server_codec.decode(results_frame(1))


def test_a_hook_registered_for_a_nested_wire_class_is_used_by_decode() -> None:
    converter = make_converter()

    def model_info(data: Any, cls: type) -> ListenV1ResultsMetadataModelInfo:
        return ListenV1ResultsMetadataModelInfo(
            name=data["name"].upper(), version="pinned", arch=data["arch"]
        )

    converter.register_structure_hook(ListenV1ResultsMetadataModelInfo, model_info)
    converter.register_unstructure_hook(ListenV1ResultsMetadataModelInfo, lambda m: {"name": m.name.lower()})
    codec = Codec(SERVER_MESSAGES, name="custom", converter=converter)
    msg = codec.decode(results_frame(2))
    assert isinstance(msg, ListenV1Results)
    assert msg.metadata.model_info.name == "N" and msg.metadata.model_info.version == "pinned"
    assert codec.to_dict(msg)["metadata"]["model_info"] == {"name": "n"}
    assert converter.structure(orjson.loads(results_frame(2)), ListenV1Results) == msg
    # The shared converter is untouched.
    plain = LISTEN_V1.server_codec.decode(results_frame(2))
    assert isinstance(plain, ListenV1Results) and plain.metadata.model_info.name == "n"


def test_a_hook_registered_for_a_message_class_is_used_by_decode() -> None:
    converter = make_converter()
    converter.register_structure_hook(
        ListenV1UtteranceEnd,
        lambda d, cls: ListenV1UtteranceEnd(channel=d["channel"], last_word_end=round(d["last_word_end"])),
    )
    codec = Codec(SERVER_MESSAGES, converter=converter)
    msg = codec.decode('{"type":"UtteranceEnd","channel":[0,1],"last_word_end":1.7}')
    assert msg == ListenV1UtteranceEnd(channel=[0, 1], last_word_end=2)
    broken = codec.decode('{"type":"UtteranceEnd","channel":[0,1]}')
    assert isinstance(broken, DecodeError) and "KeyError" in broken.reason


# --- classes declared by users ---------------------------------------------------------------------


@wire_object
class TreeNode(WireObject):
    """A self-referencing wire object (the generator must not recurse forever)."""

    name: str
    children: list[TreeNode] = attrs.field(factory=list)
    parent: TreeNode | None = None


@wire_object
class Ping(Message):
    """A user's own message type in a user's codec."""

    type: str = "Ping"
    at: float
    tree: TreeNode | None = None


def test_self_referencing_classes_structure_and_unstructure() -> None:
    converter = make_converter()
    data = {"name": "root", "children": [{"name": "a", "children": [{"name": "b", "extra": 1}]}]}
    tree = converter.structure(data, TreeNode)
    assert tree.children[0].children[0].name == "b"
    assert tree.children[0].children[0].extra == 1  # type: ignore[attr-defined]
    assert converter.unstructure(tree) == {
        "name": "root",
        "children": [{"name": "a", "children": [{"name": "b", "children": [], "extra": 1}]}],
    }
    with pytest.raises(FieldError, match=r"children\.children\.name: expected a string"):
        converter.structure({"name": "r", "children": [{"name": "a", "children": [{"name": 3}]}]}, TreeNode)


def test_a_users_own_codec_and_message_class() -> None:
    codec = Codec([Ping], name="pings", converter=make_converter())
    msg = codec.decode('{"type":"Ping","at":3,"tree":{"name":"t"}}')
    assert msg == Ping(at=3.0, tree=TreeNode(name="t"))
    assert isinstance(msg, Ping) and type(msg.at) is float
    assert codec.converter.structure({"type": "Ping", "at": 1.5}, codec.message_type) == Ping(at=1.5)
    assert codec.encode(Ping(at=1.5)) == '{"type":"Ping","at":1.5}'
    assert isinstance(codec.decode('{"type":"Pong"}'), Ping) is False
