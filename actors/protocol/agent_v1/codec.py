"""The Agent V1 codecs: a :class:`Codec` that also handles wire types with two shapes.

Agent V1 reuses one ``type`` for two message shapes: ``History`` (conversation text or function
calls) and ``InjectAgentMessage`` (static text, or ``is_dynamic: true``). :class:`ShapedCodec`
takes, per such type, a selector that looks at the decoded object and names the class.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from actors.errors import ProtocolError
from actors.protocol.agent_v1.history import history_class_for
from actors.protocol.agent_v1.messages import (
    CLIENT_MESSAGES,
    SERVER_MESSAGES,
    AgentV1InjectAgentMessage,
    AgentV1InjectDynamicAgentMessage,
)
from actors.protocol.base import DecodeError, Message
from actors.protocol.codec import Codec, Decoded, structure

__all__ = ["ShapedCodec", "client_codec", "inject_agent_message_class_for", "server_codec"]

Selector = Callable[[dict[str, Any]], type[Message]]


class ShapedCodec(Codec):
    """A :class:`Codec` where some wire types map to several classes, chosen by ``selectors``.

    ``classes`` may list several classes with the same tag only if ``selectors`` has that tag;
    ``class_for(tag)`` then returns the first of them. Decoding never raises, as for ``Codec``.
    """

    def __init__(
        self,
        classes: Iterable[type[Message]],
        selectors: Mapping[str, Selector],
        name: str = "",
    ) -> None:
        first: dict[str, type[Message]] = {}
        shaped: dict[str, list[type[Message]]] = {}
        for cls in classes:
            tag = cls.wire_type()
            if tag in first and tag not in selectors:
                raise ValueError(f"codec {name!r}: wire type {tag!r} has several classes but no selector")
            first.setdefault(tag, cls)
            shaped.setdefault(tag, []).append(cls)
        super().__init__(first.values(), name=name)
        self._selectors = dict(selectors)
        self._shapes = {tag: tuple(shaped[tag]) for tag in self._selectors if tag in shaped}

    def shapes(self, tag: str) -> tuple[type[Message], ...]:
        """Every class decoding frames of wire type ``tag`` (empty if the tag is unknown)."""
        if tag in self._shapes:
            return self._shapes[tag]
        cls = self.class_for(tag)
        return (cls,) if cls is not None else ()

    def decode_obj(self, data: Any, frame: Any = None) -> Decoded:
        """Decode already-parsed JSON data, picking the shape for multi-shape types; never raises."""
        if type(data) is dict:
            tag = data.get("type")
            selector = self._selectors.get(tag) if isinstance(tag, str) else None
            if selector is not None and isinstance(tag, str):
                return _decode_shape(selector(data), data, frame, tag)
        return super().decode_obj(data, frame)


def _decode_shape(cls: type[Message], data: dict[str, Any], frame: Any, tag: str) -> Decoded:
    try:
        msg: Message = structure(cls, data)
        return msg
    except ProtocolError as e:
        return DecodeError(reason=f"{tag}: {e}", raw=_text(frame, data), type=tag)
    except Exception as e:  # defensive: a reader must survive anything a frame can trigger
        return DecodeError(reason=f"{tag}: {type(e).__name__}: {e}", raw=_text(frame, data), type=tag)


def _text(frame: Any, data: dict[str, Any]) -> str:
    if isinstance(frame, str):
        return frame
    if isinstance(frame, bytes | bytearray | memoryview):
        return bytes(frame).decode("utf-8", errors="replace")
    import orjson

    return orjson.dumps(data).decode()


def inject_agent_message_class_for(data: dict[str, Any]) -> type[Message]:
    """The InjectAgentMessage class for an object: dynamic when ``is_dynamic`` is true."""
    if data.get("is_dynamic") is True:
        return AgentV1InjectDynamicAgentMessage
    return AgentV1InjectAgentMessage


def server_codec() -> ShapedCodec:
    """A codec for what the agent server sends (``History`` in both shapes)."""
    return ShapedCodec(SERVER_MESSAGES, {"History": history_class_for}, name="agent.v1 server")


def client_codec() -> ShapedCodec:
    """A codec for what an agent client sends (``InjectAgentMessage`` in both shapes)."""
    return ShapedCodec(
        CLIENT_MESSAGES,
        {"InjectAgentMessage": inject_agent_message_class_for},
        name="agent.v1 client",
    )
