"""The replay scheduler, pure: what a new connection is sent first, in which frames, at what pace.

No sockets: the scheduler sends to a recorder of frames, the clock is passed in.
"""

from __future__ import annotations

from actors.protocol.listen_v1.replay import LISTEN_V1_REPLAY
from actors.runtime.replay import AudioFormat
from actors.runtime.replay_scheduler import REPLAY_FRAME_SECONDS, ReplayScheduler
from actors.runtime.timeline import StreamTimeline

PCM16K = AudioFormat(sample_rate=16000, frame_bytes=2)
SECOND = 32000
FRAME = int(REPLAY_FRAME_SECONDS * SECOND)


class Recorder:
    """Frames as sent: ("audio", bytes) or ("text", frame); ``fail_after`` sends then raise."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.frames: list[tuple[str, object]] = []
        self.fail_after = fail_after

    def _record(self, kind: str, value: object) -> None:
        if self.fail_after is not None and len(self.frames) >= self.fail_after:
            raise ConnectionError("dying")
        self.frames.append((kind, value))

    def send_audio(self, data: bytes) -> None:
        self._record("audio", len(data))

    def send_text(self, frame: str) -> None:
        self._record("text", frame)


def lossless_timeline(seconds: float) -> StreamTimeline:
    timeline = StreamTimeline(LISTEN_V1_REPLAY, PCM16K, timeline=True, lossless=True)
    timeline.append(b"\x00" * int(seconds * SECOND))
    return timeline


def test_an_unpaced_replay_goes_in_frames_with_each_control_at_its_place() -> None:
    timeline = lossless_timeline(0.5)
    timeline.record_control('{"type":"Finalize"}', "Finalize")
    timeline.append(b"\x00" * (SECOND // 2))
    scheduler = ReplayScheduler(timeline, speed=None)
    conn = Recorder()
    replayed, delay = scheduler.start(conn, timeline.start_connection(), now=0.0)
    assert (replayed, delay) == (1.0, None) and not scheduler.catching_up
    assert conn.frames == [
        ("audio", FRAME),
        ("audio", FRAME),
        ("text", '{"type":"Finalize"}'),
        ("audio", FRAME),
        ("audio", FRAME),
    ]


def test_a_paced_replay_sends_whole_frames_at_speed_then_catches_up() -> None:
    timeline = lossless_timeline(1.0)
    scheduler = ReplayScheduler(timeline, speed=2.0)
    conn = Recorder()
    replayed, delay = scheduler.start(conn, timeline.start_connection(), now=10.0)
    assert replayed == 1.0 and conn.frames == [] and scheduler.catching_up
    assert delay == REPLAY_FRAME_SECONDS / 2.0
    assert scheduler.step(conn, now=10.125) is not None  # 0.25 s of audio allowed: one frame
    assert conn.frames == [("audio", FRAME)]
    timeline.record_control('{"type":"Finalize"}', "Finalize")  # sent while catching up: queued
    scheduler.outbox.append(next(iter(timeline.controls)))
    assert scheduler.step(conn, now=10.3) is not None  # 0.6 s allowed: still one more whole frame
    assert len(conn.frames) == 2
    assert scheduler.step(conn, now=10.5) is None  # all of it allowed: caught up
    assert not scheduler.catching_up
    assert conn.frames[2:] == [("audio", FRAME), ("audio", FRAME), ("text", '{"type":"Finalize"}')]


def test_a_stream_without_a_buffer_gets_its_backlog_with_controls_in_order() -> None:
    timeline = StreamTimeline(None, None, timeline=False, lossless=False)
    timeline.append(b"\x00" * 100)
    timeline.record_control('{"type":"KeepAlive"}', "Flush")
    timeline.append(b"\x00" * 50)
    conn = Recorder()
    assert ReplayScheduler(timeline, speed=None).start(conn, timeline.start_connection(), 0.0) == (0.0, None)
    assert conn.frames == [("audio", 100), ("text", '{"type":"KeepAlive"}'), ("audio", 50)]
    assert len(timeline.controls) == 0  # not replayed later: sent once, forgotten


def test_a_dying_connection_stops_the_replay_without_raising() -> None:
    timeline = lossless_timeline(1.0)
    scheduler = ReplayScheduler(timeline, speed=None)
    conn = Recorder(fail_after=2)
    scheduler.start(conn, timeline.start_connection(), now=0.0)
    assert conn.frames == [("audio", FRAME), ("audio", FRAME)]
    assert scheduler.cursor == 2 * FRAME
    assert timeline.has_uncovered_audio()  # lossless: all of it still there for the next connection
