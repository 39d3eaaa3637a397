"""Agent V1 ``History`` messages: the two shapes sharing the wire type ``History``.

The server sends one per conversation turn when ``flags.history`` is on, and the client seeds
a conversation with the same shapes in ``Settings.agent.context.messages``:

* :class:`ConversationHistoryMessage` — ``{"type": "History", "role": ..., "content": ...}``
* :class:`FunctionCallHistoryMessage` — ``{"type": "History", "function_calls": [...]}``

:func:`history_class_for` picks the class for a decoded object.
"""

from __future__ import annotations

from typing import Any

from actors.protocol.base import Message, WireObject, wire_object

__all__ = [
    "AgentV1History",
    "ConversationHistoryMessage",
    "FunctionCallHistoryMessage",
    "FunctionCallHistoryMessageFunctionCallsItem",
    "history_class_for",
]


@wire_object
class ConversationHistoryMessage(Message):
    """A spoken statement in the history; ``role`` is ``user`` or ``assistant``."""

    type: str = "History"
    role: str
    content: str


@wire_object
class FunctionCallHistoryMessageFunctionCallsItem(WireObject):
    """A finished function call: its ``arguments`` and the ``response`` it produced (JSON text)."""

    id: str
    name: str
    client_side: bool
    arguments: str
    response: str
    thought_signature: str | None = None


@wire_object
class FunctionCallHistoryMessage(Message):
    """Function calls (with their responses) recorded in the history."""

    type: str = "History"
    function_calls: list[FunctionCallHistoryMessageFunctionCallsItem]


AgentV1History = ConversationHistoryMessage | FunctionCallHistoryMessage
"""Either History shape."""


def history_class_for(data: dict[str, Any]) -> type[Message]:
    """The History class for a ``History`` object: function calls if it has ``function_calls``."""
    if "function_calls" in data:
        return FunctionCallHistoryMessage
    return ConversationHistoryMessage
