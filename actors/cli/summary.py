"""The end-of-run summary: one row per call and a total, as a rich table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs
from rich.console import Console
from rich.table import Table

#: How a call of a batch ended: transcribed, failed, interrupted (Ctrl-C, or never started because of
#: it), or skipped (``--skip-existing`` found its complete outputs of an earlier run).
STATUSES = ("ok", "failed", "interrupted", "skipped")


def _default_status(outcome: CallOutcome) -> str:
    return "ok" if outcome.error is None else "failed"


def _check_status(_instance: object, _attribute: object, value: str) -> None:
    if value not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {value!r}")


@attrs.frozen
class CallOutcome:
    """How one call went. ``error`` is None for success, else the one-line reason it failed.

    ``status`` defaults to ``ok``/``failed`` from ``error``; ``input`` is the path the call was
    read from, ``stem`` its output file stem. ``request_ids`` are the Deepgram ``dg-request-id``
    of each connection (several after reconnects); ``time_to_first_result`` is seconds from the
    first audio sent to the first result (None if none came). ``metadata`` is what the call's
    manifest row gave (empty otherwise); it is written into the summary files. On a Ray cluster
    (``--ray``), ``worker`` is the worker that ran the call to the end and ``reruns`` says, one line
    each, why earlier attempts were lost (their worker died; the call was run again from its start).
    """

    name: str
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0
    reconnects: int = 0
    words: int = 0
    error: str | None = None
    status: str = attrs.field(
        default=attrs.Factory(_default_status, takes_self=True), validator=_check_status
    )
    input: str = ""
    stem: str = ""
    request_ids: tuple[str, ...] = ()
    time_to_first_result: float | None = None
    metadata: Mapping[str, object] = attrs.field(factory=dict)
    worker: str = ""
    reruns: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the call's outputs are complete: transcribed now, or skipped as done before."""
        return self.status in ("ok", "skipped")

    def describe(self) -> str:
        """A short human summary such as ``12.0 s audio in 3.1 s, 41 words``."""
        text = f"{self.audio_seconds:.1f} s audio in {self.wall_seconds:.1f} s, {self.words} words"
        if self.reconnects:
            text += f", {self.reconnects} reconnect{'s' if self.reconnects > 1 else ''}"
        if self.reruns:
            text += f", re-run {len(self.reruns)}x"
        return text


def summary_table(outcomes: Sequence[CallOutcome], wall_seconds: float) -> Table:
    """A table of every call plus a total row (total wall time is the whole run, not the sum).

    ``speed`` is audio seconds per wall second: 1.0x is real time; the total's speed leaves out
    skipped calls (their audio was transcribed by an earlier run).
    """
    table = Table(title="transcribe summary", title_justify="left")
    table.add_column("call", no_wrap=True)
    table.add_column("audio s", justify="right", no_wrap=True)
    table.add_column("wall s", justify="right", no_wrap=True)
    table.add_column("speed", justify="right", no_wrap=True)
    table.add_column("words", justify="right", no_wrap=True)
    table.add_column("reconnects", justify="right", no_wrap=True)
    table.add_column("result", overflow="fold", min_width=12)
    for o in outcomes:
        speed = f"{o.audio_seconds / o.wall_seconds:.1f}x" if o.wall_seconds > 0 and o.audio_seconds else "-"
        result = o.status if o.error is None else f"[red]{o.status}: {_escape(o.error)}[/red]"
        if o.reruns:
            result += f" (re-run {len(o.reruns)}x: {_escape(o.reruns[-1])})"
        table.add_row(
            _escape(o.name),
            f"{o.audio_seconds:.1f}",
            f"{o.wall_seconds:.1f}",
            speed,
            str(o.words),
            str(o.reconnects),
            result,
        )
    audio = sum(o.audio_seconds for o in outcomes)
    audio_now = sum(o.audio_seconds for o in outcomes if o.status != "skipped")
    failed = sum(1 for o in outcomes if o.status == "failed")
    interrupted = sum(1 for o in outcomes if o.status == "interrupted")
    skipped = sum(1 for o in outcomes if o.status == "skipped")
    table.add_section()
    table.add_row(
        f"{len(outcomes)} calls",
        f"{audio:.1f}",
        f"{wall_seconds:.1f}",
        f"{audio_now / wall_seconds:.1f}x" if wall_seconds > 0 and audio_now else "-",
        str(sum(o.words for o in outcomes)),
        str(sum(o.reconnects for o in outcomes)),
        _total_result(failed, interrupted, skipped),
    )
    return table


def print_summary(console: Console, outcomes: Sequence[CallOutcome], wall_seconds: float) -> None:
    """Print the summary table to ``console``."""
    console.print(summary_table(outcomes, wall_seconds))


def _total_result(failed: int, interrupted: int, skipped: int) -> str:
    parts = [f"{failed} failed"] if failed else []
    parts += [f"{interrupted} interrupted"] if interrupted else []
    text = f"[red]{', '.join(parts)}[/red]" if parts else "all ok"
    return f"{text}, {skipped} skipped" if skipped else text


def _escape(text: str) -> str:
    return text.replace("[", r"\[")
