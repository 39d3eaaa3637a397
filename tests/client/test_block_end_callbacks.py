"""Callbacks registered with ``on`` run when the block ends if no one read the socket.

"Nothing requires the user to start their own thread": without ``start_listening()``,
``recv()`` or iteration, leaving the ``with`` block delivers OPEN, every MESSAGE, ERROR and CLOSE
to the callbacks on the thread leaving it (sync) or on the loop (async), once each.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest

from actors import AsyncDeepgramClient, EventType
from actors.environment import DeepgramClientEnvironment
from actors.errors import ConnectionClosedError, ProtocolError
from actors.listen.v1.types import ListenV1Metadata
from actors.runtime.events import Closed, Opened
from actors.server import FaultRule, LocalServer
from tests.client.helpers import PARAMS, WAIT, client_for, final_words, speech

WORDS = ["callbacks", "need", "no", "thread"]


def pcm() -> bytes:
    return speech(WORDS)


class Recorder:
    """Registers a callback per event type on a socket; records (kind, payload, thread name)."""

    def __init__(self) -> None:
        self.events: list[tuple[EventType, Any, str]] = []

    def attach(self, socket: Any) -> None:
        for kind in EventType:
            socket.on(kind, self._recorder(kind))

    def _recorder(self, kind: EventType) -> Callable[[Any], None]:
        def record(payload: Any) -> None:
            self.events.append((kind, payload, threading.current_thread().name))

        return record

    def kinds(self) -> list[EventType]:
        return [kind for kind, _, _ in self.events]

    def payloads(self, kind: EventType) -> list[Any]:
        return [payload for k, payload, _ in self.events if k is kind]

    def threads(self) -> set[str]:
        return {thread for _, _, thread in self.events}


def assert_one_complete_stream(recorder: Recorder) -> None:
    kinds = recorder.kinds()
    assert kinds[0] is EventType.OPEN and isinstance(recorder.payloads(EventType.OPEN)[0], Opened)
    assert kinds[-1] is EventType.CLOSE and kinds.count(EventType.CLOSE) == 1
    assert kinds.count(EventType.OPEN) == 1
    messages = recorder.payloads(EventType.MESSAGE)
    assert final_words(messages) == WORDS  # each final once: nothing lost, nothing twice
    assert isinstance(messages[-1], ListenV1Metadata)
    close = recorder.payloads(EventType.CLOSE)[0]
    assert isinstance(close, Closed) and close.code == 1000


def test_callbacks_run_when_the_block_ends_on_the_leaving_thread(local_server: LocalServer) -> None:
    recorder = Recorder()
    with client_for(local_server).listen.v1.connect(**PARAMS) as socket:
        recorder.attach(socket)
        socket.send_listen_v_1_media(pcm())
        assert recorder.events == []  # nothing runs on the connection's threads meanwhile
    assert_one_complete_stream(recorder)
    assert recorder.threads() == {threading.current_thread().name}
    assert recorder.payloads(EventType.ERROR) == []
    assert list(socket) == []  # the events were consumed by the callbacks


def test_a_listener_thread_still_gets_each_event_exactly_once(local_server: LocalServer) -> None:
    recorder = Recorder()
    with client_for(local_server).listen.v1.connect(**PARAMS) as socket:
        recorder.attach(socket)
        listener = threading.Thread(target=socket.start_listening, name="test-listener")
        listener.start()
        socket.send_listen_v_1_media(pcm())
    listener.join(WAIT)
    assert not listener.is_alive()
    assert_one_complete_stream(recorder)
    assert recorder.threads() == {"test-listener"}


def test_errors_and_an_abnormal_close_reach_the_callbacks(make_server: Callable[..., LocalServer]) -> None:
    server = make_server()
    server.faults.add(FaultRule(kind="garbage", match_tag="junk"))
    server.faults.add(FaultRule(kind="close", match_tag="boom", code=4002, reason="injected"))
    junk, boom = Recorder(), Recorder()
    with client_for(server).listen.v1.connect(**PARAMS, tag="junk") as socket:
        junk.attach(socket)
        socket.send_listen_v_1_media(pcm())
    errors = junk.payloads(EventType.ERROR)
    assert len(errors) == 1 and isinstance(errors[0], ProtocolError)  # the stream went on
    assert final_words(junk.payloads(EventType.MESSAGE)) == WORDS

    with client_for(server).listen.v1.connect(**PARAMS, tag="boom") as socket:
        boom.attach(socket)
    assert boom.kinds() == [EventType.OPEN, EventType.ERROR, EventType.CLOSE]
    failure = boom.payloads(EventType.ERROR)[0]
    assert isinstance(failure, ConnectionClosedError) and failure.code == 4002
    close = boom.payloads(EventType.CLOSE)[0]
    assert (close.code, close.reason) == (4002, "injected")


def test_a_raising_callback_at_block_end_is_reported_as_error(local_server: LocalServer) -> None:
    errors: list[BaseException] = []
    closes: list[Any] = []

    def broken(message: Any) -> None:
        if isinstance(message, ListenV1Metadata):
            raise RuntimeError("user bug")

    with client_for(local_server).listen.v1.connect(**PARAMS) as socket:
        socket.on(EventType.MESSAGE, broken)
        socket.on(EventType.ERROR, errors.append)
        socket.on(EventType.CLOSE, closes.append)
        socket.send_listen_v_1_media(pcm())
    assert [str(e) for e in errors] == ["user bug"]
    assert len(closes) == 1


def test_a_socket_read_with_recv_keeps_its_events_for_the_reader(local_server: LocalServer) -> None:
    """recv() chose the reading style: leaving the block does not hand the rest to callbacks."""
    seen: list[Any] = []
    with client_for(local_server).listen.v1.connect(**PARAMS) as socket:
        socket.on(EventType.MESSAGE, seen.append)
        socket.send_listen_v_1_media(pcm())
        first = socket.recv(timeout=WAIT)
    assert seen == []
    assert final_words([first, *socket]) == WORDS


def test_an_interrupt_closes_at_once_without_callbacks(local_server: LocalServer) -> None:
    recorder = Recorder()
    with pytest.raises(KeyboardInterrupt), client_for(local_server).listen.v1.connect(**PARAMS) as socket:
        recorder.attach(socket)
        raise KeyboardInterrupt
    assert recorder.events == []


def test_async_callbacks_run_on_the_loop_when_the_block_ends(local_server: LocalServer) -> None:
    recorder = Recorder()
    awaited: list[Any] = []

    async def on_message(message: Any) -> None:
        await asyncio.sleep(0)
        awaited.append(message)

    async def scenario() -> str:
        client = AsyncDeepgramClient(
            api_key="test-key", environment=DeepgramClientEnvironment.local(local_server.url)
        )
        async with client.listen.v1.connect(**PARAMS) as socket:
            recorder.attach(socket)
            socket.on(EventType.MESSAGE, on_message)
            await socket.send_listen_v_1_media(pcm())
        assert [m async for m in socket] == []
        return threading.current_thread().name

    loop_thread = asyncio.run(scenario())
    assert_one_complete_stream(recorder)
    assert recorder.threads() == {loop_thread}
    assert awaited == recorder.payloads(EventType.MESSAGE)  # async callbacks were awaited
