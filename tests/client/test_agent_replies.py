"""The agent reply ledger on its own: which server message answers which request.

Pure logic (no sockets): server messages are decoded by the real Agent V1 codec; the socket
behaviour built on it is tested against the local server in ``test_graceful_end.py``.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from actors.client.agent_replies import (
    PendingReplies,
    awaited_for,
    awaited_for_frame,
    awaited_for_message,
    reply_key,
)
from actors.protocol.apis import AGENT_V1
from actors.runtime.events import Closed


def server(kind: str, **fields: Any) -> Any:
    message = AGENT_V1.server_codec.decode(json.dumps({"type": kind, **fields}))
    assert getattr(message, "type", None) == kind, message
    return message


def call_request(client_side: bool) -> Any:
    item = {"id": "c1", "name": "get_weather", "arguments": "{}", "client_side": client_side}
    return server("FunctionCallRequest", functions=[item])


def ledger(*requests: str, greeting: str | None = None) -> PendingReplies:
    replies = PendingReplies()
    for request in requests:
        with replies.awaiting(awaited_for(request, greeting)):
            pass
    return replies


def test_requests_without_a_reply_are_not_awaited() -> None:
    for request in ("KeepAlive", "ForceEndTurn", "__customToThinkProvider", "Nonsense", None):
        assert awaited_for(request) is None
    assert awaited_for_frame("not json") is None
    assert awaited_for_frame("[1, 2]") is None
    assert ledger("KeepAlive").wait(0) is True


def test_each_update_is_answered_by_its_own_reply() -> None:
    replies = ledger("UpdateSpeak", "UpdatePrompt")
    replies(server("PromptUpdated"))
    assert replies.outstanding() == ["UpdateSpeak (waiting for SpeakUpdated)"]
    replies(server("SpeakUpdated"))
    assert replies.wait(0)


def test_a_greeting_is_awaited_after_settings_applied() -> None:
    replies = ledger("Settings", "InjectAgentMessage", greeting="Hi.")
    replies(server("SettingsApplied"))
    assert replies.outstanding()[0] == "Settings greeting (waiting for AgentAudioDone)"
    replies(server("AgentAudioDone"))  # the greeting's
    assert replies.outstanding() == ["InjectAgentMessage (waiting for AgentAudioDone or InjectionRefused)"]
    replies(server("AgentAudioDone"))
    assert replies.wait(0)


def test_an_error_answers_the_oldest_request_and_drops_its_greeting() -> None:
    replies = ledger("Settings", greeting="Hi.")
    with replies.awaiting(awaited_for("UpdatePrompt")):
        pass
    replies(server("Error", description="bad settings", code="UNPARSABLE_CLIENT_MESSAGE"))
    assert replies.outstanding() == ["UpdatePrompt (waiting for PromptUpdated)"]


def test_function_call_requests_count_only_when_client_side() -> None:
    assert reply_key(call_request(client_side=False)) is None
    assert reply_key(call_request(client_side=True)) == "ClientFunctionCall"
    replies = ledger("InjectUserMessage")
    replies(call_request(client_side=False))  # the server runs it and speaks the reply itself
    assert replies.outstanding()
    replies(call_request(client_side=True))  # the reply is the call; its answer is tracked anew
    assert replies.wait(0)


def test_a_late_function_answer_is_settled_by_the_warning() -> None:
    replies = ledger("FunctionCallResponse")
    replies(server("Warning", description="slow", code="SLOW_THINK_REQUEST"))
    assert replies.outstanding()
    replies(server("Warning", description="late", code="UNEXPECTED_FUNCTION_CALL_RESPONSE"))
    assert replies.wait(0)


def test_a_send_that_raises_is_not_awaited() -> None:
    replies = PendingReplies()
    with pytest.raises(ConnectionError), replies.awaiting(awaited_for("Settings")):
        raise ConnectionError("closed")
    assert replies.outstanding() == []


def test_messages_and_frames_are_read_alike() -> None:
    from actors.agent.v1.types import AgentV1UpdatePrompt

    assert awaited_for_message(AgentV1UpdatePrompt(prompt="x")) == awaited_for("UpdatePrompt")
    frame = json.dumps({"type": "Settings", "agent": {"greeting": "Hi."}})
    awaited = awaited_for_frame(frame)
    assert awaited is not None and awaited.then is not None


def test_wait_ends_when_a_reply_arrives_on_another_thread_or_the_connection_closes() -> None:
    replies = ledger("Settings")
    assert replies.wait(0.01) is False
    answer = threading.Thread(target=replies, args=(server("SettingsApplied"),), name="test-reader")
    answer.start()
    assert replies.wait(5.0) is True
    answer.join(5.0)

    unanswered = ledger("UpdatePrompt")
    unanswered(Closed(1000, ""))
    assert unanswered.wait(5.0) is True  # nothing more can come
