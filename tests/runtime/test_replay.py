"""Replay buffer, WAV header handling, timeline rebasing and duplicate-final filtering (pure).

The message tests use the protocol classes (Listen V1 ``Results``, Flux ``TurnInfo``) and the
APIs' declared replay rules (``ApiSpec.replay``).
"""

from __future__ import annotations

import struct
from typing import Any

import attrs
import pytest

from actors.errors import OptionsError
from actors.protocol.base import UnknownMessage
from actors.protocol.listen_v1.messages import (
    ListenV1Results,
    ListenV1ResultsChannel,
    ListenV1ResultsChannelAlternativesItem,
    ListenV1ResultsChannelAlternativesItemWordsItem,
    ListenV1ResultsMetadata,
    ListenV1ResultsMetadataModelInfo,
)
from actors.protocol.listen_v1.replay import LISTEN_V1_REPLAY
from actors.protocol.listen_v2.messages import ListenV2TurnInfo, ListenV2TurnInfoWordsItem
from actors.protocol.listen_v2.replay import LISTEN_V2_REPLAY
from actors.runtime.replay import (
    AudioFormat,
    FinalDeduplicator,
    ReplayBuffer,
    TimelineRebaser,
    parse_wav_header,
)

PCM16K = AudioFormat(sample_rate=16000, frame_bytes=2)
_METADATA = ListenV1ResultsMetadata(
    request_id="r",
    model_info=ListenV1ResultsMetadataModelInfo(name="m", version="1", arch="a"),
    model_uuid="u",
)


def TurnInfo(
    event: str,
    turn_index: int,
    audio_window_start: float,
    audio_window_end: float,
    transcript: str,
    words: list[tuple[str, float, float]],
) -> ListenV2TurnInfo:
    return ListenV2TurnInfo(
        request_id="r",
        sequence_id=1,
        event=event,
        turn_index=turn_index,
        audio_window_start=audio_window_start,
        audio_window_end=audio_window_end,
        transcript=transcript,
        words=[ListenV2TurnInfoWordsItem(word=w, confidence=1.0, start=s, end=e) for w, s, e in words],
        end_of_turn_confidence=1.0,
    )


def results(
    words: list[tuple[str, float, float]], start: float, end: float, final: bool = True
) -> ListenV1Results:
    ws = [
        ListenV1ResultsChannelAlternativesItemWordsItem(word=w, start=s, end=e, confidence=1.0)
        for w, s, e in words
    ]
    alt = ListenV1ResultsChannelAlternativesItem(
        transcript=" ".join(w for w, _, _ in words), confidence=1.0, words=ws
    )
    return ListenV1Results(
        channel_index=[0, 1],
        duration=end - start,
        start=start,
        channel=ListenV1ResultsChannel(alternatives=[alt]),
        metadata=_METADATA,
        is_final=final,
    )


def wav_header(rate: int = 16000, channels: int = 1, extra_chunk: bool = False) -> bytes:
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * 2 * channels, 2 * channels, 16)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if extra_chunk:
        chunks += b"LIST" + struct.pack("<I", 3) + b"abc\x00"  # odd size: padded
    chunks += b"data" + struct.pack("<I", 0xFFFFFFFF)
    return b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE" + chunks


def test_audio_format_from_encoding() -> None:
    fmt = AudioFormat.from_encoding("linear16", 8000, channels=2)
    assert fmt.bytes_per_second == 32000
    assert fmt.seconds(16000) == 0.5
    assert fmt.position(0.3) == 2400 * 4  # exact frame, despite 0.3 not being exact in binary
    with pytest.raises(OptionsError, match="encoding"):
        AudioFormat.from_encoding("opus", 48000)
    with pytest.raises(OptionsError, match="sample_rate"):
        AudioFormat.from_encoding("linear16", None)


def test_buffer_acks_and_snapshots_positions() -> None:
    buf = ReplayBuffer(PCM16K)
    buf.append(b"\x01" * 32000)  # 1 s
    buf.append(b"\x02" * 16000)  # 0.5 s
    buf.ack(0.75)
    assert buf.start == 24000 and buf.start_seconds == 0.75
    assert buf.read(buf.start, buf.end) == b"\x01" * 8000 + b"\x02" * 16000
    assert buf.replay_header == b""
    buf.ack(0.5)  # going backwards changes nothing
    assert buf.start == 24000
    buf.ack(99.0)  # beyond the end: everything is covered
    assert buf.buffered_bytes == 0 and buf.start == buf.end == 48000


def test_buffer_bound_drops_oldest_whole_frames() -> None:
    buf = ReplayBuffer(AudioFormat(sample_rate=10, frame_bytes=4), max_seconds=1.0)  # 40 bytes
    buf.append(bytes(range(30)))
    buf.append(bytes(range(30, 50)))
    assert buf.start == 12  # 10 bytes over the 40-byte bound, rounded up to whole frames
    assert buf.buffered_bytes == 38
    assert buf.dropped_bytes == 12
    assert buf.dropped_seconds == pytest.approx(0.3)
    assert buf.read(0, buf.end) == bytes(range(12, 50))


def test_buffer_keeps_wav_header_and_counts_audio_after_it() -> None:
    header = wav_header(extra_chunk=True)
    buf = ReplayBuffer(None)
    buf.append(header[:10])  # header split across chunks
    assert buf.format is None
    buf.append(header[10:] + b"\x00" * 3200)
    assert buf.format == PCM16K
    assert buf.header == header
    assert buf.end == 3200
    buf.ack(0.05)
    assert buf.replay_header == header and buf.start == 1600 and buf.buffered_bytes == 1600


def test_non_wav_container_is_rejected_for_lossless() -> None:
    with pytest.raises(OptionsError, match="WAV"):
        parse_wav_header(b"OggS" + b"\x00" * 20)


def test_discard_all_keeps_position() -> None:
    buf = ReplayBuffer(PCM16K)
    buf.append(b"\x00" * 640)
    buf.discard_all()
    assert buf.start == 640 and buf.read(0, buf.end) == b""


def test_buffer_matches_a_flat_copy_under_appends_acks_bound_and_reads() -> None:
    # The buffer keeps chunk references; every read must equal the same slice of one flat copy.
    import random

    rng = random.Random(7)
    fmt = AudioFormat(sample_rate=100, frame_bytes=2)  # 200 bytes/s
    buf = ReplayBuffer(fmt, max_seconds=3.0)  # 600 bytes at most
    flat = bytearray()
    for step in range(3000):
        chunk = bytes(rng.randrange(256) for _ in range(rng.choice((2, 8, 40, 64))))
        buf.append(chunk if step % 3 else bytearray(chunk))
        flat += chunk
        if rng.random() < 0.1:
            buf.ack_position(rng.randrange(buf.start, buf.end + 20))
        assert buf.buffered_bytes <= 600 and buf.end == len(flat)
        lo = rng.randrange(max(0, buf.start - 10), buf.end + 1)
        hi = rng.randrange(lo, buf.end + 10)
        assert buf.read(lo, hi) == bytes(flat[max(lo, buf.start) : min(hi, buf.end)])
    assert buf.read(buf.start, buf.end) == bytes(flat[buf.start :])
    assert buf.dropped_bytes > 0


def test_rebaser_shifts_results_words_and_events() -> None:
    rebaser = TimelineRebaser(LISTEN_V1_REPLAY)
    msg = results([("hello", 0.1, 0.4), ("world", 0.5, 0.9)], 0.0, 1.0)
    assert rebaser.rebase(msg) is msg  # first connection: nothing to do
    rebaser.start_connection(2.5)
    shifted = rebaser.rebase(msg)
    assert shifted.start == 2.5 and shifted.duration == 1.0
    assert [(w.start, w.end) for w in shifted.channel.alternatives[0].words] == [(2.6, 2.9), (3.0, 3.4)]
    assert msg.start == 0.0  # the original is untouched


def test_rebaser_renumbers_flux_turns() -> None:
    rebaser = TimelineRebaser(LISTEN_V2_REPLAY)
    for i in range(2):
        rebaser.rebase(TurnInfo("EndOfTurn", i, i, i + 1.0, "x", []))
    rebaser.start_connection(4.0)
    turn = rebaser.rebase(TurnInfo("Update", 0, 0.0, 0.5, "hi", [("hi", 0.1, 0.3)]))
    assert turn.turn_index == 2
    assert (turn.audio_window_start, turn.audio_window_end) == (4.0, 4.5)
    assert (turn.words[0].start, turn.words[0].end) == (4.1, 4.3)


def test_deduplicator_drops_repeated_finals_and_trims_overlaps() -> None:
    dedup = FinalDeduplicator(LISTEN_V1_REPLAY)
    first = results([("a", 0.1, 0.3), ("b", 0.5, 0.8)], 0.0, 1.0)
    assert dedup.process(first) is first
    assert dedup.covered_until() == 1.0
    assert dedup.process(first) is None  # a replay re-recognised the same final
    overlap = results([("b", 0.5, 0.8), ("c", 1.1, 1.4)], 0.5, 1.5)
    kept: Any = dedup.process(overlap)
    assert [w.word for w in kept.channel.alternatives[0].words] == ["c"]
    assert kept.channel.alternatives[0].transcript == "c"
    assert dedup.covered_until() == 1.5
    interim = results([("d", 1.6, 1.9)], 1.5, 2.0, final=False)
    assert dedup.process(interim) is interim  # interims pass untouched
    assert dedup.dropped == 1


def test_deduplicator_coverage_waits_for_every_channel() -> None:
    dedup = FinalDeduplicator(LISTEN_V1_REPLAY)
    left = attrs.evolve(results([], 0.0, 2.0), channel_index=[0, 2])
    right = attrs.evolve(results([], 0.0, 1.0), channel_index=[1, 2])
    dedup.process(left)
    assert dedup.covered_until() == 0.0
    dedup.process(right)
    assert dedup.covered_until() == 1.0


def test_deduplicator_handles_flux_end_of_turn() -> None:
    dedup = FinalDeduplicator(LISTEN_V2_REPLAY)
    eot = TurnInfo("EndOfTurn", 0, 0.0, 1.2, "hi", [("hi", 0.1, 0.5)])
    assert dedup.process(eot) is eot
    assert dedup.process(eot) is None
    assert dedup.covered_until() == 1.2


def test_rules_leave_unknown_and_foreign_messages_alone() -> None:
    unknown = UnknownMessage(type="Results", raw={"type": "Results", "is_final": True, "start": "x"})
    eot = TurnInfo("EndOfTurn", 0, 0.0, 1.0, "hi", [])
    for rules, foreign in ((LISTEN_V1_REPLAY, eot), (LISTEN_V2_REPLAY, results([], 0.0, 1.0))):
        for msg in (unknown, foreign, object(), None):
            assert rules.final_span(msg) is None
            assert rules.rebase(msg, 2.0, 3) is msg
            assert rules.sequence_id(msg) is None
            assert not rules.is_greeting(msg) and not rules.is_summary(msg)
            assert rules.transcript(msg) == ""
    dedup = FinalDeduplicator(LISTEN_V1_REPLAY)
    assert dedup.process(unknown) is unknown and dedup.covered_until() == 0.0


def test_listen_v1_rules_read_spans_and_transcripts_of_every_channel() -> None:
    right = attrs.evolve(results([("b", 0.2, 0.4)], 0.0, 1.5), channel_index=[1, 2])
    span = LISTEN_V1_REPLAY.final_span(right)
    assert span is not None and (span.channel, span.channels, span.start, span.end) == (1, 2, 0.0, 1.5)
    assert LISTEN_V1_REPLAY.transcript(right) == ""  # StreamResult.transcript reads channel 0
    assert LISTEN_V1_REPLAY.transcript(results([("a", 0.0, 0.3)], 0.0, 1.0)) == "a"
    assert LISTEN_V1_REPLAY.final_span(results([], 0.0, 1.0, final=False)) is None
