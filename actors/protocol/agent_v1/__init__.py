"""Agent V1 (``/v1/agent/converse``) wire protocol: messages, the Settings tree, providers.

Exports every name in the ``__all__`` of its modules ``functions``, ``history``, ``messages``,
``providers`` and ``settings`` (each module lists its own). ``AGENT_V1`` (the ApiSpec) lives in
:mod:`actors.protocol.agent_v1.api`; the codecs in :mod:`actors.protocol.agent_v1.codec`.
"""

from __future__ import annotations

from actors.protocol.agent_v1 import functions, history, messages, providers, settings
from actors.protocol.agent_v1.functions import *  # noqa: F403
from actors.protocol.agent_v1.history import *  # noqa: F403
from actors.protocol.agent_v1.messages import *  # noqa: F403
from actors.protocol.agent_v1.providers import *  # noqa: F403
from actors.protocol.agent_v1.settings import *  # noqa: F403

__all__ = [*functions.__all__, *history.__all__, *messages.__all__, *providers.__all__, *settings.__all__]
