"""The Agent V1 codecs: a :class:`Codec` that also handles wire types with two shapes.

Agent V1 reuses one ``type`` for two message shapes: ``History`` (conversation text or function
calls) and ``InjectAgentMessage`` (static text, or ``is_dynamic: true``). :class:`ShapedCodec`
takes, per such type, a selector that looks at the decoded object and names the class.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import cattrs

from actors.errors import ProtocolError
from actors.protocol.agent_v1.history import history_class_for
from actors.protocol.agent_v1.messages import (
    CLIENT_MESSAGES,
    SERVER_MESSAGES,
    AgentV1InjectAgentMessage,
    AgentV1InjectDynamicAgentMessage,
)
from actors.protocol.base import Message
from actors.protocol.codec import Codec, Decoded

__all__ = ["ShapedCodec", "client_codec", "inject_agent_message_class_for", "server_codec"]

Selector = Callable[[dict[str, Any]], type[Message]]


class ShapedCodec(Codec):
    """A :class:`Codec` where some wire types map to several classes, chosen by ``selectors``.

    ``classes`` may list several classes with the same tag only if ``selectors`` has that tag;
    ``class_for(tag)`` then returns the first of them. Every class is decoded by its hook in
    ``converter`` (looked up once), and ``message_type`` (the union of every shape) dispatches on
    ``type`` and then the selector. Decoding never raises, as for ``Codec``.
    """

    def __init__(
        self,
        classes: Iterable[type[Message]],
        selectors: Mapping[str, Selector],
        name: str = "",
        *,
        converter: cattrs.Converter | None = None,
    ) -> None:
        first: dict[str, type[Message]] = {}
        shaped: dict[str, list[type[Message]]] = {}
        for cls in classes:
            tag = cls.wire_type()
            if tag in first and tag not in selectors:
                raise ValueError(f"codec {name!r}: wire type {tag!r} has several classes but no selector")
            first.setdefault(tag, cls)
            shaped.setdefault(tag, []).append(cls)
        self._selectors = dict(selectors)
        self._shapes = {tag: tuple(shaped[tag]) for tag in self._selectors if tag in shaped}
        super().__init__(first.values(), name=name, converter=converter)
        self._fast = {tag: fn for tag, fn in self._decoders.items() if tag not in self._selectors}
        self._shape_decoders = {
            cls: self._decoder_for(cls) for shapes in self._shapes.values() for cls in shapes
        }

    def _all_classes(self) -> list[type[Message]]:
        extra = [
            cls for shapes in self._shapes.values() for cls in shapes if cls not in self._by_tag.values()
        ]
        return [*self._by_tag.values(), *extra]

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
                return self._decode_shape(selector, data, frame, tag)
        return super().decode_obj(data, frame)

    def _decode_shape(self, selector: Selector, data: dict[str, Any], frame: Any, tag: str) -> Decoded:
        try:
            cls = selector(data)
            decoder = self._shape_decoders.get(cls)
            if decoder is None:
                raise ProtocolError(f"selector chose {cls!r}, which is not a shape of this codec")
        except Exception as e:  # a reader must survive anything a frame can trigger
            return self._failure(e, data, frame, tag)
        return self._run_decoder(decoder, data, frame, tag)


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
