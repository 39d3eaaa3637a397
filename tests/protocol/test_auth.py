"""Auth forms: Token header, Bearer header, browser subprotocols; secrets never shown."""

from __future__ import annotations

import pytest

from actors.errors import OptionsError
from actors.protocol.auth import Auth, parse_authorization

KEY = "0123456789abcdef0123456789abcdef01234567"


def test_token_header_and_subprotocols() -> None:
    auth = Auth.token(KEY)
    assert auth.header() == ("Authorization", f"Token {KEY}")
    assert auth.subprotocols() == ["token", KEY]
    assert auth.scheme == "token" and auth.secret == KEY


def test_bearer_header_and_subprotocols() -> None:
    auth = Auth.bearer("eyJhbGciOi.jwt.sig")
    assert auth.header() == ("Authorization", "Bearer eyJhbGciOi.jwt.sig")
    assert auth.subprotocols() == ["bearer", "eyJhbGciOi.jwt.sig"]


def test_repr_and_str_never_show_the_secret() -> None:
    auth = Auth.token(KEY)
    for text in (repr(auth), str(auth), auth.redacted(), f"{auth}", repr([auth])):
        assert KEY not in text and KEY[:8] not in text
    assert "****4567" in repr(auth)
    assert "abc" not in repr(Auth.token("abc"))


@pytest.mark.parametrize("bad", ["", "   ", "key\n", " key"])
def test_bad_secrets_raise_without_echoing_them(bad: str) -> None:
    with pytest.raises(OptionsError) as info:
        Auth.token(bad)
    assert info.value.name == "auth"
    assert info.value.value is None


def test_unknown_scheme_is_refused() -> None:
    with pytest.raises(OptionsError, match="unknown scheme"):
        Auth("basic", KEY)  # type: ignore[arg-type]


def test_equality_and_hash_follow_content() -> None:
    assert Auth.token(KEY) == Auth.token(KEY)
    assert Auth.token(KEY) != Auth.bearer(KEY)
    assert len({Auth.token(KEY), Auth.token(KEY)}) == 1


@pytest.mark.parametrize(
    ("header", "subprotocols", "expected"),
    [
        (f"Token {KEY}", None, Auth.token(KEY)),
        (f"token {KEY}", None, Auth.token(KEY)),
        ("Bearer abc.def", None, Auth.bearer("abc.def")),
        (None, ["token", KEY], Auth.token(KEY)),
        (None, ["x-deepgram-session-id", "u", "bearer", "jwt"], Auth.bearer("jwt")),
        ("Basic abc", None, None),
        ("Token", None, None),
        (None, ["token"], None),
        (None, None, None),
    ],
)
def test_parse_authorization(
    header: str | None, subprotocols: list[str] | None, expected: Auth | None
) -> None:
    assert parse_authorization(header, subprotocols) == expected
