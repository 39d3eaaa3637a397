"""Deepgram SDK-compatible names for the ListenV2 wire messages (``from deepgram.listen.v2.types import ...``
becomes ``from actors.listen.v2.types import ...``). Re-exports of :mod:`actors.protocol.listen_v2.messages`.
"""

from actors.protocol.listen_v2.messages import *  # noqa: F403
from actors.protocol.listen_v2.messages import __all__ as _all
from actors.protocol.listen_v2.options import ListenV2Options

__all__ = [name for name in _all if name.startswith("ListenV2")] + ["ListenV2Options"]
