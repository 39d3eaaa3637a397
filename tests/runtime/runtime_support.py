"""Helpers for the runtime tests: configs for the local server and an event recorder."""

from __future__ import annotations

import queue
from typing import Any

from actors.protocol.apis import LISTEN_V1
from actors.protocol.auth import Auth
from actors.protocol.listen_v1.options import ListenV1Options
from actors.runtime import ConnectionConfig
from actors.runtime.events import Closed

TEST_KEY = "test-key-0123456789"
RATE = 16000


def listen_config(base_url: str, **overrides: Any) -> ConnectionConfig:
    """A Listen V1 config for linear16/16 kHz mono against ``base_url``."""
    options = overrides.pop("options", None) or ListenV1Options.from_kwargs(
        model="nova-3", encoding="linear16", sample_rate=RATE
    )
    return ConnectionConfig(
        api=LISTEN_V1, base_url=base_url, options=options, auth=Auth.token(TEST_KEY), **overrides
    )


class EventLog:
    """A queue subscriber plus helpers to read what arrived."""

    def __init__(self) -> None:
        self.queue: queue.Queue[Any] = queue.Queue()

    def until_closed(self, timeout: float = 10.0) -> list[Any]:
        """Every event up to and including ``Closed``; fails the test if it does not come."""
        events: list[Any] = []
        while True:
            event = self.queue.get(timeout=timeout)
            events.append(event)
            if isinstance(event, Closed):
                return events

    def wait_for(self, kind: type, timeout: float = 10.0) -> Any:
        """The next event of ``kind`` (earlier events of other kinds are discarded)."""
        while True:
            event = self.queue.get(timeout=timeout)
            if isinstance(event, kind):
                return event


def transcript(events: list[Any]) -> list[str]:
    """Words of the final Listen V1 results, in order."""
    words: list[str] = []
    for event in events:
        if getattr(event, "type", None) == "Results" and event.is_final:
            words.extend(w.word for w in event.channel.alternatives[0].words)
    return words
