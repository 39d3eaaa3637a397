"""Agent V1 message and settings types under Deepgram's SDK names (``deepgram.agent.v1.types``).

Every class is the one in :mod:`actors.protocol.agent_v1`; the SDK's alternative names for the
same shapes (``AgentV1SettingsAgentContextListen``, ``AgentV1HistoryContent``, the
``deepgram.types`` provider names, ...) are aliases of them. Enum-like SDK types (roles,
encodings, behaviors) are plain ``str`` here: any value the service adds is accepted.

The names come from the protocol's modules by ``*`` (type checkers read each module's literal
``__all__``; the package's is computed), so nothing is listed twice; the three provider unions
are imported by name as well because they are redefined (callable) below.
"""

from __future__ import annotations

import typing

from actors.protocol import agent_v1 as protocol
from actors.protocol.agent_v1.functions import *  # noqa: F403
from actors.protocol.agent_v1.history import *  # noqa: F403
from actors.protocol.agent_v1.messages import *  # noqa: F403
from actors.protocol.agent_v1.provider_union import constructible_union
from actors.protocol.agent_v1.providers import *  # noqa: F403
from actors.protocol.agent_v1.providers import (
    AgentV1SettingsAgentListenProvider,
    SpeakSettingsV1Provider,
    ThinkSettingsV1Provider,
)
from actors.protocol.agent_v1.settings import *  # noqa: F403

AgentV1HistoryContent = protocol.ConversationHistoryMessage
AgentV1HistoryFunctionCalls = protocol.FunctionCallHistoryMessage
AgentV1HistoryFunctionCallsFunctionCallsItem = protocol.FunctionCallHistoryMessageFunctionCallsItem
AgentV1SettingsAgentContextContextMessagesItem = protocol.AgentV1History
AgentV1SettingsAgentContextContextMessagesItemFunctionCallsFunctionCallsItem = (
    protocol.FunctionCallHistoryMessageFunctionCallsItem
)
AgentV1SettingsAgentContextMessagesItem = protocol.AgentV1History
AgentV1SettingsAgentContextMessagesItemContent = protocol.ConversationHistoryMessage
AgentV1SettingsAgentContextMessagesItemFunctionCalls = protocol.FunctionCallHistoryMessage
AgentV1SettingsAgentContextMessagesItemFunctionCallsFunctionCallsItem = (
    protocol.FunctionCallHistoryMessageFunctionCallsItem
)
AgentV1SettingsAgentContextListen = protocol.AgentV1SettingsAgentListen
# Deepgram's examples call the provider unions like classes; make them callable (see provider_union).
AgentV1SettingsAgentListenProvider = constructible_union(  # type: ignore[misc,assignment]
    "AgentV1SettingsAgentListenProvider", *typing.get_args(AgentV1SettingsAgentListenProvider)
)
ThinkSettingsV1Provider = constructible_union(  # type: ignore[misc,assignment]
    "ThinkSettingsV1Provider", *typing.get_args(ThinkSettingsV1Provider)
)
SpeakSettingsV1Provider = constructible_union(  # type: ignore[misc,assignment]
    "SpeakSettingsV1Provider", *typing.get_args(SpeakSettingsV1Provider)
)
AgentV1SettingsAgentContextListenProvider = AgentV1SettingsAgentListenProvider
AgentV1SettingsAgentContextListenProvider_V1 = protocol.AgentV1SettingsAgentListenProvider_V1
AgentV1SettingsAgentContextListenProvider_V2 = protocol.AgentV1SettingsAgentListenProvider_V2
AgentV1SettingsAgentContextListenProviderV1 = protocol.AgentV1SettingsAgentListenProvider_V1
AgentV1SettingsAgentContextListenProviderV2 = protocol.AgentV1SettingsAgentListenProvider_V2
AgentV1SettingsAgentListenProviderV1 = protocol.AgentV1SettingsAgentListenProvider_V1
AgentV1SettingsAgentListenProviderV2 = protocol.AgentV1SettingsAgentListenProvider_V2
AgentV1SettingsAgentContextThink = protocol.AgentV1SettingsAgentThink
AgentV1SettingsAgentContextSpeak = protocol.AgentV1SettingsAgentSpeak
AgentV1UpdateListenListenProvider = AgentV1SettingsAgentListenProvider
AgentV1UpdateListenListenProvider_V1 = protocol.AgentV1SettingsAgentListenProvider_V1
AgentV1UpdateListenListenProvider_V2 = protocol.AgentV1SettingsAgentListenProvider_V2
AgentV1UpdateThinkThink = protocol.AgentV1SettingsAgentThink
AgentV1UpdateSpeakSpeak = protocol.AgentV1SettingsAgentSpeak
DeepgramListenProviderV1 = protocol.AgentV1SettingsAgentListenProvider_V1
DeepgramListenProviderV2 = protocol.AgentV1SettingsAgentListenProvider_V2
OpenAiThinkProvider = protocol.ThinkSettingsV1Provider_OpenAi
AwsBedrockThinkProvider = protocol.ThinkSettingsV1Provider_AwsBedrock
Anthropic = protocol.ThinkSettingsV1Provider_Anthropic
Google = protocol.ThinkSettingsV1Provider_Google
Groq = protocol.ThinkSettingsV1Provider_Groq
Deepgram = protocol.SpeakSettingsV1Provider_Deepgram
Cartesia = protocol.SpeakSettingsV1Provider_Cartesia
CartesiaSpeakProviderVoice = protocol.CartesiaVoice
ElevenLabsSpeakProvider = protocol.SpeakSettingsV1Provider_ElevenLabs
OpenAiSpeakProvider = protocol.SpeakSettingsV1Provider_OpenAi
AwsPollySpeakProvider = protocol.SpeakSettingsV1Provider_AwsPolly

# The SDK's other names defined above, then every class of the protocol package.
__all__ = [
    "AgentV1HistoryContent",
    "AgentV1HistoryFunctionCalls",
    "AgentV1HistoryFunctionCallsFunctionCallsItem",
    "AgentV1SettingsAgentContextContextMessagesItem",
    "AgentV1SettingsAgentContextContextMessagesItemFunctionCallsFunctionCallsItem",
    "AgentV1SettingsAgentContextListen",
    "AgentV1SettingsAgentContextListenProvider",
    "AgentV1SettingsAgentContextListenProviderV1",
    "AgentV1SettingsAgentContextListenProviderV2",
    "AgentV1SettingsAgentContextListenProvider_V1",
    "AgentV1SettingsAgentContextListenProvider_V2",
    "AgentV1SettingsAgentContextMessagesItem",
    "AgentV1SettingsAgentContextMessagesItemContent",
    "AgentV1SettingsAgentContextMessagesItemFunctionCalls",
    "AgentV1SettingsAgentContextMessagesItemFunctionCallsFunctionCallsItem",
    "AgentV1SettingsAgentContextSpeak",
    "AgentV1SettingsAgentContextThink",
    "AgentV1SettingsAgentListenProviderV1",
    "AgentV1SettingsAgentListenProviderV2",
    "AgentV1UpdateListenListenProvider",
    "AgentV1UpdateListenListenProvider_V1",
    "AgentV1UpdateListenListenProvider_V2",
    "AgentV1UpdateSpeakSpeak",
    "AgentV1UpdateThinkThink",
    "Anthropic",
    "AwsBedrockThinkProvider",
    "AwsPollySpeakProvider",
    "Cartesia",
    "CartesiaSpeakProviderVoice",
    "Deepgram",
    "DeepgramListenProviderV1",
    "DeepgramListenProviderV2",
    "ElevenLabsSpeakProvider",
    "Google",
    "Groq",
    "OpenAiSpeakProvider",
    "OpenAiThinkProvider",
]
__all__ += protocol.__all__
# The protocol's message tuples and helpers are no SDK types.
__all__.remove("CLIENT_MESSAGES")
__all__.remove("SERVER_MESSAGES")
__all__.remove("header_names")
__all__.remove("history_class_for")
