"""Where a decoded message carries fields its classes do not model, as the agent service names them.

The live agent service refuses a ``Settings`` with any field it does not know, answering
``Error`` "Error parsing client message. Check the agent.tags field against the API spec.".
The codec keeps such fields instead (``unknown_fields``); :func:`unknown_field_paths` lists them in
the service's path notation (``agent.think.functions[0].method``) so a caller, such as the local
server, can refuse them the same way. Unknown *providers* are not reported: their fields belong
to a provider this version does not model, not to a misspelt setting.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator
from typing import Any

import attrs

from actors.protocol.agent_v1.providers import (
    UnknownListenProvider,
    UnknownSpeakProvider,
    UnknownThinkProvider,
)
from actors.protocol.base import WireObject

__all__ = ["unknown_field_paths"]

_OPAQUE = (UnknownListenProvider, UnknownThinkProvider, UnknownSpeakProvider)


def unknown_field_paths(obj: WireObject) -> list[str]:
    """Dotted paths of every unknown field in ``obj`` and its nested objects, in field order.

    A top-level message's own unknown fields have bare names (``tags``); nested ones are
    ``agent.tags``, list items ``agent.think.functions[0].url``.
    """
    return list(_walk(obj, ""))


def _walk(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, WireObject):
        if isinstance(value, _OPAQUE):
            return
        for field in attrs.fields(typing.cast(Any, type(value))):
            if field.alias != "unknown_fields":
                yield from _walk(getattr(value, field.name), _join(path, field.name))
        for name in value.unknown_fields:
            yield _join(path, name)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, WireObject | list):
                yield from _walk(item, _join(path, str(key)))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
