"""Deepgram SDK-compatible names for the SpeakV1 wire messages (``from deepgram.speak.v1.types import ...``
becomes ``from actors.speak.v1.types import ...``). Re-exports of :mod:`actors.protocol.speak_v1.messages`.
"""

from actors.protocol.speak_v1.messages import *  # noqa: F403
from actors.protocol.speak_v1.messages import __all__ as _all
from actors.protocol.speak_v1.options import SpeakV1Options

__all__ = [name for name in _all if name.startswith("SpeakV1")] + ["SpeakV1Options"]
