"""Property: for every agent message class, decode(encode(msg)) == msg (hypothesis).

Instances are generated from the attrs field types, so a new field is covered automatically.
"""

from __future__ import annotations

import types
import typing
from typing import Any

import attrs
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.protocol.agent_v1 import (
    CLIENT_MESSAGES,
    SERVER_MESSAGES,
    UnknownListenProvider,
    UnknownSpeakProvider,
    UnknownThinkProvider,
)
from actors.protocol.apis import AGENT_V1
from actors.protocol.base import DecodeError, Message, UnknownMessage, WireObject

TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
FLOATS = st.floats(allow_nan=False, allow_infinity=False, width=64)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | FLOATS | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)
#: Fields that select the class (wire tag or shape) and so keep their default when they have one.
DISCRIMINANTS = {"type", "is_dynamic"}
#: Provider types an unknown provider may not use (they belong to a modelled class).
KNOWN_PROVIDER_TYPES = {"deepgram", "open_ai", "aws_bedrock", "anthropic", "google", "groq"}
KNOWN_PROVIDER_TYPES |= {"eleven_labs", "cartesia", "aws_polly"}
UNKNOWN_PROVIDERS = (UnknownListenProvider, UnknownThinkProvider, UnknownSpeakProvider)


def _strategy(tp: Any) -> st.SearchStrategy[Any]:
    if tp is str:
        return TEXT
    if tp is bool:
        return st.booleans()
    if tp is int:
        return st.integers(-(2**53), 2**53)
    if tp is float:
        return FLOATS
    if tp is Any:
        return JSON
    if tp is type(None):
        return st.none()
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return st.sampled_from(typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return st.one_of([_strategy(arg) for arg in typing.get_args(tp)])
    if origin is list:
        return st.lists(_strategy(typing.get_args(tp)[0]), max_size=2)
    if origin is dict:
        return st.dictionaries(TEXT, _strategy(typing.get_args(tp)[1]), max_size=2)
    if isinstance(tp, type) and issubclass(tp, WireObject):
        return st.deferred(lambda: _object(tp))
    raise AssertionError(f"no strategy for {tp!r}")


def _object(cls: type[WireObject]) -> st.SearchStrategy[Any]:
    if cls in UNKNOWN_PROVIDERS:
        return st.builds(
            cls,
            type=TEXT.filter(lambda t: t not in KNOWN_PROVIDER_TYPES),
            unknown_fields=st.dictionaries(
                TEXT.filter(lambda k: k not in ("type", "version")), JSON, max_size=2
            ),
        )
    hints = typing.get_type_hints(cls)
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for field in attrs.fields(typing.cast(Any, cls)):
        if field.alias == "unknown_fields":
            continue
        if field.name in DISCRIMINANTS and field.default is not attrs.NOTHING:
            continue
        strategy = _strategy(hints[field.name])
        if field.default is attrs.NOTHING:
            required[field.name] = strategy
        else:
            optional[field.name] = strategy
    return st.fixed_dictionaries(required, optional=optional).map(lambda kw: cls(**kw))


CASES = [(AGENT_V1.server_codec, cls) for cls in SERVER_MESSAGES]
CASES += [(AGENT_V1.client_codec, cls) for cls in CLIENT_MESSAGES]


@pytest.mark.parametrize(("codec", "cls"), CASES, ids=[cls.__name__ for _, cls in CASES])
def test_encode_decode_identity(codec: Any, cls: type[Message]) -> None:
    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_object(cls))
    def check(msg: Message) -> None:
        decoded = codec.decode(codec.encode(msg))
        assert decoded == msg
        assert type(decoded) is cls

    check()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CASES).flatmap(lambda c: st.tuples(st.just(c[0]), _object(c[1]))), TEXT, JSON)
def test_corrupted_agent_messages_never_raise(case: tuple[Any, Message], key: str, value: Any) -> None:
    codec, msg = case
    data = codec.to_dict(msg)
    target = data
    # Corrupt the deepest first nested object, where the unions and providers live.
    while True:
        nested = [v for k, v in target.items() if isinstance(v, dict) and k != "type"]
        if not nested:
            break
        target = nested[0]
    target[key or "type"] = value
    result = codec.decode(orjson.dumps(data))
    assert isinstance(result, Message | UnknownMessage | DecodeError)
