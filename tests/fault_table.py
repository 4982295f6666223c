"""The one table of fault cases: what the API or the network can do wrong, and what must come of it.

Each row injects one fault through the fake's knobs (``fail_next``, ``malform_next``, latency,
trickle, ...) and says what must come of it for a generation with ``DALLE_2`` (or the row's
``params``): the error class (exactly) or success, how often it was sent (1: not retried),
the retry waits chosen, the faults left queued, the error's text and facts (``retryable``,
``billable``, ``kind``...), whether it keeps the request id and what arrived. The client's
tests (``tests/client/test_faults.py``) run every row; the panel's
(``tests/widget/test_panel_faults.py``) run the rows a person can meet, adding what the panel
must show.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from comet_widgets import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CometError,
    ContentPolicyError,
    ModelUnavailableError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseError,
    ServerError,
)
from comet_widgets.testing import FakeAPI

# The first and second backoff waits: 0.5 s and 1 s, less up to a quarter of jitter.
BACKOFF_1 = (0.375, 0.5)
BACKOFF_2 = (0.75, 1.0)
BILLED = "may have been billed"
SHORT = 0.5  # the read timeout of rows that time out: each such row takes about this long
#: The read timeout when some answers must arrive in time and one must not: ample for the
#: ones that arrive (even on a busy machine), while the one held back never comes.
AMPLE = 3.0

#: The generation every row makes unless it says otherwise (base64: no download involved).
DALLE_2 = {"model": "dall-e-2", "size": "256x256", "response_format": "b64_json"}


def http_date(seconds_from_now: float) -> str:
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


@dataclass(frozen=True)
class Row:
    """One fault: how to inject it, and what must come of it."""

    inject: Callable[[FakeAPI], None]
    #: Generation requests the fake must have received, exactly (1: not retried).
    requests: int
    #: The exception class (exactly), or None when the generation must succeed.
    raises: type[CometError] | None = None
    #: Bounds (low, high) of each retry wait the client chose (``on_retry``), in order.
    waits: tuple[tuple[float, float], ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    #: Generation parameters instead of the small dall-e-2 ones.
    params: dict[str, Any] = field(default_factory=dict)
    #: Text the error message must contain.
    says: tuple[str, ...] = ()
    #: Whether the error carries the request id of the last request (in its message, once).
    request_id: bool = True
    #: The error's ``code`` (an ``APIStatusError``'s, from the answer's body).
    code: str | None = None
    #: The error's ``retry_after`` (a ``RateLimitError``'s), when the server sent a hint.
    retry_after: float | None = None
    #: Whether the error keeps what arrived (``error.generation``: the images, failed ones too).
    partial: bool = False
    #: Queued faults the fake still holds afterwards (those a give-up left unsent).
    pending: int = 0
    #: The error's facts: whether sending it again may succeed, whether it may have been
    #: billed, and (a ``ResponseError``'s) what was wrong with the answer.
    retryable: bool = False
    billable: bool = False
    kind: str | None = None
    #: Whether to check that the same client then generates again (not when its options
    #: refuse every image).
    usable_after: bool = True


def fail(count: int, status: int, **kwargs: Any) -> Callable[[FakeAPI], None]:
    return lambda fake: fake.fail_next(count, status, **kwargs)


def malform(kind: str, **knobs: Any) -> Callable[[FakeAPI], None]:
    def inject(fake: FakeAPI) -> None:
        for name, value in knobs.items():
            setattr(fake, name, value)
        fake.malform_next(kind)  # type: ignore[arg-type]

    return inject


def knobs(**values: Any) -> Callable[[FakeAPI], None]:
    def inject(fake: FakeAPI) -> None:
        for name, value in values.items():
            setattr(fake, name, value)

    return inject


def then(*injections: Callable[[FakeAPI], None]) -> Callable[[FakeAPI], None]:
    def inject(fake: FakeAPI) -> None:
        for injection in injections:
            injection(fake)

    return inject


BUSY = "service unavailable, please try again later"  # a plain 503 (not "no available channel")
TIMEOUT = {"timeout": SHORT}
BILLABLE = {"retry_billable": True}
TRICKLE = {"trickle_seconds": 3.0, "trickle_chunks": 30}  # 0.1 s between pieces: no read times out
GPT = {"model": "gpt-image-1", "size": "1024x1024", "response_format": None}

ROWS: dict[str, Row] = {
    # -- 429: wait as the server says, else back off; a hint above the cap fails at once ------
    "429-retry-after-seconds": Row(
        fail(2, 429, headers={"Retry-After": "3"}), requests=3, waits=((3.0, 3.0), (3.0, 3.0))
    ),
    "429-retry-after-http-date": Row(
        # A date is read against the clock (and to whole seconds): about 30 s from now.
        lambda fake: fake.fail_next(1, 429, headers={"Retry-After": http_date(30)}),
        requests=2,
        waits=((20.0, 30.0),),
    ),
    "429-retry-after-ms-wins": Row(
        fail(1, 429, headers={"retry-after-ms": "1500", "Retry-After": "9"}),
        requests=2,
        waits=((1.5, 1.5),),
    ),
    "429-no-hint-backs-off": Row(fail(2, 429), requests=3, waits=(BACKOFF_1, BACKOFF_2)),
    "429-hint-above-cap": Row(
        fail(1, 429, headers={"Retry-After": "120"}),
        requests=1,
        raises=RateLimitError,
        says=("wait 120 s", "max_retry_wait (60 s)", "not waiting"),
        retry_after=120.0,
        retryable=True,
    ),
    "429-ms-hint-above-cap": Row(
        fail(1, 429, headers={"retry-after-ms": "90000"}),
        requests=1,
        raises=RateLimitError,
        says=("wait 90 s", "max_retry_wait (60 s)"),
        retry_after=90.0,
        retryable=True,
    ),
    "429-date-hint-above-custom-cap": Row(
        lambda fake: fake.fail_next(1, 429, headers={"Retry-After": http_date(30)}),
        requests=1,
        raises=RateLimitError,
        options={"max_retry_wait": 5},
        says=("max_retry_wait (5 s)",),
        retryable=True,
    ),
    "429-retries-exhausted": Row(
        fail(3, 429),
        requests=3,
        raises=RateLimitError,
        waits=(BACKOFF_1, BACKOFF_2),
        says=("HTTP 429", "rate limit exceeded", "lower the concurrency"),
        retryable=True,
    ),
    "429-retry-after-exhausted": Row(
        fail(5, 429, headers={"Retry-After": "2"}),
        requests=3,
        raises=RateLimitError,
        waits=((2.0, 2.0), (2.0, 2.0)),
        retry_after=2.0,
        pending=2,
        retryable=True,
    ),
    "429-max-retries-0": Row(
        fail(1, 429, headers={"Retry-After": "1"}),
        requests=1,
        raises=RateLimitError,
        options={"max_retries": 0},
        retry_after=1.0,
        retryable=True,
    ),
    "429-max-retries-5": Row(
        fail(6, 429, headers={"Retry-After": "0"}),
        requests=6,
        raises=RateLimitError,
        options={"max_retries": 5},  # "Retry-After: 0": retried at once, nothing to wait
        waits=((0.0, 0.0),) * 5,
        retry_after=0.0,
        retryable=True,
    ),
    "429-then-503-then-ok": Row(
        then(fail(1, 429, headers={"Retry-After": "1"}), fail(1, 503, message=BUSY)),
        requests=3,
        waits=((1.0, 1.0), BACKOFF_2),
    ),
    # -- 5xx: refusals are retried; what may have been billed only on opt-in -----------------
    "500-not-retried": Row(
        fail(1, 500),
        requests=1,
        raises=ServerError,
        says=("HTTP 500", "internal server error", "retry_billable=True", "billed"),
        retryable=True,
        billable=True,
    ),
    "500-retry-billable": Row(fail(1, 500), requests=2, waits=(BACKOFF_1,), options=BILLABLE),
    "500-invalid-request-never-retried": Row(
        fail(2, 500, code="invalid_request", message="invalid size"),
        requests=1,
        raises=ServerError,
        options=BILLABLE,
        says=("invalid size",),
        code="invalid_request",
        pending=1,  # the same request would fail the same way
    ),
    "502-retried": Row(fail(1, 502), requests=2, waits=(BACKOFF_1,)),
    "502-html-page-retried": Row(
        fail(1, 502, body="<html><body><h1>502 Bad Gateway</h1></body></html>"),
        requests=2,
        waits=(BACKOFF_1,),
    ),
    "502-exhausted": Row(
        fail(3, 502, body="<html><body><h1>502 Bad Gateway</h1></body></html>"),
        requests=3,
        raises=ServerError,
        waits=(BACKOFF_1, BACKOFF_2),
        says=("HTTP 502", "HTML page", "try again in a moment"),
        retryable=True,
    ),
    "503-retried": Row(fail(1, 503, message=BUSY), requests=2, waits=(BACKOFF_1,)),
    "503-no-available-channel": Row(
        fail(1, 503),  # the fake's default 503 message: "no available channel for model ..."
        requests=1,
        raises=ModelUnavailableError,
        says=("no available channel for model dall-e-2", "pick another model"),
    ),
    "503-no-available-channel-never-retried-even-on-opt-in": Row(
        fail(3, 503),
        requests=1,
        raises=ModelUnavailableError,
        options={**BILLABLE, "max_retries": 5},
        params=GPT,
        says=("no available channel for model gpt-image-1",),
        pending=2,
    ),
    "503-model-not-found-code": Row(
        fail(1, 503, code="model_not_found", message="model not routable"),
        requests=1,
        raises=ModelUnavailableError,
        params=GPT,
        code="model_not_found",
    ),
    "504-not-retried": Row(
        fail(1, 504),
        requests=1,
        raises=ServerError,
        says=("HTTP 504", "retry_billable=True"),
        retryable=True,
        billable=True,
    ),
    "504-retry-billable": Row(fail(1, 504), requests=2, waits=(BACKOFF_1,), options=BILLABLE),
    "524-not-retried": Row(
        fail(1, 524),
        requests=1,
        raises=ServerError,
        says=("HTTP 524", "retry_billable=True"),
        retryable=True,
        billable=True,
    ),
    "524-retry-billable": Row(fail(1, 524), requests=2, waits=(BACKOFF_1,), options=BILLABLE),
    "524-retry-billable-exhausted": Row(
        fail(3, 524),
        requests=3,
        raises=ServerError,
        waits=(BACKOFF_1, BACKOFF_2),
        options=BILLABLE,
        retryable=True,
        billable=True,
    ),
    # -- 4xx: never retried ------------------------------------------------------------------
    "400": Row(fail(1, 400), requests=1, raises=BadRequestError, options=BILLABLE),
    "400-request-id-in-the-message": Row(
        then(knobs(request_id_in_header=False), fail(1, 400, message="bad size")),
        requests=1,
        raises=BadRequestError,
        says=("bad size",),
    ),
    "400-content-policy": Row(
        fail(1, 400, code="content_policy_violation", message="your prompt was refused"),
        requests=1,
        raises=ContentPolicyError,
        says=("your prompt was refused", "rephrase"),
        code="content_policy_violation",
    ),
    "400-moderation-blocked": Row(
        fail(1, 400, code="moderation_blocked", message="rejected by the safety system"),
        requests=1,
        raises=ContentPolicyError,
        params=GPT,
        says=("rejected by the safety system",),
        code="moderation_blocked",
    ),
    "401": Row(fail(1, 401), requests=1, raises=AuthenticationError, says=("COMETAPI_KEY",)),
    "403": Row(fail(1, 403), requests=1, raises=PermissionDeniedError),
    "404": Row(fail(1, 404), requests=1, raises=NotFoundError, says=("base_url",)),
    # -- the connection: anything after sending may have been billed ------------------------
    "reset-mid-body": Row(
        malform("reset_mid_body"),
        requests=1,
        raises=APIConnectionError,
        says=("reading the response", "RemoteProtocolError", BILLED, "retry_billable=True"),
        request_id=False,
        retryable=True,
        billable=True,
    ),
    "reset-mid-body-retry-billable": Row(
        malform("reset_mid_body"), requests=2, waits=(BACKOFF_1,), options=BILLABLE
    ),
    "close-after-headers": Row(
        malform("close_after_headers"),
        requests=1,
        raises=APIConnectionError,
        says=("received 0 bytes", BILLED),
        request_id=False,
        retryable=True,
        billable=True,
    ),
    "close-after-headers-retry-billable": Row(
        malform("close_after_headers"), requests=2, waits=(BACKOFF_1,), options=BILLABLE
    ),
    "read-timeout": Row(
        knobs(latency=30.0),  # the fake stops waiting when the client hangs up
        requests=1,
        raises=APITimeoutError,
        options=TIMEOUT,
        says=("read timeout", BILLED, "raise timeout=", "retry_billable"),
        request_id=False,
        retryable=True,
        billable=True,
    ),
    "read-timeout-retry-billable": Row(
        knobs(latency=30.0),
        requests=3,
        raises=APITimeoutError,
        waits=(BACKOFF_1, BACKOFF_2),
        options={**TIMEOUT, **BILLABLE},
        request_id=False,
        retryable=True,
        billable=True,
    ),
    "trickle-past-read-timeout": Row(
        malform("trickle", **TRICKLE),
        requests=1,
        raises=APITimeoutError,
        options=TIMEOUT,
        says=("read timeout", "took longer than 0.5 s", BILLED),
        request_id=False,
        retryable=True,
        billable=True,
    ),
    "trickle-retry-billable": Row(
        malform("trickle", **TRICKLE),
        requests=2,
        waits=(BACKOFF_1,),
        options={**TIMEOUT, **BILLABLE},
    ),
    # -- 2xx answers that are not images: never retried (the image may have been billed) ----
    "invalid-json": Row(
        malform("invalid_json"),
        requests=1,
        raises=ResponseError,
        options=BILLABLE,
        says=("answered 200", "instead of JSON"),
        kind="not_json",
    ),
    "html-200": Row(
        malform("html_200"),
        requests=1,
        raises=ResponseError,
        says=("answered 200 with an HTML page", "check base_url"),
        kind="not_json",
    ),
    "html-301": Row(
        malform("html_301"),
        requests=1,
        raises=ResponseError,
        says=("answered 301 redirecting to", "/v1/images/generations/", "check base_url ("),
        kind="not_json",
    ),
    "empty-data": Row(
        malform("empty_data"),
        requests=1,
        raises=ResponseError,
        says=("no images", "filtered the prompt"),
        kind="no_images",
    ),
    "no-url-nor-b64": Row(
        malform("no_image_fields"),
        requests=1,
        raises=ResponseError,
        says=("image 0 has neither 'url' nor 'b64_json'",),
        partial=True,
        kind="bad_image",
    ),
    "bad-base64": Row(
        malform("bad_base64"),
        requests=1,
        raises=ResponseError,
        says=("image 0: b64_json is not valid base64",),
        partial=True,
        kind="bad_image",
    ),
    "base64-of-not-an-image": Row(
        malform("not_an_image"),
        requests=1,
        raises=ResponseError,
        says=("not a PNG, JPEG, WebP, GIF or SVG", "hello world"),
        partial=True,
        kind="bad_image",
    ),
    "truncated-png": Row(
        malform("truncated_png"),
        requests=1,
        raises=ResponseError,
        says=("the PNG is truncated",),
        partial=True,
        kind="bad_image",
    ),
    # -- size limits --------------------------------------------------------------------------
    "decompression-bomb": Row(
        malform("bomb"),
        requests=1,
        raises=ResponseError,
        says=("100000x100000", "over the limit of 64,000,000", "decompression bomb"),
        partial=True,
        kind="bad_image",
    ),
    "decompression-bomb-custom-pixel-cap": Row(
        lambda fake: None,  # a 256x256 image: 65,536 pixels
        requests=1,
        raises=ResponseError,
        options={"max_image_pixels": 60_000},
        says=("256x256", "over the limit of 60,000"),
        partial=True,
        usable_after=False,
        kind="bad_image",
    ),
    "body-over-cap-declared": Row(
        malform("huge_body"),
        requests=1,
        raises=ResponseError,
        options={"max_response_bytes": 1_000_000},
        says=("larger than max_response_bytes (1,000,000 bytes)", "refused"),
        kind="too_large",
    ),
    "body-over-cap-chunked": Row(
        malform("huge_body", huge_body_declare_length=False),
        requests=1,
        raises=ResponseError,
        options={"max_response_bytes": 1_000_000},
        says=("larger than max_response_bytes (1,000,000 bytes)",),
        kind="too_large",
    ),
}
