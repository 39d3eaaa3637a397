"""Restart policy, backoff with jitter, restart window and failure classification (pure)."""

from __future__ import annotations

import pytest

from actors.errors import ConnectionClosedError, FinishTimeout, HandshakeError, OptionsError
from actors.runtime.policy import (
    Backoff,
    FailureKind,
    RestartPolicy,
    RestartWindow,
    classify_failure,
)


def test_backoff_grows_exponentially_and_caps() -> None:
    backoff = Backoff(initial=0.1, maximum=1.0, multiplier=2.0, jitter=0.0)
    assert [backoff.delay(n) for n in range(1, 7)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])


def test_backoff_jitter_stays_within_bounds() -> None:
    backoff = Backoff(initial=1.0, maximum=1.0, jitter=0.25)
    assert backoff.delay(1, rng=lambda: 0.0) == pytest.approx(1.0)
    assert backoff.delay(1, rng=lambda: 0.999999) == pytest.approx(0.75, abs=1e-5)
    full = Backoff(initial=2.0, maximum=2.0, jitter=1.0)
    assert full.delay(1, rng=lambda: 0.5) == pytest.approx(1.0)


def test_backoff_huge_attempt_does_not_overflow() -> None:
    assert Backoff(initial=0.1, maximum=5.0, jitter=0.0).delay(10_000) == 5.0


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"initial": -1.0}, "initial"),
        ({"initial": 2.0, "maximum": 1.0}, "maximum"),
        ({"multiplier": 0.5}, "multiplier"),
        ({"jitter": 1.5}, "jitter"),
    ],
)
def test_backoff_rejects_bad_values(kwargs: dict[str, float], needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        Backoff(**kwargs)


def test_backoff_attempt_counts_from_one() -> None:
    with pytest.raises(ValueError, match="attempt"):
        Backoff().delay(0)


def test_restart_window_enforces_budget_and_slides() -> None:
    window = RestartWindow(max_restarts=2, within=10.0)
    assert window.try_record(0.0)
    assert window.try_record(1.0)
    assert not window.try_record(2.0)  # third restart within 10 s: escalate
    assert window.count(2.0) == 2
    assert window.try_record(10.5)  # the first one has left the window
    assert window.count(10.5) == 2


def test_restart_window_zero_budget_never_allows() -> None:
    assert not RestartWindow(max_restarts=0, within=1.0).try_record(0.0)


def test_policy_modes() -> None:
    retryable = classify_failure(ConnectionClosedError(1006))
    fatal = classify_failure(HandshakeError(401, "Invalid credentials."))
    assert RestartPolicy.on_failure().wants_restart(retryable)
    assert not RestartPolicy.on_failure().wants_restart(None)
    assert not RestartPolicy.on_failure().wants_restart(fatal)
    assert RestartPolicy.always().wants_restart(None)
    assert not RestartPolicy.always().wants_restart(fatal)
    assert not RestartPolicy.never().wants_restart(retryable)


def test_policy_rejects_bad_mode_and_budget() -> None:
    with pytest.raises(ValueError, match="mode"):
        RestartPolicy(mode="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_restarts"):
        RestartPolicy.on_failure(max_restarts=-1)
    with pytest.raises(ValueError, match="within"):
        RestartPolicy.on_failure(within=0)


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404])
def test_handshake_client_errors_are_fatal(status: int) -> None:
    assert classify_failure(HandshakeError(status)).kind is FailureKind.FATAL


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_handshake_server_errors_are_retryable(status: int) -> None:
    assert classify_failure(HandshakeError(status)).kind is FailureKind.RETRYABLE


def test_handshake_429_is_rate_limited() -> None:
    failure = classify_failure(HandshakeError(429, "Too many requests."))
    assert failure.kind is FailureKind.RATE_LIMITED
    assert not failure.fatal


@pytest.mark.parametrize(("code", "kind"), [(1008, FailureKind.FATAL), (1003, FailureKind.FATAL)])
def test_policy_violation_closes_are_fatal(code: int, kind: FailureKind) -> None:
    assert classify_failure(ConnectionClosedError(code, "DATA-0000")).kind is kind


@pytest.mark.parametrize("code", [1001, 1006, 1011, 1012, 1013, 1014])
def test_transient_closes_are_retryable(code: int) -> None:
    assert classify_failure(ConnectionClosedError(code)).kind is FailureKind.RETRYABLE


def test_network_errors_and_timeouts_are_retryable() -> None:
    assert classify_failure(ConnectionResetError("reset")).kind is FailureKind.RETRYABLE
    assert classify_failure(TimeoutError()).kind is FailureKind.RETRYABLE
    assert classify_failure(FinishTimeout("late")).kind is FailureKind.RETRYABLE


def test_bugs_and_bad_options_are_fatal() -> None:
    assert classify_failure(OptionsError("model", "unknown")).fatal
    assert classify_failure(TypeError("oops")).fatal


def test_restart_policy_and_connection_classification_share_one_table() -> None:
    from actors.runtime import classify, policy, supervisor
    from actors.runtime.classify import Outcome, classify_error

    assert policy.FATAL_CLOSE_CODES is classify.FATAL_CLOSE_CODES
    assert policy.FATAL_HTTP_STATUSES is classify.FATAL_STATUSES
    assert supervisor.NORMAL_CLOSE_CODES is classify.NORMAL_CLOSE_CODES
    errors: list[BaseException] = [ConnectionClosedError(code) for code in range(1000, 1016)]
    errors += [HandshakeError(status) for status in range(400, 600)]
    errors += [OptionsError("model", "bad"), FinishTimeout("late"), TimeoutError(), TypeError("bug")]
    for error in errors:
        assert classify_failure(error).fatal == (classify_error(error) is Outcome.FATAL), error
    # the two used to disagree on unlisted 4xx statuses: retrying a 410 cannot help
    assert classify_failure(HandshakeError(410)).fatal
    assert not classify_failure(HandshakeError(408)).fatal


def test_a_normal_close_code_reported_as_a_failure_is_retryable() -> None:
    # The supervisor reports an unrequested 1000/1005 of a listen stream this way.
    assert classify_failure(ConnectionClosedError(1000, "before finish()")).kind is FailureKind.RETRYABLE
    assert classify_failure(ConnectionClosedError(1005)).kind is FailureKind.RETRYABLE
