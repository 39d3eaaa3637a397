"""SDK-style construction of agent messages, the Settings unions, unknown providers, encoding rules."""

from __future__ import annotations

import time

import orjson
import pytest

from actors.agent.v1 import types as sdk
from actors.errors import OptionsError, ProtocolError
from actors.protocol.agent_v1 import (
    AgentV1ConversationText,
    AgentV1EndOfThought,
    AgentV1FunctionCallCancelled,
    AgentV1FunctionCallCancelledFunctionsItem,
    AgentV1InjectAgentMessage,
    AgentV1InjectDynamicAgentMessage,
    AgentV1LatencyReport,
    AgentV1SendFunctionCallResponse,
    AgentV1Settings,
    AgentV1SettingsAgent,
    AgentV1SettingsAgentContextContext,
    AgentV1SettingsAgentListen,
    AgentV1SettingsAgentListenProvider_V1,
    AgentV1SettingsAgentListenProvider_V2,
    AgentV1SettingsAudio,
    AgentV1SettingsAudioInput,
    AgentV1SettingsAudioOutput,
    AgentV1UpdateSpeak,
    AgentV1UpdateThink,
    AwsBedrockThinkProviderCredentials,
    ConversationHistoryMessage,
    FunctionCallHistoryMessage,
    FunctionCallHistoryMessageFunctionCallsItem,
    SpeakSettingsV1,
    SpeakSettingsV1Provider_Deepgram,
    SpeakSettingsV1Provider_DeepgramV2,
    ThinkSettingsV1,
    ThinkSettingsV1Endpoint,
    ThinkSettingsV1FunctionsItem,
    ThinkSettingsV1Provider_Deepgram,
    ThinkSettingsV1Provider_OpenAi,
    UnknownSpeakProvider,
    UnknownThinkProvider,
)
from actors.protocol.apis import AGENT_V1
from actors.protocol.base import DecodeError, UnknownMessage

CLIENT = AGENT_V1.client_codec
SERVER = AGENT_V1.server_codec


def _settings(**agent: object) -> AgentV1Settings:
    return AgentV1Settings(
        audio=AgentV1SettingsAudio(input=AgentV1SettingsAudioInput(encoding="linear16", sample_rate=16000)),
        agent=AgentV1SettingsAgent(**agent),  # type: ignore[arg-type]
    )


def test_sdk_style_settings_encode_to_the_documented_wire_shape() -> None:
    settings = AgentV1Settings(
        audio=AgentV1SettingsAudio(
            input=AgentV1SettingsAudioInput(encoding="linear16", sample_rate=44100.0),  # type: ignore[arg-type]
            output=AgentV1SettingsAudioOutput(encoding="mp3", sample_rate=24000.0, bitrate=48000.0),  # type: ignore[arg-type]
        ),
        agent=AgentV1SettingsAgent(
            listen=AgentV1SettingsAgentListen(provider=AgentV1SettingsAgentListenProvider_V1(model="nova-3")),
            think=ThinkSettingsV1(
                provider=ThinkSettingsV1Provider_OpenAi(model="gpt-4o-mini", temperature=1.0),
                prompt="Be brief.",
                functions=[
                    ThinkSettingsV1FunctionsItem(
                        name="get_weather", parameters={"type": "object"}, defer_until_eot=True
                    )
                ],
            ),
            speak=SpeakSettingsV1(provider=SpeakSettingsV1Provider_Deepgram(model="aura-2-thalia-en")),
            greeting="Hi!",
        ),
    )
    text = CLIENT.encode(settings)
    assert '"sample_rate":44100}' in text and "44100.0" not in text
    assert '"bitrate":48000' in text and "48000.0" not in text
    assert orjson.loads(text) == {
        "type": "Settings",
        "audio": {
            "input": {"encoding": "linear16", "sample_rate": 44100},
            "output": {"encoding": "mp3", "sample_rate": 24000, "bitrate": 48000},
        },
        "agent": {
            "listen": {"provider": {"type": "deepgram", "model": "nova-3"}},
            "think": {
                "provider": {"type": "open_ai", "model": "gpt-4o-mini", "temperature": 1.0},
                "functions": [
                    {"name": "get_weather", "parameters": {"type": "object"}, "defer_until_eot": True}
                ],
                "prompt": "Be brief.",
            },
            "speak": {"provider": {"type": "deepgram", "model": "aura-2-thalia-en"}},
            "greeting": "Hi!",
        },
    }
    assert CLIENT.decode(text) == AgentV1Settings(
        audio=AgentV1SettingsAudio(
            input=AgentV1SettingsAudioInput(encoding="linear16", sample_rate=44100),
            output=AgentV1SettingsAudioOutput(encoding="mp3", sample_rate=24000, bitrate=48000),
        ),
        agent=settings.agent,
    )


def test_fractional_integer_field_is_refused_on_encode() -> None:
    settings = _settings()
    settings.audio.input = AgentV1SettingsAudioInput(encoding="linear16", sample_rate=16000.5)  # type: ignore[arg-type]
    with pytest.raises(ProtocolError, match="integer"):
        CLIENT.encode(settings)


def test_function_call_response_sdk_construction() -> None:
    msg = AgentV1SendFunctionCallResponse(id="call_1", name="get_weather", content='{"t": 21}')
    assert orjson.loads(CLIENT.encode(msg)) == {
        "type": "FunctionCallResponse",
        "id": "call_1",
        "name": "get_weather",
        "content": '{"t": 21}',
    }
    assert CLIENT.decode(CLIENT.encode(msg)) == msg
    with pytest.raises(TypeError):
        AgentV1SendFunctionCallResponse(id="call_1", name="get_weather")  # type: ignore[call-arg]


def test_think_and_speak_accept_object_or_fallback_list() -> None:
    think = ThinkSettingsV1(provider=ThinkSettingsV1Provider_OpenAi(model="gpt-4o"))
    fallback = ThinkSettingsV1(provider=ThinkSettingsV1Provider_Deepgram(model="think-fast"))
    voices = [
        SpeakSettingsV1(provider=SpeakSettingsV1Provider_Deepgram(model="aura-2-thalia-en")),
        SpeakSettingsV1(provider=SpeakSettingsV1Provider_DeepgramV2(model="flux-alexis-en")),
    ]
    for settings in (
        _settings(think=think, speak=voices[0]),
        _settings(think=[think, fallback], speak=voices),
    ):
        decoded = CLIENT.decode(CLIENT.encode(settings))
        assert decoded == settings
    wire = orjson.loads(CLIENT.encode(_settings(think=[think, fallback], speak=voices)))
    assert wire["agent"]["think"][1]["provider"] == {"type": "deepgram", "model": "think-fast"}
    assert wire["agent"]["speak"][1]["provider"]["version"] == "v2"
    update = AgentV1UpdateSpeak(speak=voices)
    assert CLIENT.decode(CLIENT.encode(update)) == update


def test_agent_may_be_a_stored_configuration_id() -> None:
    frame = '{"type":"Settings","audio":{},"agent":"6b1e0c2a-8d4f-4c1e-9a55-0e4c5b7d9f10"}'
    msg = CLIENT.decode(frame)
    assert isinstance(msg, AgentV1Settings)
    assert msg.agent == "6b1e0c2a-8d4f-4c1e-9a55-0e4c5b7d9f10"
    assert CLIENT.encode(msg) == frame


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        ({"type": "deepgram", "model": "nova-3"}, AgentV1SettingsAgentListenProvider_V1),
        ({"type": "deepgram", "version": "v1", "model": "nova-3"}, AgentV1SettingsAgentListenProvider_V1),
        (
            {"type": "deepgram", "version": "v2", "model": "flux-general-en", "eot_threshold": 0.7},
            AgentV1SettingsAgentListenProvider_V2,
        ),
    ],
)
def test_listen_provider_is_chosen_by_version(provider: dict[str, object], expected: type) -> None:
    frame = orjson.dumps({"type": "Settings", "audio": {}, "agent": {"listen": {"provider": provider}}})
    msg = CLIENT.decode(frame)
    assert isinstance(msg, AgentV1Settings) and isinstance(msg.agent, AgentV1SettingsAgent)
    assert msg.agent.listen is not None
    assert type(msg.agent.listen.provider) is expected
    assert CLIENT.to_dict(msg)["agent"]["listen"]["provider"] == provider


def test_speak_provider_is_chosen_by_version() -> None:
    frame = orjson.dumps(
        {
            "type": "UpdateSpeak",
            "speak": [
                {"provider": {"type": "deepgram", "model": "aura-2-luna-en"}},
                {"provider": {"type": "deepgram", "version": "v2", "model": "flux-cole-en"}},
                {"provider": {"type": "deepgram", "version": "v7", "model": "future"}},
            ],
        }
    )
    msg = CLIENT.decode(frame)
    assert isinstance(msg, AgentV1UpdateSpeak) and isinstance(msg.speak, list)
    kinds = [type(s.provider) for s in msg.speak]
    assert kinds == [
        SpeakSettingsV1Provider_Deepgram,
        SpeakSettingsV1Provider_DeepgramV2,
        UnknownSpeakProvider,
    ]
    assert CLIENT.encode(msg) == frame.decode()


def test_unknown_think_provider_is_kept_and_reemitted() -> None:
    provider = {"type": "mistral", "model": "large", "temperature": 0.3, "extra": {"a": [1]}}
    frame = orjson.dumps({"type": "UpdateThink", "think": {"provider": provider, "prompt": "p"}})
    msg = CLIENT.decode(frame)
    assert isinstance(msg, AgentV1UpdateThink), msg
    think = msg.think
    assert isinstance(think, ThinkSettingsV1)
    assert isinstance(think.provider, UnknownThinkProvider)
    assert think.provider.type == "mistral"
    assert think.provider.raw == provider
    assert think.provider.model == "large"  # type: ignore[attr-defined]  # kept unknown field
    assert CLIENT.encode(msg) == frame.decode()


def test_known_provider_with_bad_fields_is_a_decode_error_not_an_unknown_provider() -> None:
    frame = '{"type":"UpdateThink","think":{"provider":{"type":"open_ai","model":5}}}'
    result = CLIENT.decode(frame)
    assert isinstance(result, DecodeError)
    assert "ThinkSettingsV1Provider_OpenAi" in result.reason
    with pytest.raises(OptionsError, match="ThinkSettingsV1Provider_OpenAi"):
        UnknownThinkProvider(type="open_ai")


def test_history_shapes_decode_to_two_classes() -> None:
    text = SERVER.decode('{"type":"History","role":"assistant","content":"4"}')
    calls = SERVER.decode(
        '{"type":"History","function_calls":[{"id":"c1","name":"f","client_side":true,'
        '"arguments":"{}","response":"ok","thought_signature":"sig"}]}'
    )
    assert text == ConversationHistoryMessage(role="assistant", content="4")
    assert isinstance(calls, FunctionCallHistoryMessage)
    assert calls.function_calls[0].thought_signature == "sig"
    broken = SERVER.decode('{"type":"History","function_calls":"nope"}')
    assert isinstance(broken, DecodeError) and "function_calls" in broken.reason


def test_settings_context_seeds_both_history_shapes() -> None:
    context = AgentV1SettingsAgentContextContext(
        messages=[
            ConversationHistoryMessage(role="user", content="hi"),
            FunctionCallHistoryMessage(
                function_calls=[
                    FunctionCallHistoryMessageFunctionCallsItem(
                        id="c1", name="f", client_side=False, arguments="{}", response="done"
                    )
                ]
            ),
        ]
    )
    settings = _settings(context=context)
    assert CLIENT.decode(CLIENT.encode(settings)) == settings


def test_newer_than_spec_server_messages_are_typed() -> None:
    assert SERVER.decode('{"type":"EndOfThought"}') == AgentV1EndOfThought()
    cancelled = SERVER.decode('{"type":"FunctionCallCancelled","functions":[{"id":"c1","name":"f"}]}')
    assert cancelled == AgentV1FunctionCallCancelled(
        functions=[AgentV1FunctionCallCancelledFunctionsItem(id="c1", name="f")]
    )
    report = SERVER.decode('{"type":"LatencyReport","ttt_token_latency":0.2,"total_latency":1}')
    assert report == AgentV1LatencyReport(ttt_token_latency=0.2, total_latency=1.0)
    text = SERVER.decode(
        '{"type":"ConversationText","role":"assistant","content":"mm-hm","conversational_behavior":"backchannel"}'
    )
    assert isinstance(text, AgentV1ConversationText) and text.conversational_behavior == "backchannel"


def test_inject_agent_message_shapes() -> None:
    dynamic = CLIENT.decode('{"type":"InjectAgentMessage","is_dynamic":true,"behavior":"queue"}')
    static = CLIENT.decode('{"type":"InjectAgentMessage","message":"Hello"}')
    assert dynamic == AgentV1InjectDynamicAgentMessage(behavior="queue")
    assert static == AgentV1InjectAgentMessage(message="Hello")
    assert (
        CLIENT.encode(AgentV1InjectDynamicAgentMessage()) == '{"type":"InjectAgentMessage","is_dynamic":true}'
    )


def test_credentials_never_appear_in_reprs() -> None:
    creds = AwsBedrockThinkProviderCredentials(
        type="iam", region="us-east-1", access_key_id="AKIAEXAMPLE", secret_access_key="s3cr3t-value"
    )
    endpoint = ThinkSettingsV1Endpoint(url="https://llm.example", headers={"authorization": "Bearer tok-123"})
    text = repr(creds) + repr(endpoint)
    for secret in ("AKIAEXAMPLE", "s3cr3t-value", "tok-123"):
        assert secret not in text
    assert "authorization" in text


def test_sdk_import_path_and_aliases() -> None:
    assert sdk.AgentV1Settings is AgentV1Settings
    assert sdk.AgentV1SettingsAgentContext is AgentV1SettingsAgent
    assert sdk.AgentV1HistoryContent is ConversationHistoryMessage
    assert sdk.AgentV1UpdateListenListenProvider_V2 is AgentV1SettingsAgentListenProvider_V2
    assert sdk.DeepgramListenProviderV1 is AgentV1SettingsAgentListenProvider_V1
    for name in sdk.__all__:
        assert getattr(sdk, name) is not None


def test_agent_events_decode_fast() -> None:
    frames = [
        b'{"type":"ConversationText","role":"user","content":"What is the weather like in New York today?"}',
        b'{"type":"History","role":"user","content":"What is the weather like in New York today?"}',
        b'{"type":"AgentStartedSpeaking","total_latency":0.962977896,"tts_latency":0.368340208,"ttt_latency":0.594637578}',
        b'{"type":"AgentAudioDone"}',
    ]
    for frame in frames:
        assert not isinstance(SERVER.decode(frame), DecodeError | UnknownMessage)
    rounds = 2000
    start = time.perf_counter()
    for _ in range(rounds):
        for frame in frames:
            SERVER.decode(frame)
    per_message = (time.perf_counter() - start) / (rounds * len(frames))
    # Deepgram's SDK takes 190-280 us per agent event; keep a wide margin for a loaded machine.
    assert per_message < 100e-6, f"{per_message * 1e6:.1f} us per message"
