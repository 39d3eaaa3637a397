"""Deepgram SDK-compatible names for the ListenV1 wire messages (``from deepgram.listen.v1.types import ...``
becomes ``from actors.listen.v1.types import ...``). Re-exports of :mod:`actors.protocol.listen_v1.messages`.
"""

from actors.protocol.listen_v1.messages import *  # noqa: F403
from actors.protocol.listen_v1.messages import __all__ as _all
from actors.protocol.listen_v1.options import ListenV1Options

__all__ = [name for name in _all if name.startswith("ListenV1")] + ["ListenV1Options"]
