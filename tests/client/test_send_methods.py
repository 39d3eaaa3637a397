"""The sockets' written-out send methods are exactly what each API's ``ApiSpec`` declares.

For every API and both of its socket classes: one ``send_<api>_<message>`` method per message
in ``client_sends`` (plus ``send_<api>_media`` when the client sends audio), its SDK alias, the
message class as the parameter annotation (optional exactly when the message has no required
field), ``async`` on the async socket, and errors that name the method. Adding a message to the
protocol and forgetting a socket fails here; so does a socket method the protocol does not declare.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Mapping
from typing import Any, get_type_hints

import pytest

from actors.client.sending import message_is_optional
from actors.errors import OptionsError
from actors.protocol.apis import ApiSpec, all_apis
from actors.protocol.base import Message

from .helpers import socket_class

APIS = all_apis()


def method_prefix(api: ApiSpec) -> str:
    """``listen.v1`` -> ``send_listen_v_1_`` (Deepgram's reference naming)."""
    family, version = api.name.split(".")
    return f"send_{family}_{version[0]}_{version[1:]}_"


def expected_methods(api: ApiSpec) -> dict[str, tuple[str, type[Message] | None]]:
    """Reference method name -> (SDK alias, message class; None for the audio method)."""
    family, version = api.name.split(".")
    stem = family.capitalize() + version.upper()
    prefix = method_prefix(api)
    methods: dict[str, tuple[str, type[Message] | None]] = {}
    if api.client_sends_binary:
        methods[prefix + "media"] = ("send_media", None)
    for cls in api.client_sends:
        assert cls.__name__.startswith(stem), f"{cls.__name__} is not named {stem}..."
        suffix = re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__[len(stem) :]).lower()
        methods[prefix + suffix] = (suffix if suffix.startswith("send_") else f"send_{suffix}", cls)
    return methods


def test_every_api_has_sync_and_async_sockets() -> None:
    assert {api.name for api in APIS} == {"listen.v1", "listen.v2", "speak.v1", "speak.v2", "agent.v1"}
    for api in APIS:
        assert socket_class(api, is_async=False).api() is socket_class(api, is_async=True).api() is api


@pytest.mark.parametrize("api", APIS, ids=lambda api: api.name)
def test_client_sends_are_messages_of_the_client_codec(api: ApiSpec) -> None:
    assert api.client_sends, api.name
    for cls in api.client_sends:
        assert cls.wire_type() in api.client_codec.classes, cls


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("api", APIS, ids=lambda api: api.name)
def test_socket_send_methods_are_the_declared_client_messages(api: ApiSpec, is_async: bool) -> None:
    cls = socket_class(api, is_async=is_async)
    expected = expected_methods(api)
    written = {name for name in vars(cls) if name.startswith(method_prefix(api))}
    assert written == set(expected), f"{cls.__name__}: written {sorted(written)}, declared {sorted(expected)}"
    for name, (alias, message_cls) in expected.items():
        method = vars(cls)[name]
        assert vars(cls).get(alias) is method, f"{cls.__name__}.{alias} is not {name}"
        assert inspect.iscoroutinefunction(method) == is_async, name
        assert method.__doc__, name
        parameters = list(inspect.signature(method).parameters.values())
        assert [p.name for p in parameters] == ["self", "message"], name
        names = {message.__name__: message for message in api.client_sends}  # imported by the method
        annotation = get_type_hints(method, localns=names)["message"]
        if message_cls is None:
            assert annotation is bytes and parameters[1].default is inspect.Parameter.empty, name
        elif message_is_optional(message_cls):
            assert annotation == message_cls | Mapping[str, Any] | None, name
            assert parameters[1].default is None, name
        else:
            assert annotation == message_cls | Mapping[str, Any], name
            assert parameters[1].default is inspect.Parameter.empty, name


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("api", APIS, ids=lambda api: api.name)
def test_a_bad_argument_is_refused_naming_the_method_and_its_message(api: ApiSpec, is_async: bool) -> None:
    cls = socket_class(api, is_async=is_async)
    socket = cls.__new__(cls)  # no connection: a bad argument is refused before anything is sent
    for name, (_, message_cls) in expected_methods(api).items():
        what = "audio bytes" if message_cls is None else message_cls.__name__
        with pytest.raises(OptionsError, match=rf"^message: {name}\(\) expects (a )?{what}"):
            outcome = getattr(socket, name)(42)
            if is_async:
                asyncio.run(outcome)
