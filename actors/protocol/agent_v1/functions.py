"""Agent V1 function calling: definitions sent in Settings, calls and cancellations the server sends.

The History shapes that record finished calls live in :mod:`actors.protocol.agent_v1.history`.
"""

from __future__ import annotations

from typing import Any

import attrs

from actors.protocol.base import WireObject, wire_object

__all__ = [
    "AgentV1FunctionCallCancelledFunctionsItem",
    "AgentV1FunctionCallRequestFunctionsItem",
    "ThinkSettingsV1FunctionsItem",
    "ThinkSettingsV1FunctionsItemEndpoint",
    "header_names",
]


def header_names(headers: dict[str, str] | None) -> str:
    """Repr of an HTTP header map that shows only the names (values may hold credentials)."""
    if headers is None:
        return "None"
    return "{" + ", ".join(f"{name!r}: '***'" for name in headers) + "}"


@wire_object
class ThinkSettingsV1FunctionsItemEndpoint(WireObject):
    """Where the service calls a server-side function (no endpoint: the client runs it).

    ``repr`` shows header names only: header values often carry credentials.
    """

    url: str | None = None
    method: str | None = None
    headers: dict[str, str] | None = attrs.field(default=None, repr=header_names)


@wire_object
class ThinkSettingsV1FunctionsItem(WireObject):
    """A function the LLM may call; ``parameters`` is a JSON Schema object.

    ``defer_until_eot`` holds the call until the user's turn is confirmed (newer than the spec);
    the ``*filler*`` fields tune Think Live filler speech while the function runs.
    """

    name: str | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = None
    endpoint: ThinkSettingsV1FunctionsItemEndpoint | None = None
    defer_until_eot: bool | None = None
    initial_agent_filler: bool | None = None
    agent_filler_max_count: int | None = None
    agent_filler_interval_ms: int | None = None


@wire_object
class AgentV1FunctionCallRequestFunctionsItem(WireObject):
    """One requested call: ``arguments`` is JSON text; ``client_side`` False means the server runs it."""

    id: str
    name: str
    arguments: str
    client_side: bool
    thought_signature: str | None = None


@wire_object
class AgentV1FunctionCallCancelledFunctionsItem(WireObject):
    """A call the client must no longer answer (the turn it belonged to was abandoned)."""

    id: str
    name: str
