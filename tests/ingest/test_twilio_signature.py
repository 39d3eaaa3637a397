"""X-Twilio-Signature: Twilio's published vector, the WebSocket upgrade (URL only), ports, rejections."""

from __future__ import annotations

import pytest

from actors.ingest.twilio.signature import (
    SIGNATURE_HEADER,
    SignatureError,
    check_upgrade,
    compute_signature,
    signature_matches,
    url_variants,
)
from tests.support.twilio_client import upgrade_headers

TOKEN = "12345"
# The worked example on Twilio's "Webhooks security" page.
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = {
    "To": "+18005551212",
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+12349013030",
    "Caller": "+12349013030",
}
DOC_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
WS_URL = "wss://ingest.example.com/twilio/stream"


def test_twilios_published_vector() -> None:
    assert compute_signature(TOKEN, DOC_URL, DOC_PARAMS) == DOC_SIGNATURE
    assert signature_matches(TOKEN, DOC_URL, DOC_SIGNATURE, DOC_PARAMS)


def test_a_changed_param_url_or_token_fails() -> None:
    assert not signature_matches(TOKEN, DOC_URL, DOC_SIGNATURE, {**DOC_PARAMS, "Digits": "9999"})
    assert not signature_matches(TOKEN, DOC_URL.replace("bar=2", "bar=3"), DOC_SIGNATURE, DOC_PARAMS)
    assert not signature_matches("54321", DOC_URL, DOC_SIGNATURE, DOC_PARAMS)
    assert not signature_matches(TOKEN, DOC_URL, DOC_SIGNATURE[:-2], DOC_PARAMS)
    assert not signature_matches(TOKEN, DOC_URL, None, DOC_PARAMS)
    assert not signature_matches(TOKEN, DOC_URL, "", DOC_PARAMS)


def test_the_upgrade_signs_the_wss_url_alone() -> None:
    headers = upgrade_headers(TOKEN, WS_URL)
    check_upgrade(TOKEN, WS_URL, headers)  # no exception
    check_upgrade(TOKEN, WS_URL, {k.lower(): v for k, v in headers.items()})  # header names fold
    with pytest.raises(SignatureError, match="wss://"):
        # What a server sees behind TLS termination is https://; Twilio signed wss://.
        check_upgrade(TOKEN, "https://ingest.example.com/twilio/stream", headers)


def test_the_default_port_may_be_present_or_not() -> None:
    assert url_variants("wss://h.example/x") == ["wss://h.example/x", "wss://h.example:443/x"]
    assert url_variants("wss://h.example:443/x") == ["wss://h.example:443/x", "wss://h.example/x"]
    assert url_variants("wss://h.example:8443/x") == ["wss://h.example:8443/x"]
    signed = compute_signature(TOKEN, "wss://h.example:443/x")
    assert signature_matches(TOKEN, "wss://h.example/x", signed)
    assert not signature_matches(TOKEN, "wss://h.example:8443/x", signed)


def test_missing_and_wrong_signatures_are_named_without_the_token() -> None:
    secret = "sk-very-secret-auth-token-0001"
    with pytest.raises(SignatureError, match=f"missing {SIGNATURE_HEADER}") as missing:
        check_upgrade(secret, WS_URL, {})
    with pytest.raises(SignatureError, match="does not match") as wrong:
        check_upgrade(secret, WS_URL, upgrade_headers("another-token", WS_URL))
    for error in (missing.value, wrong.value):
        assert secret not in str(error) and secret not in repr(error)
        assert error.status == 403


def test_multi_valued_params_sort_their_values() -> None:
    one = compute_signature(TOKEN, DOC_URL, {"A": ["2", "1"]})
    assert one == compute_signature(TOKEN, DOC_URL + "", {"A": ["1", "2"]})
    assert one != compute_signature(TOKEN, DOC_URL, {"A": "12x"})


def test_the_error_does_not_show_a_query_string() -> None:
    with pytest.raises(SignatureError) as info:
        check_upgrade(TOKEN, WS_URL + "?token=hush-hush", {SIGNATURE_HEADER: "AAAA"})
    assert "hush-hush" not in str(info.value) and WS_URL in str(info.value)
