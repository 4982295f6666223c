"""The retry policy: what is retried, and how long to wait (pure functions, no sleeping)."""

from __future__ import annotations

import email.utils

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from comet_widgets._constants import DEFAULT_MAX_RETRIES, INITIAL_RETRY_DELAY, MAX_RETRY_DELAY
from comet_widgets.client._retry import (
    RetryPolicy,
    backoff_delay,
    classify_status,
    parse_retry_after,
)

NOW = 1_760_000_000.0


@pytest.mark.parametrize(
    ("status", "failure"),
    [
        (429, "safe"),
        (502, "safe"),
        (503, "safe"),
        (500, "billable"),
        (504, "billable"),
        (520, "billable"),
        (524, "billable"),
        (400, "final"),
        (401, "final"),
        (403, "final"),
        (404, "final"),
        (409, "final"),
        (422, "final"),
        (501, "final"),
    ],
)
def test_classify_status(status: int, failure: str) -> None:
    assert classify_status(status) == failure


@pytest.mark.parametrize("status", [404, 429, 500, 503])
def test_model_unavailable_is_never_retried(status: int) -> None:
    assert classify_status(status, model_unavailable=True) == "final"


@pytest.mark.parametrize("status", [500, 502, 503])
def test_invalid_request_reported_as_a_server_error_is_final(status: int) -> None:
    # api-facts: "500 with code invalid_request: a malformed request reported as 500 - no retry"
    assert classify_status(status, code="invalid_request") == "final"
    assert classify_status(status, code="server_error") != "final"


def test_default_policy_retries_safe_failures_twice() -> None:
    policy = RetryPolicy()
    assert policy.max_retries == DEFAULT_MAX_RETRIES == 2
    assert [policy.should_retry("safe", attempt) for attempt in (1, 2, 3, 4)] == [
        True,
        True,
        False,
        False,
    ]


def test_billable_failures_are_retried_only_on_opt_in() -> None:
    assert not RetryPolicy().should_retry("billable", 1)
    assert RetryPolicy(retry_billable=True).should_retry("billable", 1)
    assert not RetryPolicy(retry_billable=True).should_retry("billable", 3)


def test_final_failures_are_never_retried() -> None:
    policy = RetryPolicy(max_retries=10, retry_billable=True)
    assert not any(policy.should_retry("final", attempt) for attempt in range(1, 12))


def test_max_retries_zero_disables_retries() -> None:
    policy = RetryPolicy(max_retries=0, retry_billable=True)
    assert not policy.should_retry("safe", 1)
    assert not policy.should_retry("billable", 1)


def test_backoff_doubles_then_caps() -> None:
    delays = [backoff_delay(attempt, jitter=0) for attempt in range(1, 8)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert delays[0] == INITIAL_RETRY_DELAY
    assert max(delays) == MAX_RETRY_DELAY


def test_jitter_takes_off_at_most_a_quarter() -> None:
    assert backoff_delay(2, jitter=0.0) == 1.0
    assert backoff_delay(2, jitter=0.5) == 0.875
    assert backoff_delay(2, jitter=0.999) == pytest.approx(0.75, abs=1e-3)
    # the random source is injectable
    assert backoff_delay(3, rand=lambda: 1.0) == 1.5


def test_backoff_uses_the_random_source_by_default() -> None:
    seen = {backoff_delay(4) for _ in range(50)}
    assert len(seen) > 1
    assert all(3.0 <= delay <= 4.0 for delay in seen)


def test_backoff_of_a_huge_attempt_number_stays_capped() -> None:
    assert backoff_delay(5000, jitter=0) == MAX_RETRY_DELAY
    assert RetryPolicy().delay(10_000, None, jitter=0) == MAX_RETRY_DELAY


@given(
    attempt=st.integers(min_value=1, max_value=100_000),
    jitter=st.floats(min_value=0, max_value=1, exclude_max=True),
    initial=st.floats(min_value=0.01, max_value=5),
    maximum=st.floats(min_value=0.01, max_value=120),
)
def test_backoff_is_always_within_bounds(
    attempt: int, jitter: float, initial: float, maximum: float
) -> None:
    delay = backoff_delay(attempt, initial=initial, maximum=maximum, jitter=jitter)
    base = min(maximum, initial * 2 ** min(attempt - 1, 64))
    assert 0.75 * base - 1e-9 <= delay <= base + 1e-9


def test_policy_delay_prefers_the_server_hint() -> None:
    policy = RetryPolicy(initial_delay=1.0, max_delay=4.0)
    assert policy.delay(1, 7.5) == 7.5
    assert policy.delay(3, 0.0) == 0.0
    assert policy.delay(1, -3.0) == 0.0
    assert policy.delay(1, None, jitter=0) == 1.0
    assert policy.delay(5, None, jitter=0) == 4.0


# -- Retry-After -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": "0"}, 0.0),
        ({"Retry-After": " 1.5 "}, 1.5),
        ({"retry-after-ms": "250"}, 0.25),
        ({"Retry-After-Ms": "1500", "Retry-After": "9"}, 1.5),  # milliseconds win
        ({"retry-after-ms": "soon", "Retry-After": "2"}, 2.0),  # bad ms: fall back
        ({"retry-after-ms": "-5", "Retry-After": "2"}, 2.0),
        ({"Retry-After": "-1"}, None),
        ({"Retry-After": "tomorrow"}, None),
        ({"Retry-After": ""}, None),
        ({"Retry-After": "nan"}, None),
        ({}, None),
        ({"X-Other": "5"}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers, now=NOW) == expected


def test_retry_after_as_an_http_date_is_relative_to_now() -> None:
    date = email.utils.formatdate(NOW + 30, usegmt=True)
    assert parse_retry_after({"Retry-After": date}, now=NOW) == pytest.approx(30)


def test_retry_after_date_in_the_past_means_now() -> None:
    date = email.utils.formatdate(NOW - 300, usegmt=True)
    assert parse_retry_after({"Retry-After": date}, now=NOW) == 0.0


def test_retry_after_reads_httpx_headers() -> None:
    headers = httpx.Headers({"Retry-After": "4"})
    assert parse_retry_after(headers, now=NOW) == 4.0
