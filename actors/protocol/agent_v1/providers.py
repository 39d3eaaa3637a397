"""Agent V1 provider objects: who listens (STT), thinks (LLM) and speaks (TTS) for the agent.

Each provider family is a union of classes tried in order by the codec; the ``type`` field (a
``Literal``) picks the class, and for Deepgram listen/speak providers the ``version`` field does
too (``v1`` or absent -> the V1 class, ``v2`` -> the V2 class). A provider whose ``type`` this
version does not know decodes to the family's ``Unknown*Provider`` class: its ``type`` plus every
other field in ``unknown_fields`` (``raw`` gives the whole object back), re-emitted unchanged.

Class names follow Deepgram's SDK (``ThinkSettingsV1Provider_OpenAi``, ...). Enumerated values
(models, voices, reasoning modes) are open: any string is accepted, as the service adds values
faster than the spec.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Literal

import attrs

from actors.errors import OptionsError
from actors.protocol.base import WireObject, wire_object

__all__ = [
    "AgentV1SettingsAgentListenProvider",
    "AgentV1SettingsAgentListenProvider_V1",
    "AgentV1SettingsAgentListenProvider_V2",
    "AwsBedrockThinkProviderCredentials",
    "AwsPollySpeakProviderCredentials",
    "CartesiaVoice",
    "DeepgramThinkLiveProviderV1",
    "SpeakSettingsV1Provider",
    "SpeakSettingsV1Provider_AwsPolly",
    "SpeakSettingsV1Provider_Cartesia",
    "SpeakSettingsV1Provider_Deepgram",
    "SpeakSettingsV1Provider_DeepgramV2",
    "SpeakSettingsV1Provider_ElevenLabs",
    "SpeakSettingsV1Provider_OpenAi",
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


class _UnknownProviderMixin:
    """Shared behaviour of the ``Unknown*Provider`` classes (declared per family below)."""

    __slots__ = ()
    type: str
    version: str | None
    unknown_fields: dict[str, Any]

    @property
    def raw(self) -> dict[str, Any]:
        """The provider object exactly as it appears on the wire."""
        head: dict[str, Any] = {"type": self.type}
        if self.version is not None:
            head["version"] = self.version
        return {**head, **self.unknown_fields}


def _default_of(cls: type[WireObject], name: str) -> Any:
    """The declared default of field ``name`` of ``cls`` (``attrs.NOTHING`` if required)."""
    return attrs.fields_dict(typing.cast(Any, cls))[name].default


def _accepted_versions(cls: type[WireObject]) -> set[Any] | None:
    """The ``version`` values ``cls`` accepts (None in the set: absent), or None for any value."""
    hint = typing.get_type_hints(cls).get("version")
    if hint is None:
        return None
    accepted: set[Any] = set()
    is_union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    for member in typing.get_args(hint) if is_union else (hint,):
        if typing.get_origin(member) is Literal:
            accepted.update(typing.get_args(member))
        elif member is type(None):
            accepted.add(None)
        else:
            return None  # a plain ``str`` version: any value
    if _default_of(cls, "version") is not attrs.NOTHING:
        accepted.add(None)
    return accepted


def _reject_known_type(family: dict[str, tuple[type[WireObject], ...]]) -> Any:
    """An attrs validator refusing a ``type``/``version`` pair the family models with its own class.

    Without it a known provider with a malformed field would silently fall through to the unknown
    class; with it decoding reports a DecodeError naming the provider class to check. A known
    ``type`` with a ``version`` no class accepts is a genuinely new provider and stays unknown.

    Constructing the unknown class directly raises the OptionsError; the codec (decoding, cattrs
    structuring, constructors given plain data) reports it as a FieldError at the ``version`` field,
    and in a union the known member's own error wins.
    """

    def validate(instance: Any, attribute: Any, value: Any) -> None:
        for known in family.get(instance.type, ()):
            accepted = _accepted_versions(known)
            if accepted is None or value in accepted:
                raise OptionsError(
                    "provider",
                    f"type {instance.type!r} is modelled by {known.__name__}, but the object does "
                    "not match it (a required field is missing or has the wrong type): "
                    f"check it against {known.__name__}",
                    instance.type,
                )

    return validate


def _family(*classes: type[WireObject]) -> dict[str, tuple[type[WireObject], ...]]:
    """Known provider classes keyed by their ``type`` tag."""
    by_type: dict[str, tuple[type[WireObject], ...]] = {}
    for cls in classes:
        tag = str(_default_of(cls, "type"))
        by_type[tag] = (*by_type.get(tag, ()), cls)
    return by_type


# --- listen (speech-to-text) ---------------------------------------------------------------------


@wire_object
class AgentV1SettingsAgentListenProvider_V1(WireObject):
    """Deepgram STT V1 (Nova-style): ``version`` is ``"v1"`` or absent (the service default)."""

    type: Literal["deepgram"] = "deepgram"
    version: Literal["v1"] | None = None
    model: str | None = None
    language: str | None = None
    keyterms: list[str] | None = None
    smart_format: bool | None = None


@wire_object
class AgentV1SettingsAgentListenProvider_V2(WireObject):
    """Deepgram STT V2 (Flux) with end-of-turn tuning; ``model`` e.g. ``flux-general-en``."""

    type: Literal["deepgram"] = "deepgram"
    version: Literal["v2"] = "v2"
    model: str
    language_hints: list[str] | None = None
    eot_threshold: float | None = None
    eager_eot_threshold: float | None = None
    eot_timeout_ms: int | None = None
    keyterms: list[str] | None = None


_LISTEN_KNOWN: dict[str, tuple[type[WireObject], ...]] = {}


@wire_object
class UnknownListenProvider(_UnknownProviderMixin, WireObject):
    """A listen provider this version does not model (any ``type`` other than ``deepgram``)."""

    type: str
    version: str | None = attrs.field(default=None, validator=_reject_known_type(_LISTEN_KNOWN))


# --- think (LLM) -----------------------------------------------------------------------------------


@wire_object
class ThinkSettingsV1Provider_OpenAi(WireObject):
    """OpenAI chat completions; ``model`` e.g. ``gpt-4o-mini``, ``temperature`` 0-2."""

    type: Literal["open_ai"] = "open_ai"
    version: str | None = None
    model: str
    temperature: float | None = None
    reasoning_mode: str | None = None


@wire_object
class AwsBedrockThinkProviderCredentials(WireObject):
    """AWS credentials for Bedrock (``type`` ``sts`` or ``iam``); never logged (repr hides keys)."""

    type: str | None = None
    region: str | None = None
    access_key_id: str | None = attrs.field(default=None, repr=False)
    secret_access_key: str | None = attrs.field(default=None, repr=False)
    session_token: str | None = attrs.field(default=None, repr=False)


@wire_object
class ThinkSettingsV1Provider_AwsBedrock(WireObject):
    """AWS Bedrock; ``model`` e.g. ``anthropic/claude-3-5-haiku-20240307-v1:0``."""

    type: Literal["aws_bedrock"] = "aws_bedrock"
    model: str
    temperature: float | None = None
    credentials: AwsBedrockThinkProviderCredentials | None = None


@wire_object
class ThinkSettingsV1Provider_Anthropic(WireObject):
    """Anthropic Messages API; ``temperature`` 0-1."""

    type: Literal["anthropic"] = "anthropic"
    version: str | None = None
    model: str
    temperature: float | None = None


@wire_object
class ThinkSettingsV1Provider_Google(WireObject):
    """Google Gemini; ``version`` e.g. ``v1beta``."""

    type: Literal["google"] = "google"
    version: str | None = None
    model: str
    temperature: float | None = None


@wire_object
class ThinkSettingsV1Provider_Groq(WireObject):
    """Groq (OpenAI-compatible); the only listed model is ``openai/gpt-oss-20b``."""

    type: Literal["groq"] = "groq"
    version: str | None = None
    model: str = "openai/gpt-oss-20b"
    temperature: float | None = None
    reasoning_mode: str | None = None


@wire_object
class ThinkSettingsV1Provider_Deepgram(WireObject):
    """Deepgram-hosted LLM (SDK 7.17); ``model`` e.g. ``think-fast``."""

    type: Literal["deepgram"] = "deepgram"
    version: str | None = None
    model: str
    temperature: float | None = None
    reasoning_mode: str | None = None
    voice_prompt_opt_out: bool | None = None


_THINK_KNOWN: dict[str, tuple[type[WireObject], ...]] = {}


@wire_object
class UnknownThinkProvider(_UnknownProviderMixin, WireObject):
    """A think provider whose ``type`` this version does not model; kept and re-emitted as is."""

    type: str
    version: str | None = attrs.field(default=None, validator=_reject_known_type(_THINK_KNOWN))


@wire_object
class DeepgramThinkLiveProviderV1(WireObject):
    """Deepgram Think Live (backchannels, presence checks, frustration detection)."""

    type: Literal["deepgram"] = "deepgram"
    version: Literal["v1"] = "v1"
    agent_backchannel_sensitivity: float | None = None
    presence_check_max_count: int | None = None
    presence_check_interval_ms: int | None = None
    frustration_max_count: int | None = None
    restricted_terms: list[str] | None = None


# --- speak (text-to-speech) ------------------------------------------------------------------------


@wire_object
class SpeakSettingsV1Provider_Deepgram(WireObject):
    """Deepgram Aura (``version`` ``"v1"`` or absent); ``model`` e.g. ``aura-2-thalia-en``."""

    type: Literal["deepgram"] = "deepgram"
    version: Literal["v1"] | None = None
    model: str
    speed: float | None = None
    expressivity: int | None = None


@wire_object
class SpeakSettingsV1Provider_DeepgramV2(WireObject):
    """Deepgram Flux TTS (``version`` ``"v2"``, early access); ``model`` e.g. ``flux-alexis-en``."""

    type: Literal["deepgram"] = "deepgram"
    version: Literal["v2"] = "v2"
    model: str


@wire_object
class SpeakSettingsV1Provider_ElevenLabs(WireObject):
    """ElevenLabs; ``model_id`` e.g. ``eleven_turbo_v2_5``."""

    type: Literal["eleven_labs"] = "eleven_labs"
    version: str | None = None
    model_id: str
    language: str | None = None
    language_code: str | None = None


@wire_object
class CartesiaVoice(WireObject):
    """A Cartesia voice: ``mode`` (e.g. ``id``) and the voice ``id``."""

    mode: str
    id: str


@wire_object
class SpeakSettingsV1Provider_Cartesia(WireObject):
    """Cartesia; ``model_id`` e.g. ``sonic-2``, ``volume`` 0.5-2.0."""

    type: Literal["cartesia"] = "cartesia"
    version: str | None = None
    model_id: str
    voice: CartesiaVoice
    language: str | None = None
    volume: float | None = None


@wire_object
class SpeakSettingsV1Provider_OpenAi(WireObject):
    """OpenAI TTS; ``model`` ``tts-1``/``tts-1-hd``, ``voice`` e.g. ``alloy``."""

    type: Literal["open_ai"] = "open_ai"
    version: str | None = None
    model: str
    voice: str


@wire_object
class AwsPollySpeakProviderCredentials(WireObject):
    """AWS credentials for Polly (``type`` ``sts`` or ``iam``); repr hides the keys."""

    type: str
    region: str
    access_key_id: str = attrs.field(repr=False)
    secret_access_key: str = attrs.field(repr=False)
    session_token: str | None = attrs.field(default=None, repr=False)


@wire_object
class SpeakSettingsV1Provider_AwsPolly(WireObject):
    """AWS Polly; ``engine`` one of generative, long-form, standard, neural."""

    type: Literal["aws_polly"] = "aws_polly"
    voice: str
    language: str
    language_code: str | None = None
    engine: str
    credentials: AwsPollySpeakProviderCredentials


_SPEAK_KNOWN: dict[str, tuple[type[WireObject], ...]] = {}


@wire_object
class UnknownSpeakProvider(_UnknownProviderMixin, WireObject):
    """A speak provider whose ``type`` this version does not model; kept and re-emitted as is."""

    type: str
    version: str | None = attrs.field(default=None, validator=_reject_known_type(_SPEAK_KNOWN))


# --- the unions (members are tried in this order; the unknown class comes last) -----------------

AgentV1SettingsAgentListenProvider = (
    AgentV1SettingsAgentListenProvider_V1 | AgentV1SettingsAgentListenProvider_V2 | UnknownListenProvider
)
"""Any listen provider (V1 before V2: a provider without ``version`` is V1)."""

ThinkSettingsV1Provider = (
    ThinkSettingsV1Provider_OpenAi
    | ThinkSettingsV1Provider_AwsBedrock
    | ThinkSettingsV1Provider_Anthropic
    | ThinkSettingsV1Provider_Google
    | ThinkSettingsV1Provider_Groq
    | ThinkSettingsV1Provider_Deepgram
    | UnknownThinkProvider
)
"""Any think provider, discriminated by ``type``."""

SpeakSettingsV1Provider = (
    SpeakSettingsV1Provider_Deepgram
    | SpeakSettingsV1Provider_DeepgramV2
    | SpeakSettingsV1Provider_ElevenLabs
    | SpeakSettingsV1Provider_Cartesia
    | SpeakSettingsV1Provider_OpenAi
    | SpeakSettingsV1Provider_AwsPolly
    | UnknownSpeakProvider
)
"""Any speak provider, discriminated by ``type`` (and ``version`` for Deepgram)."""

_LISTEN_KNOWN.update(_family(AgentV1SettingsAgentListenProvider_V1, AgentV1SettingsAgentListenProvider_V2))
_THINK_KNOWN.update(
    _family(
        ThinkSettingsV1Provider_OpenAi,
        ThinkSettingsV1Provider_AwsBedrock,
        ThinkSettingsV1Provider_Anthropic,
        ThinkSettingsV1Provider_Google,
        ThinkSettingsV1Provider_Groq,
        ThinkSettingsV1Provider_Deepgram,
    )
)
_SPEAK_KNOWN.update(
    _family(
        SpeakSettingsV1Provider_Deepgram,
        SpeakSettingsV1Provider_DeepgramV2,
        SpeakSettingsV1Provider_ElevenLabs,
        SpeakSettingsV1Provider_Cartesia,
        SpeakSettingsV1Provider_OpenAi,
        SpeakSettingsV1Provider_AwsPolly,
    )
)
