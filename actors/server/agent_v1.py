"""Agent V1 (`/v1/agent/converse`): a local voice agent.

Order: ``Welcome`` on connect; ``Settings`` must be the first client message (anything else
first gets ``Error`` ``SETTINGS_REQUIRED``); ``SettingsApplied``; then user turns, from audio
(the engine's recognizer at ``audio.input``) or ``InjectUserMessage``. A turn yields
``ConversationText``/``History`` for the user, then either a reply or, for a declared function,
``AgentThinking`` + ``FunctionCallRequest`` (client-side: the agent waits for the client's
``FunctionCallResponse``, warning ``SLOW_THINK_REQUEST`` every 5 s; server-side functions get a
canned result, since the local server calls no HTTP endpoints). A reply is, per sentence,
``ConversationText``/``History`` for the assistant, with one ``AgentStartedSpeaking`` (measured
latencies) before the first audio and ``AgentAudioDone`` after the last frame. Audio uses the
engine's synthesizer at ``audio.output``.

``Settings`` is checked with the protocol codec like the live service does
(:mod:`actors.server.agent_settings`): an unknown field or a wrong value gets ``Error``
``UNPARSABLE_CLIENT_MESSAGE`` "Error parsing client message. Check the <path> field against the
API spec." and no ``SettingsApplied``. Every other client message is decoded the same way first
(a wrong-typed field gets that ``Error`` naming it, path from the message root); non-JSON text, a
JSON value that is not an object with a string ``type``, and an unknown ``type`` get
``UNPARSABLE_CLIENT_MESSAGE`` too. The session stays open after any of these. Every reply to a
user turn ends with a ``LatencyReport`` after ``AgentAudioDone`` (the service sends one after each
turn, unasked). When the user starts speaking while a client-side ``FunctionCallRequest`` is
unanswered (barge-in), the call is abandoned with ``FunctionCallCancelled``; a late
``FunctionCallResponse`` for it gets a ``Warning`` and no reply.

With voice input, ``UserStartedSpeaking`` is sent when the user starts a turn; the turn ends after
:data:`END_OF_TURN_SECONDS` of silence (audio time, so chunking does not matter) or on
``ForceEndTurn``. The "think" step is :class:`actors.server.responder.Responder` (deterministic
rules, no LLM). Idle connections get ``Error`` ``CLIENT_MESSAGE_TIMEOUT`` and close 1011.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from actors.server.agent_settings import client_message_error
from actors.server.audio import AudioDecoder, StepSplitter, UndecodableAudio
from actors.server.engines.base import Recognizer
from actors.server.responder import Call, FunctionSpec, Responder, Say, functions_from_think
from actors.server.session import Endpoint, register_endpoint
from actors.server.speak_v1 import encode_audio

STEP_SECONDS = 0.02
#: Silence (seconds of audio) after the last word that ends a user turn.
END_OF_TURN_SECONDS = 0.6
FRAME_SECONDS = 0.1
SLOW_THINK_SECONDS = 5.0
MAX_PROMPT_CHARS = 25000
INPUT_ENCODINGS = ("linear16", "linear32", "mulaw", "alaw")
OUTPUT_ENCODINGS = ("linear16", "mulaw", "alaw")
TIMEOUT_DESCRIPTION = (
    "We waited too long for a websocket message. Please ensure that you're sending binary "
    "messages containing user speech."
)
CANNED_SERVER_RESULT = '{"error": "the local server does not call function endpoints"}'


class SettingsInvalid(Exception):
    """A Settings (or Update*) message is malformed; ``field`` is the dotted path at fault."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def _object(value: Any, field: str, required: bool = False) -> Mapping[str, Any]:
    if value is None and not required:
        return {}
    if not isinstance(value, Mapping):
        raise SettingsInvalid(field)
    return value


def _choice(section: Mapping[str, Any], key: str, field: str, choices: tuple[str, ...], default: str) -> str:
    value = section.get(key, default)
    if value not in choices:
        raise SettingsInvalid(f"{field}.{key}")
    return str(value)


def _rate(section: Mapping[str, Any], field: str, default: int) -> int:
    value = section.get("sample_rate", default)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 1000 <= value <= 192000:
        raise SettingsInvalid(f"{field}.sample_rate")
    return value


@register_endpoint("/v1/agent/converse")
class AgentV1Endpoint(Endpoint):
    """Serves one Voice Agent V1 session (see the module docstring for the behaviour)."""

    tick_interval: ClassVar[float | None] = 0.5

    def on_open(self) -> None:
        """Send ``Welcome``; wait for ``Settings``."""
        self.applied = False
        self.history_enabled = True
        self.responder = Responder()
        self.recognizer: Recognizer | None = None
        self.decoder: AudioDecoder | None = None
        self.splitter: StepSplitter | None = None
        self.user_turn_active = False
        self.pending_call: tuple[str, FunctionSpec, str, float] | None = None
        self.cancelled_calls: set[str] = set()
        self.tool_latency = 0.0
        self.next_slow_warning = 0.0
        self.output_encoding = "linear16"
        self.output_rate = 24000
        self.synthesizer = self.context.engine.synthesizer()
        self.send_message({"type": "Welcome", "request_id": self.request_id})

    # -- frames -----------------------------------------------------------------------------

    def on_text(self, text: str) -> None:
        """Dispatch one client JSON message."""
        message = self.decode_json(text)
        kind = message.get("type") if message is not None else None
        if message is None or not isinstance(kind, str):
            self._error("Error parsing client message. The message is not a JSON object with a type.")
            return
        if not self.applied and kind != "Settings":
            self._settings_required(kind)
            return
        handler = self._handlers().get(kind)
        if handler is None:
            self._error(f"Error parsing client message. Unknown message type {kind!r}.")
            return
        problem = client_message_error(message)
        if problem is not None:
            self._error(problem)
            return
        try:
            handler(message)
        except SettingsInvalid as invalid:
            self._error(
                f"Error parsing client message. Check the {invalid.field} field against the API spec."
            )

    def on_binary(self, data: bytes) -> None:
        """User audio: recognize it and end the user's turn after a pause."""
        if not self.applied or self.decoder is None or self.splitter is None:
            self._settings_required("binary audio")
            return
        try:
            chunks = self.decoder.decode(data)
        except UndecodableAudio as exc:
            self._error(f"Could not decode the user audio: {exc}", code="UNPARSABLE_CLIENT_MESSAGE")
            return
        for chunk in chunks[:1]:
            for step in self.splitter.push(chunk):
                self._feed(step)

    def on_tick(self) -> None:
        """Warn while a client-side function call is unanswered (every 5 s)."""
        if self.pending_call is None:
            return
        now = time.monotonic()
        if now >= self.next_slow_warning:
            waited = now - self.pending_call[3]
            self.next_slow_warning = now + SLOW_THINK_SECONDS
            self.send_message(
                {
                    "type": "Warning",
                    "description": f"We have now waited {waited:.0f} seconds for a think response.",
                    "code": "SLOW_THINK_REQUEST",
                }
            )

    def on_idle_timeout(self) -> None:
        """No client message for too long: ``Error`` ``CLIENT_MESSAGE_TIMEOUT``, then close 1011."""
        self.send_message(
            {"type": "Error", "description": TIMEOUT_DESCRIPTION, "code": "CLIENT_MESSAGE_TIMEOUT"}
        )
        self.close(1011, "CLIENT_MESSAGE_TIMEOUT")

    def on_finish(self) -> None:
        """Release the recognizer."""
        if self.recognizer is not None:
            self.recognizer.close()

    # -- client messages --------------------------------------------------------------------

    def _handlers(self) -> dict[str, Callable[[dict[str, Any]], None]]:
        return {
            "Settings": self._settings,
            "KeepAlive": lambda _message: None,
            "InjectUserMessage": self._inject_user,
            "InjectAgentMessage": self._inject_agent,
            "FunctionCallResponse": self._function_response,
            "UpdatePrompt": self._update_prompt,
            "UpdateThink": self._update_think,
            "UpdateSpeak": lambda m: self._update(m, "speak", "SpeakUpdated"),
            "UpdateListen": lambda m: self._update(m, "listen", "ListenUpdated"),
            "UpdateThink_Live": lambda m: self._update(m, "think_live", "ThinkLiveUpdated"),
            "ForceEndTurn": lambda _message: self._end_user_turn(),
        }

    def _settings(self, message: dict[str, Any]) -> None:
        if self.applied:
            self._error("Settings may only be sent once per session.", code="SETTINGS_ALREADY_APPLIED")
            return
        audio = _object(message.get("audio"), "audio", required=True)
        audio_in = _object(audio.get("input"), "audio.input")
        audio_out = _object(audio.get("output"), "audio.output")
        in_encoding = _choice(audio_in, "encoding", "audio.input", INPUT_ENCODINGS, "linear16")
        in_rate = _rate(audio_in, "audio.input", 24000)
        out_encoding = _choice(audio_out, "encoding", "audio.output", OUTPUT_ENCODINGS, "linear16")
        out_rate = _rate(audio_out, "audio.output", 24000 if out_encoding == "linear16" else 8000)
        if audio_out.get("container", "none") != "none":
            raise SettingsInvalid("audio.output.container")
        agent = message.get("agent")
        if isinstance(agent, str):
            self._error(
                "Stored agent configurations are not available on the local server; send the agent object."
            )
            return
        agent = _object(agent, "agent", required=True)
        think = agent.get("think")
        if think is not None and not isinstance(think, Mapping | list):
            raise SettingsInvalid("agent.think")
        flags = _object(message.get("flags"), "flags")
        greeting = agent.get("greeting")
        if greeting is not None and not isinstance(greeting, str):
            raise SettingsInvalid("agent.greeting")
        self.history_enabled = flags.get("history", True) is not False
        prompts = [p.get("prompt") for p in (think if isinstance(think, list) else [think or {}])]
        self.responder = Responder(
            functions_from_think(think), next((p for p in prompts if isinstance(p, str)), "")
        )
        self.decoder = AudioDecoder(in_encoding, in_rate, 1)
        self.splitter = StepSplitter(in_rate, STEP_SECONDS)
        self.recognizer = self.context.engine.recognizer(in_rate)
        self.output_encoding, self.output_rate = out_encoding, out_rate
        self.applied = True
        self.send_message({"type": "SettingsApplied"})
        if greeting:
            self._say(Say((greeting,)), started=time.monotonic())

    def _inject_user(self, message: dict[str, Any]) -> None:
        content = message.get("content")
        if not isinstance(content, str) or not content.strip():
            raise SettingsInvalid("content")
        self._user_turn(content)

    def _inject_agent(self, message: dict[str, Any]) -> None:
        text = message.get("message", message.get("content"))
        if not isinstance(text, str) or not text.strip():
            raise SettingsInvalid("message")
        behavior = message.get("behavior") or "default"
        busy = self._user_busy() or self.pending_call is not None
        if behavior == "default" and busy:
            self.send_message(
                {
                    "type": "InjectionRefused",
                    "message": "The agent message was not injected: the user or the agent is mid-turn.",
                }
            )
            return
        self._say(Say((text.strip(),)), started=None)

    def _function_response(self, message: dict[str, Any]) -> None:
        name, content, call_id = message.get("name"), message.get("content"), message.get("id")
        if not isinstance(name, str) or not isinstance(content, str):
            raise SettingsInvalid("content" if isinstance(name, str) else "name")
        pending = self.pending_call
        if call_id in self.cancelled_calls:
            self.send_message(
                {
                    "type": "Warning",
                    "description": f"FunctionCallResponse for {name!r} (id {call_id!r}) arrived after the "
                    "call was cancelled (FunctionCallCancelled); it is ignored.",
                    "code": "UNEXPECTED_FUNCTION_CALL_RESPONSE",
                }
            )
            return
        if pending is None or (call_id is not None and call_id != pending[0]) or name != pending[1].name:
            self.send_message(
                {
                    "type": "Warning",
                    "description": f"FunctionCallResponse for {name!r} (id {call_id!r}) "
                    "matches no pending FunctionCallRequest.",
                    "code": "UNEXPECTED_FUNCTION_CALL_RESPONSE",
                }
            )
            return
        self.pending_call = None
        pending_id, function, arguments, started = pending
        self._function_history(pending_id, function, arguments, content)
        self._say(
            self.responder.after_function(function.name, content),
            started=started,
            turn=True,
            tool_latency=self.tool_latency,
        )

    def _update_prompt(self, message: dict[str, Any]) -> None:
        prompt = message.get("prompt")
        if not isinstance(prompt, str):
            raise SettingsInvalid("prompt")
        self.responder.prompt = f"{self.responder.prompt}\n{prompt}" if self.responder.prompt else prompt
        if len(self.responder.prompt) > MAX_PROMPT_CHARS:
            self.send_message(
                {
                    "type": "Warning",
                    "description": f"The prompt is longer than {MAX_PROMPT_CHARS} characters.",
                    "code": "PROMPT_TOO_LONG",
                }
            )
        self.send_message({"type": "PromptUpdated"})

    def _update_think(self, message: dict[str, Any]) -> None:
        think = message.get("think")
        if not isinstance(think, Mapping | list):
            raise SettingsInvalid("think")
        self.responder.functions = functions_from_think(think)
        self.send_message({"type": "ThinkUpdated"})

    def _update(self, message: dict[str, Any], field: str, reply: str) -> None:
        value = message.get(field)
        if not (isinstance(value, Mapping) or (field == "speak" and isinstance(value, list) and value)):
            raise SettingsInvalid(field)  # ``speak`` may be a fallback chain (a list), as in Settings
        self.send_message({"type": reply})

    # -- turns ------------------------------------------------------------------------------

    def _feed(self, step: bytes) -> None:
        recognizer = self.recognizer
        assert recognizer is not None
        recognizer.feed(step)
        self.audio_seconds = recognizer.audio_seconds
        if recognizer.in_speech and not self.user_turn_active:
            self.user_turn_active = True
            self.send_message({"type": "UserStartedSpeaking"})
            if self.pending_call is not None:
                self._cancel_pending_call()
        last = recognizer.last_voice_end
        if (
            self.user_turn_active
            and not recognizer.in_speech
            and last is not None
            and recognizer.audio_seconds - last >= END_OF_TURN_SECONDS
        ):
            self._end_user_turn()

    def _user_busy(self) -> bool:
        recognizer = self.recognizer
        return self.user_turn_active or (recognizer is not None and recognizer.in_speech)

    def _end_user_turn(self) -> None:
        self.user_turn_active = False
        if self.recognizer is None:
            return
        words = self.recognizer.commit()
        if words:
            self._user_turn(" ".join(word.text for word in words))

    def _user_turn(self, text: str) -> None:
        started = time.monotonic()
        self._conversation_text("user", text)
        # The live service sends this undocumented event after each user turn (recorded in 2025).
        self.send_message({"type": "EndOfThought"})
        decision = self.responder.respond(text)
        if isinstance(decision, Say):
            self._say(decision, started=started, turn=True)
            return
        self._call(decision, started)

    def _call(self, call: Call, started: float) -> None:
        function = call.function
        call_id = f"call_{uuid.uuid4().hex[:24]}"
        self.tool_latency = time.monotonic() - started
        self.send_message({"type": "AgentThinking", "content": f"Calling {function.name}."})
        self.send_message(
            {
                "type": "FunctionCallRequest",
                "functions": [
                    {
                        "id": call_id,
                        "name": function.name,
                        "arguments": call.arguments,
                        "client_side": function.client_side,
                    }
                ],
            }
        )
        if function.client_side:
            self.pending_call = (call_id, function, call.arguments, started)
            self.next_slow_warning = time.monotonic() + SLOW_THINK_SECONDS
            return
        self.send_message(
            {
                "type": "FunctionCallResponse",
                "id": call_id,
                "name": function.name,
                "content": CANNED_SERVER_RESULT,
            }
        )
        self._function_history(call_id, function, call.arguments, CANNED_SERVER_RESULT)
        self._say(
            self.responder.after_function(function.name, CANNED_SERVER_RESULT),
            started=started,
            turn=True,
            tool_latency=self.tool_latency,
        )

    def _cancel_pending_call(self) -> None:
        """Barge-in: the reply waiting for a client-side function is abandoned; tell the client."""
        assert self.pending_call is not None
        call_id, function, _arguments, _started = self.pending_call
        self.pending_call = None
        self.cancelled_calls.add(call_id)
        self.send_message(
            {"type": "FunctionCallCancelled", "functions": [{"id": call_id, "name": function.name}]}
        )

    def _function_history(self, call_id: str, function: FunctionSpec, arguments: str, response: str) -> None:
        if self.history_enabled:
            item = {
                "id": call_id,
                "name": function.name,
                "client_side": function.client_side,
                "arguments": arguments,
                "response": response,
            }
            self.send_message({"type": "History", "function_calls": [item]})

    def _conversation_text(self, role: str, content: str) -> None:
        self.send_message({"type": "ConversationText", "role": role, "content": content})
        if self.history_enabled:
            self.send_message({"type": "History", "role": role, "content": content})

    def _say(
        self, reply: Say, started: float | None, turn: bool = False, tool_latency: float | None = None
    ) -> None:
        """Speak ``reply``; ``started=None`` (injected agent messages) sends no AgentStartedSpeaking.

        ``turn`` marks the reply to a user turn: it ends with a ``LatencyReport`` (sent after every
        turn, no flag needed, as the service documents); ``tool_latency`` is the time to the
        turn's function call, if it made one.
        """
        ttt = time.monotonic() - started if started is not None else 0.0
        tts = 0.0
        for index, sentence in enumerate(reply.sentences):
            self._conversation_text("assistant", sentence)
            synth_started = time.monotonic()
            pcm = self.synthesizer.synthesize(sentence, self.output_rate)
            audio = encode_audio(pcm, self.output_encoding)
            if index == 0 and started is not None:
                tts = time.monotonic() - synth_started
                self.send_message(
                    {
                        "type": "AgentStartedSpeaking",
                        "total_latency": ttt + tts,
                        "tts_latency": tts,
                        "ttt_latency": ttt,
                    }
                )
            self._send_audio(audio)
        self.send_message({"type": "AgentAudioDone"})
        if turn and started is not None:
            report: dict[str, Any] = {
                "type": "LatencyReport",
                "ttt_token_latency": tool_latency if tool_latency is not None else ttt,
                "ttt_text_latency": ttt,
            }
            if tool_latency is not None:
                report["ttt_tool_latency"] = tool_latency
            report.update(tts_latency=tts, total_latency=ttt + tts)
            self.send_message(report)

    def _send_audio(self, audio: bytes) -> None:
        width = 2 if self.output_encoding == "linear16" else 1
        step = max(width, int(self.output_rate * FRAME_SECONDS) * width)
        for offset in range(0, len(audio), step):
            self.send_binary(audio[offset : offset + step])

    # -- errors -----------------------------------------------------------------------------

    def _settings_required(self, got: str) -> None:
        self._error(
            f"Settings must be the first message of the session; got {got} first.", code="SETTINGS_REQUIRED"
        )

    def _error(self, description: str, code: str = "UNPARSABLE_CLIENT_MESSAGE") -> None:
        self.send_message({"type": "Error", "description": description, "code": code})
