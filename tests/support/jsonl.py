"""Reading a call's ``.jsonl`` output (every server message, one per line) back in tests."""

from __future__ import annotations

import json
from pathlib import Path


def words_by_channel(jsonl: Path) -> dict[int, list[str]]:
    """The words of every final ``Results``, per channel index (channels with no word left out)."""
    out: dict[int, list[str]] = {}
    for line in jsonl.read_text().splitlines():
        msg = json.loads(line)
        if msg["type"] == "Results" and msg.get("is_final"):
            words = [w["word"] for w in msg["channel"]["alternatives"][0]["words"]]
            out.setdefault(msg["channel_index"][0], []).extend(words)
    return {channel: words for channel, words in out.items() if words}
