"""AudioHook session flows end to end (the AudioHook protocol) on the Transcription Connector route.

Real sockets, a real SQLite store, the deterministic engine behind the embedded server. Every server
message passes the client's checks (``seq`` = last + 1, ``clientseq`` not ahead, ``pong.clientseq`` =
the ping's ``seq``), and ``closed`` is always the last message, after every transcript event.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from actors.ingest.audiohook.messages import (
    ClosedParameters,
    DisconnectParameters,
    EventParameters,
    OpenedParameters,
    PauseParameters,
    PongParameters,
    ResumeParameters,
    parse_duration,
)
from actors.ingest.audiohook.session import DEFAULT_LANGUAGES
from actors.ingest.audiohook.transcripts import transcript_entity
from actors.ingest.finals import UtteranceAssembler, segment_from_turn
from actors.ingest.service import TRANSCRIPTION_PATH, IngestService
from actors.ingest.timeline import Timeline
from actors.protocol.listen_v2.messages import ListenV2TurnInfo
from actors.server import LocalServer
from actors.server.faults import FaultRule
from actors.server.observed import HandshakeSeen
from tests.support.audiohook_client import AudioHookClient
from tests.support.ingest import (
    audiohook_call,
    conversation,
    event_tokens,
    ingest_service,
    live_session,
    same_words,
    shifted,
    stored_words,
)

FIRST = conversation([(0, ["hello", "thanks", "for", "calling"]), (1, ["hi", "there"])])
SECOND = conversation([(1, ["my", "order", "is", "late"]), (0, ["let", "me", "see"])])
THIRD = conversation([(0, ["found", "it"])])


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/ingest.sqlite3"


def assert_closed_last(client: AudioHookClient) -> None:
    """``closed`` is the last message and no transcript event follows it (nor a disconnect precedes it)."""
    assert client.received[-1].type == "closed", [m.type for m in client.received]
    assert [m.type for m in client.received].count("closed") == 1


def assert_events_match_store(service: IngestService, client: AudioHookClient) -> None:
    """Every stored word came back as a transcript token at the same offset."""
    stored = sorted((w.channel, w.word, w.start) for w in stored_words(service, client.session_id))
    tokens = event_tokens(client)
    assert len(tokens) == len(stored)
    for (c1, w1, s1), (c2, w2, s2) in zip(tokens, stored, strict=True):
        assert (c1, w1) == (c2, w2) and abs(s1 - s2) <= 0.0015, (tokens, stored)


def test_ping_pong_during_a_call(tmp_path: Path) -> None:
    half = len(FIRST.audio) // 2 // 2 * 2

    async def run() -> AudioHookClient:
        async with live_session(service, TRANSCRIPTION_PATH) as s:
            await s.send(s.client.ping())
            await s.until(PongParameters)
            await s.audio(FIRST.audio[:half])
            await s.send(s.client.ping(rtt=0.012))
            await s.until(PongParameters)
            await s.audio(FIRST.audio[half:])
            await s.send(s.client.ping())
            await s.until(PongParameters)
            await s.close()
            return s.client

    with ingest_service(sqlite_url(tmp_path)) as service:
        client = asyncio.run(run())
        assert [m.type for m in client.received].count("pong") == 3
        assert stored_words(service, client.session_id) == list(FIRST.words)
        assert_events_match_store(service, client)
        assert_closed_last(client)


def test_pause_resume_and_discarded_shift_the_timeline(tmp_path: Path) -> None:
    """Audio after ``resumed.discarded`` = 2.5 s and a ``discarded`` of 1.25 s lands that much later
    (the call timeline = audio received + Σdiscarded), in the store and in the events."""
    gap, dropped = 2.5, 1.25

    async def run() -> AudioHookClient:
        async with live_session(service, TRANSCRIPTION_PATH) as s:
            await s.audio(FIRST.audio)
            await s.send(s.client.paused())
            await s.send(s.client.paused())  # a duplicate is ignored (§1.5)
            await s.send(s.client.resumed(discarded=gap))
            await s.audio(SECOND.audio)
            await s.send(s.client.discarded(dropped))
            await s.audio(THIRD.audio)
            await s.close()
            return s.client

    with ingest_service(sqlite_url(tmp_path)) as service:
        client = asyncio.run(run())
        want = [
            *FIRST.words,
            *shifted(SECOND.words, FIRST.seconds + gap),
            *shifted(THIRD.words, FIRST.seconds + gap + SECOND.seconds + dropped),
        ]
        got = stored_words(service, client.session_id)
        assert same_words(got, want), (got, want)
        detail = service.store.get_call(client.session_id)
        assert detail is not None and detail.call.status == "completed"
        last = max(detail.segments, key=lambda seg: seg.start)
        assert last.start >= FIRST.seconds + gap + SECOND.seconds + dropped
        assert_events_match_store(service, client)
        assert_closed_last(client)


def test_language_update_mid_call_switches_streams(tmp_path: Path) -> None:
    """An ``update`` to another language: a new Deepgram stream from the update's position on; every
    word stored once with its call time, the language recorded, both request ids kept."""

    async def run() -> AudioHookClient:
        async with live_session(service, TRANSCRIPTION_PATH, language="en-US") as s:
            await s.audio(FIRST.audio)
            await s.send(s.client.update("en-GB"))
            await s.audio(SECOND.audio)
            await s.close()
            return s.client

    with ingest_service(sqlite_url(tmp_path)) as service:
        client = asyncio.run(run())
        want = [*FIRST.words, *shifted(SECOND.words, FIRST.seconds)]
        got = stored_words(service, client.session_id)
        assert same_words(got, want), (got, want)
        detail = service.store.get_call(client.session_id)
        assert detail is not None
        assert detail.call.language == "en-GB"
        assert detail.call.status == "completed"
        assert len(set(detail.call.request_ids)) == 2, detail.call.request_ids
        assert_events_match_store(service, client)
        assert_closed_last(client)


def test_client_error_then_close(tmp_path: Path) -> None:
    """The client reports ``error`` then closes with ``error``: ``closed`` comes, what was heard is kept,
    the call is stored as failed."""

    async def run() -> AudioHookClient:
        async with live_session(service, TRANSCRIPTION_PATH) as s:
            await s.audio(FIRST.audio)
            await s.send(s.client.error(500, "media source failed"))
            await s.send(s.client.close("error"))
            await s.until(ClosedParameters)
            return s.client

    with ingest_service(sqlite_url(tmp_path)) as service:
        client = asyncio.run(run())
        assert not any(isinstance(m.parameters, DisconnectParameters) for m in client.received)
        assert stored_words(service, client.session_id) == list(FIRST.words)
        detail = service.store.get_call(client.session_id)
        assert detail is not None and detail.call.status == "failed"
        assert_events_match_store(service, client)
        assert_closed_last(client)


def test_supported_languages_are_listed_when_asked(tmp_path: Path) -> None:
    async def run(asked: bool) -> AudioHookClient:
        async with live_session(service, TRANSCRIPTION_PATH, supported_languages=asked) as s:
            await s.close()
            return s.client

    with ingest_service(sqlite_url(tmp_path)) as service:
        client = asyncio.run(run(True))
        opened = client.received[0].parameters
        assert isinstance(opened, OpenedParameters)
        assert opened.supported_languages == DEFAULT_LANGUAGES
        assert_closed_last(client)
        opened = asyncio.run(run(False)).received[0].parameters
        assert isinstance(opened, OpenedParameters) and opened.supported_languages is None


async def pause_until_update(service: IngestService) -> AudioHookClient:
    """TC open in ``xx-YY``: expect ``pause``, pause, ``update`` to en-US, expect ``resume``, resume after
    skipping 1 s, stream :data:`FIRST`, close."""
    async with live_session(service, TRANSCRIPTION_PATH, language="xx-YY") as s:
        await s.until(PauseParameters)
        await s.send(s.client.paused())
        await s.send(s.client.update("en-US"))
        await s.until(ResumeParameters)
        await s.send(s.client.resumed(discarded=1.0))
        await s.audio(FIRST.audio)
        await s.close()
        return s.client


def check_transcribed_after_update(service: IngestService, client: AudioHookClient) -> None:
    got = stored_words(service, client.session_id)
    assert same_words(got, shifted(FIRST.words, 1.0)), got
    detail = service.store.get_call(client.session_id)
    assert detail is not None and detail.call.language == "en-US"
    assert detail.call.status == "completed"
    assert any(isinstance(m.parameters, EventParameters) for m in client.received)
    assert_events_match_store(service, client)
    assert_closed_last(client)


def test_unsupported_language_pauses_until_an_update_names_a_supported_one(tmp_path: Path) -> None:
    """TC open with an unsupported language -> ``pause``; the client pauses; ``update`` to en-US ->
    ``resume``; the audio that follows is transcribed (on the call timeline) and reported."""
    with ingest_service(sqlite_url(tmp_path)) as service:
        check_transcribed_after_update(service, asyncio.run(pause_until_update(service)))


def test_unsupported_language_rejected_by_deepgram_does_not_fail_the_call(tmp_path: Path) -> None:
    """The same, with a Deepgram that refuses the handshake of a stream in ``xx-YY`` (400, as Deepgram
    does for a language it does not know): the refused first stream carried no audio and does not
    make the call fail."""
    handshakes: list[str] = []

    def refuse_unknown_language(seen: HandshakeSeen) -> None:
        handshakes.append(seen.path)
        if "language=xx-YY" in seen.path:  # runs before the server evaluates faults for this handshake
            deepgram.faults.add(FaultRule(kind="reject", status=400, times=1))

    with (
        LocalServer(engine="deterministic", on_handshake=refuse_unknown_language) as deepgram,
        ingest_service(sqlite_url(tmp_path), deepgram=deepgram) as service,
    ):
        check_transcribed_after_update(service, asyncio.run(pause_until_update(service)))
    assert any("language=xx-YY" in path for path in handshakes), handshakes


def test_flux_stereo_call_gets_one_stream_per_channel(tmp_path: Path) -> None:
    """``api="listen.v2"``: a stereo call runs two Flux streams (one per channel); every word is stored
    on its channel with its call times (the local Flux server sends word times), and comes back as events."""
    with ingest_service(sqlite_url(tmp_path), api="listen.v2") as service:
        client = asyncio.run(audiohook_call(service, FIRST, TRANSCRIPTION_PATH))
        got = stored_words(service, client.session_id)
        assert same_words(got, list(FIRST.words)), (got, FIRST.words)
        detail = service.store.get_call(client.session_id)
        assert detail is not None and detail.call.status == "completed"
        assert len(set(detail.call.request_ids)) == 2, detail.call.request_ids
        assert {s.channel for s in detail.segments} == {0, 1}
        assert_events_match_store(service, client)
        assert_closed_last(client)


def test_flux_stereo_call_with_one_call_slot_hears_both_channels_while_it_runs(tmp_path: Path) -> None:
    """``max_calls=1`` with Flux: the call's two streams both run (the second does not queue behind the
    first until the call ends): transcripts of both channels come back before the client closes."""

    async def run() -> AudioHookClient:
        async with live_session(service, TRANSCRIPTION_PATH) as s:
            await s.audio(SECOND.audio)
            heard: set[int] = set()
            while heard != {0, 1}:
                message = await s.until(EventParameters, timeout=10)
                assert isinstance(message.parameters, EventParameters)
                heard |= {int(e.data["channelId"]) for e in message.parameters.entities}  # type: ignore[index,call-overload]
            await s.close()
            return s.client

    with ingest_service(sqlite_url(tmp_path), api="listen.v2", max_calls=1, max_waiting=0) as service:
        client = asyncio.run(run())
        assert same_words(stored_words(service, client.session_id), list(SECOND.words))
        assert_closed_last(client)


def test_invalid_deepgram_options_fail_the_call_clearly(tmp_path: Path) -> None:
    """A ``--param`` Deepgram rejects (``smart_format=maybe``): the client gets ``disconnect`` ``error``
    naming the option, and the call's row is closed ``failed`` (not left ``active``)."""

    async def run() -> AudioHookClient:
        async with live_session(service, TRANSCRIPTION_PATH) as s:
            await s.send(s.client.close("disconnect"))
            await s.until(ClosedParameters)
            return s.client

    with ingest_service(sqlite_url(tmp_path), params=(("smart_format", "maybe"),)) as service:
        client = asyncio.run(run())
        disconnect = client.received[1].parameters
        assert isinstance(disconnect, DisconnectParameters), client.received
        assert disconnect.reason == "error"
        assert (disconnect.info or "").startswith("Internal Server Error") and "smart_format" in (
            disconnect.info or ""
        )
        detail = service.store.get_call(client.session_id)
        assert detail is not None and detail.call.status == "failed"
        assert service.metrics.value("actors_ingest_active_calls", platform="audiohook") == 0


def test_flux_words_without_times_get_ordered_offsets_inside_their_turn() -> None:
    """Deepgram's Flux may send words as ``{word, confidence}`` only (the local server
    always adds times, so this is checked on the mapping itself): the store keeps the words as sent,
    and the AudioHook tokens get distinct, ordered offsets inside the turn's window on the call
    timeline -- not all ``PT0S``."""
    timeline = Timeline()
    timeline.sent(position=0.0, seconds=2.0)
    timeline.sent(position=7.0, seconds=3.0)  # 5 s discarded: stream 2.0 s is call 7.0 s
    turn = ListenV2TurnInfo.parse_raw(
        json.dumps(
            {
                "type": "TurnInfo",
                "request_id": "r",
                "sequence_id": 4,
                "event": "EndOfTurn",
                "turn_index": 1,
                "audio_window_start": 2.5,
                "audio_window_end": 3.7,
                "transcript": "Where is my order?",
                "words": [{"word": w, "confidence": 0.9} for w in ("Where", "is", "my", "order?")],
                "end_of_turn_confidence": 0.8,
            }
        )
    )
    segment = segment_from_turn("call", 1, turn, timeline)
    assert segment is not None and (segment.start, segment.end) == (7.5, 8.7)
    assert all("start" not in w for w in segment.words), "the store keeps what Deepgram sent"
    (utterance,) = UtteranceAssembler().add(segment, speech_final=True)
    data = transcript_entity(utterance, base=0.0).data
    assert isinstance(data, dict)
    tokens = data["alternatives"][0]["interpretations"][0]["tokens"]  # type: ignore[index]
    offsets = [parse_duration(t["offset"], "offset") for t in tokens]
    assert offsets == sorted(set(offsets)) and len(offsets) == 4, offsets
    assert offsets[0] >= 7.5 and offsets[-1] < 8.7
    ends = [o + parse_duration(t["duration"], "duration") for o, t in zip(offsets, tokens, strict=True)]
    assert max(ends) <= 8.7 + 1e-9
