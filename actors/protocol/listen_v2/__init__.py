"""listen_v2: message classes (``messages``), connect options (``options``) and the ApiSpec (``api``)."""

from actors.protocol.listen_v2.messages import *  # noqa: F403
from actors.protocol.listen_v2.messages import __all__ as _messages
from actors.protocol.listen_v2.options import ListenV2Options

__all__ = [*_messages, "ListenV2Options"]
