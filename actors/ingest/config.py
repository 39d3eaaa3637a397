"""PROVISIONAL (replaced by the helper's version)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import attrs


@attrs.frozen
class IngestConfig:
    """Provisional."""

    host: str = "127.0.0.1"
    port: int = 8080
    store: str = "sqlite:///actors-ingest.sqlite3"
    audiohook_keys: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    twilio_auth_token: str | None = attrs.field(default=None, repr=False)
    public_url: str | None = None
    api_token: str | None = attrs.field(default=None, repr=False)
    max_calls: int = 100
    max_waiting: int = 100
    queue_seconds: float = 30.0
    drain_timeout: float = 30.0
    api: Literal["listen.v1", "listen.v2"] = "listen.v1"
    params: tuple[tuple[str, str], ...] = ()
    log_level: str = "INFO"

    def check(self) -> None:
        """Provisional."""
