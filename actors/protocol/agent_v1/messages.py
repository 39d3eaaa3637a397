"""Agent V1 (``/v1/agent/converse``) wire messages, both directions (besides ``Settings``).

Shapes follow asyncapi.yml plus what the live service and Deepgram's SDK know beyond it:
``FunctionCallCancelled``, ``EndOfThought`` (sent after each user turn, undocumented),
``LatencyReport``, Think Live (``UpdateThink_Live``, ``ThinkLiveUpdated``,
``FrustrationDetected``), ``ForceEndTurn`` and the custom think-provider passthrough messages.

Two wire types have two shapes each; :mod:`actors.protocol.agent_v1.codec` picks the class:
``History`` (see :mod:`~actors.protocol.agent_v1.history`) and ``InjectAgentMessage``
(:class:`AgentV1InjectAgentMessage`, or :class:`AgentV1InjectDynamicAgentMessage` when
``is_dynamic`` is true).
"""

from __future__ import annotations

from typing import Any

from actors.protocol.agent_v1.functions import (
    AgentV1FunctionCallCancelledFunctionsItem,
    AgentV1FunctionCallRequestFunctionsItem,
)
from actors.protocol.agent_v1.history import ConversationHistoryMessage, FunctionCallHistoryMessage
from actors.protocol.agent_v1.providers import AgentV1SettingsAgentListenProvider
from actors.protocol.agent_v1.settings import (
    AgentV1Settings,
    SpeakSettingsV1,
    ThinkLiveSettingsV1,
    ThinkSettingsV1,
)
from actors.protocol.base import Message, WireObject, wire_object

__all__ = [
    "CLIENT_MESSAGES",
    "SERVER_MESSAGES",
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
    "AgentV1FunctionCallRequest",
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
    "AgentV1SettingsApplied",
    "AgentV1SpeakUpdated",
    "AgentV1ThinkLiveUpdated",
    "AgentV1ThinkUpdated",
    "AgentV1UpdateListen",
    "AgentV1UpdateListenListen",
    "AgentV1UpdatePrompt",
    "AgentV1UpdateSpeak",
    "AgentV1UpdateThink",
    "AgentV1UpdateThinkLive",
    "AgentV1UserStartedSpeaking",
    "AgentV1Warning",
    "AgentV1Welcome",
]


# --- server -> client --------------------------------------------------------------------------------


@wire_object
class AgentV1Welcome(Message):
    """First message of every session; ``request_id`` identifies it to Deepgram support."""

    type: str = "Welcome"
    request_id: str


@wire_object
class AgentV1SettingsApplied(Message):
    """The ``Settings`` were accepted; audio and injections may follow."""

    type: str = "SettingsApplied"


@wire_object
class AgentV1ConversationText(Message):
    """A finished statement of the ``user`` or the ``assistant``.

    ``conversational_behavior`` (absent means ``default``) marks Think Live speech such as
    ``backchannel``, ``presence_check`` or ``filler``; ``languages``/``languages_hinted`` come with
    user turns on multilingual Flux.
    """

    type: str = "ConversationText"
    role: str
    content: str
    conversational_behavior: str | None = None
    languages_hinted: list[str] | None = None
    languages: list[str] | None = None


@wire_object
class AgentV1UserStartedSpeaking(Message):
    """The user started talking: stop playback and drop buffered agent audio."""

    type: str = "UserStartedSpeaking"


@wire_object
class AgentV1AgentThinking(Message):
    """The agent's thought text while the LLM works."""

    type: str = "AgentThinking"
    content: str


@wire_object
class AgentV1EndOfThought(Message):
    """Sent right after each user ``ConversationText`` (undocumented; seen on the live service)."""

    type: str = "EndOfThought"


@wire_object
class AgentV1FunctionCallRequest(Message):
    """The LLM calls functions; answer each ``client_side`` one with a FunctionCallResponse."""

    type: str = "FunctionCallRequest"
    functions: list[AgentV1FunctionCallRequestFunctionsItem]


@wire_object
class AgentV1FunctionCallCancelled(Message):
    """Do not answer these function call ids any more (their turn was abandoned)."""

    type: str = "FunctionCallCancelled"
    functions: list[AgentV1FunctionCallCancelledFunctionsItem]


@wire_object
class AgentV1ReceiveFunctionCallResponse(Message):
    """The result of a server-side (``client_side: false``) function call."""

    type: str = "FunctionCallResponse"
    id: str | None = None
    name: str
    content: str


@wire_object
class AgentV1AgentStartedSpeaking(Message):
    """The first audio of a reply follows; latencies in seconds."""

    type: str = "AgentStartedSpeaking"
    total_latency: float
    tts_latency: float
    ttt_latency: float


@wire_object
class AgentV1AgentAudioDone(Message):
    """The last audio frame of a reply was sent (the client may still be playing it)."""

    type: str = "AgentAudioDone"


@wire_object
class AgentV1LatencyReport(Message):
    """Per-turn latency breakdown in seconds (``stt_latency`` is no longer sent by the service)."""

    type: str = "LatencyReport"
    stt_latency: float | None = None
    ttt_token_latency: float | None = None
    ttt_text_latency: float | None = None
    ttt_tool_latency: float | None = None
    ttt_thinking_latency: float | None = None
    tts_latency: float | None = None
    total_latency: float | None = None


@wire_object
class AgentV1ListenUpdated(Message):
    """An ``UpdateListen`` was applied."""

    type: str = "ListenUpdated"


@wire_object
class AgentV1ThinkUpdated(Message):
    """An ``UpdateThink`` was applied."""

    type: str = "ThinkUpdated"


@wire_object
class AgentV1ThinkLiveUpdated(Message):
    """An ``UpdateThink_Live`` was applied."""

    type: str = "ThinkLiveUpdated"


@wire_object
class AgentV1SpeakUpdated(Message):
    """An ``UpdateSpeak`` was applied."""

    type: str = "SpeakUpdated"


@wire_object
class AgentV1PromptUpdated(Message):
    """An ``UpdatePrompt`` was applied."""

    type: str = "PromptUpdated"


@wire_object
class AgentV1InjectionRefused(Message):
    """An ``InjectAgentMessage`` (behavior ``default``) arrived mid-turn and was dropped."""

    type: str = "InjectionRefused"
    message: str


@wire_object
class AgentV1FrustrationDetected(Message):
    """Think Live noticed user frustration ``count`` times; ``escalated`` once over the limit."""

    type: str = "FrustrationDetected"
    count: int
    escalated: bool


@wire_object
class AgentV1CustomFromThinkProvider(Message):
    """Passthrough data from a custom think provider (``content`` is any JSON value)."""

    type: str = "__customFromThinkProvider"
    content: Any


@wire_object
class AgentV1Error(Message):
    """A fatal error (the session usually closes); ``code`` e.g. ``UNPARSABLE_CLIENT_MESSAGE``.

    ``code`` is optional here because older services (and recordings) sent errors without it.
    """

    type: str = "Error"
    description: str
    code: str | None = None


@wire_object
class AgentV1Warning(Message):
    """A non-fatal problem, e.g. ``SLOW_THINK_REQUEST``."""

    type: str = "Warning"
    description: str
    code: str | None = None


# --- client -> server --------------------------------------------------------------------------------


@wire_object
class AgentV1UpdateListenListen(WireObject):
    """The listen provider to tune; type, version and model must match the session's."""

    provider: AgentV1SettingsAgentListenProvider


@wire_object
class AgentV1UpdateListen(Message):
    """Tune the listen provider mid-session (EOT thresholds, keyterms, language hints)."""

    type: str = "UpdateListen"
    listen: AgentV1UpdateListenListen


@wire_object
class AgentV1UpdateThink(Message):
    """Replace the whole think configuration (one object or a fallback chain)."""

    type: str = "UpdateThink"
    think: ThinkSettingsV1 | list[ThinkSettingsV1]


@wire_object
class AgentV1UpdateThinkLive(Message):
    """Replace the Think Live configuration (the wire type really is ``UpdateThink_Live``)."""

    type: str = "UpdateThink_Live"
    think_live: ThinkLiveSettingsV1


@wire_object
class AgentV1UpdateSpeak(Message):
    """Replace the speak configuration (one object or a fallback chain)."""

    type: str = "UpdateSpeak"
    speak: SpeakSettingsV1 | list[SpeakSettingsV1]


@wire_object
class AgentV1UpdatePrompt(Message):
    """Add to the system prompt."""

    type: str = "UpdatePrompt"
    prompt: str


@wire_object
class AgentV1InjectUserMessage(Message):
    """Make the agent answer ``content`` as if the user had said it."""

    type: str = "InjectUserMessage"
    content: str


@wire_object
class AgentV1InjectAgentMessage(Message):
    """Make the agent say ``message``; ``behavior`` is ``default``, ``queue`` or ``interrupt``."""

    type: str = "InjectAgentMessage"
    message: str
    behavior: str | None = None


@wire_object
class AgentV1InjectDynamicAgentMessage(Message):
    """Ask the LLM to produce an agent message now (``InjectAgentMessage`` with ``is_dynamic``)."""

    type: str = "InjectAgentMessage"
    is_dynamic: bool = True
    behavior: str | None = None


@wire_object
class AgentV1SendFunctionCallResponse(Message):
    """Answer a client-side function call: ``id`` echoes the request, ``content`` the result text."""

    type: str = "FunctionCallResponse"
    id: str | None = None
    name: str
    content: str


@wire_object
class AgentV1KeepAlive(Message):
    """Keeps the session open while no audio flows (every 8 s)."""

    type: str = "KeepAlive"


@wire_object
class AgentV1ForceEndTurn(Message):
    """End the user's turn now instead of waiting for end-of-turn detection."""

    type: str = "ForceEndTurn"


@wire_object
class AgentV1CustomToThinkProvider(Message):
    """Passthrough data for a custom think provider (``content`` is any JSON value)."""

    type: str = "__customToThinkProvider"
    content: Any


SERVER_MESSAGES: tuple[type[Message], ...] = (
    AgentV1Welcome,
    AgentV1SettingsApplied,
    AgentV1ConversationText,
    AgentV1UserStartedSpeaking,
    AgentV1AgentThinking,
    AgentV1EndOfThought,
    AgentV1FunctionCallRequest,
    AgentV1FunctionCallCancelled,
    AgentV1ReceiveFunctionCallResponse,
    AgentV1AgentStartedSpeaking,
    AgentV1AgentAudioDone,
    AgentV1LatencyReport,
    ConversationHistoryMessage,
    FunctionCallHistoryMessage,
    AgentV1ListenUpdated,
    AgentV1ThinkUpdated,
    AgentV1ThinkLiveUpdated,
    AgentV1SpeakUpdated,
    AgentV1PromptUpdated,
    AgentV1InjectionRefused,
    AgentV1FrustrationDetected,
    AgentV1CustomFromThinkProvider,
    AgentV1Error,
    AgentV1Warning,
)
"""Every message class the server sends on /v1/agent/converse (text frames; audio is binary).

``History`` appears twice (two shapes); the agent codec picks between them.
"""

CLIENT_MESSAGES: tuple[type[Message], ...] = (
    AgentV1Settings,
    AgentV1UpdateListen,
    AgentV1UpdateThink,
    AgentV1UpdateThinkLive,
    AgentV1UpdateSpeak,
    AgentV1UpdatePrompt,
    AgentV1InjectUserMessage,
    AgentV1InjectAgentMessage,
    AgentV1InjectDynamicAgentMessage,
    AgentV1SendFunctionCallResponse,
    AgentV1KeepAlive,
    AgentV1ForceEndTurn,
    AgentV1CustomToThinkProvider,
)
"""Every message class the client sends on /v1/agent/converse (text frames; audio is binary).

``InjectAgentMessage`` appears twice (static and dynamic); the agent codec picks between them.
"""
