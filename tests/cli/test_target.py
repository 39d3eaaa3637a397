"""Choosing where the CLI connects: --url, Deepgram with a key, the embedded server otherwise."""

from __future__ import annotations

import argparse

import pytest

from actors.cli.target import DEEPGRAM_AGENT_URL, DEEPGRAM_URL, check_url, open_target
from actors.errors import OptionsError


def args(local: bool = False, url: str | None = None) -> argparse.Namespace:
    return argparse.Namespace(local=local, url=url)


def test_key_goes_to_deepgram_and_is_never_shown() -> None:
    with open_target(args(), {"DEEPGRAM_API_KEY": "secret-key-123"}) as target:
        assert target.kind == "deepgram"
        assert target.base_url("production") == DEEPGRAM_URL
        assert target.base_url("agent") == DEEPGRAM_AGENT_URL
        assert target.api_key == "secret-key-123"
        assert "secret-key-123" not in repr(target) + target.describe()


def test_url_wins_over_key() -> None:
    with open_target(args(url="http://127.0.0.1:9/"), {"DEEPGRAM_API_KEY": "k"}) as target:
        assert (target.kind, target.url, target.base_url("agent")) == (
            "url",
            "ws://127.0.0.1:9",
            "ws://127.0.0.1:9",
        )


@pytest.mark.parametrize("bad", ["127.0.0.1:8080", "ftp://host", "ws://", "ws://host:notaport"])
def test_bad_url_is_named(bad: str) -> None:
    with pytest.raises(OptionsError, match="--url"):
        check_url(bad)


def test_no_key_starts_the_embedded_server() -> None:
    with open_target(args(), {}) as target:
        assert target.kind == "embedded"
        assert target.url.startswith("ws://127.0.0.1:")
        assert "embedded local server" in target.describe()


def test_local_flag_ignores_the_key() -> None:
    with open_target(args(local=True), {"DEEPGRAM_API_KEY": "secret-key-123"}) as target:
        assert target.kind == "embedded"
        assert target.api_key != "secret-key-123"
