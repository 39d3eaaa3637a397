"""Codec behaviour: dispatch by type, unknown types and fields, malformed frames, encoding rules."""

from __future__ import annotations

import orjson
import pytest

from actors.errors import ProtocolError
from actors.protocol.apis import LISTEN_V1, LISTEN_V2, SPEAK_V1
from actors.protocol.base import DecodeError, Message, UnknownMessage, wire_object
from actors.protocol.codec import Codec, structure, to_dict
from actors.protocol.listen_v1.messages import (
    ListenV1CloseStream,
    ListenV1Configure,
    ListenV1Error,
    ListenV1Finalize,
    ListenV1KeepAlive,
    ListenV1Results,
    ListenV1UtteranceEnd,
)
from actors.protocol.listen_v2.messages import ListenV2FatalError, ListenV2ForceEndTurn, ListenV2Warning
from actors.protocol.speak_v1.messages import (
    SpeakV1Cleared,
    SpeakV1Flushed,
    SpeakV1Metadata,
    SpeakV1Text,
    SpeakV1Warning,
)

SERVER = LISTEN_V1.server_codec
UTTERANCE_END = '{"type":"UtteranceEnd","channel":[0,1],"last_word_end":1.5}'


def results_frame(words: int = 3) -> bytes:
    ws = [
        {
            "word": f"w{i}",
            "start": i * 0.5,
            "end": i * 0.5 + 0.4,
            "confidence": 0.9,
            "punctuated_word": f"W{i}",
        }
        for i in range(words)
    ]
    return orjson.dumps(
        {
            "type": "Results",
            "channel_index": [0, 1],
            "duration": 1.5,
            "start": 0.0,
            "is_final": True,
            "speech_final": False,
            "channel": {"alternatives": [{"transcript": "w0 w1 w2", "confidence": 0.98, "words": ws}]},
            "metadata": {
                "request_id": "r",
                "model_info": {"name": "n", "version": "v", "arch": "a"},
                "model_uuid": "u",
            },
            "from_finalize": False,
        }
    )


def test_decodes_by_type_into_nested_objects() -> None:
    msg = SERVER.decode(results_frame())
    assert isinstance(msg, ListenV1Results)
    assert msg.channel.alternatives[0].words[2].punctuated_word == "W2"
    assert msg.channel.alternatives[0].words[1].start == 0.5
    assert msg.is_final is True and msg.speech_final is False
    assert msg.entities is None


def test_decodes_bytes_str_and_memoryview_alike() -> None:
    frame = results_frame()
    assert SERVER.decode(frame) == SERVER.decode(frame.decode()) == SERVER.decode(memoryview(frame))


def test_unknown_type_gives_unknown_message_with_raw_json() -> None:
    msg = SERVER.decode('{"type":"Brand New","x":[1,2]}')
    assert isinstance(msg, UnknownMessage)
    assert msg.type == "Brand New"
    assert msg.raw == {"type": "Brand New", "x": [1, 2]}
    assert msg.x == [1, 2]
    assert SERVER.encode(msg) == '{"type":"Brand New","x":[1,2]}'


def test_unknown_fields_are_kept_readable_and_re_emitted() -> None:
    frame = '{"type":"UtteranceEnd","channel":[0,1],"last_word_end":1.5,"new_field":{"a":1}}'
    msg = SERVER.decode(frame)
    assert isinstance(msg, ListenV1UtteranceEnd)
    assert msg.unknown_fields == {"new_field": {"a": 1}}
    assert msg.new_field == {"a": 1}  # type: ignore[attr-defined]
    assert "new_field" not in repr(msg)
    assert orjson.loads(SERVER.encode(msg)) == orjson.loads(frame)
    with pytest.raises(AttributeError, match="no field 'other'"):
        _ = msg.other  # type: ignore[attr-defined]


def test_unknown_fields_in_nested_objects_survive() -> None:
    data = orjson.loads(results_frame(1))
    data["channel"]["alternatives"][0]["words"][0]["sentiment"] = "positive"
    data["metadata"]["region"] = "eu"
    msg = SERVER.decode(orjson.dumps(data))
    assert isinstance(msg, ListenV1Results)
    assert msg.channel.alternatives[0].words[0].sentiment == "positive"  # type: ignore[attr-defined]
    assert orjson.loads(SERVER.encode(msg)) == data


def test_unknown_fields_do_not_override_known_fields_on_encode() -> None:
    msg = ListenV1UtteranceEnd(channel=[0, 1], last_word_end=2.0, unknown_fields={"last_word_end": 9})
    assert orjson.loads(SERVER.encode(msg))["last_word_end"] == 2.0


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        ("", "not valid JSON"),
        ("[1, 2]", "expected a JSON object, got an array"),
        ('"Results"', "expected a JSON object, got a string"),
        ("null", "expected a JSON object, got null"),
        ('{"channel":[0,1]}', "missing 'type'"),
        ('{"type":7}', "'type' must be a string"),
        ('{"type":"UtteranceEnd","channel":[0,1]}', "UtteranceEnd: last_word_end: required field is missing"),
        ('{"type":"UtteranceEnd","channel":"0","last_word_end":1}', "channel: expected a list"),
        ('{"type":"UtteranceEnd","channel":[0,true],"last_word_end":1}', "channel: expected an integer"),
        ('{"type":"UtteranceEnd","channel":[0,1],"last_word_end":"1"}', "last_word_end: expected a number"),
        (
            '{"type":"Results","channel_index":[0,1],"duration":1,"start":0,"channel":{"alternatives":[]},'
            '"metadata":{"request_id":"r","model_info":{"name":"n","version":"v"},"model_uuid":"u"}}',
            "Results: metadata.model_info.arch: required field is missing",
        ),
        (
            '{"type":"Results","channel_index":[0,1],"duration":1,"start":0,"channel":{"alternatives":[1]},'
            '"metadata":{}}',
            "channel.alternatives: expected an object",
        ),
        (
            '{"type":"Results","channel_index":[0,1],"duration":1,"start":0,"is_final":"yes",'
            '"channel":{"alternatives":[]},"metadata":{"request_id":"r","model_info":{"name":"n",'
            '"version":"v","arch":"a"},"model_uuid":"u"}}',
            "is_final: expected a boolean",
        ),
    ],
)
def test_malformed_frames_become_decode_errors(frame: str | bytes, reason: str) -> None:
    result = SERVER.decode(frame)
    assert isinstance(result, DecodeError)
    assert reason in result.reason
    assert isinstance(result.to_exception(), ProtocolError)


def test_decode_error_keeps_the_raw_frame_and_type() -> None:
    frame = '{"type":"UtteranceEnd","channel":[0,1]}'
    result = SERVER.decode(frame)
    assert isinstance(result, DecodeError)
    assert result.raw == frame and result.type == "UtteranceEnd"


def test_decode_never_raises_on_non_frames() -> None:
    assert isinstance(SERVER.decode(12345), DecodeError)  # type: ignore[arg-type]


def test_ints_decode_from_whole_floats_and_encode_as_ints() -> None:
    frame = '{"type":"Flushed","sequence_id":3.0}'
    msg = SPEAK_V1.server_codec.decode(frame)
    assert isinstance(msg, SpeakV1Flushed)
    assert msg.sequence_id == 3 and type(msg.sequence_id) is int
    assert SPEAK_V1.server_codec.encode(SpeakV1Flushed(sequence_id=44100.0)) == (  # type: ignore[arg-type]
        '{"type":"Flushed","sequence_id":44100}'
    )
    bad = SPEAK_V1.server_codec.decode('{"type":"Flushed","sequence_id":3.5}')
    assert isinstance(bad, DecodeError) and "sequence_id: expected an integer" in bad.reason


def test_encode_rejects_non_integral_values_for_int_fields() -> None:
    with pytest.raises(ProtocolError, match="expected an integer"):
        SPEAK_V1.server_codec.encode(SpeakV1Flushed(sequence_id=1.5))  # type: ignore[arg-type]


def test_floats_decode_from_ints() -> None:
    msg = SERVER.decode('{"type":"UtteranceEnd","channel":[0,1],"last_word_end":2}')
    assert isinstance(msg, ListenV1UtteranceEnd)
    assert msg.last_word_end == 2.0 and type(msg.last_word_end) is float


def test_encode_omits_unset_optional_fields() -> None:
    assert LISTEN_V1.client_codec.encode(ListenV1Finalize()) == '{"type":"Finalize"}'
    assert LISTEN_V1.client_codec.encode(ListenV1Finalize(channel=1)) == '{"type":"Finalize","channel":1}'
    assert LISTEN_V1.client_codec.encode(ListenV1Configure(features={"numerals": True})) == (
        '{"type":"Configure","features":{"numerals":true}}'
    )


def test_sdk_style_construction() -> None:
    """The constructions of Deepgram's SDK examples work unchanged."""
    assert LISTEN_V1.client_codec.encode(ListenV1Finalize(type="Finalize")) == '{"type":"Finalize"}'
    assert LISTEN_V1.client_codec.encode(ListenV1CloseStream(type="CloseStream")) == '{"type":"CloseStream"}'
    assert LISTEN_V1.client_codec.encode(ListenV1KeepAlive(type="KeepAlive")) == '{"type":"KeepAlive"}'
    assert SPEAK_V1.client_codec.encode(SpeakV1Text(text="Hello, world!")) == (
        '{"type":"Speak","text":"Hello, world!"}'
    )
    with pytest.raises(TypeError):
        SpeakV1Text("positional")  # type: ignore[call-arg, arg-type]


def test_speak_flushed_and_cleared_are_distinct_classes() -> None:
    codec = SPEAK_V1.server_codec
    assert isinstance(codec.decode('{"type":"Flushed","sequence_id":1}'), SpeakV1Flushed)
    assert isinstance(codec.decode('{"type":"Cleared","sequence_id":1}'), SpeakV1Cleared)
    assert isinstance(
        codec.decode(
            '{"type":"Metadata","request_id":"r","model_name":"m","model_version":"v","model_uuid":"u"}'
        ),
        SpeakV1Metadata,
    )


@pytest.mark.parametrize(
    "frame",
    [
        '{"type":"Warning","description":"Too many flushes","code":"EXCESSIVE_FLUSH"}',
        '{"type":"Warning","warn_msg":"Too many flushes","warn_code":"EXCESSIVE_FLUSH"}',
    ],
)
def test_speak_warning_in_both_spellings(frame: str) -> None:
    msg = SPEAK_V1.server_codec.decode(frame)
    assert isinstance(msg, SpeakV1Warning)
    assert msg.warning_code == "EXCESSIVE_FLUSH" and msg.warning_text == "Too many flushes"
    assert orjson.loads(SPEAK_V1.server_codec.encode(msg)) == orjson.loads(frame)


def test_messages_beyond_the_spec_decode() -> None:
    err = SERVER.decode('{"type":"Error","variant":"SchemaError","description":"d","message":"m"}')
    assert isinstance(err, ListenV1Error) and err.variant == "SchemaError"
    fatal = LISTEN_V2.server_codec.decode('{"type":"Error","sequence_id":3,"code":"X","description":"d"}')
    assert isinstance(fatal, ListenV2FatalError)
    warning = LISTEN_V2.server_codec.decode(
        '{"type":"Warning","request_id":"r","sequence_id":4,"code":"FORCE_END_TURN_NO_ACTIVE_TURN","description":"d"}'
    )
    assert isinstance(warning, ListenV2Warning)
    assert isinstance(LISTEN_V2.client_codec.decode('{"type":"ForceEndTurn"}'), ListenV2ForceEndTurn)
    assert isinstance(LISTEN_V1.client_codec.decode('{"type":"Configure","keyterms":[]}'), ListenV1Configure)


def test_from_dict_raises_and_to_dict_returns_plain_data() -> None:
    msg = SERVER.from_dict({"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": 1.5})
    assert isinstance(msg, ListenV1UtteranceEnd)
    assert SERVER.to_dict(msg) == {"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": 1.5}
    with pytest.raises(ProtocolError, match="last_word_end"):
        SERVER.from_dict({"type": "UtteranceEnd", "channel": [0, 1]})
    with pytest.raises(ProtocolError, match="not a wire message"):
        to_dict("text")  # type: ignore[arg-type]


def test_structure_builds_nested_objects_directly() -> None:
    from actors.protocol.listen_v1.messages import ListenV1ResultsMetadataModelInfo

    info = structure(ListenV1ResultsMetadataModelInfo, {"name": "n", "version": "v", "arch": "a"})
    assert info == ListenV1ResultsMetadataModelInfo(name="n", version="v", arch="a")
    with pytest.raises(ProtocolError, match="ListenV1ResultsMetadataModelInfo: arch"):
        structure(ListenV1ResultsMetadataModelInfo, {"name": "n", "version": "v"})


def test_codec_refuses_two_classes_with_one_tag() -> None:
    @wire_object
    class OtherResults(Message):
        type: str = "Results"

    with pytest.raises(ValueError, match="'Results' claimed by both"):
        Codec([ListenV1Results, OtherResults])


def test_union_fields_try_members_in_order() -> None:
    codec = LISTEN_V2.client_codec
    one = codec.decode('{"type":"Configure","keyterms":"alpha"}')
    many = codec.decode('{"type":"Configure","keyterms":["alpha","beta"]}')
    assert one.keyterms == "alpha" and many.keyterms == ["alpha", "beta"]  # type: ignore[union-attr]
    bad = codec.decode('{"type":"Configure","keyterms":[1]}')
    assert isinstance(bad, DecodeError) and "keyterms: expected one of str | list" in bad.reason
