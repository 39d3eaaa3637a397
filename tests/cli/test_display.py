"""Progress views and the summary table."""

from __future__ import annotations

import io

from rich.console import Console

from actors.cli.progress import LiveProgress, PlainProgress, SilentProgress, make_progress
from actors.cli.summary import CallOutcome, summary_table


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_progress_prints_state_changes_only() -> None:
    stream = io.StringIO()
    view = PlainProgress(stream)
    view.start_call("a.wav", 12.34)
    view.update_call("a.wav", sent=3.0, heard="hello")
    view.update_call("a.wav", state="reconnecting")
    view.end_call("a.wav", "12.3 s audio in 2.0 s, 5 words")
    view.end_call("b.wav", "", error="b.wav: no such file")
    view.close()
    assert stream.getvalue().splitlines() == [
        "a.wav: streaming 12.3 s of audio",
        "a.wav: reconnecting",
        "a.wav: done, 12.3 s audio in 2.0 s, 5 words",
        "b.wav: FAILED: b.wav: no such file",
    ]


def test_auto_mode_follows_the_terminal() -> None:
    assert isinstance(make_progress("auto", io.StringIO(), 1, 1.0), PlainProgress)
    assert isinstance(make_progress("off", io.StringIO(), 1, 1.0), SilentProgress)
    live = make_progress("auto", FakeTTY(), 1, 1.0)
    try:
        assert isinstance(live, LiveProgress)
    finally:
        live.close()


def test_live_progress_shows_calls_and_outcomes() -> None:
    stream = FakeTTY()
    view = LiveProgress(Console(file=stream, force_terminal=True, width=120), total_calls=2, total_audio=20.0)
    view.start_call("call-1.wav", 10.0)
    view.update_call("call-1.wav", sent=5.0, heard="thank you for calling")
    view.update_call("unknown.wav", sent=1.0)  # ignored, no crash
    view.end_call("call-1.wav", "10.0 s audio in 1.0 s, 9 words")
    view.end_call("call-2.wav", "", error="call-2.wav: unsupported format: MP3")
    view.close()
    view.close()
    text = stream.getvalue()
    assert "call-1.wav: 10.0 s audio in 1.0 s, 9 words" in text
    assert "call-2.wav: unsupported format: MP3" in text
    assert "all calls 2/2" in text


def test_summary_table_has_totals_and_reasons() -> None:
    outcomes = [
        CallOutcome("a.wav", audio_seconds=10.0, wall_seconds=2.0, reconnects=1, words=20),
        CallOutcome("b.mp3", error="b.mp3: unsupported format: MP3"),
    ]
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(summary_table(outcomes, wall_seconds=4.0))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "failed: b.mp3: unsupported format: MP3" in text
    assert "2 calls" in text and "1 failed" in text
    assert "5.0x" in text  # 10 s of audio in 2 s
    assert outcomes[0].describe() == "10.0 s audio in 2.0 s, 20 words, 1 reconnect"
