"""The Agent V1 ``Settings`` message and its tree (audio formats, listen/think/speak, context).

``Settings`` must be the first message a client sends. Its ``agent`` is either the full
:class:`AgentV1SettingsAgent` object or the id (a uuid string) of an agent configuration stored
with Deepgram. ``think`` and ``speak`` take one settings object or a list of them (an ordered
fallback chain). Provider objects are in :mod:`actors.protocol.agent_v1.providers`.
"""

from __future__ import annotations

import attrs

from actors.protocol.agent_v1.functions import ThinkSettingsV1FunctionsItem, header_names
from actors.protocol.agent_v1.history import ConversationHistoryMessage, FunctionCallHistoryMessage
from actors.protocol.agent_v1.providers import (
    AgentV1SettingsAgentListenProvider,
    DeepgramThinkLiveProviderV1,
    SpeakSettingsV1Provider,
    ThinkSettingsV1Provider,
)
from actors.protocol.base import Message, WireObject, wire_object

__all__ = [
    "AgentV1Settings",
    "AgentV1SettingsAgent",
    "AgentV1SettingsAgentContext",
    "AgentV1SettingsAgentContextContext",
    "AgentV1SettingsAgentListen",
    "AgentV1SettingsAgentSpeak",
    "AgentV1SettingsAgentThink",
    "AgentV1SettingsAudio",
    "AgentV1SettingsAudioInput",
    "AgentV1SettingsAudioOutput",
    "AgentV1SettingsFlags",
    "SpeakSettingsV1",
    "SpeakSettingsV1Endpoint",
    "ThinkLiveSettingsV1",
    "ThinkSettingsV1",
    "ThinkSettingsV1Endpoint",
]


# --- audio -------------------------------------------------------------------------------------------


@wire_object
class AgentV1SettingsAudioInput(WireObject):
    """Format of the user audio the client sends; ``encoding`` e.g. ``linear16``, rate in Hz."""

    encoding: str
    sample_rate: int


@wire_object
class AgentV1SettingsAudioOutput(WireObject):
    """Format of the agent audio the server sends (``container`` ``none``, ``wav`` or ``ogg``)."""

    encoding: str | None = None
    sample_rate: int | None = None
    bitrate: int | None = None
    container: str | None = None


@wire_object
class AgentV1SettingsAudio(WireObject):
    """Input and output audio formats (service default input: linear16 at 24000 Hz)."""

    input: AgentV1SettingsAudioInput | None = None
    output: AgentV1SettingsAudioOutput | None = None


@wire_object
class AgentV1SettingsFlags(WireObject):
    """Feature flags; ``history`` (service default true) enables ``History`` messages."""

    history: bool | None = None


# --- agent: listen / think / speak ---------------------------------------------------------------------


@wire_object
class AgentV1SettingsAgentListen(WireObject):
    """Speech-to-text for the user's audio."""

    provider: AgentV1SettingsAgentListenProvider | None = None


@wire_object
class ThinkSettingsV1Endpoint(WireObject):
    """A custom (bring-your-own) LLM endpoint; ``headers`` may carry credentials (repr shows keys only)."""

    url: str | None = None
    headers: dict[str, str] | None = attrs.field(default=None, repr=header_names)


@wire_object
class ThinkSettingsV1(WireObject):
    """The LLM: provider, prompt, functions; ``context_length`` is ``"max"`` or a character count."""

    provider: ThinkSettingsV1Provider
    endpoint: ThinkSettingsV1Endpoint | None = None
    functions: list[ThinkSettingsV1FunctionsItem] | None = None
    prompt: str | None = None
    context_length: str | float | None = None


@wire_object
class ThinkLiveSettingsV1(WireObject):
    """Think Live: backchannels, presence checks and frustration detection."""

    provider: DeepgramThinkLiveProviderV1


@wire_object
class SpeakSettingsV1Endpoint(WireObject):
    """A custom TTS endpoint (required for non-Deepgram providers); repr shows header names only."""

    url: str | None = None
    headers: dict[str, str] | None = attrs.field(default=None, repr=header_names)


@wire_object
class SpeakSettingsV1(WireObject):
    """Text-to-speech for the agent's replies."""

    provider: SpeakSettingsV1Provider
    endpoint: SpeakSettingsV1Endpoint | None = None


AgentV1SettingsAgentThink = ThinkSettingsV1 | list[ThinkSettingsV1]
"""One think configuration or an ordered fallback chain."""

AgentV1SettingsAgentSpeak = SpeakSettingsV1 | list[SpeakSettingsV1]
"""One speak configuration or an ordered fallback chain."""


@wire_object
class AgentV1SettingsAgentContextContext(WireObject):
    """Conversation history to start from (the same shapes as the server's ``History`` messages)."""

    messages: list[FunctionCallHistoryMessage | ConversationHistoryMessage] | None = None


@wire_object
class AgentV1SettingsAgent(WireObject):
    """The agent: how it listens, thinks and speaks, its greeting and seeded context."""

    language: str | None = None
    context: AgentV1SettingsAgentContextContext | None = None
    listen: AgentV1SettingsAgentListen | None = None
    think: ThinkSettingsV1 | list[ThinkSettingsV1] | None = None
    think_live: ThinkLiveSettingsV1 | None = None
    speak: SpeakSettingsV1 | list[SpeakSettingsV1] | None = None
    greeting: str | None = None


AgentV1SettingsAgentContext = AgentV1SettingsAgent
"""The SDK's legacy name for the same agent object."""


# --- the message ---------------------------------------------------------------------------------------


@wire_object
class AgentV1Settings(Message):
    """Configures the session; ``agent`` is the agent object or a stored agent configuration id."""

    type: str = "Settings"
    tags: list[str] | None = None
    experimental: bool | None = None
    flags: AgentV1SettingsFlags | None = None
    mip_opt_out: bool | None = None
    audio: AgentV1SettingsAudio
    agent: AgentV1SettingsAgent | str
