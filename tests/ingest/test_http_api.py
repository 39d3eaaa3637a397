"""OpsApi over a real SQLite store: every route, filter, error and auth case, called directly.

(The service's own tests drive these routes over real sockets; here the answers themselves.)
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from websockets.datastructures import Headers

from actors.ingest.http_api import HttpAnswer, OpsApi, iso_utc
from actors.ingest.metrics import IngestMetrics
from actors.ingest.store import CallRecord, Segment, TranscriptStore, open_store
from tests.ingest.store_contract import call_start

TOKEN = "ops-fake-token-3b9d7e1f5a"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
T0 = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC).timestamp()  # call "old" starts here
ODD_ID = "conv/7 ü?x"  # needs percent-encoding in a path


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TranscriptStore]:
    """A SQLite store holding three calls (oldest first): ``old`` (completed, 3 segments), ``mid``
    (failed, stereo Twilio), ``odd`` (active, an id that needs URL-encoding)."""
    opened = open_store(f"sqlite:///{tmp_path}/t.db")
    opened.start_call(call_start("old"), started_at=T0 + 0.1239)
    opened.add_segments(
        [
            Segment("old", 1, 2.0, 3.0, "fine thanks", speaker=1, confidence=0.9),
            Segment(
                "old",
                0,
                0.5,
                1.5,
                "hello there",
                words=[{"word": "hello", "start": 0.5, "end": 1.0, "confidence": 0.99}],
                confidence=0.97,
            ),
            Segment("old", 5, 4.0, 5.0, "stray channel"),
        ]
    )
    opened.add_request_id("old", "req-1")
    opened.end_call("old", "completed", ended_at=T0 + 60.0)
    opened.start_call(
        call_start("mid", platform="twilio", channels=("inbound", "outbound"), language=None),
        started_at=T0 + 3600,
    )
    opened.end_call("mid", "failed", ended_at=T0 + 3700)
    opened.start_call(call_start(ODD_ID, platform="stream", channels=("mono",)), started_at=T0 + 7200)
    try:
        yield opened
    finally:
        opened.close()


def ops(
    store: TranscriptStore,
    *,
    token: str | None = None,
    loopback_only: bool = True,
    readiness: Mapping[str, str | None] | None = None,
    metrics: IngestMetrics | None = None,
) -> OpsApi:
    """An OpsApi; ``readiness["reason"]`` is what its readiness check returns (default: ready)."""
    state = readiness if readiness is not None else {"reason": None}
    return OpsApi(
        store,
        metrics or IngestMetrics(),
        lambda: state["reason"],
        api_token=token,
        loopback_only=loopback_only,
    )


def get(
    api: OpsApi, target: str, headers: Mapping[str, str] | None = None, method: str = "GET"
) -> HttpAnswer:
    """Answer one request; check the invariants every answer keeps."""
    answer = api.answer(method, target, headers or {})
    length = answer.header("Content-Length")
    assert length is not None
    if method == "HEAD":
        assert answer.body == b""
    else:
        assert int(length) == len(answer.body)
    assert b"Traceback" not in answer.body
    return answer


def body(answer: HttpAnswer) -> dict[str, object]:
    """The JSON body of a /v1 answer (checking its content type and cache header)."""
    assert answer.content_type == "application/json"
    assert answer.header("Cache-Control") == "no-store"
    value = json.loads(answer.body)
    assert isinstance(value, dict)
    return value


def error(answer: HttpAnswer, status: int) -> str:
    """The message of a JSON error answer with ``status``."""
    assert answer.status == status, answer
    message = body(answer)["error"]
    assert isinstance(message, str)
    return message


def ids(answer: HttpAnswer) -> list[str]:
    """The call ids of a ``/v1/calls`` answer, in order."""
    assert answer.status == 200, answer.body
    calls = body(answer)["calls"]
    assert isinstance(calls, list)
    return [c["id"] for c in calls]


# -- routing ------------------------------------------------------------------------------------------


def test_handles_only_its_routes_and_leaves_the_websockets_alone(store: TranscriptStore) -> None:
    api = ops(store)
    for path in (
        "/healthz",
        "/readyz",
        "/metrics",
        "/v1/calls",
        "/v1/calls/x",
        "/v1/calls/a%2Fb",
        "/v1/calls/",
    ):
        assert api.handles(path), path
    assert api.handles("/v1/calls?active=true")
    assert api.handles("/") and api.handles("/mic")  # the browser pages
    for path in (
        "/api/v1/audiohook/ws",
        "/twilio",
        "/v1/stream",
        "/v1/callsx",
        "/healthz/",
        "/v1/listen",
    ):
        assert not api.handles(path), path
    answer = get(api, "/twilio")
    assert (answer.status, answer.body) == (404, b"not found\n")


# -- operations ---------------------------------------------------------------------------------------


def test_healthz_and_head(store: TranscriptStore) -> None:
    api = ops(store, token=TOKEN, loopback_only=False)  # no token needed on the ops routes
    answer = get(api, "/healthz")
    assert (answer.status, answer.reason, answer.body) == (200, "OK", b"ok\n")
    assert answer.content_type == "text/plain; charset=utf-8"
    head = get(api, "/healthz", method="HEAD")
    assert (head.status, head.body, head.header("content-length")) == (200, b"", "3")
    assert head.all_headers() == answer.all_headers()


def test_readyz_follows_the_readiness_check(store: TranscriptStore) -> None:
    state: dict[str, str | None] = {"reason": None}
    api = ops(store, token=TOKEN, loopback_only=False, readiness=state)
    assert (get(api, "/readyz").status, get(api, "/readyz").body) == (200, b"ready\n")
    state["reason"] = "draining"
    answer = get(api, "/readyz")
    assert (answer.status, answer.reason, answer.body) == (
        503,
        "Service Unavailable",
        b"not ready: draining\n",
    )
    state["reason"] = "store unavailable: cannot open"
    assert get(api, "/readyz").body == b"not ready: store unavailable: cannot open\n"
    head = get(api, "/readyz", method="HEAD")
    assert (head.status, head.header("Content-Length")) == (
        503,
        str(len(b"not ready: store unavailable: cannot open\n")),
    )


def test_readyz_when_the_check_itself_fails(store: TranscriptStore, caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> str | None:
        raise RuntimeError("boom-detail")

    api = OpsApi(store, IngestMetrics(), broken, api_token=None, loopback_only=True)
    answer = get(api, "/readyz")
    assert (answer.status, answer.body) == (503, b"not ready: readiness check failed (RuntimeError)\n")
    assert "readiness check failed" in caplog.text


def test_metrics_route_serves_the_registry_without_a_token(store: TranscriptStore) -> None:
    metrics = IngestMetrics()
    metrics.call_started("twilio")
    api = ops(store, token=TOKEN, loopback_only=False, metrics=metrics)
    answer = get(api, "/metrics")
    assert (answer.status, answer.content_type) == (200, CONTENT_TYPE_LATEST)
    assert b'actors_ingest_active_calls{platform="twilio"} 1.0' in answer.body
    assert answer.header("Cache-Control") is None
    head = get(api, "/metrics", method="HEAD")
    assert (head.status, head.content_type, head.body) == (200, CONTENT_TYPE_LATEST, b"")


def test_other_methods_get_405_with_allow(store: TranscriptStore) -> None:
    api = ops(store, token=TOKEN)
    for target in ("/healthz", "/readyz", "/metrics"):
        answer = get(api, target, method="POST")
        assert (answer.status, answer.reason, answer.header("Allow")) == (
            405,
            "Method Not Allowed",
            "GET, HEAD",
        )
        assert answer.body == b"method POST not allowed; use GET or HEAD\n"
    for target in ("/v1/calls", "/v1/calls/old"):
        answer = get(api, target, method="DELETE")  # refused before (and regardless of) auth
        assert error(answer, 405) == "method DELETE not allowed; use GET or HEAD"
        assert answer.header("Allow") == "GET, HEAD"


# -- the JSON API -------------------------------------------------------------------------------------


def test_list_calls_newest_first_with_every_field(store: TranscriptStore) -> None:
    api = ops(store)
    answer = get(api, "/v1/calls")
    assert ids(answer) == [ODD_ID, "mid", "old"]
    calls = body(answer)["calls"]
    assert isinstance(calls, list)
    assert calls[2] == {
        "id": "old",
        "platform": "audiohook",
        "platform_ids": {"conversationId": "conv-9", "participantId": "p-1"},
        "status": "completed",
        "started_at": "2026-12-01T10:00:00.123Z",
        "ended_at": "2026-12-01T10:01:00.000Z",
        "request_ids": ["req-1"],
        "metadata": {"queue": "billing"},
        "language": "en-US",
        "channels": ["external", "internal"],
        "stats": {},
        "instance_id": None,
    }
    assert (calls[0]["status"], calls[0]["ended_at"], calls[0]["request_ids"]) == ("active", None, [])
    assert (calls[1]["platform"], calls[1]["language"], calls[1]["channels"]) == (
        "twilio",
        None,
        ["inbound", "outbound"],
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("active=true", [ODD_ID]),
        ("active=false", ["mid", "old"]),
        ("active=FALSE", ["mid", "old"]),
        (f"since={T0 + 3600}", [ODD_ID, "mid"]),
        (f"since={int(T0) + 3601}", [ODD_ID]),
        ("since=2026-12-01T11:00:00Z", [ODD_ID, "mid"]),
        ("since=2026-12-01T13:00:00%2B02:00", [ODD_ID, "mid"]),  # 11:00 UTC
        ("since=2026-12-01T10:00:00.123Z", [ODD_ID, "mid", "old"]),  # old's own started_at includes it
        ("since=2026-12-01T10:00:00.124Z", [ODD_ID, "mid"]),
        ("since=2026-12-01T12:00:01Z", []),
        ("active=false&since=2026-12-01T11:00:00Z", ["mid"]),
        ("limit=1", [ODD_ID]),
        ("limit=2&active=false", ["mid", "old"]),
        ("limit=1000", [ODD_ID, "mid", "old"]),
    ],
)
def test_list_calls_filters(store: TranscriptStore, query: str, expected: list[str]) -> None:
    assert ids(get(ops(store), f"/v1/calls?{query}")) == expected


def test_list_calls_limit_defaults_to_100(store: TranscriptStore) -> None:
    for n in range(100):
        store.start_call(call_start(f"bulk-{n:03}"), started_at=T0 + 10_000 + n)
    listed = ids(get(ops(store), "/v1/calls"))
    assert len(listed) == 100
    assert listed[0] == "bulk-099" and listed[-1] == "bulk-000"
    assert len(ids(get(ops(store), "/v1/calls?limit=103"))) == 103


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("active=yes", "active: 'yes' is not true or false"),
        ("active=", "active: '' is not true or false"),
        ("since=tomorrow", "since: 'tomorrow' is neither Unix seconds nor an ISO-8601 date-time"),
        ("since=2026-12-01T10:00:00", "since: '2026-12-01T10:00:00' has no UTC offset"),
        ("since=2026-12-01", "since: '2026-12-01' has no UTC offset"),
        ("since=2026-12-01T13:00:00+02:00", "since: '2026-12-01T13:00:00 02:00' is neither Unix seconds"),
        ("since=nan", "since: 'nan' is not a finite number"),
        ("since=1e999", "since: '1e999' is not a finite number"),
        ("limit=0", "limit: '0' is not a whole number from 1 to 1000"),
        ("limit=1001", "limit: '1001' is not a whole number from 1 to 1000"),
        ("limit=-5", "limit: '-5' is not a whole number"),
        ("limit=1_0", "limit: '1_0' is not a whole number"),
        ("limit=ten", "limit: 'ten' is not a whole number"),
        ("status=active", "unknown query parameter 'status'; expected active, since or limit"),
        ("active=true&active=false", "query parameter 'active' given more than once"),
        ("since=" + "9" * 200 + "x", "since: '" + "9" * 64 + "...' is neither"),
    ],
)
def test_list_calls_bad_queries_are_400_naming_parameter_and_value(
    store: TranscriptStore, query: str, message: str
) -> None:
    answer = get(ops(store), f"/v1/calls?{query}")
    assert answer.reason == "Bad Request"
    assert error(answer, 400).startswith(message), error(answer, 400)
    assert error(answer, 400).endswith("write a + offset as %2B") == ("+" in query)


def test_get_call_with_segments_in_order_and_channel_labels(store: TranscriptStore) -> None:
    answer = get(ops(store), "/v1/calls/old")
    assert answer.status == 200
    detail = body(answer)
    call = detail["call"]
    assert isinstance(call, dict)
    assert (call["id"], call["status"], call["started_at"]) == (
        "old",
        "completed",
        "2026-12-01T10:00:00.123Z",
    )
    assert detail["segments"] == [
        {
            "channel": 0,
            "channel_label": "external",
            "start": 0.5,
            "end": 1.5,
            "transcript": "hello there",
            "words": [{"word": "hello", "start": 0.5, "end": 1.0, "confidence": 0.99}],
            "speaker": None,
            "confidence": 0.97,
        },
        {
            "channel": 1,
            "channel_label": "internal",
            "start": 2.0,
            "end": 3.0,
            "transcript": "fine thanks",
            "words": [],
            "speaker": 1,
            "confidence": 0.9,
        },
        {
            "channel": 5,
            "channel_label": None,  # out of the call's channels
            "start": 4.0,
            "end": 5.0,
            "transcript": "stray channel",
            "words": [],
            "speaker": None,
            "confidence": None,
        },
    ]
    head = get(ops(store), "/v1/calls/old", method="HEAD")
    assert (head.status, head.header("Content-Length")) == (200, str(len(answer.body)))


def test_get_call_url_decodes_the_id(store: TranscriptStore) -> None:
    answer = get(ops(store), "/v1/calls/conv%2F7%20%C3%BC%3Fx")
    assert answer.status == 200
    detail = body(answer)
    assert isinstance(detail["call"], dict)
    assert (detail["call"]["id"], detail["call"]["ended_at"], detail["segments"]) == (ODD_ID, None, [])


def test_get_call_unknown_empty_or_with_a_query(store: TranscriptStore) -> None:
    api = ops(store)
    answer = get(api, "/v1/calls/nope")
    assert answer.reason == "Not Found"
    assert error(answer, 404) == "no call with id 'nope'"
    assert error(get(api, "/v1/calls/"), 404) == "no call id in the path; use /v1/calls/{id}"
    assert error(get(api, "/v1/calls/old?segments=no"), 400) == (
        "unknown query parameter 'segments'; this route takes none"
    )


# -- authentication -----------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["/v1/calls", "/v1/calls/old", "/v1/calls/nope", "/v1/calls?limit=0"])
def test_token_required_when_set(store: TranscriptStore, target: str) -> None:
    api = ops(store, token=TOKEN, loopback_only=True)  # a token applies on loopback too
    cases: list[tuple[Mapping[str, str], str]] = [
        ({}, "missing Authorization: Bearer <token>"),
        ({"Authorization": "Bearer wrong-token-xyz"}, "invalid bearer token"),
        ({"Authorization": f"Bearer {TOKEN}x"}, "invalid bearer token"),
        ({"Authorization": f"Basic {TOKEN}"}, "invalid bearer token"),
        ({"Authorization": TOKEN}, "invalid bearer token"),
        ({"Authorization": "Bearer"}, "invalid bearer token"),
        ({"Authorization": "Bearer tøken"}, "invalid bearer token"),
        (Headers([("Authorization", f"Bearer {TOKEN}"), ("Authorization", "Bearer x")]), "more than one"),
    ]
    for headers, message in cases:
        answer = get(api, target, headers)
        assert answer.reason == "Unauthorized"
        assert error(answer, 401).startswith(message), headers
        assert answer.header("WWW-Authenticate") == 'Bearer realm="actors-ingest"'
        assert b"wrong-token" not in answer.body and TOKEN.encode() not in answer.body


def test_right_token_in_any_header_spelling(store: TranscriptStore) -> None:
    api = ops(store, token=TOKEN, loopback_only=False)
    for headers in (
        AUTH,
        {"authorization": f"Bearer {TOKEN}"},
        {"AUTHORIZATION": f"bearer {TOKEN}"},
        {"Authorization": f"  Bearer   {TOKEN} "},
        Headers([("authorization", f"Bearer {TOKEN}"), ("Host", "x")]),
    ):
        assert ids(get(api, "/v1/calls", headers)) == [ODD_ID, "mid", "old"], headers
    assert get(api, "/v1/calls/old", AUTH).status == 200
    assert error(get(api, "/v1/calls?limit=0", AUTH), 400).startswith("limit")  # auth, then the query


def test_without_a_token_only_on_loopback(store: TranscriptStore) -> None:
    assert ids(get(ops(store, token=None, loopback_only=True), "/v1/calls")) == [ODD_ID, "mid", "old"]
    exposed = ops(store, token=None, loopback_only=False)
    for target in ("/v1/calls", "/v1/calls/old"):
        answer = get(exposed, target, AUTH)
        assert answer.reason == "Forbidden"
        message = error(answer, 403)
        assert "--api-token" in message and "ACTORS_INGEST_API_TOKEN" in message and "loopback" in message
    assert get(exposed, "/healthz").status == 200
    assert get(exposed, "/metrics").status == 200


def test_the_token_never_shows_in_reprs(store: TranscriptStore) -> None:
    api = ops(store, token=TOKEN)
    assert TOKEN not in repr(api) and TOKEN not in str(api)
    assert "api_token=set" in repr(api)
    assert "api_token=none" in repr(ops(store))
    answer = get(api, "/v1/calls", AUTH)
    assert repr(answer).count("bytes>") == 1 and "hello" not in repr(get(api, "/v1/calls/old", AUTH))
    with pytest.raises(ValueError, match="api_token: empty"):
        ops(store, token=" ")


# -- failures -----------------------------------------------------------------------------------------


def test_store_down_is_a_503_json_error(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "gone" / "t.db"
    store = open_store(f"sqlite:///{db}")
    store.start_call(call_start("c1"))
    store.close()
    shutil.rmtree(db.parent)
    db.mkdir(parents=True)  # the database path is now a directory: the store cannot reopen it
    api = ops(store)
    for target in ("/v1/calls", "/v1/calls/c1"):
        answer = get(api, target)
        assert answer.reason == "Service Unavailable"
        assert error(answer, 503) == "the transcript store is unavailable; try again later"
    assert "cannot open" in caplog.text
    assert get(api, "/healthz").status == 200


class ExplodingStore(TranscriptStore):
    """A real store whose listing fails with an unexpected error (a bug, not an outage)."""

    def list_calls(
        self, *, active: bool | None = None, since: float | None = None, limit: int = 100
    ) -> list[CallRecord]:
        """Always raises."""
        raise RuntimeError("boom-internal-detail")


def test_an_unexpected_failure_is_a_500_without_details(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    real = open_store(f"sqlite:///{tmp_path}/t.db")
    store = ExplodingStore(real.url)
    real.close()
    try:
        answer = get(ops(store), "/v1/calls")
        assert error(answer, 500) == "internal error"
        assert b"boom" not in answer.body
        assert "boom-internal-detail" in caplog.text  # logged for the operator
    finally:
        store.close()


def test_iso_utc_rounds_down_to_the_millisecond() -> None:
    assert iso_utc(None) is None
    assert iso_utc(0) == "1970-01-01T00:00:00.000Z"
    assert iso_utc(T0 + 0.9999) == "2026-12-01T10:00:00.999Z"
    assert iso_utc(T0 - 0.0001) == "2026-12-01T09:59:59.999Z"
