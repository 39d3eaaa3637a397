"""Progress of a batch of calls: a live rich display on a terminal, plain lines otherwise.

Both views take the same calls from any thread: `ProgressView.start_call`, `update_call`,
`end_call`. The live view shows one line per active call (bar, audio sent, state, last words
heard) and an overall bar of audio seconds; the plain view prints one line per state change so
logs stay readable.
"""

from __future__ import annotations

import threading
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

PROGRESS_MODES = ("auto", "live", "plain", "off")


class ProgressView:
    """What the transcribe command reports while calls run. Every method is thread-safe.

    The base view reports nothing; each view overrides what it shows.
    """

    def start_call(self, name: str, audio_seconds: float) -> None:
        """A call began streaming."""

    def update_call(
        self, name: str, *, sent: float | None = None, heard: str | None = None, state: str | None = None
    ) -> None:
        """Audio seconds sent so far, the latest words heard, or a new state (e.g. "reconnecting")."""

    def end_call(self, name: str, summary: str, error: str | None = None) -> None:
        """A call finished; ``error`` is the reason when it failed."""

    def close(self) -> None:
        """Stop the display (joins its refresh thread, if any). Idempotent."""


class PlainProgress(ProgressView):
    """One line per state change, for logs and pipes."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def _print(self, line: str) -> None:
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()

    def start_call(self, name: str, audio_seconds: float) -> None:
        """Print that the call started."""
        self._print(f"{name}: streaming {audio_seconds:.1f} s of audio")

    def update_call(
        self, name: str, *, sent: float | None = None, heard: str | None = None, state: str | None = None
    ) -> None:
        """Print state changes only; audio progress and words are too chatty for a log."""
        if state is not None:
            self._print(f"{name}: {state}")

    def end_call(self, name: str, summary: str, error: str | None = None) -> None:
        """Print the outcome."""
        self._print(f"{name}: FAILED: {error}" if error else f"{name}: done, {summary}")


class SilentProgress(ProgressView):
    """Reports nothing (``--progress off``): every method is the base view's no-op."""


class LiveProgress(ProgressView):
    """A rich live display: a line per active call and an overall bar; finished calls scroll above."""

    def __init__(self, console: Console, total_calls: int, total_audio: float) -> None:
        self._console = console
        self._progress = Progress(
            TextColumn("{task.description}", style="bold"),
            BarColumn(bar_width=24),
            TextColumn("{task.completed:>6.1f}/{task.total:.1f} s"),
            TextColumn("{task.fields[state]}", style="cyan"),
            TextColumn("{task.fields[heard]}", style="dim"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
            refresh_per_second=8,
        )
        self._lock = threading.Lock()
        self._tasks: dict[str, TaskID] = {}
        self._sent: dict[str, float] = {}
        self._done = 0
        self._total_calls = total_calls
        self._overall = self._progress.add_task(
            self._overall_label(), total=max(total_audio, 0.001), state="", heard=""
        )
        self._progress.start()
        self._closed = False

    def _overall_label(self) -> str:
        return f"all calls {self._done}/{self._total_calls}"

    def start_call(self, name: str, audio_seconds: float) -> None:
        """Add a line for the call."""
        with self._lock:
            self._tasks[name] = self._progress.add_task(
                name, total=max(audio_seconds, 0.001), state="streaming", heard=""
            )

    def update_call(
        self, name: str, *, sent: float | None = None, heard: str | None = None, state: str | None = None
    ) -> None:
        """Move the call's bar (and the overall bar) or change its state or last words."""
        with self._lock:
            task = self._tasks.get(name)
            if task is None:
                return
            fields: dict[str, str] = {}
            if heard is not None:
                fields["heard"] = heard[-40:]
            if state is not None:
                fields["state"] = state
            if sent is not None:
                previous = self._sent.get(name, 0.0)
                self._sent[name] = max(previous, sent)
                self._progress.update(self._overall, advance=max(0.0, sent - previous))
                self._progress.update(task, completed=sent, **fields)  # type: ignore[arg-type]
            else:
                self._progress.update(task, **fields)  # type: ignore[arg-type]

    def end_call(self, name: str, summary: str, error: str | None = None) -> None:
        """Remove the call's line and print its outcome above the display."""
        with self._lock:
            task = self._tasks.pop(name, None)
            if task is not None:
                self._progress.remove_task(task)
            self._done += 1
            self._progress.update(self._overall, description=self._overall_label())
        if error:
            self._progress.console.print(f"[red]✗[/red] {name}: {error}", markup=True, highlight=False)
        else:
            self._progress.console.print(f"[green]✓[/green] {name}: {summary}", markup=True, highlight=False)

    def close(self) -> None:
        """Stop the live display (rich joins its refresh thread)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._progress.stop()


def make_progress(mode: str, stream: TextIO, total_calls: int, total_audio: float) -> ProgressView:
    """The view for ``mode`` (one of `PROGRESS_MODES`); "auto" is live on a terminal, plain otherwise."""
    if mode not in PROGRESS_MODES:
        raise ValueError(f"progress mode must be one of {', '.join(PROGRESS_MODES)}, got {mode!r}")
    if mode == "off":
        return SilentProgress()
    if mode == "auto":
        mode = "live" if stream.isatty() else "plain"
    if mode == "live":
        return LiveProgress(Console(file=stream), total_calls, total_audio)
    return PlainProgress(stream)
