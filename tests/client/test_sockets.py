"""Socket behaviour against the local server: graceful exit, errors, close codes, auth, recv."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any

import pytest

from actors import AsyncDeepgramClient, EventType
from actors.environment import DeepgramClientEnvironment
from actors.errors import ApiError, ConnectionClosedError, HandshakeError, OptionsError, ProtocolError
from actors.listen.v1.types import ListenV1Metadata, ListenV1Results
from actors.runtime.events import Closed
from actors.server import FaultRule, LocalServer
from actors.speak.v1.types import SpeakV1Flushed, SpeakV1Text
from tests.client.helpers import PARAMS, WAIT, client_for, final_words, speech

WORDS = ["nothing", "is", "lost"]


def pcm() -> bytes:
    return speech(WORDS)


def test_leaving_the_block_keeps_every_final_result(local_server: LocalServer) -> None:
    """No CloseStream, no listener: the exit finishes gracefully and the finals wait in the socket."""
    with client_for(local_server).listen.v1.connect(**PARAMS) as socket:
        socket.send_listen_v_1_media(pcm())
    messages = list(socket)
    assert final_words(messages) == WORDS
    assert isinstance(messages[-1], ListenV1Metadata)


def test_recv_returns_messages_then_raises_once_closed(local_server: LocalServer) -> None:
    with client_for(local_server).listen.v1.connect(**PARAMS) as socket:
        assert socket.request_id
        socket.send_listen_v_1_media(pcm())
        socket.send_listen_v_1_close_stream()
        received = []
        with pytest.raises(ConnectionClosedError) as closed:
            while True:
                received.append(socket.recv(timeout=WAIT))
    assert closed.value.code == 1000
    assert final_words(received) == WORDS
    assert isinstance(received[-1], ListenV1Metadata)


def test_recv_timeout_raises_timeout_error(local_server: LocalServer) -> None:
    with client_for(local_server).listen.v1.connect(**PARAMS) as socket, pytest.raises(TimeoutError):
        socket.recv(timeout=0.05)


def test_callback_that_raises_is_reported_and_listening_continues(local_server: LocalServer) -> None:
    errors: list[BaseException] = []
    messages: list[Any] = []
    closes: list[Any] = []

    def flaky(message: Any) -> None:
        if isinstance(message, ListenV1Results):
            raise RuntimeError("user bug")

    with client_for(local_server).listen.v1.connect(**PARAMS) as socket:
        socket.on(EventType.MESSAGE, flaky)
        socket.on(EventType.MESSAGE, messages.append)
        socket.on(EventType.ERROR, errors.append)
        socket.on(EventType.CLOSE, closes.append)
        listener = threading.Thread(target=socket.start_listening, name="test-listener")
        listener.start()
        socket.send_listen_v_1_media(pcm())
    listener.join(WAIT)
    assert not listener.is_alive()
    assert errors and all(str(e) == "user bug" for e in errors)
    assert final_words(messages) == WORDS
    assert isinstance(messages[-1], ListenV1Metadata)
    assert len(closes) == 1 and isinstance(closes[0], Closed) and closes[0].code == 1000


def test_close_event_carries_the_server_code_and_reason(make_server: Callable[..., LocalServer]) -> None:
    server = make_server()
    server.faults.add(FaultRule(kind="close", match_tag="boom", code=4002, reason="injected"))
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    socket = client_for(server).listen.v1.connect(**PARAMS, tag="boom")
    socket.on(EventType.ERROR, lambda e: events.put(("error", e)))
    socket.on(EventType.CLOSE, lambda c: events.put(("close", c)))
    socket.start_listening()
    kind, error = events.get(timeout=WAIT)
    assert kind == "error" and isinstance(error, ConnectionClosedError) and error.code == 4002
    kind, close = events.get(timeout=WAIT)
    assert kind == "close" and (close.code, close.reason) == (4002, "injected")
    socket.close()


def test_iteration_raises_when_the_connection_fails(make_server: Callable[..., LocalServer]) -> None:
    server = make_server()
    server.faults.add(FaultRule(kind="drop", match_tag="cut"))
    socket = client_for(server).listen.v1.connect(**PARAMS, tag="cut")
    with pytest.raises(ConnectionClosedError):
        list(socket)
    socket.close()


def test_undecodable_frame_is_an_error_not_the_end(make_server: Callable[..., LocalServer]) -> None:
    server = make_server()
    server.faults.add(FaultRule(kind="garbage", match_tag="junk"))
    with client_for(server).listen.v1.connect(**PARAMS, tag="junk") as socket:
        with pytest.raises(ProtocolError):
            socket.recv(timeout=WAIT)
        socket.send_listen_v_1_media(pcm())
    assert final_words(list(socket)) == WORDS


def test_handshake_refusal_is_one_error_with_status_dg_error_and_request_id(
    make_server: Callable[..., LocalServer],
) -> None:
    server = make_server(api_keys={"good-key"})
    with pytest.raises(ApiError) as caught:
        client_for(server, api_key="bad-key").listen.v1.connect(**PARAMS)
    error = caught.value
    assert isinstance(error, HandshakeError)
    assert error.status_code == 401 and error.dg_error and error.request_id
    assert "bad-key" not in str(error) and "bad-key" not in repr(error)


def test_authorization_and_access_token_reach_the_server(make_server: Callable[..., LocalServer]) -> None:
    server = make_server(api_keys={"good-key", "a-jwt"})
    client = client_for(server, api_key="bad-key")
    with client.speak.v1.connect(authorization="Token good-key") as socket:
        assert socket.request_id
    with client_for(server, api_key=None, access_token="a-jwt").speak.v1.connect() as socket:
        assert socket.request_id
    with client.speak.v1.connect(request_options={"additional_headers": {"Authorization": "bearer a-jwt"}}):
        pass


def test_bad_connect_parameter_names_it(local_server: LocalServer) -> None:
    with pytest.raises(OptionsError, match="modle"):
        client_for(local_server).listen.v1.connect(modle="nova-3")


def test_send_with_a_wrong_message_type_names_the_method(local_server: LocalServer) -> None:
    with client_for(local_server).speak.v1.connect() as socket:
        with pytest.raises(OptionsError, match=r"send_speak_v_1_text.*SpeakV1Text"):
            socket.send_speak_v_1_text("Hello")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"send_speak_v_1_text.*message"):  # required, as in the SDK
            socket.send_speak_v_1_text()  # type: ignore[call-arg]
    with (
        client_for(local_server).listen.v1.connect(**PARAMS) as listen,
        pytest.raises(OptionsError, match=r"send_listen_v_1_media.*audio bytes"),
    ):
        listen.send_listen_v_1_media("not audio")  # type: ignore[arg-type]


def test_speak_audio_arrives_as_bytes_and_dicts_are_accepted(local_server: LocalServer) -> None:
    with client_for(local_server).speak.v1.connect(encoding="linear16", sample_rate=16000) as socket:
        socket.send_text(SpeakV1Text(text="hello there"))
        socket.send_speak_v_1_text({"text": "and more"})
        socket.send_flush()
        first = socket.recv(timeout=WAIT)
        rest: list[Any] = []
        while not isinstance(rest[-1] if rest else first, SpeakV1Flushed):
            rest.append(socket.recv(timeout=WAIT))
    messages = [first, *rest]
    audio = [m for m in messages if isinstance(m, bytes)]
    assert audio and sum(len(a) for a in audio) > 0


def test_async_client_bridges_events_without_blocking_the_loop(local_server: LocalServer) -> None:
    async def scenario() -> tuple[list[Any], list[Any], bool]:
        client = AsyncDeepgramClient(
            api_key="test-key", environment=DeepgramClientEnvironment.local(local_server.url)
        )
        closes: list[Any] = []
        seen: list[Any] = []
        probe_ran = False

        async def on_message(message: Any) -> None:  # awaited callbacks work too
            seen.append(message)

        async def probe() -> None:
            nonlocal probe_ran
            probe_ran = True

        async with client.listen.v1.connect(**PARAMS) as socket:
            socket.on(EventType.MESSAGE, on_message)
            socket.on(EventType.CLOSE, closes.append)
            task = asyncio.create_task(socket.start_listening())
            await socket.send_listen_v_1_media(pcm())
            probe_task = asyncio.create_task(probe())
            await socket.finish()
            # Checked before yielding again: the probe could only have run if finish() yielded.
            ran_during_finish = probe_ran
        await asyncio.wait_for(task, WAIT)
        await probe_task
        return seen, closes, ran_during_finish

    seen, closes, ran_during_finish = asyncio.run(scenario())
    assert final_words(seen) == WORDS
    assert isinstance(seen[-1], ListenV1Metadata)
    assert len(closes) == 1 and closes[0].code == 1000
    assert ran_during_finish  # the loop kept running while the stream finished


def test_async_handshake_refusal_raises_api_error(make_server: Callable[..., LocalServer]) -> None:
    server = make_server(api_keys={"good-key"})

    async def scenario() -> None:
        client = AsyncDeepgramClient(api_key="nope", environment=DeepgramClientEnvironment.local(server.url))
        async with client.listen.v2.connect(model="flux-general-en", encoding="linear16", sample_rate=16000):
            pass

    with pytest.raises(HandshakeError) as caught:
        asyncio.run(scenario())
    assert caught.value.status_code == 401


def test_async_recv_and_iteration(local_server: LocalServer) -> None:
    async def scenario() -> list[Any]:
        client = AsyncDeepgramClient(
            api_key="k", environment=DeepgramClientEnvironment.local(local_server.url)
        )
        socket = await client.listen.v1.connect(model="nova-3", encoding="linear16", sample_rate=16000)
        with pytest.raises(TimeoutError):
            await socket.recv(timeout=0.05)
        await socket.send_media(pcm())
        await socket.send_close_stream()
        messages = [message async for message in socket]
        await socket.close()
        return messages

    messages = asyncio.run(scenario())
    assert final_words(messages) == WORDS
