"""Retry policy as pure functions: what to retry, and how long to wait.

A generation is a paid, non-idempotent POST with no idempotency key. So by default only failures
that cannot have produced (and billed) an image are retried: 429, 502/503 refusals that are not
"model unavailable", and connection failures before the request was sent. Read timeouts, resets
after sending, 500, 504 and 524 may come after the provider made the image: they are retried only
with ``retry_billable=True``; so is anything a stream says once it answered 200 (an error event
saying "rate limit" or 503 included): the provider had started on the image. Nothing here
sleeps; the client passes the delay to an injectable sleep function, so tests never wait for
real backoff.
"""

from __future__ import annotations

import email.utils
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from .._constants import (
    DEFAULT_MAX_RETRIES,
    INITIAL_RETRY_DELAY,
    MAX_RETRY_DELAY,
    MAX_RETRY_WAIT,
)

__all__ = ["Failure", "RetryPolicy", "backoff_delay", "classify_status", "parse_retry_after"]

#: "safe": cannot have been billed, retry. "billable": may have been billed, retry only on opt-in.
#: "final": never retry (the same request would fail the same way).
Failure = Literal["safe", "billable", "final"]


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and how long to retry; see the module docstring for what is retried."""

    max_retries: int = DEFAULT_MAX_RETRIES
    initial_delay: float = INITIAL_RETRY_DELAY
    max_delay: float = MAX_RETRY_DELAY
    #: A server hint above this is not waited for: the call fails with a message naming it.
    max_retry_wait: float = MAX_RETRY_WAIT
    retry_billable: bool = False

    def should_retry(self, failure: Failure, attempt: int) -> bool:
        """Whether to retry after ``attempt`` failed attempts (counting from 1)."""
        if attempt > self.max_retries:
            return False
        return failure == "safe" or (failure == "billable" and self.retry_billable)

    def delay(self, attempt: int, hint: float | None, *, jitter: float | None = None) -> float:
        """Seconds to wait before the next attempt: the server's hint, else capped backoff."""
        if hint is not None:
            return max(0.0, hint)
        return backoff_delay(
            attempt, initial=self.initial_delay, maximum=self.max_delay, jitter=jitter
        )


def classify_status(
    status: int, *, model_unavailable: bool = False, code: str | None = None
) -> Failure:
    """Classify an error status for retrying.

    A 500 with ``code`` "invalid_request" is a malformed request reported as a server error:
    sending it again would fail again, so it is final like a 400.
    """
    if model_unavailable or code == "invalid_request":
        return "final"
    if status in (429, 502, 503):
        return "safe"
    if status in (500, 504, 524) or status >= 520:
        return "billable"
    return "final"


def backoff_delay(
    attempt: int,
    *,
    initial: float = INITIAL_RETRY_DELAY,
    maximum: float = MAX_RETRY_DELAY,
    jitter: float | None = None,
    rand: Callable[[], float] = random.random,
) -> float:
    """Capped exponential backoff with jitter for the ``attempt``-th retry (1-based).

    The base doubles each time (``initial * 2**(attempt-1)``, at most ``maximum``), then up to a
    quarter is taken off at random so that many clients do not retry in step. ``jitter`` in
    [0, 1) fixes the random part (for tests).
    """
    # The exponent is capped: 2**1024 overflows a float, and 2**64 is far past any maximum.
    base = min(maximum, initial * 2 ** min(max(0, attempt - 1), 64))
    fraction = rand() if jitter is None else jitter
    return float(base * (1 - 0.25 * fraction))


def parse_retry_after(headers: Mapping[str, str], *, now: float) -> float | None:
    """The server's retry hint in seconds, or None.

    Reads ``retry-after-ms`` (milliseconds), then ``Retry-After`` as seconds or as an HTTP date
    (relative to ``now``, a Unix time). Negative or unparseable values give None.
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis is not None:
        try:
            value = float(millis) / 1000
        except ValueError:
            value = -1
        if value >= 0:
            return value
    text = lowered.get("retry-after")
    if text is None:
        return None
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - now
        return max(0.0, seconds)
    return seconds if seconds >= 0 else None
