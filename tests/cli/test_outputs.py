"""Per-call outputs: JSONL, transcript, SRT and WebVTT from Listen V1 Results dicts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import srt

from actors.cli.outputs import CallFiles, CallWriter, caption_cues, final_segment, format_webvtt


def results(
    words: list[tuple[str, float, float]], channel: int = 0, total: int = 1, is_final: bool = True
) -> dict[str, Any]:
    return {
        "type": "Results",
        "channel_index": [channel, total],
        "start": words[0][1] if words else 0.0,
        "duration": (words[-1][2] - words[0][1]) if words else 1.0,
        "is_final": is_final,
        "speech_final": is_final,
        "channel": {
            "alternatives": [
                {
                    "transcript": " ".join(w for w, _, _ in words),
                    "confidence": 0.9,
                    "words": [{"word": w, "start": s, "end": e, "confidence": 0.9} for w, s, e in words],
                }
            ]
        },
        "metadata": {"request_id": "r"},
    }


def test_final_segment_ignores_interim_and_empty() -> None:
    assert final_segment(results([("hi", 0.0, 0.5)], is_final=False)) is None
    assert final_segment(results([])) is None
    assert final_segment({"type": "Metadata"}) is None
    seg = final_segment(results([("hello", 1.0, 1.4), ("there", 1.5, 2.0)], channel=1, total=2))
    assert seg is not None
    assert (seg.channel, seg.start, seg.end, seg.text) == (1, 1.0, 2.0, "hello there")


def test_writer_produces_all_files(tmp_path: Path) -> None:
    files = CallFiles(tmp_path / "out", "call")
    writer = CallWriter(files, multichannel=True)
    messages = [
        results([("good", 2.0, 2.3), ("morning", 2.4, 2.9)], channel=1, total=2),
        results([("hello", 0.5, 0.9), ("caller", 1.0, 1.5)], channel=0, total=2),
        results([("interim", 3.0, 3.2)], is_final=False),
        {"type": "Metadata", "request_id": "r", "duration": 3.0},
    ]
    for m in messages:
        writer.add(m)
    # the JSONL is flushed message by message under its temporary name; nothing final yet
    assert len((files.directory / ".call.jsonl.part").read_text().splitlines()) == 4
    assert not any(path.exists() for path in files.finals) and not files.complete()
    writer.commit()
    writer.commit()  # idempotent
    writer.abort()  # a no-op after commit
    assert files.complete()
    assert sorted(p.name for p in files.directory.iterdir()) == [
        "call.jsonl",
        "call.srt",
        "call.txt",
        "call.vtt",
    ]
    lines = [json.loads(x) for x in files.jsonl.read_text().splitlines()]
    assert lines == messages
    assert files.transcript.read_text() == (
        "[00:00.50] channel 0: hello caller\n[00:02.00] channel 1: good morning\n"
    )
    subs = list(srt.parse(files.srt.read_text()))
    assert [s.content for s in subs] == ["[channel 0] hello caller", "[channel 1] good morning"]
    assert subs[0].start.total_seconds() == 0.5 and subs[0].end.total_seconds() == 1.5
    vtt = files.vtt.read_text()
    assert vtt.startswith("WEBVTT\n")
    assert "00:00:00.500 --> 00:00:01.500\n<v channel 0>hello caller" in vtt


def test_long_segments_are_split_into_cues() -> None:
    words = [(f"w{i}", i * 0.4, i * 0.4 + 0.3) for i in range(30)]
    seg = final_segment(results(words))
    assert seg is not None
    cues = caption_cues([seg], multichannel=False)
    assert len(cues) >= 3
    assert all(len(c.text.split()) <= 12 and c.end - c.start <= 6.0 for c in cues)
    assert " ".join(c.text for c in cues) == seg.text


def test_webvtt_escapes_markup() -> None:
    seg = final_segment(results([("a<b>&c", 0.0, 0.5)]))
    assert seg is not None
    assert "a&lt;b&gt;&amp;c" in format_webvtt(caption_cues([seg], multichannel=False))
