"""speak_v2 (Flux TTS): message classes, connect options (``options``) and the ApiSpec (``api``)."""

from actors.protocol.speak_v2.messages import *  # noqa: F403
from actors.protocol.speak_v2.messages import __all__ as _messages
from actors.protocol.speak_v2.options import SpeakV2Options

__all__ = [*_messages, "SpeakV2Options"]
