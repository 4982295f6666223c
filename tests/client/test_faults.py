"""The fault table: every fault the API or the network can produce, over real loopback sockets.

``ROWS`` is the one table of fault cases for the client. Each row injects one fault through
the fake's knobs (``fail_next``, ``malform_next``, latency, trickle, ...) and says what must
come of it: the error class (exactly) or success, whether and how often it was retried (the
exact number of generation requests the fake received: by default nothing that may have been
billed is sent twice), the waits chosen (reported by ``on_retry``; waited through an injected
sleep, never slept), the faults left queued, the text of the message, whether the error keeps
the request id and what arrived (``error.generation``), and that the client works again right
after. Refused connections, URL mode and partial answers follow the table.
"""

from __future__ import annotations

import asyncio
import email.utils
import socket
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from comet_widgets import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncImageClient,
    AuthenticationError,
    BadRequestError,
    CometError,
    ContentPolicyError,
    Generation,
    ImageDownloadError,
    ModelUnavailableError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseError,
    ServerError,
    build_payload,
)
from comet_widgets.testing import FAKE_API_KEY, FakeAPI, FakeServer


@dataclass
class Waits:
    """What a client's retries chose (``on_retry``) and what it then waited (its sleep), each
    with the ``time.monotonic()`` at which it happened."""

    chosen: list[tuple[CometError, float, float]] = field(default_factory=list)
    slept: list[tuple[float, float]] = field(default_factory=list)

    def on_retry(self, error: CometError, delay: float) -> None:
        self.chosen.append((error, delay, time.monotonic()))


MakeClient = Callable[..., tuple[AsyncImageClient, Waits]]

# The first and second backoff waits: 0.5 s and 1 s, less up to a quarter of jitter.
BACKOFF_1 = (0.375, 0.5)
BACKOFF_2 = (0.75, 1.0)
BILLED = "may have been billed"
SHORT = 0.5  # the read timeout of rows that time out: each such row takes about this long
#: The read timeout when some answers must arrive in time and one must not: ample for the
#: ones that arrive (even on a busy machine), while the one held back never comes.
AMPLE = 3.0


@pytest.fixture
async def make_client(fake_server: FakeServer) -> AsyncIterator[MakeClient]:
    """Build clients on the loopback fake whose retry waits are recorded, not slept."""
    clients: list[AsyncImageClient] = []

    def make(**options: Any) -> tuple[AsyncImageClient, Waits]:
        waits = Waits()

        async def sleep(seconds: float) -> None:
            waits.slept.append((seconds, time.monotonic()))

        options.setdefault("base_url", fake_server.base_url)
        options.setdefault("api_key", FAKE_API_KEY)
        client = AsyncImageClient(sleep=sleep, **options)
        clients.append(client)
        return client, waits

    yield make
    for client in clients:
        await client.aclose()


DALLE_2 = {"model": "dall-e-2", "size": "256x256", "response_format": "b64_json"}


async def generate(
    client: AsyncImageClient, waits: Waits | None = None, **params: Any
) -> Generation:
    """A small dall-e-2 generation (base64, so that no download is involved unless asked)."""
    payload = build_payload("a paper boat", **{**DALLE_2, **params})
    return await client.generate_payload(payload, on_retry=waits.on_retry if waits else None)


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


def check_waits(waits: Waits, bounds: tuple[tuple[float, float], ...]) -> None:
    """The waits chosen are within ``bounds``, and each was waited out, no more.

    A backoff is slept as chosen. A 429's wait pauses the client's limiter, which sleeps what
    is left of the pause when the retry takes its turn: the chosen wait less the time between
    the choice and that sleep (both read from ``time.monotonic``), and nothing for a wait of 0.
    """
    chosen = [delay for _, delay, _ in waits.chosen]
    assert len(chosen) == len(bounds), chosen
    for delay, (low, high) in zip(chosen, bounds, strict=True):
        assert low - 1e-6 <= delay <= high + 1e-6, (chosen, bounds)
    waited = [(error, delay, when) for error, delay, when in waits.chosen if delay > 0]
    assert len(waits.slept) == len(waited), (waits.slept, chosen)
    for (error, delay, chosen_at), (slept, slept_at) in zip(waited, waits.slept, strict=True):
        if isinstance(error, RateLimitError):
            assert delay - (slept_at - chosen_at) - 1e-6 <= slept <= delay + 1e-6
        else:
            assert slept == delay


async def settled(fake: FakeAPI, timeout: float = 10.0) -> None:
    """Wait until the fake has finished handling every request (its log is then complete).

    The client can have the whole answer before the server's handler returns. (The deadline
    only guards against a hang.)
    """
    deadline = time.monotonic() + timeout
    while fake.in_flight or any(r.finished is None for r in fake.requests):
        assert time.monotonic() < deadline, f"the fake is still busy: {fake!r}"
        await asyncio.sleep(0.01)


def host_of(server: FakeServer) -> str:
    return server.base_url.split("//", 1)[1].split("/", 1)[0]


def generation_requests(fake: FakeAPI) -> list[Any]:
    return [r for r in fake.requests if r.path.endswith("/images/generations")]


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
async def test_fault_table(
    row: Row, fake: FakeAPI, fake_server: FakeServer, make_client: MakeClient
) -> None:
    client, waits = make_client(**row.options)
    row.inject(fake)
    if row.raises is None:
        generation = await generate(client, waits, **row.params)
        assert generation.ok
        assert len(generation.images) == 1
        assert generation.request_id == generation_requests(fake)[-1].request_id
        await settled(fake)
        clean = [r for r in generation_requests(fake) if r.status == 200 and r.fault is None]
        assert len(clean) == 1  # exactly one good answer per generation
    else:
        with pytest.raises(CometError) as info:
            await generate(client, waits, **row.params)
        error = info.value
        await settled(fake)
        # A ModelUnavailableError is also the class of its status (ServerError for a 503).
        exact = type(error) is row.raises
        assert exact or (row.raises is ModelUnavailableError and isinstance(error, row.raises))
        message = str(error)
        for text in row.says:
            assert text in message, message
        if row.request_id:
            request_id = generation_requests(fake)[-1].request_id
            assert getattr(error, "request_id", None) == request_id
            assert message.count(f"request id: {request_id}") == 1
            assert message.count(request_id) == 1
        if isinstance(error, APIStatusError):
            assert error.status_code == generation_requests(fake)[-1].status
            assert f"HTTP {error.status_code}" in message
            assert "What to do:" in message
            assert error.code == row.code
            assert isinstance(error.body, dict) or "HTML page" in message, error.body
        if isinstance(error, RateLimitError) and row.retry_after is not None:
            assert error.retry_after == row.retry_after
        if isinstance(error, APIConnectionError):
            assert error.sent  # the fake got the request: it may have been billed
            assert error.host == host_of(fake_server)
            if isinstance(error, APITimeoutError):
                assert error.timeout == row.options["timeout"]
        # The facts a front end words itself (tests/widget/test_panel_faults.py), as attributes.
        assert (error.retryable, error.billable) == (row.retryable, row.billable)
        assert error.retries == row.requests - 1
        if isinstance(error, APIStatusError):
            assert error.server_message
            assert "request id" not in error.server_message
            assert "What to do" not in error.server_message
        if isinstance(error, ModelUnavailableError):
            assert error.model == {**DALLE_2, **row.params}["model"]
            assert error.replacement
            assert error.replacement in message
        if isinstance(error, RateLimitError) and "not waiting" in message:
            assert error.max_retry_wait == row.options.get("max_retry_wait", 60)
        else:
            assert getattr(error, "max_retry_wait", None) is None
        if isinstance(error, ResponseError):
            assert error.kind == row.kind
            assert error.reason
            assert "request id" not in error.reason
            assert error.index == (0 if row.kind == "bad_image" else None)
        assert (error.generation is not None) == row.partial
        if row.partial:
            assert error.generation.request_id == generation_requests(fake)[-1].request_id
        assert FAKE_API_KEY not in message
    assert fake.generation_count == row.requests
    assert fake.pending_faults == row.pending
    check_waits(waits, row.waits)
    # The client keeps working right after the fault.
    if row.usable_after:
        fake.reset()
        assert (await generate(client)).ok
        assert fake.generation_count == 1


def test_every_row_can_fail_for_the_right_reason() -> None:
    """The table covers the issue's list: each kind of fault appears at least once."""
    kinds = {"429", "500", "502", "503", "504", "524", "reset", "close", "read-timeout"}
    kinds |= {"trickle", "invalid-json", "html-200", "html-301", "empty-data", "no-url-nor-b64"}
    kinds |= {"bad-base64", "base64-of-not-an-image", "truncated-png", "decompression-bomb"}
    kinds |= {"body-over-cap", "no-available-channel", "content-policy", "400", "401", "403"}
    kinds |= {"404", "model-not-found"}
    missing = {kind for kind in kinds if not any(kind in name for name in ROWS)}
    assert not missing


# -- refused connections: nothing was sent, so they are retried ---------------------------------


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize(
    ("max_retries", "bounds"),
    [(2, (BACKOFF_1, BACKOFF_2)), (0, ())],
    ids=["retried-twice", "max-retries-0"],
)
async def test_connection_refused_is_retried_then_raised_as_not_sent(
    closed_port: int,
    make_client: MakeClient,
    max_retries: int,
    bounds: tuple[tuple[float, float], ...],
) -> None:
    attempts: list[httpx.Request] = []

    async def count(request: httpx.Request) -> None:
        attempts.append(request)

    http = httpx.AsyncClient(event_hooks={"request": [count]})
    client, waits = make_client(
        base_url=f"http://127.0.0.1:{closed_port}/v1", http_client=http, max_retries=max_retries
    )
    try:
        with pytest.raises(APIConnectionError) as info:
            await generate(client, waits)
    finally:
        await http.aclose()
    error = info.value
    assert type(error) is APIConnectionError
    assert error.sent is False
    assert f"127.0.0.1:{closed_port}" in str(error)
    assert "check base_url and your network" in str(error)
    assert len(attempts) == max_retries + 1
    check_waits(waits, bounds)


# -- partial answers: keep what arrived, record the failure on its image -------------------------


async def test_one_bad_item_of_n_keeps_the_others(fake: FakeAPI, make_client: MakeClient) -> None:
    client, waits = make_client()
    fake.malform_next("bad_base64", indexes=[1])
    generation = await generate(client, n=3)
    assert [image.ok for image in generation.images] == [True, False, True]
    assert not generation.ok
    [error] = generation.errors
    assert isinstance(error, ResponseError)
    assert "image 1: b64_json is not valid base64" in str(error)
    assert error.request_id == generation.request_id == fake.requests[-1].request_id
    assert generation.images[0].image.size == (256, 256)
    assert fake.generation_count == 1
    assert waits.slept == []


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("bad_base64", "not valid base64"),
        ("not_an_image", "not a PNG"),
        ("truncated_png", "truncated"),
        ("bomb", "decompression bomb"),
        ("no_image_fields", "neither 'url' nor 'b64_json'"),
    ],
)
async def test_when_every_item_is_bad_the_error_carries_the_generation(
    fake: FakeAPI, make_client: MakeClient, kind: str, says: str
) -> None:
    client, _ = make_client()
    fake.malform_next(kind, indexes=[0, 1])  # type: ignore[arg-type]
    with pytest.raises(ResponseError) as info:
        await generate(client, n=2)
    error = info.value
    assert says in str(error)
    assert "image 0" in str(error)
    assert error.generation is not None
    assert len(error.generation.images) == 2
    assert len(error.generation.errors) == 2
    assert error.generation.request_id == fake.requests[-1].request_id
    assert fake.generation_count == 1


# -- url mode ---------------------------------------------------------------------------------


def file_requests(fake: FakeAPI) -> list[Any]:
    return [r for r in fake.requests if r.path.startswith("/files/")]


async def url_generation(client: AsyncImageClient, n: int) -> Generation:
    return await client.generate(
        "a paper boat", model="dall-e-2", size="256x256", n=n, response_format="url"
    )


def assert_no_key_sent_to_files(fake: FakeAPI) -> None:
    files = file_requests(fake)
    assert files, "no download reached the fake"
    assert not any(r.auth_present for r in files)
    generations = [r for r in fake.requests if r.path.endswith("/images/generations")]
    assert all(r.auth_ok for r in generations)


async def test_url_mode_downloads_without_the_key(fake: FakeAPI, make_client: MakeClient) -> None:
    client, _ = make_client()
    generation = await url_generation(client, 3)
    assert generation.ok
    assert all(image.format == "png" and image.data for image in generation.images)
    assert len(file_requests(fake)) == 3
    assert_no_key_sent_to_files(fake)


async def test_one_expired_url_of_three_keeps_the_others(
    fake: FakeAPI, make_client: MakeClient
) -> None:
    client, waits = make_client()
    fake.expire_urls([1])
    generation = await url_generation(client, 3)
    assert [image.ok for image in generation.images] == [True, False, True]
    error = generation.images[1].error
    assert isinstance(error, ImageDownloadError)
    assert error.status_code == 404
    assert "image 1: download failed with HTTP 404" in str(error)
    assert "expire" in str(error)
    assert error.url == generation.images[1].url
    assert error.index == 1
    assert error.reason.startswith("download failed with HTTP 404")
    assert generation.images[1].data is None
    assert not generation.ok
    assert generation.errors == [error]
    assert len(generation.pil_images) == 2
    assert fake.generation_count == 1  # a failed download never asks (and pays) for a new image
    assert waits.slept == []
    assert_no_key_sent_to_files(fake)


async def test_every_url_expired_raises_with_the_generation(
    fake: FakeAPI, make_client: MakeClient
) -> None:
    client, _ = make_client()
    fake.expire_urls([0, 1])
    with pytest.raises(ImageDownloadError) as info:
        await url_generation(client, 2)
    assert info.value.generation is not None  # what arrived (the URLs) is kept
    assert len(info.value.generation.images) == 2
    assert info.value.generation.request_id == generation_requests(fake)[-1].request_id
    assert fake.generation_count == 1


async def test_one_slow_url_times_out_and_the_others_are_kept(
    fake: FakeAPI, make_client: MakeClient
) -> None:
    client, _ = make_client(timeout=AMPLE)
    fake.slow_urls([2], 600)  # never in time (the fake stops waiting when the client hangs up)
    generation = await url_generation(client, 3)
    assert [image.ok for image in generation.images] == [True, True, False]
    error = generation.images[2].error
    assert isinstance(error, ImageDownloadError)
    assert "image 2: download failed: the whole response took longer than" in str(error)
    assert fake.generation_count == 1
    assert_no_key_sent_to_files(fake)


async def test_a_redirect_loop_is_cut_short(fake: FakeAPI, make_client: MakeClient) -> None:
    client, _ = make_client()
    fake.redirect_loop_urls([0])
    with pytest.raises(ImageDownloadError) as info:
        await url_generation(client, 1)
    assert "image 0: too many redirects" in str(info.value)
    assert info.value.generation is not None  # what arrived (the URL) is kept
    assert info.value.generation.images[0].url
    assert 2 <= len(file_requests(fake)) <= 10
    assert fake.generation_count == 1
    assert_no_key_sent_to_files(fake)


@pytest.mark.parametrize(
    "url", ["ftp://example.invalid/image.png", "file:///etc/passwd", "data:image/png;base64,AAAA"]
)
async def test_a_non_http_url_is_never_fetched(
    fake: FakeAPI, make_client: MakeClient, url: str
) -> None:
    client, _ = make_client()
    fake.non_http_urls([0], url=url)
    generation = await url_generation(client, 2)
    assert [image.ok for image in generation.images] == [False, True]
    error = generation.images[0].error
    assert isinstance(error, ImageDownloadError)
    assert "refusing to download" in str(error)
    assert "only http and https" in str(error)
    assert len(file_requests(fake)) == 1
    assert fake.generation_count == 1


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("not_an_image", "not a PNG"),
        ("truncated_png", "truncated"),
        ("bomb", "decompression bomb"),
    ],
)
async def test_bad_bytes_at_a_url_become_an_image_error(
    fake: FakeAPI, make_client: MakeClient, kind: str, says: str
) -> None:
    client, _ = make_client()
    fake.malform_next(kind)  # type: ignore[arg-type]
    with pytest.raises(ImageDownloadError) as info:
        await url_generation(client, 1)
    assert says in str(info.value)
    assert info.value.generation is not None
    assert fake.generation_count == 1


# -- memory: refused sizes are refused before they cost memory -----------------------------------


@pytest.mark.parametrize(
    ("kind", "options", "limit"),
    [
        ("bomb", {}, 5_000_000),
        ("huge_body", {"max_response_bytes": 2_000_000}, 10_000_000),
    ],
    ids=["decompression-bomb", "huge-chunked-body"],
)
async def test_refusing_a_huge_answer_keeps_memory_small(
    fake: FakeAPI, make_client: MakeClient, kind: str, options: dict[str, Any], limit: int
) -> None:
    client, _ = make_client(**options)
    await generate(client)  # warm up: the connection pool and lazy imports
    fake.huge_body_declare_length = False  # the client must count, not trust a header
    fake.malform_next(kind)  # type: ignore[arg-type]
    tracemalloc.start()
    try:
        with pytest.raises(ResponseError):
            await generate(client)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < limit, f"peak {peak:,} bytes"
