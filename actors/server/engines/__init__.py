"""Speech engines of the local server, chosen once per server start by name.

``get_engine("deterministic")`` is the exact, nearly free engine for tests and load runs;
``get_engine("real")`` is pocketsphinx speech-to-text (in worker processes) with espeak-ng
text-to-speech. See :mod:`actors.server.engines.base` for the contract.
"""

from __future__ import annotations

from actors.errors import OptionsError
from actors.server.engines.base import Engine, Recognizer, Synthesizer, Word

ENGINE_NAMES = ("deterministic", "real")

__all__ = ["ENGINE_NAMES", "Engine", "Recognizer", "Synthesizer", "Word", "get_engine"]


def get_engine(name: str) -> Engine:
    """Return a new engine by name: ``"deterministic"`` or ``"real"``.

    The real engine imports pocketsphinx and espeakng_loader (the ``server`` extra) lazily, so
    the deterministic engine works without them. Call ``engine.close()`` when done.
    """
    if name == "deterministic":
        from actors.server.engines.deterministic import DeterministicEngine

        return DeterministicEngine()
    if name == "real":
        from actors.server.engines.real import RealEngine

        return RealEngine()
    raise OptionsError("engine", f"unknown engine {name!r}; choose one of {', '.join(ENGINE_NAMES)}", name)
