"""The AudioHook server session talking to the sans-I/O test client in memory (the AudioHook protocol)."""

from __future__ import annotations

import json

import pytest

from actors.ingest.audiohook.messages import (
    ClosedParameters,
    DisconnectParameters,
    MediaFormat,
    OpenedParameters,
    PingParameters,
    PongParameters,
    ServerMessage,
)
from actors.ingest.audiohook.session import (
    AudioHookSession,
    ClientReportedError,
    CloseReceived,
    SessionConfig,
    SessionEvent,
    State,
    choose_media,
)
from actors.ingest.audiohook.signatures import NULL_UUID, SignatureError, verify_request
from actors.ingest.audiohook.transcripts import Segment, transcript_entity
from actors.ingest.calls import CallAudio, CallEnd, CallPaused, CallResumed, CallStart, CallUpdated
from tests.support.audiohook_client import (
    MONO_EXTERNAL,
    MONO_INTERNAL,
    STEREO,
    STEREO_INVERTED,
    AudioHookClient,
)

API_KEY = "test-api-key"
SECRET = "c2VjcmV0LWZvci10aGUtdGVzdHMtMTIzNDU2Nzg="
TARGET = "/api/v1/audiohook/ws"
T0 = 1_700_000_000.0
L16 = MediaFormat(format="L16", channels=("external", "internal"))


class Pair:
    """A client and a server session wired together in memory."""

    def __init__(self, config: SessionConfig | None = None, *, secret: str = SECRET, now: float = T0) -> None:
        self.client = AudioHookClient()
        self.now = now
        headers = self.client.handshake_headers(
            target=TARGET, host="ingest.example.com", api_key=API_KEY, client_secret=secret, now=now
        )
        self.auth_failure: SignatureError | None = None
        try:
            request = verify_request(
                target=TARGET, headers=headers, client_secrets={API_KEY: SECRET}, now=now
            )
        except SignatureError as exc:
            self.auth_failure = exc
            # The "session" strategy: accept the socket, refuse the open.
            request = verify_request(
                target=TARGET,
                headers={k: v for k, v in headers.items() if not k.startswith("Signature")},
                client_secrets={API_KEY: ""},
                now=now,
            )
        self.server = AudioHookSession(
            request, config, auth_failure=self.auth_failure.disconnect_info if self.auth_failure else None
        )
        self.events: list[SessionEvent] = []

    def send(self, frame: str | bytes | list[bytes]) -> list[ServerMessage]:
        """Deliver client frames to the server; deliver the server's answers to the client."""
        frames = frame if isinstance(frame, list) else [frame]
        for item in frames:
            if isinstance(item, bytes):
                self.server.receive_binary(item, self.now)
            else:
                self.server.receive_text(item, self.now)
        return self.flush()

    def flush(self) -> list[ServerMessage]:
        """Deliver pending server frames to the client and collect events."""
        self.events += self.server.take_events()
        return [self.client.receive(text) for text in self.server.take_outgoing()]

    def opened(self, *offer: MediaFormat, **kwargs: object) -> ServerMessage:
        (answer,) = self.send(self.client.open(offer or (STEREO, MONO_EXTERNAL, MONO_INTERNAL), **kwargs))  # type: ignore[arg-type]
        assert answer.type == "opened"
        return answer

    def close_and_finish(self) -> list[ServerMessage]:
        """close -> CloseReceived -> the service sends closed."""
        assert self.send(self.client.close()) == []
        assert isinstance(self.events[-1], CloseReceived)
        self.server.send_closed()
        return self.flush()

    def of(self, kind: type) -> list[SessionEvent]:
        return [event for event in self.events if isinstance(event, kind)]


def _common(pair: Pair, message: ServerMessage) -> None:
    """The suite's common checks on a server message."""
    assert message.id == pair.client.session_id
    assert message.seq == pair.client.serverseq
    assert message.clientseq == pair.client.seq


def _disconnect(messages: list[ServerMessage]) -> DisconnectParameters:
    assert [m.type for m in messages] == ["disconnect"]
    params = messages[0].parameters
    assert isinstance(params, DisconnectParameters)
    return params


@pytest.mark.parametrize(
    "offer, chosen",
    [
        ((STEREO, MONO_EXTERNAL, MONO_INTERNAL), STEREO),
        ((STEREO_INVERTED, MONO_INTERNAL, MONO_EXTERNAL), STEREO_INVERTED),
        ((STEREO,), STEREO),
        ((MONO_EXTERNAL,), MONO_EXTERNAL),
        ((MONO_INTERNAL,), MONO_INTERNAL),
        ((L16, MONO_INTERNAL), MONO_INTERNAL),
    ],
)
def test_open_negotiates_media_and_starts_the_call(
    offer: tuple[MediaFormat, ...], chosen: MediaFormat
) -> None:
    pair = Pair()
    answer = pair.opened(*offer)
    _common(pair, answer)
    assert isinstance(answer.parameters, OpenedParameters)
    assert answer.parameters.media == (chosen,)
    assert answer.parameters.supported_languages is None
    (start,) = pair.events
    assert isinstance(start, CallStart)
    assert start.platform == "audiohook" and start.encoding == "mulaw" and start.sample_rate == 8000
    assert start.channels == chosen.channels and start.language == "en-US"
    assert start.platform_ids == {
        "session_id": pair.client.session_id,
        "conversation_id": pair.client.conversation_id,
        "participant_id": pair.client.participant_id,
        "organization_id": pair.client.organization_id,
        "correlation_id": pair.client.correlation_id,
    }
    assert start.metadata["ani"] == "+15551230000"
    assert pair.server.state is State.ACTIVE


def test_l16_only_and_stereo_requirements_are_refused() -> None:
    pair = Pair()
    info = _disconnect(pair.send(pair.client.open((L16,))))
    assert info.reason == "error" and "PCMU" in (info.info or "")
    assert pair.of(CallStart) == []
    pair = Pair(SessionConfig(require_stereo=True))
    info = _disconnect(pair.send(pair.client.open((MONO_EXTERNAL,))))
    assert "two channels" in (info.info or "")
    assert choose_media((L16,)) is None


def test_ping_pong_and_close() -> None:
    pair = Pair()
    pair.opened()
    (pong,) = pair.send(pair.client.ping())
    assert pair.client.seq == 2 and pair.client.serverseq == 2  # ping seq 2 / serverseq 1 before the pong
    assert isinstance(pong.parameters, PongParameters) and pong.seq == 2 and pong.clientseq == 2
    (pong,) = pair.send(pair.client.ping(rtt=0.02))
    assert pong.clientseq == 3
    (closed,) = pair.close_and_finish()
    _common(pair, closed)
    assert isinstance(closed.parameters, ClosedParameters)
    assert pair.server.state is State.CLOSED
    end = pair.of(CallEnd)
    assert end == [CallEnd(reason="completed", position=0.0)]


def test_audio_positions_pause_resume_discarded_update() -> None:
    pair = Pair()
    pair.opened()
    pair.send(pair.client.audio(1.0))  # 5 frames of 3200 bytes
    audio = pair.of(CallAudio)
    assert [len(a.audio) for a in audio] == [3200] * 5  # type: ignore[union-attr]
    assert [a.position for a in audio] == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8])  # type: ignore[union-attr]
    pair.send(pair.client.paused())
    pair.send(pair.client.paused())  # a duplicate is ignored (the suite sends it twice)
    (paused,) = pair.of(CallPaused)
    assert isinstance(paused, CallPaused) and paused.position == pytest.approx(1.0)
    (resumed_text,) = [pair.client.resumed(discarded=10.0)]
    pair.send(resumed_text)
    (resumed,) = pair.of(CallResumed)
    assert isinstance(resumed, CallResumed)
    assert (resumed.position, resumed.discarded) == (pytest.approx(11.0), 10.0)
    pair.send(pair.client.audio(0.2))
    assert pair.of(CallAudio)[-1].position == pytest.approx(11.0)  # type: ignore[union-attr]
    pair.send(pair.client.discarded(0.3))
    pair.send(pair.client.audio(0.2))
    assert pair.of(CallAudio)[-1].position == pytest.approx(11.5)  # type: ignore[union-attr]
    assert pair.server.position == pytest.approx(pair.client.position)
    pair.send(pair.client.update("fr-FR"))
    (updated,) = pair.of(CallUpdated)
    assert isinstance(updated, CallUpdated)
    assert (updated.position, updated.language) == (pytest.approx(11.7), "fr-FR")
    assert pair.server.language == "fr-FR"
    (closed,) = pair.close_and_finish()
    _common(pair, closed)
    end = pair.events[-2]
    assert isinstance(end, CallEnd) and end.reason == "completed" and end.position == pytest.approx(11.7)


def test_start_paused_and_server_pause_resume() -> None:
    pair = Pair(SessionConfig(start_paused=True))
    answer = pair.opened()
    assert isinstance(answer.parameters, OpenedParameters) and answer.parameters.start_paused
    assert pair.server.state is State.PAUSED
    pair.server.resume()
    (resume,) = pair.flush()
    assert resume.type == "resume" and pair.server.state is State.PAUSED  # only the client's answer counts
    pair.send(pair.client.resumed())
    assert pair.server.state is State.ACTIVE
    pair.server.pause()
    pair.server.pause()  # idempotent, may repeat
    assert [m.type for m in pair.flush()] == ["pause", "pause"]
    pair.send(pair.client.paused())
    assert pair.server.state is State.PAUSED


def test_client_error_then_close_error() -> None:
    pair = Pair()
    pair.opened()
    pair.send(pair.client.error(400, "bad things"))
    assert pair.of(ClientReportedError) == [ClientReportedError(400, "bad things")]
    pair.send(pair.client.close("error"))
    assert pair.of(CallEnd)[0].reason == "error"  # type: ignore[union-attr]
    pair.server.send_closed()
    assert [m.type for m in pair.flush()] == ["closed"]


def test_transcripts_are_sent_while_closing_before_closed() -> None:
    pair = Pair(SessionConfig(transcription_connector=True))
    pair.opened(supported_languages=True)
    assert pair.server.wants_transcripts
    pair.send(pair.client.audio(2.0))
    pair.send(pair.client.close())
    (received,) = pair.of(CloseReceived)
    assert received.closed_by == T0 + 8.0  # type: ignore[union-attr]
    assert pair.server.next_deadline() == T0 + 8.0
    segment = Segment(channel=1, start=0.5, end=1.5, transcript="hello", confidence=0.9)
    pair.server.send_event((transcript_entity(segment, base=0.0, language="en-US"),))
    pair.server.send_closed()
    event, closed = pair.flush()
    assert event.type == "event" and closed.type == "closed"
    _common(pair, closed)


def test_graceful_disconnect_keeps_the_call_until_the_clients_close() -> None:
    """A drain: ``disconnect completed``; audio sent until the client's close still counts, and the close
    runs the normal transaction (CloseReceived, transcripts allowed, then closed)."""
    pair = Pair(SessionConfig(transcription_connector=True))
    pair.opened()
    pair.send(pair.client.audio(1.0))
    pair.server.disconnect("completed", "the service is shutting down", T0, graceful=True)
    assert _disconnect(pair.flush()).reason == "completed"
    assert pair.of(CallEnd) == []
    pair.send(pair.client.audio(0.4))
    assert [round(e.position, 3) for e in pair.of(CallAudio)][-2:] == [1.0, 1.2]  # type: ignore[union-attr]
    assert pair.send(pair.client.close()) == []
    (end,) = pair.of(CallEnd)
    assert end.reason == "completed" and end.position == pytest.approx(1.4)  # type: ignore[union-attr]
    assert pair.of(CloseReceived)
    segment = Segment(channel=0, start=0.1, end=0.5, transcript="late", confidence=0.9)
    pair.server.send_event((transcript_entity(segment, base=0.0),))
    pair.server.send_closed()
    assert [m.type for m in pair.flush()] == ["event", "closed"]


def test_a_graceful_disconnect_the_client_ignores_ends_the_call_as_disconnected() -> None:
    pair = Pair()
    pair.opened()
    pair.server.disconnect("completed", None, T0, graceful=True)
    pair.flush()
    pair.server.tick(T0 + 10.0)
    pair.flush()
    (end,) = pair.of(CallEnd)
    assert end.reason == "disconnected" and pair.server.transport_done  # type: ignore[union-attr]


def test_closed_is_sent_by_the_deadline_if_the_service_is_late() -> None:
    pair = Pair()
    pair.opened()
    pair.send(pair.client.close())
    pair.server.tick(T0 + 7.9)
    assert pair.flush() == []
    pair.server.tick(T0 + 8.0)
    assert [m.type for m in pair.flush()] == ["closed"]
    assert pair.server.next_deadline() is None


def test_supported_languages_when_asked() -> None:
    pair = Pair()
    answer = pair.opened(supported_languages=True)
    assert isinstance(answer.parameters, OpenedParameters)
    langs = answer.parameters.supported_languages
    assert langs and "en-US" in langs


def test_connection_probe_is_a_plain_open_close() -> None:
    pair = Pair()
    pair.client.conversation_id = NULL_UUID
    pair.client.participant_id = NULL_UUID
    pair.opened()
    assert [m.type for m in pair.close_and_finish()] == ["closed"]


def test_close_before_open_is_answered_closed() -> None:
    pair = Pair()
    assert [m.type for m in pair.send(pair.client.close())] == ["closed"]
    assert pair.events == []


# --- authentication --------------------------------------------------------------------------------


def test_wrong_signature_gets_disconnect_unauthorized() -> None:
    pair = Pair(secret="d3Jvbmcgc2VjcmV0IGtleSEhISE=")
    assert pair.auth_failure is not None and pair.auth_failure.status == 401
    info = _disconnect(pair.send(pair.client.open()))
    assert info.reason == "unauthorized" and info.info == "FAILED: Signatures do not match"
    assert pair.events == []
    # The client answers with close {reason: disconnect}; the server ends with closed.
    assert [m.type for m in pair.send(pair.client.close("disconnect"))] == ["closed"]


def test_missing_api_key_is_refused_at_the_upgrade() -> None:
    client = AudioHookClient()
    headers = client.handshake_headers(
        target=TARGET, host="ingest.example.com", api_key=API_KEY, client_secret=SECRET, now=T0
    )
    del headers["X-API-KEY"]
    with pytest.raises(SignatureError) as info:
        verify_request(target=TARGET, headers=headers, client_secrets={API_KEY: SECRET}, now=T0)
    assert info.value.status == 401
    headers = client.handshake_headers(
        target=TARGET, host="ingest.example.com", api_key="wrong", client_secret=SECRET, now=T0
    )
    with pytest.raises(SignatureError):
        verify_request(target=TARGET, headers=headers, client_secrets={API_KEY: SECRET}, now=T0)


def test_open_for_another_organization_is_unauthorized() -> None:
    pair = Pair()
    info = _disconnect(pair.send(pair.client.open(organization_id="0c9b0a0e-1111-4222-8333-444455556666")))
    assert info.reason == "unauthorized"


# --- protocol violations ---------------------------------------------------------------------------


def _violates(pair: Pair, frame: str | bytes, needle: str) -> None:
    info = _disconnect(pair.send(frame))
    assert info.reason == "error" and needle in (info.info or ""), info.info
    assert pair.server.state is State.DISCONNECTING
    if pair.of(CallStart):
        end = pair.of(CallEnd)
        assert len(end) == 1 and end[0].reason == "error"  # type: ignore[union-attr]
    # The client answers close; the server finishes with closed, and later frames are ignored.
    assert [m.type for m in pair.send(pair.client.close("disconnect"))] == ["closed"]
    assert pair.send(b"\xff\xff") == []


def test_out_of_order_seq() -> None:
    pair = Pair()
    pair.opened()
    pair.client.seq += 1  # skip one
    _violates(pair, pair.client.ping(), "seq 3 does not follow 1")


def test_repeated_seq() -> None:
    pair = Pair()
    pair.opened()
    pair.client.seq -= 1
    _violates(pair, pair.client.ping(), "seq 1 does not follow 1")


def test_serverseq_ahead() -> None:
    pair = Pair()
    pair.opened()
    pair.client.serverseq = 5
    text = pair.client.ping()
    pair.client.serverseq = 1
    _violates(pair, text, "serverseq 5")


def test_session_id_mismatch() -> None:
    pair = Pair()
    pair.opened()
    pair.client.session_id = "8d2f1c3b-7777-4888-9999-aaaabbbbcccc"
    pair.server.receive_text(pair.client.ping(), T0)
    pair.events += pair.server.take_events()
    (text,) = pair.server.take_outgoing()
    assert json.loads(text)["parameters"] == {
        "reason": "error",
        "info": "Client Error: Session identifier mismatch",
    }


def test_null_session_id_adopts_the_first_message_id() -> None:
    pair = Pair()
    pair.server.session_id = NULL_UUID
    pair.opened()
    assert pair.server.session_id == pair.client.session_id


@pytest.mark.parametrize(
    "frame, needle",
    [
        ("{garbage", "Client Error: not JSON"),
        ('{"version":"2"}', "Client Error: id"),
        ("[1,2]", "Client Error: message"),
        ("x" * 70000, "longer than 65535"),
    ],
)
def test_garbage_text_frames(frame: str, needle: str) -> None:
    pair = Pair()
    pair.opened()
    _violates(pair, frame, needle)


def test_bad_parameters_name_the_field() -> None:
    pair = Pair()
    pair.opened()
    text = pair.client.ping()
    doc = json.loads(text)
    doc["parameters"] = {"rtt": "5 seconds"}
    _violates(pair, json.dumps(doc), "parameters.rtt")


def test_odd_stereo_frame() -> None:
    pair = Pair()
    pair.opened()
    _violates(pair, b"\xff" * 3199, "not a multiple of 2")


def test_audio_before_opened() -> None:
    pair = Pair()
    _violates(pair, b"\xff" * 1600, "audio received in state preparing")


def test_audio_while_paused() -> None:
    pair = Pair()
    pair.opened()
    pair.send(pair.client.paused())
    _violates(pair, b"\xff" * 3200, "audio received in state paused")


def test_second_open() -> None:
    pair = Pair()
    pair.opened()
    _violates(pair, pair.client.open(), "open unexpected in state active")


def test_messages_before_open() -> None:
    pair = Pair()
    _violates(pair, pair.client.paused(), "paused unexpected in state preparing")


def test_ping_message_class_round_trips_through_the_client() -> None:
    pair = Pair()
    pair.opened()
    text = pair.client.ping(rtt=0.25)
    assert json.loads(text)["parameters"] == {"rtt": "PT0.25S"}
    assert PingParameters(rtt=0.25).to_json() == {"rtt": "PT0.25S"}


def test_server_disconnect_and_unanswered_disconnect() -> None:
    pair = Pair()
    pair.opened()
    pair.server.disconnect("completed", "the call is done", T0)
    info = _disconnect(pair.flush())
    assert info.reason == "completed"
    assert pair.of(CallEnd) == [CallEnd(reason="completed", position=0.0, detail="the call is done")]
    assert pair.server.next_deadline() == T0 + 10.0
    pair.server.tick(T0 + 10.0)
    assert pair.server.transport_done
    assert len(pair.of(CallEnd)) == 1


def test_connection_lost_ends_the_call_once() -> None:
    pair = Pair()
    pair.opened()
    pair.server.connection_lost()
    pair.server.connection_lost()
    pair.flush()
    assert pair.of(CallEnd) == [CallEnd(reason="disconnected", position=0.0, detail="connection lost")]


def test_transcription_connector_pauses_for_an_unsupported_language_until_update() -> None:
    pair = Pair(SessionConfig(transcription_connector=True))
    (opened, pause) = pair.send(pair.client.open(language="xx-XX"))
    assert opened.type == "opened" and pause.type == "pause"
    pair.send(pair.client.paused())
    assert pair.send(pair.client.update("yy-YY")) == []  # still unsupported: stay paused
    (resume,) = pair.send(pair.client.update("en-us"))  # matching is case-insensitive
    assert resume.type == "resume"
    pair.send(pair.client.resumed())
    assert pair.server.state is State.ACTIVE and pair.server.language == "en-us"


def test_transcription_connector_with_a_supported_language_does_not_pause() -> None:
    pair = Pair(SessionConfig(transcription_connector=True))
    assert [m.type for m in pair.send(pair.client.open(language="en-US"))] == ["opened"]


def test_ping_rtt_is_recorded() -> None:
    pair = Pair()
    pair.opened()
    pair.send(pair.client.ping(rtt=0.04))
    assert pair.server.rtt == 0.04


def test_violation_unanswered_drops_the_transport() -> None:
    pair = Pair()
    pair.opened()
    pair.send(b"\xff")
    assert pair.server.next_deadline() == T0 + 10.0
    pair.server.tick(T0 + 9.9)
    assert not pair.server.transport_done
    pair.server.tick(T0 + 10.0)
    assert pair.server.transport_done


def test_audio_after_close_is_a_violation() -> None:
    pair = Pair()
    pair.opened()
    pair.send(pair.client.close())
    info = _disconnect(pair.send(b"\xff\xff"))
    assert "state closing" in (info.info or "")
    assert len(pair.of(CallEnd)) == 1


def test_the_test_client_catches_a_misbehaving_server() -> None:
    from actors.ingest.audiohook.messages import dump
    from tests.support.audiohook_client import ClientProtocolError

    pair = Pair()
    pair.opened()
    pair.client.ping()
    bad_pong = ServerMessage(id=pair.client.session_id, seq=2, clientseq=1, parameters=PongParameters())
    with pytest.raises(ClientProtocolError, match="pong clientseq"):
        pair.client.receive(dump(bad_pong))
    skipped = ServerMessage(id=pair.client.session_id, seq=5, clientseq=2, parameters=PongParameters())
    with pytest.raises(ClientProtocolError, match="does not follow"):
        pair.client.receive(dump(skipped))
