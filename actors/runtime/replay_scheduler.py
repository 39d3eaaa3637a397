"""What a new connection of a supervised stream is sent first, and when.

When a connection is attached, :class:`ReplayScheduler` sends it the timeline's
:class:`~actors.runtime.timeline.ReplayStart`: the container header, then the uncovered audio (or
the backlog) in frames of at most :data:`REPLAY_FRAME_SECONDS`, each recorded control message
after the audio up to its position. With a ``speed`` (times real time, see
:mod:`actors.runtime.pacing`) the replay is paced: :meth:`ReplayScheduler.start` and
:meth:`ReplayScheduler.step` send what the pacer allows by ``now`` and return when to call
:meth:`~ReplayScheduler.step` again; while it catches up, live audio stays in the replay buffer
and control messages queue behind it.

The scheduler never reads a clock, takes a lock or owns a thread: the stream passes ``now``,
serialises calls, and runs the steps from its owner's timer. A send that raises means the
connection is dying; the scheduler stops sending to it (its ``Closed`` event drives the restart).
"""

from __future__ import annotations

import logging
from typing import Protocol

from actors.runtime.controls import ControlEntry
from actors.runtime.pacing import ReplayPacer
from actors.runtime.timeline import ReplayStart, StreamTimeline

log = logging.getLogger("actors.runtime.replay_scheduler")

#: Replayed audio goes out in frames of at most this many seconds (Deepgram: 20-250 ms per message).
REPLAY_FRAME_SECONDS = 0.25


class FrameSender(Protocol):
    """Where the scheduler sends: a connection (``Connection`` has both methods)."""

    def send_audio(self, data: bytes) -> None:
        """Send one binary frame of audio."""

    def send_text(self, frame: str) -> None:
        """Send one encoded text frame."""


class ReplayScheduler:
    """Sends a new connection its replay and due control messages, paced at ``speed`` (None: unpaced).

    State per connection: the ``cursor`` (audio position handed to it, None without a replay
    buffer), the ``outbox`` (control messages due on it, in order) and the pacer while a paced
    replay catches up.
    """

    def __init__(self, timeline: StreamTimeline, speed: float | None, stream_id: str = "") -> None:
        self.timeline = timeline
        self.speed = speed
        self.stream_id = stream_id
        self.cursor: int | None = None
        # A list, not a deque: it is short and mostly empty, and an empty deque costs ~770 bytes.
        self.outbox: list[ControlEntry] = []
        self._pacer: ReplayPacer | None = None
        self._pace_base = 0

    @property
    def catching_up(self) -> bool:
        """Whether a paced replay is still behind (live audio and controls wait for it)."""
        return self._pacer is not None

    def reset(self) -> None:
        """The connection is gone: forget its cursor, outbox and pacer."""
        self._pacer, self.cursor = None, None
        self.outbox.clear()

    def start(self, conn: FrameSender, plan: ReplayStart, now: float) -> tuple[float, float | None]:
        """Send ``plan`` to the new connection ``conn``.

        Returns ``(seconds of audio replayed, delay)``: call :meth:`step` after ``delay`` seconds
        while it is not None (a paced replay).
        """
        self.reset()
        buffer = self.timeline.buffer
        if buffer is None:
            self._send_backlog(conn, plan)
            return 0.0, None
        self.cursor = plan.start
        if plan.header and not self._send(conn, plan.header):
            return 0.0, None
        self.outbox.extend(plan.controls)
        fmt = buffer.format
        if self.speed is None or fmt is None or buffer.end <= plan.start:
            self._pump(conn, buffer.end)
            return plan.replay_seconds, None
        self._pace_base = plan.start
        self._pacer = ReplayPacer(self.speed, fmt.bytes_per_second, fmt.frame_bytes, now)
        return plan.replay_seconds, self.step(conn, now)

    def step(self, conn: FrameSender, now: float) -> float | None:
        """One step of a paced replay: send what the pacer allows by ``now``.

        Returns the delay until the next step, or None once the replay has caught up (live audio
        goes straight to the connection again).
        """
        pacer, buffer, cursor = self._pacer, self.timeline.buffer, self.cursor
        if pacer is None or buffer is None or cursor is None:
            return None
        allowed = self._pace_base + pacer.allowance(now)
        if allowed < buffer.end:  # whole replay frames while behind: no slivers of audio
            cursor = max(cursor, buffer.start)
            frame = max(1, int(REPLAY_FRAME_SECONDS * pacer.bytes_per_second))
            allowed = cursor + max(0, allowed - cursor) // frame * frame
        self._pump(conn, min(buffer.end, allowed))
        if self.cursor is not None and self.cursor >= buffer.end and not self.outbox:
            self._pacer = None
            return None
        return REPLAY_FRAME_SECONDS / pacer.speed

    def send_control(self, conn: FrameSender, frame: str) -> bool:
        """Send one control frame now; False when the connection refused it (it is dying)."""
        try:
            conn.send_text(frame)
        except Exception as exc:  # the connection is dying: its Closed event drives the restart
            log.debug("stream %s: control on a dying connection: %r", self.stream_id, exc)
            return False
        return True

    def _send(self, conn: FrameSender, data: bytes) -> bool:
        try:
            conn.send_audio(data)
        except Exception as exc:  # the connection is dying: its Closed event drives the restart
            log.debug("stream %s: replay into a dying connection: %r", self.stream_id, exc)
            return False
        return True

    def _send_due_controls(self, conn: FrameSender, upto: int | None) -> bool:
        """Send the outbox's messages due at or before ``upto`` (None: all); False if sending failed."""
        outbox = self.outbox
        while outbox and (upto is None or outbox[0].position <= upto):
            entry = outbox.pop(0)
            if not self.send_control(conn, entry.frame):
                return False
            self.timeline.control_sent(entry)
        return True

    def _send_backlog(self, conn: FrameSender, plan: ReplayStart) -> None:
        """A stream without a replay buffer: its backlog, each control after the audio before it."""
        audio, start = plan.backlog, plan.start
        end = start + len(audio)
        self.outbox.extend(plan.controls)
        sent = start
        while self.outbox:
            due = min(max(self.outbox[0].position, sent), end)
            if due > sent:
                if not self._send(conn, audio[sent - start : due - start]):
                    return
                sent = due
            if not self._send_due_controls(conn, due):
                return
        if sent < end:
            self._send(conn, audio[sent - start :])

    def _pump(self, conn: FrameSender, upto: int) -> None:
        """Send buffered audio from the cursor up to position ``upto``, controls at their places."""
        buffer = self.timeline.buffer
        assert buffer is not None and self.cursor is not None
        fmt = buffer.format
        cursor = max(self.cursor, buffer.start)
        frame = max(1, int(REPLAY_FRAME_SECONDS * fmt.bytes_per_second)) if fmt else max(1, upto - cursor)
        outbox = self.outbox
        while True:
            due = outbox[0].position if outbox else None
            stop = upto if due is None or due > upto else max(cursor, due)
            for at in range(cursor, stop, frame):
                if not self._send(conn, buffer.read(at, min(at + frame, stop))):
                    self.cursor = at
                    self.timeline.forget_sent(at)
                    return
            cursor = max(cursor, stop)
            if due is None or due > upto or not self._send_due_controls(conn, cursor):
                break
        self.cursor = cursor
        self.timeline.forget_sent(cursor)


__all__ = ["REPLAY_FRAME_SECONDS", "FrameSender", "ReplayScheduler"]
