"""Fault injection for the local server: rules a test sets, matched per connection.

A :class:`FaultRule` says what goes wrong on a connection and when. Rules live in a
:class:`FaultRegistry` (``LocalServer.faults``) and are matched at handshake by the ``tag``
query parameter and/or the path; a client may also ask for a fault itself with the header
``x-actors-fault: kind=drop;after_audio_seconds=2`` (same field names as :class:`FaultRule`).

Kinds:

* ``reject``: refuse the handshake with ``status`` (e.g. 429, 503).
* ``drop``: cut the TCP connection without a close frame (the client sees 1006).
* ``close``: send a close frame with ``code`` and ``reason``.
* ``stall``: stop reading and writing for ``duration`` seconds (None: until the server stops).
* ``garbage``: send one text frame that is not JSON, then carry on.
* ``unknown_type``: send one JSON message of a type no API defines, then carry on.

Every kind but ``reject`` fires once the connection has received (or, for Speak, sent)
``after_audio_seconds`` of audio; 0 fires right after the endpoint's first message.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import attrs

from actors.errors import OptionsError

FAULT_KINDS = ("reject", "drop", "close", "stall", "garbage", "unknown_type")
FAULT_HEADER = "x-actors-fault"


def _check_kind(_instance: object, _attribute: object, value: str) -> None:
    if value not in FAULT_KINDS:
        raise OptionsError("kind", f"unknown fault kind {value!r}; expected one of {', '.join(FAULT_KINDS)}")


def _check_non_negative(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise OptionsError(attribute.name, f"must be >= 0, got {value!r}")


@attrs.frozen
class FaultRule:
    """One fault to inject: what (``kind``), where (``match_tag``/``path``) and when.

    ``match_tag=None`` and ``path=None`` match every connection. ``times`` bounds how many
    connections the rule applies to (None: all of them).
    """

    kind: str = attrs.field(validator=_check_kind)
    match_tag: str | None = None
    path: str | None = None
    after_audio_seconds: float = attrs.field(default=0.0, converter=float, validator=_check_non_negative)
    code: int = 1011
    reason: str = ""
    status: int = 503
    duration: float | None = None
    times: int | None = None

    def matches(self, path: str, tags: Iterable[str]) -> bool:
        """True when this rule applies to a connection on ``path`` carrying ``tags``."""
        if self.path is not None and self.path != path:
            return False
        return self.match_tag is None or self.match_tag in set(tags)

    @classmethod
    def from_header(cls, value: str) -> FaultRule:
        """Parse the ``x-actors-fault`` header form ``kind=drop;after_audio_seconds=2``.

        Raises :class:`OptionsError` naming the bad field.
        """
        fields: dict[str, object] = {}
        for part in value.split(";"):
            part = part.strip()
            if not part:
                continue
            name, sep, raw = part.partition("=")
            name, raw = name.strip(), raw.strip()
            if not sep:
                raise OptionsError(FAULT_HEADER, f"expected name=value, got {part!r}")
            if name in ("after_audio_seconds", "duration"):
                fields[name] = _number(name, raw, float)
            elif name in ("code", "status", "times"):
                fields[name] = _number(name, raw, int)
            elif name in ("kind", "reason", "match_tag", "path"):
                fields[name] = raw
            else:
                raise OptionsError(FAULT_HEADER, f"unknown field {name!r}")
        if "kind" not in fields:
            raise OptionsError(FAULT_HEADER, "missing kind=...")
        return cls(**fields)  # type: ignore[arg-type]


def _number(name: str, raw: str, kind: type[float] | type[int]) -> float | int:
    try:
        return kind(raw)
    except ValueError:
        raise OptionsError(name, f"expected a number, got {raw!r}", raw) from None


class FaultRegistry:
    """The fault rules of one server; thread-safe. Each match consumes one use of a bounded rule."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._uses: dict[int, int] = {}

    def add(self, rule: FaultRule) -> FaultRule:
        """Add ``rule`` (first added, first matched) and return it."""
        with self._lock:
            self._rules.append(rule)
        return rule

    def remove(self, rule: FaultRule) -> None:
        """Remove ``rule`` if present."""
        with self._lock:
            self._rules = [r for r in self._rules if r is not rule]

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules.clear()
            self._uses.clear()

    def rules(self) -> list[FaultRule]:
        """A snapshot of the active rules."""
        with self._lock:
            return list(self._rules)

    def take(self, path: str, tags: Iterable[str]) -> FaultRule | None:
        """Return the first rule matching the connection and count one use of it.

        A rule whose ``times`` is spent is removed.
        """
        tags = list(tags)
        with self._lock:
            for rule in self._rules:
                if rule.matches(path, tags):
                    used = self._uses.get(id(rule), 0) + 1
                    self._uses[id(rule)] = used
                    if rule.times is not None and used >= rule.times:
                        self._rules = [r for r in self._rules if r is not rule]
                        self._uses.pop(id(rule), None)
                    return rule
        return None
