"""Agent V1 message and settings types under Deepgram's SDK names (``deepgram.agent.v1.types``).

Every class is the one in :mod:`actors.protocol.agent_v1`; the SDK's alternative names for the
same shapes (``AgentV1SettingsAgentContextListen``, ``AgentV1HistoryContent``, the
``deepgram.types`` provider names, ...) are aliases of them. Enum-like SDK types (roles,
encodings, behaviors) are plain ``str`` here: any value the service adds is accepted.
"""

from __future__ import annotations

import typing

import actors.protocol.agent_v1
from actors.protocol.agent_v1 import *  # noqa: F403
from actors.protocol.agent_v1 import (
    AgentV1History,
    AgentV1SettingsAgentListen,
    AgentV1SettingsAgentListenProvider,
    AgentV1SettingsAgentListenProvider_V1,
    AgentV1SettingsAgentListenProvider_V2,
    AgentV1SettingsAgentSpeak,
    AgentV1SettingsAgentThink,
    CartesiaVoice,
    ConversationHistoryMessage,
    FunctionCallHistoryMessage,
    FunctionCallHistoryMessageFunctionCallsItem,
    SpeakSettingsV1Provider,
    SpeakSettingsV1Provider_AwsPolly,
    SpeakSettingsV1Provider_Cartesia,
    SpeakSettingsV1Provider_Deepgram,
    SpeakSettingsV1Provider_ElevenLabs,
    SpeakSettingsV1Provider_OpenAi,
    ThinkSettingsV1Provider,
    ThinkSettingsV1Provider_Anthropic,
    ThinkSettingsV1Provider_AwsBedrock,
    ThinkSettingsV1Provider_Google,
    ThinkSettingsV1Provider_Groq,
    ThinkSettingsV1Provider_OpenAi,
)
from actors.protocol.agent_v1.provider_union import constructible_union

AgentV1HistoryContent = ConversationHistoryMessage
AgentV1HistoryFunctionCalls = FunctionCallHistoryMessage
AgentV1HistoryFunctionCallsFunctionCallsItem = FunctionCallHistoryMessageFunctionCallsItem
AgentV1SettingsAgentContextContextMessagesItem = AgentV1History
AgentV1SettingsAgentContextContextMessagesItemFunctionCallsFunctionCallsItem = (
    FunctionCallHistoryMessageFunctionCallsItem
)
AgentV1SettingsAgentContextMessagesItem = AgentV1History
AgentV1SettingsAgentContextMessagesItemContent = ConversationHistoryMessage
AgentV1SettingsAgentContextMessagesItemFunctionCalls = FunctionCallHistoryMessage
AgentV1SettingsAgentContextMessagesItemFunctionCallsFunctionCallsItem = (
    FunctionCallHistoryMessageFunctionCallsItem
)
AgentV1SettingsAgentContextListen = AgentV1SettingsAgentListen
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
AgentV1SettingsAgentContextListenProvider_V1 = AgentV1SettingsAgentListenProvider_V1
AgentV1SettingsAgentContextListenProvider_V2 = AgentV1SettingsAgentListenProvider_V2
AgentV1SettingsAgentContextListenProviderV1 = AgentV1SettingsAgentListenProvider_V1
AgentV1SettingsAgentContextListenProviderV2 = AgentV1SettingsAgentListenProvider_V2
AgentV1SettingsAgentListenProviderV1 = AgentV1SettingsAgentListenProvider_V1
AgentV1SettingsAgentListenProviderV2 = AgentV1SettingsAgentListenProvider_V2
AgentV1SettingsAgentContextThink = AgentV1SettingsAgentThink
AgentV1SettingsAgentContextSpeak = AgentV1SettingsAgentSpeak
AgentV1UpdateListenListenProvider = AgentV1SettingsAgentListenProvider
AgentV1UpdateListenListenProvider_V1 = AgentV1SettingsAgentListenProvider_V1
AgentV1UpdateListenListenProvider_V2 = AgentV1SettingsAgentListenProvider_V2
AgentV1UpdateThinkThink = AgentV1SettingsAgentThink
AgentV1UpdateSpeakSpeak = AgentV1SettingsAgentSpeak
DeepgramListenProviderV1 = AgentV1SettingsAgentListenProvider_V1
DeepgramListenProviderV2 = AgentV1SettingsAgentListenProvider_V2
OpenAiThinkProvider = ThinkSettingsV1Provider_OpenAi
AwsBedrockThinkProvider = ThinkSettingsV1Provider_AwsBedrock
Anthropic = ThinkSettingsV1Provider_Anthropic
Google = ThinkSettingsV1Provider_Google
Groq = ThinkSettingsV1Provider_Groq
Deepgram = SpeakSettingsV1Provider_Deepgram
Cartesia = SpeakSettingsV1Provider_Cartesia
CartesiaSpeakProviderVoice = CartesiaVoice
ElevenLabsSpeakProvider = SpeakSettingsV1Provider_ElevenLabs
OpenAiSpeakProvider = SpeakSettingsV1Provider_OpenAi
AwsPollySpeakProvider = SpeakSettingsV1Provider_AwsPolly

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
__all__ += actors.protocol.agent_v1.__all__
__all__.remove("CLIENT_MESSAGES")
__all__.remove("SERVER_MESSAGES")
