"""HTTP Message Signature verification and signing for the AudioHook upgrade (the AudioHook protocol)."""

from __future__ import annotations

import pytest

from actors.ingest.audiohook.signatures import (
    SignatureError,
    VerifiedRequest,
    sign_request,
    verify_request,
)

API_KEY = "SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh"
SECRET = "TXlTdXBlclNlY3JldEtleVRlbGxOby0xITJAMyM0JDU="
TARGET = "/api/v1/voicebiometrics/ws"
ORG = "d7934305-0972-4844-938e-9060eef73d05"
SESSION = "30b0e395-84d3-4570-ac13-9a62d8f514c0"
CORRELATION = "e160e428-53e2-487c-977d-96989bf5c99d"
NOW = 1_700_000_000.0


def _signed(now: float = NOW, **overrides: object) -> dict[str, str]:
    args: dict[str, object] = dict(
        target=TARGET,
        host="audiohook.example.com",
        organization_id=ORG,
        session_id=SESSION,
        correlation_id=CORRELATION,
        api_key=API_KEY,
        client_secret=SECRET,
        created=int(now),
    )
    args.update(overrides)
    return sign_request(**args)  # type: ignore[arg-type]


def _verify(headers: dict[str, str], now: float = NOW, target: str = TARGET) -> VerifiedRequest:
    return verify_request(target=target, headers=headers, client_secrets={API_KEY: SECRET}, now=now)


def test_reference_test_vector() -> None:
    headers = _signed(created=1641013200, nonce="VGhpc0lzQVVuaXF1ZU5vbmNl", expires=3282026430)
    assert headers["Signature"] == "sig1=:NZBwyBHRRyRoeLqy1IzOa9VYBuI8TgMFt2GRDkDuJh4=:"
    assert headers["Signature-Input"].startswith(
        'sig1=("@request-target" "@authority" "audiohook-organization-id" "audiohook-session-id" '
        '"audiohook-correlation-id" "x-api-key");keyid="SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh";'
        'nonce="VGhpc0lzQVVuaXF1ZU5vbmNl";alg="hmac-sha256";created=1641013200;expires=3282026430'
    )
    # The vector's created is old: verified within its lifetime it passes.
    result = _verify(headers, now=1641013201)
    assert result.signed and result.session_id == SESSION and result.organization_id == ORG


def test_round_trip_and_header_case() -> None:
    headers = {name.lower(): value for name, value in _signed().items()}
    result = _verify(headers, now=NOW + 1)
    assert result.correlation_id == CORRELATION and result.nonce is not None and len(result.nonce) == 24
    assert API_KEY not in repr(result)


def test_default_port_is_not_part_of_the_authority() -> None:
    headers = _signed()
    headers["Host"] = "AudioHook.Example.com:443"
    assert _verify(headers).signed


@pytest.mark.parametrize(
    "header, value",
    [
        ("Audiohook-Organization-Id", "0c9b0a0e-1111-4222-8333-444455556666"),
        ("Audiohook-Session-Id", "6f0d2a6e-5c1b-4e0e-9a51-1b2c3d4e5f60"),
        ("Audiohook-Correlation-Id", "8d2f1c3b-7777-4888-9999-aaaabbbbcccc"),
        ("Host", "evil.example.com"),
        ("Signature", "sig1=:NZBwyBHRRyRoeLqy1IzOa9VYBuI8TgMFt2GRDkDuJh4=:"),
    ],
)
def test_tampering_breaks_the_signature(header: str, value: str) -> None:
    headers = _signed()
    headers[header] = value
    with pytest.raises(SignatureError) as info:
        _verify(headers)
    assert info.value.kind == "mismatch" and info.value.status == 401
    assert info.value.disconnect_info == "FAILED: Signatures do not match"


def test_tampered_target_breaks_the_signature() -> None:
    with pytest.raises(SignatureError, match="do not match"):
        _verify(_signed(), target="/api/v1/other/ws")


def test_wrong_secret() -> None:
    headers = _signed(client_secret="d3Jvbmcgc2VjcmV0IGtleSEhISE=")
    with pytest.raises(SignatureError) as info:
        _verify(headers)
    assert info.value.kind == "mismatch"
    assert SECRET not in str(info.value) and API_KEY not in str(info.value)


def test_api_key_must_match_keyid_and_be_known() -> None:
    headers = _signed()
    headers["X-API-KEY"] = "another-key"
    with pytest.raises(SignatureError, match="keyid"):
        _verify(headers)
    unknown = _signed(api_key="unknown-key")
    with pytest.raises(SignatureError) as info:
        _verify(unknown)
    assert info.value.kind == "mismatch" and "unknown-key" not in str(info.value)


def test_missing_api_key() -> None:
    headers = _signed()
    del headers["X-API-KEY"]
    with pytest.raises(SignatureError) as info:
        _verify(headers)
    assert info.value.status == 401 and "X-API-KEY" in info.value.info


def test_missing_or_bad_audiohook_headers_are_400() -> None:
    headers = _signed()
    del headers["Audiohook-Session-Id"]
    with pytest.raises(SignatureError) as info:
        _verify(headers)
    assert info.value.status == 400 and "audiohook-session-id" in info.value.info
    headers = _signed()
    headers["Audiohook-Correlation-Id"] = "not-a-uuid"
    with pytest.raises(SignatureError) as info:
        _verify(headers)
    assert info.value.status == 400


def test_clock_rules() -> None:
    headers = _signed(now=NOW)
    assert _verify(headers, now=NOW + 7).signed
    with pytest.raises(SignatureError) as info:
        _verify(headers, now=NOW + 7.5)
    assert info.value.kind == "expired"
    with pytest.raises(SignatureError) as info:
        _verify(headers, now=NOW - 3.5)
    assert info.value.kind == "future"
    assert _verify(headers, now=NOW - 3).signed
    short = _signed(expires=int(NOW) + 4)
    with pytest.raises(SignatureError) as info:
        _verify(short, now=NOW + 2)
    assert info.value.kind == "expired"


def test_unsigned_requests_need_an_empty_secret() -> None:
    headers = _signed()
    del headers["Signature"], headers["Signature-Input"]
    with pytest.raises(SignatureError) as info:
        _verify(headers)
    assert info.value.kind == "unsigned"
    result = verify_request(target=TARGET, headers=headers, client_secrets={API_KEY: ""}, now=NOW)
    assert not result.signed
    assert _signed(host="h", client_secret="", created=0).keys().isdisjoint({"Signature", "Signature-Input"})


def test_signature_from_a_key_with_empty_secret_is_refused() -> None:
    with pytest.raises(SignatureError):
        verify_request(target=TARGET, headers=_signed(), client_secrets={API_KEY: ""}, now=NOW)


def _input_with(replace: str, by: str) -> dict[str, str]:
    headers = _signed()
    assert replace in headers["Signature-Input"]
    headers["Signature-Input"] = headers["Signature-Input"].replace(replace, by)
    return headers


@pytest.mark.parametrize(
    "replace, by, match",
    [
        (' "x-api-key"', "", "does not cover x-api-key"),
        ('"x-api-key"', '"x-api-key";sf', "Unsupported"),
        ('"x-api-key"', '"x-api-key" "@query-params"', "Unsupported"),
        ('alg="hmac-sha256"', 'alg="rsa-pss-sha512"', "algorithm"),
        ('alg="hmac-sha256"', 'alg="hmac-sha256";tag="x"', "parameter tag"),
        (";nonce=", ';nonce="short";x=', "parameter x"),
        ('keyid="', 'keyid="x', "keyid"),
        ("sig1=(", "sig1=((", "Malformed"),
    ],
)
def test_bad_signature_input(replace: str, by: str, match: str) -> None:
    with pytest.raises(SignatureError, match=match):
        _verify(_input_with(replace, by))


def test_short_nonce_is_refused() -> None:
    with pytest.raises(SignatureError, match="Nonce"):
        _verify(_signed(nonce="c2hvcnQ="))


def test_only_one_of_the_two_headers() -> None:
    headers = _signed()
    del headers["Signature"]
    with pytest.raises(SignatureError, match="both"):
        _verify(headers)


def test_garbage_signature_header() -> None:
    headers = _signed()
    headers["Signature"] = "sig1=:not base64!:"
    with pytest.raises(SignatureError, match="Malformed"):
        _verify(headers)
