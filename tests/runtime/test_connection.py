"""Connection against the local server over real sockets: events, order, sending, finishing."""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

import pykka
import pytest

from actors.errors import ConnectionClosedError, HandshakeError, ProtocolError
from actors.protocol.apis import LISTEN_V2, SPEAK_V1
from actors.protocol.listen_v1.messages import ListenV1Finalize, ListenV1KeepAlive
from actors.protocol.listen_v2.options import ListenV2Options
from actors.protocol.speak_v1.messages import SpeakV1Text
from actors.protocol.speak_v1.options import SpeakV1Options
from actors.runtime import Connection, ConnectionConfig, ConnectionState
from actors.runtime.events import AudioChunk, Closed, ConnectionFailed, Opened, SubscriberError
from actors.server import FaultRule, LocalServer
from actors.server.engines.deterministic import synthesize_words
from tests.runtime.runtime_support import RATE, TEST_KEY, EventLog, listen_config, transcript

WORDS = ["alpha", "bravo", "charlie", "delta"]


def _stream(conn: Connection, pcm: bytes, chunk: int = 3200) -> None:
    for i in range(0, len(pcm), chunk):
        conn.send_audio(pcm[i : i + chunk])


def test_listen_stream_delivers_every_final_word_then_metadata_then_closed(local_server: LocalServer) -> None:
    log = EventLog()
    conn = Connection.open(listen_config(local_server.url), subscribers=[log.queue], stream_id="words")
    _stream(conn, synthesize_words(WORDS, sample_rate=RATE))
    result = conn.finish(timeout=10.0)
    events = log.until_closed()

    assert result.ok and result.code == 1000
    assert isinstance(events[0], Opened) and events[0].request_id == conn.request_id
    assert events[0].stream_id == "words" and events[0].url_path == "/v1/listen"
    assert transcript(events) == WORDS
    assert events[-2].type == "Metadata"
    assert events[-1] == Closed(1000, "")
    assert sum(isinstance(e, Closed) for e in events) == 1
    assert conn.state is ConnectionState.CLOSED
    assert result.metrics.bytes_sent == len(synthesize_words(WORDS, sample_rate=RATE))
    assert result.metrics.audio_seconds_sent == pytest.approx(result.metrics.bytes_sent / (2 * RATE))
    assert result.metrics.time_to_first_result is not None
    assert result.metrics.finalize_latency is not None


def test_finalize_mode_gets_a_from_finalize_result(local_server: LocalServer) -> None:
    log = EventLog()
    conn = Connection.open(listen_config(local_server.url), subscribers=[log.queue])
    # No trailing silence: the last word is only final because of Finalize.
    pcm = synthesize_words(["one", "two"], sample_rate=RATE, gap_ms=1)
    _stream(conn, pcm)
    result = conn.finish(timeout=10.0, mode="finalize")
    events = log.until_closed()
    assert result.ok
    assert transcript(events) == ["one", "two"]
    assert any(getattr(e, "from_finalize", False) for e in events)


def test_control_messages_keep_their_place_among_audio(local_server: LocalServer) -> None:
    log = EventLog()
    conn = Connection.open(listen_config(local_server.url), subscribers=[log.queue])
    conn.send_audio(synthesize_words(["first"], sample_rate=RATE, gap_ms=1))
    conn.send(ListenV1Finalize())
    conn.send(ListenV1KeepAlive())
    conn.send_audio(synthesize_words(["second"], sample_rate=RATE))
    conn.finish(timeout=10.0)
    events = log.until_closed()
    finals = [e for e in events if getattr(e, "type", None) == "Results" and e.is_final]
    finalized = [e for e in finals if e.from_finalize]
    assert finalized and [w.word for w in finalized[0].channel.alternatives[0].words] == ["first"]
    assert transcript(events) == ["first", "second"]


def test_all_three_subscriber_kinds_receive_the_same_events(local_server: LocalServer) -> None:
    called: list[Any] = []
    q: queue.Queue[Any] = queue.Queue()

    class Sink(pykka.ThreadingActor):
        def __init__(self) -> None:
            super().__init__()
            self.got: list[Any] = []

        def on_receive(self, message: Any) -> Any:
            self.got.append(message)

        def events(self) -> list[Any]:
            return list(self.got)

    sink = Sink.start()
    try:
        conn = Connection.open(listen_config(local_server.url), subscribers=[called.append, q, sink])
        _stream(conn, synthesize_words(["echo"], sample_rate=RATE))
        conn.finish()
        from_actor = sink.proxy().events().get(timeout=5)
    finally:
        sink.stop()
    from_queue = [q.get_nowait() for _ in range(q.qsize())]
    assert called == from_queue == from_actor
    assert transcript(called) == ["echo"]


def test_a_raising_callable_is_reported_and_the_reader_keeps_going(local_server: LocalServer) -> None:
    log = EventLog()

    def broken(event: Any) -> None:
        if getattr(event, "type", None) == "Results":
            raise RuntimeError("subscriber bug")

    conn = Connection.open(listen_config(local_server.url), subscribers=[broken, log.queue])
    _stream(conn, synthesize_words(["x1", "x2"], sample_rate=RATE))
    result = conn.finish()
    events = log.until_closed()
    errors = [e for e in events if isinstance(e, SubscriberError)]
    assert result.ok
    assert errors and isinstance(errors[0].error, RuntimeError)
    assert transcript(events) == ["x1", "x2"]
    assert result.metrics.subscriber_errors == len(errors)


def test_subscribe_and_unsubscribe_while_open(local_server: LocalServer) -> None:
    late = EventLog()
    early = EventLog()
    conn = Connection.open(listen_config(local_server.url), subscribers=[early.queue])
    conn.subscribe(late.queue)
    assert conn.unsubscribe(early.queue) is True
    assert conn.unsubscribe(early.queue) is False
    _stream(conn, synthesize_words(["late"], sample_rate=RATE))
    conn.finish()
    late_events = late.until_closed()
    assert transcript(late_events) == ["late"]
    assert [type(e) for e in early.queue.queue] == [Opened]


def test_refused_handshake_raises_at_once_with_status_and_request_id(make_server: Any) -> None:
    server = make_server(api_keys={"the-right-key"})
    log = EventLog()
    started = time.monotonic()
    with pytest.raises(HandshakeError) as caught:
        Connection.open(listen_config(server.url), subscribers=[log.queue])
    assert time.monotonic() - started < 2.0
    error = caught.value
    assert error.status == 401
    assert error.request_id and error.dg_error
    assert TEST_KEY not in str(error) and TEST_KEY not in repr(error.__dict__)
    events = log.until_closed()
    assert [type(e) for e in events] == [ConnectionFailed, Closed]
    assert events[0].error is error and events[1].code == 1006


@pytest.mark.parametrize("status", [403, 429, 503])
def test_rejected_handshake_statuses_reach_the_caller(make_server: Any, status: int) -> None:
    server = make_server()
    server.faults.add(FaultRule(kind="reject", match_tag=f"reject-{status}", status=status))
    cfg = listen_config(server.url, extra_query=[("tag", f"reject-{status}")])
    with pytest.raises(HandshakeError) as caught:
        Connection.open(cfg)
    assert caught.value.status == status


def test_bad_options_rejected_by_server_are_a_400_handshake_error(local_server: LocalServer) -> None:
    cfg = listen_config(local_server.url, extra_query={"encoding": "not-a-codec"})
    with pytest.raises(HandshakeError) as caught:
        Connection.open(cfg)
    assert caught.value.status == 400


def test_connection_refused_is_an_os_error_quickly() -> None:
    with LocalServer() as server:
        url = server.url
    started = time.monotonic()
    with pytest.raises(OSError):
        Connection.open(listen_config(url, connect_timeout=2.0))
    assert time.monotonic() - started < 2.5


def test_a_failure_right_after_the_handshake_is_raised_by_open_not_hidden(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The handshake succeeded but setting up the link failed: open() raises that error (a caller
    must never get a connection that is already gone), and the socket is not left open."""
    import actors.runtime.connection as connection_module

    def broken_core(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("link set-up failed")

    monkeypatch.setattr(connection_module, "ConnectionCore", broken_core)
    log = EventLog()
    with pytest.raises(RuntimeError, match="link set-up failed"):
        Connection.open(listen_config(local_server.url), subscribers=[log.queue], stream_id="broken")
    events = log.until_closed()
    assert not any(isinstance(e, Opened) for e in events)
    assert isinstance(events[-1], Closed) and events[-1].code == 1006


def test_server_close_code_arrives_after_connection_failed(make_server: Any) -> None:
    server = make_server()
    server.faults.add(
        FaultRule(kind="close", match_tag="closer", code=1011, reason="NET-0000", after_audio_seconds=0.1)
    )
    log = EventLog()
    conn = Connection.open(listen_config(server.url, extra_query={"tag": "closer"}), subscribers=[log.queue])
    conn.send_audio(synthesize_words(["w"], sample_rate=RATE))
    events = log.until_closed()
    assert isinstance(events[-2], ConnectionFailed)
    assert isinstance(events[-2].error, ConnectionClosedError) and events[-2].error.code == 1011
    assert events[-1] == Closed(1011, "NET-0000")
    assert conn.wait_closed(5.0)
    assert conn.result is not None and conn.result.code == 1011 and not conn.result.ok
    with pytest.raises(ConnectionClosedError):
        conn.send_audio(b"\x00\x00")


def test_dropped_tcp_connection_is_closed_1006(make_server: Any) -> None:
    server = make_server()
    server.faults.add(FaultRule(kind="drop", match_tag="dropper", after_audio_seconds=0.2))
    log = EventLog()
    conn = Connection.open(listen_config(server.url, extra_query={"tag": "dropper"}), subscribers=[log.queue])
    try:
        _stream(conn, synthesize_words(["a", "b", "c"], sample_rate=RATE))
    except ConnectionClosedError as refused:
        # The drop comes after 0.2 s of the 0.675 s sent; when the reader sees it before the loop
        # ends (a descheduled test thread), the next send is refused with the same close code.
        assert refused.code == 1006
    events = log.until_closed()
    assert isinstance(events[-2], ConnectionFailed)
    assert events[-1].code == 1006
    assert conn.wait_closed(5.0)


def test_garbage_and_unknown_frames_are_delivered_as_values_not_crashes(make_server: Any) -> None:
    server = make_server()
    server.faults.add(FaultRule(kind="garbage", match_tag="junk"))
    log = EventLog()
    conn = Connection.open(listen_config(server.url, extra_query={"tag": "junk"}), subscribers=[log.queue])
    _stream(conn, synthesize_words(["after"], sample_rate=RATE))
    result = conn.finish()
    events = log.until_closed()
    assert result.ok
    assert any(type(e).__name__ == "DecodeError" for e in events)
    assert transcript(events) == ["after"]


def test_close_is_immediate_and_idempotent(local_server: LocalServer) -> None:
    log = EventLog()
    conn = Connection.open(listen_config(local_server.url), subscribers=[log.queue])
    first = conn.close()
    second = conn.close()
    assert first is not None and first.ok
    assert second == first
    events = log.until_closed()
    assert [type(e) for e in events] == [Opened, Closed]
    with pytest.raises(ConnectionClosedError):
        conn.send_audio(b"\x01\x00")


def test_send_after_finish_and_bad_input_are_refused(local_server: LocalServer) -> None:
    conn = Connection.open(listen_config(local_server.url))
    with pytest.raises(TypeError, match="bytes"):
        conn.send_audio("not audio")  # type: ignore[arg-type]
    with pytest.raises(ProtocolError):
        conn.send(object())
    with pytest.raises(ValueError, match="mode"):
        conn.finish(mode="later")  # type: ignore[arg-type]
    conn.finish()
    with pytest.raises(ConnectionClosedError):
        conn.send_audio(b"\x00\x00")
    with pytest.raises(ConnectionClosedError):
        conn.send(ListenV1KeepAlive())


def test_finish_inside_a_callback_is_refused_with_a_clear_error(local_server: LocalServer) -> None:
    seen: list[BaseException] = []
    done = threading.Event()
    holder: list[Connection] = []

    def on_event(event: Any) -> None:
        if getattr(event, "type", None) == "Results" and holder and not done.is_set():
            try:
                holder[0].finish()
            except Exception as error:
                seen.append(error)
            done.set()

    conn = Connection.open(listen_config(local_server.url), subscribers=[on_event])
    holder.append(conn)
    _stream(conn, synthesize_words(["cb"], sample_rate=RATE))
    assert done.wait(5.0)
    conn.finish()
    assert seen and "callback" in str(seen[0])


def test_speak_finish_flushes_and_delivers_all_audio(local_server: LocalServer) -> None:
    log = EventLog()
    cfg = ConnectionConfig(
        api=SPEAK_V1,
        base_url=local_server.url,
        options=SpeakV1Options.from_kwargs(encoding="linear16", sample_rate=16000),
        auth=listen_config(local_server.url).auth,
    )
    conn = Connection.open(cfg, subscribers=[log.queue])
    conn.send(SpeakV1Text(text="hello there"))
    result = conn.finish(timeout=10.0)
    events = log.until_closed()
    assert result.ok
    audio = [e for e in events if isinstance(e, AudioChunk)]
    assert audio and sum(len(a.data) for a in audio) == result.metrics.audio_bytes_received > 0
    assert any(getattr(e, "type", None) == "Flushed" for e in events)


def test_flux_close_stream_ends_normally(local_server: LocalServer) -> None:
    log = EventLog()
    cfg = ConnectionConfig(
        api=LISTEN_V2,
        base_url=local_server.url,
        options=ListenV2Options.from_kwargs(model="flux-general-en", encoding="linear16", sample_rate=RATE),
        auth=listen_config(local_server.url).auth,
    )
    conn = Connection.open(cfg, subscribers=[log.queue])
    _stream(conn, synthesize_words(["flux", "works"], sample_rate=RATE, gap_ms=600), chunk=2560)
    result = conn.finish(timeout=10.0)
    events = log.until_closed()
    assert result.ok, result
    assert result.code in (1000, 1005)
    assert getattr(events[1], "type", None) == "Connected"
    assert any(getattr(e, "type", None) == "TurnInfo" for e in events)


def test_a_burst_of_tiny_chunks_is_coalesced_without_losing_a_byte(local_server: LocalServer) -> None:
    # With a flush window the whole burst is queued within one window: a handful of frames.
    log = EventLog()
    cfg = listen_config(local_server.url, audio_flush_interval=0.2)
    conn = Connection.open(cfg, subscribers=[log.queue])
    pcm = synthesize_words(["many", "small", "chunks"], sample_rate=RATE)
    chunks = [pcm[i : i + 320] for i in range(0, len(pcm), 320)]
    for chunk in chunks:
        conn.send_audio(chunk)
    result = conn.finish()
    assert transcript(log.until_closed()) == ["many", "small", "chunks"]
    assert result.metrics.bytes_sent == len(pcm)
    assert result.metrics.frames_sent - result.metrics.control_messages_sent <= 3 < len(chunks)


def test_immediate_mode_writes_each_chunk_at_once_as_its_own_frame(local_server: LocalServer) -> None:
    log = EventLog()
    conn = Connection.open(listen_config(local_server.url), subscribers=[log.queue])
    pcm = synthesize_words(["no", "added", "latency"], sample_rate=RATE)
    chunks = [pcm[i : i + 640] for i in range(0, len(pcm), 640)]
    for chunk in chunks:
        conn.send_audio(chunk)
        time.sleep(0.001)  # a paced caller: each chunk finds the socket free
    result = conn.finish()
    assert transcript(log.until_closed()) == ["no", "added", "latency"]
    assert result.metrics.bytes_sent == len(pcm)
    assert result.metrics.frames_sent - result.metrics.control_messages_sent == len(chunks)
    assert result.metrics.max_audio_lag is not None and result.metrics.max_audio_lag < 0.05


def test_agent_finish_closes_with_a_close_frame(local_server: LocalServer) -> None:
    from actors.protocol.apis import AGENT_V1

    log = EventLog()
    cfg = ConnectionConfig(api=AGENT_V1, base_url=local_server.url, auth=listen_config(local_server.url).auth)
    conn = Connection.open(cfg, subscribers=[log.queue])
    result = conn.finish(timeout=5.0)
    events = log.until_closed()
    assert result.ok and result.code == 1000
    assert getattr(events[1], "type", None) == "Welcome"


def test_config_is_validated_and_its_repr_hides_secrets(local_server: LocalServer) -> None:
    cfg = listen_config(local_server.url, headers={"Authorization": "Token sneaky-secret", "X-Trace": "t1"})
    text = repr(cfg)
    assert TEST_KEY not in text and "sneaky-secret" not in text and "t1" in text
    with pytest.raises(ValueError, match="base_url"):
        listen_config("http://example.com")
    with pytest.raises(ValueError, match="connect_timeout"):
        listen_config(local_server.url, connect_timeout=0)
    with pytest.raises(TypeError, match="extra_query"):
        listen_config(local_server.url, extra_query=["nope"])
    with pytest.raises(TypeError, match="ApiSpec"):
        ConnectionConfig(api="listen", base_url=local_server.url)  # type: ignore[arg-type]
