"""Deepgram SDK-compatible names for the SpeakV2 wire messages (``from deepgram.speak.v2.types import ...``
becomes ``from actors.speak.v2.types import ...``). Re-exports of :mod:`actors.protocol.speak_v2.messages`.
"""

from actors.protocol.speak_v2.messages import *  # noqa: F403
from actors.protocol.speak_v2.messages import __all__ as _all
from actors.protocol.speak_v2.options import SpeakV2Options

__all__ = [name for name in _all if name.startswith("SpeakV2")] + ["SpeakV2Options"]
