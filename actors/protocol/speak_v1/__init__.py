"""speak_v1: message classes (``messages``), connect options (``options``) and the ApiSpec (``api``)."""

from actors.protocol.speak_v1.messages import *  # noqa: F403
from actors.protocol.speak_v1.messages import __all__ as _messages
from actors.protocol.speak_v1.options import SpeakV1Options

__all__ = [*_messages, "SpeakV1Options"]
