"""The local agent's deterministic "think" step: a tiny rule-based responder, not an LLM.

Rules, applied to the user's text in order:

1. **Function call**: if the text names a declared function (its name, or the name with ``_``
   read as spaces, case-insensitive), the responder calls it. The first parameter of its JSON
   schema (required ones first) gets the rest of the text after the name, minus a leading
   ``for``/``in``/``of``/``about``/``with``/``to``; the arguments are a JSON object string.
2. **Arithmetic**: ``<int> <+ - * x> <int>`` anywhere in the text is answered ("2 + 2 equals 4.").
3. **Echo**: otherwise the reply is ``"You said: <text>."``.

After a function result the reply is ``"<name> returned <content>."``. The same input always
gives the same output, so tests can assert exact agent text (and, with the deterministic engine,
exact agent audio).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

_ARITHMETIC = re.compile(r"(-?\d+)\s*([-+*x])\s*(-?\d+)")
_LEADING_PREPOSITION = re.compile(r"^(?:for|in|of|about|with|to)\s+", re.IGNORECASE)


@attrs.frozen
class FunctionSpec:
    """A function the agent may call; ``client_side`` is True when it has no endpoint."""

    name: str
    parameters: Mapping[str, Any] = attrs.field(factory=dict)
    client_side: bool = True


@attrs.frozen
class Say:
    """Reply with these sentences."""

    sentences: tuple[str, ...]


@attrs.frozen
class Call:
    """Call the function ``name`` with ``arguments`` (a JSON object as a string)."""

    function: FunctionSpec
    arguments: str


def split_sentences(text: str) -> tuple[str, ...]:
    """Split a reply into sentences at ``.``, ``!`` or ``?`` followed by whitespace."""
    parts = [part.strip() for part in re.split(r"(?<=[.!?])\s+", text.strip())]
    return tuple(part for part in parts if part)


def functions_from_think(think: Any) -> list[FunctionSpec]:
    """Read the functions declared in a think configuration (one provider object or a list)."""
    providers = think if isinstance(think, list) else [think]
    specs: list[FunctionSpec] = []
    for provider in providers:
        if not isinstance(provider, Mapping):
            continue
        for item in provider.get("functions") or []:
            if isinstance(item, Mapping) and isinstance(item.get("name"), str) and item["name"]:
                parameters = item.get("parameters")
                specs.append(
                    FunctionSpec(
                        name=item["name"],
                        parameters=parameters if isinstance(parameters, Mapping) else {},
                        client_side=not item.get("endpoint"),
                    )
                )
    return specs


@attrs.define
class Responder:
    """Decides the agent's reply to a user turn (see the module docstring for the rules)."""

    functions: Sequence[FunctionSpec] = ()
    prompt: str = ""

    def respond(self, user_text: str) -> Say | Call:
        """Return a function call or the sentences to say for ``user_text``."""
        lowered = user_text.lower()
        for function in self.functions:
            for form in (function.name.lower(), function.name.replace("_", " ").lower()):
                at = lowered.find(form)
                if at != -1:
                    rest = user_text[at + len(form) :].strip(" \t.,!?")
                    return Call(function, self._arguments(function, rest))
        match = _ARITHMETIC.search(user_text)
        if match:
            left, op, right = int(match.group(1)), match.group(2), int(match.group(3))
            value = left + right if op == "+" else left - right if op == "-" else left * right
            return Say((f"{left} {op} {right} equals {value}.",))
        text = user_text.strip()
        return Say(split_sentences(f"You said: {text}.") if text else ("I did not catch that.",))

    def after_function(self, name: str, content: str) -> Say:
        """Return the reply once function ``name`` produced ``content``."""
        return Say((f"{name} returned {content}.",))

    @staticmethod
    def _arguments(function: FunctionSpec, rest: str) -> str:
        properties = function.parameters.get("properties")
        names = list(properties) if isinstance(properties, Mapping) else []
        required = [n for n in function.parameters.get("required") or [] if n in names]
        ordered = required + [n for n in names if n not in required]
        if not ordered:
            return "{}"
        return json.dumps({ordered[0]: _LEADING_PREPOSITION.sub("", rest)})
