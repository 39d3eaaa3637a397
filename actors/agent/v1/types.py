"""Agent V1 message and settings types under Deepgram's SDK names (``deepgram.agent.v1.types``).

Every class is the one in :mod:`actors.protocol.agent_v1`; the SDK's alternative names for the
same shapes (``AgentV1SettingsAgentContextListen``, ``AgentV1HistoryContent``, the
``deepgram.types`` provider names, ...) are aliases of them. Enum-like SDK types (roles,
encodings, behaviors) are plain ``str`` here: any value the service adds is accepted.
"""

from __future__ import annotations

import typing

from actors.protocol.agent_v1 import (
    AgentV1AgentAudioDone,
    AgentV1AgentStartedSpeaking,
    AgentV1AgentThinking,
    AgentV1ConversationText,
    AgentV1CustomFromThinkProvider,
    AgentV1CustomToThinkProvider,
    AgentV1EndOfThought,
    AgentV1Error,
    AgentV1ForceEndTurn,
    AgentV1FrustrationDetected,
    AgentV1FunctionCallCancelled,
    AgentV1FunctionCallCancelledFunctionsItem,
    AgentV1FunctionCallRequest,
    AgentV1FunctionCallRequestFunctionsItem,
    AgentV1History,
    AgentV1InjectAgentMessage,
    AgentV1InjectDynamicAgentMessage,
    AgentV1InjectionRefused,
    AgentV1InjectUserMessage,
    AgentV1KeepAlive,
    AgentV1LatencyReport,
    AgentV1ListenUpdated,
    AgentV1PromptUpdated,
    AgentV1ReceiveFunctionCallResponse,
    AgentV1SendFunctionCallResponse,
    AgentV1Settings,
    AgentV1SettingsAgent,
    AgentV1SettingsAgentContext,
    AgentV1SettingsAgentContextContext,
    AgentV1SettingsAgentListen,
    AgentV1SettingsAgentListenProvider,
    AgentV1SettingsAgentListenProvider_V1,
    AgentV1SettingsAgentListenProvider_V2,
    AgentV1SettingsAgentSpeak,
    AgentV1SettingsAgentThink,
    AgentV1SettingsApplied,
    AgentV1SettingsAudio,
    AgentV1SettingsAudioInput,
    AgentV1SettingsAudioOutput,
    AgentV1SettingsFlags,
    AgentV1SpeakUpdated,
    AgentV1ThinkLiveUpdated,
    AgentV1ThinkUpdated,
    AgentV1UpdateListen,
    AgentV1UpdateListenListen,
    AgentV1UpdatePrompt,
    AgentV1UpdateSpeak,
    AgentV1UpdateThink,
    AgentV1UpdateThinkLive,
    AgentV1UserStartedSpeaking,
    AgentV1Warning,
    AgentV1Welcome,
    AwsBedrockThinkProviderCredentials,
    AwsPollySpeakProviderCredentials,
    CartesiaVoice,
    ConversationHistoryMessage,
    DeepgramThinkLiveProviderV1,
    FunctionCallHistoryMessage,
    FunctionCallHistoryMessageFunctionCallsItem,
    SpeakSettingsV1,
    SpeakSettingsV1Endpoint,
    SpeakSettingsV1Provider,
    SpeakSettingsV1Provider_AwsPolly,
    SpeakSettingsV1Provider_Cartesia,
    SpeakSettingsV1Provider_Deepgram,
    SpeakSettingsV1Provider_DeepgramV2,
    SpeakSettingsV1Provider_ElevenLabs,
    SpeakSettingsV1Provider_OpenAi,
    ThinkLiveSettingsV1,
    ThinkSettingsV1,
    ThinkSettingsV1Endpoint,
    ThinkSettingsV1FunctionsItem,
    ThinkSettingsV1FunctionsItemEndpoint,
    ThinkSettingsV1Provider,
    ThinkSettingsV1Provider_Anthropic,
    ThinkSettingsV1Provider_AwsBedrock,
    ThinkSettingsV1Provider_Deepgram,
    ThinkSettingsV1Provider_Google,
    ThinkSettingsV1Provider_Groq,
    ThinkSettingsV1Provider_OpenAi,
    UnknownListenProvider,
    UnknownSpeakProvider,
    UnknownThinkProvider,
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

__all__ = [
    "AgentV1AgentAudioDone",
    "AgentV1AgentStartedSpeaking",
    "AgentV1AgentThinking",
    "AgentV1ConversationText",
    "AgentV1CustomFromThinkProvider",
    "AgentV1CustomToThinkProvider",
    "AgentV1EndOfThought",
    "AgentV1Error",
    "AgentV1ForceEndTurn",
    "AgentV1FrustrationDetected",
    "AgentV1FunctionCallCancelled",
    "AgentV1FunctionCallCancelledFunctionsItem",
    "AgentV1FunctionCallRequest",
    "AgentV1FunctionCallRequestFunctionsItem",
    "AgentV1History",
    "AgentV1HistoryContent",
    "AgentV1HistoryFunctionCalls",
    "AgentV1HistoryFunctionCallsFunctionCallsItem",
    "AgentV1InjectAgentMessage",
    "AgentV1InjectDynamicAgentMessage",
    "AgentV1InjectUserMessage",
    "AgentV1InjectionRefused",
    "AgentV1KeepAlive",
    "AgentV1LatencyReport",
    "AgentV1ListenUpdated",
    "AgentV1PromptUpdated",
    "AgentV1ReceiveFunctionCallResponse",
    "AgentV1SendFunctionCallResponse",
    "AgentV1Settings",
    "AgentV1SettingsAgent",
    "AgentV1SettingsAgentContext",
    "AgentV1SettingsAgentContextContext",
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
    "AgentV1SettingsAgentListen",
    "AgentV1SettingsAgentListenProvider",
    "AgentV1SettingsAgentListenProviderV1",
    "AgentV1SettingsAgentListenProviderV2",
    "AgentV1SettingsAgentListenProvider_V1",
    "AgentV1SettingsAgentListenProvider_V2",
    "AgentV1SettingsAgentSpeak",
    "AgentV1SettingsAgentThink",
    "AgentV1SettingsApplied",
    "AgentV1SettingsAudio",
    "AgentV1SettingsAudioInput",
    "AgentV1SettingsAudioOutput",
    "AgentV1SettingsFlags",
    "AgentV1SpeakUpdated",
    "AgentV1ThinkLiveUpdated",
    "AgentV1ThinkUpdated",
    "AgentV1UpdateListen",
    "AgentV1UpdateListenListen",
    "AgentV1UpdateListenListenProvider",
    "AgentV1UpdateListenListenProvider_V1",
    "AgentV1UpdateListenListenProvider_V2",
    "AgentV1UpdatePrompt",
    "AgentV1UpdateSpeak",
    "AgentV1UpdateSpeakSpeak",
    "AgentV1UpdateThink",
    "AgentV1UpdateThinkLive",
    "AgentV1UpdateThinkThink",
    "AgentV1UserStartedSpeaking",
    "AgentV1Warning",
    "AgentV1Welcome",
    "Anthropic",
    "AwsBedrockThinkProvider",
    "AwsBedrockThinkProviderCredentials",
    "AwsPollySpeakProvider",
    "AwsPollySpeakProviderCredentials",
    "Cartesia",
    "CartesiaSpeakProviderVoice",
    "CartesiaVoice",
    "ConversationHistoryMessage",
    "Deepgram",
    "DeepgramListenProviderV1",
    "DeepgramListenProviderV2",
    "DeepgramThinkLiveProviderV1",
    "ElevenLabsSpeakProvider",
    "FunctionCallHistoryMessage",
    "FunctionCallHistoryMessageFunctionCallsItem",
    "Google",
    "Groq",
    "OpenAiSpeakProvider",
    "OpenAiThinkProvider",
    "SpeakSettingsV1",
    "SpeakSettingsV1Endpoint",
    "SpeakSettingsV1Provider",
    "SpeakSettingsV1Provider_AwsPolly",
    "SpeakSettingsV1Provider_Cartesia",
    "SpeakSettingsV1Provider_Deepgram",
    "SpeakSettingsV1Provider_DeepgramV2",
    "SpeakSettingsV1Provider_ElevenLabs",
    "SpeakSettingsV1Provider_OpenAi",
    "ThinkLiveSettingsV1",
    "ThinkSettingsV1",
    "ThinkSettingsV1Endpoint",
    "ThinkSettingsV1FunctionsItem",
    "ThinkSettingsV1FunctionsItemEndpoint",
    "ThinkSettingsV1Provider",
    "ThinkSettingsV1Provider_Anthropic",
    "ThinkSettingsV1Provider_AwsBedrock",
    "ThinkSettingsV1Provider_Deepgram",
    "ThinkSettingsV1Provider_Google",
    "ThinkSettingsV1Provider_Groq",
    "ThinkSettingsV1Provider_OpenAi",
    "UnknownListenProvider",
    "UnknownSpeakProvider",
    "UnknownThinkProvider",
]
