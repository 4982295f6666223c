"""The client against the fault table (``tests/fault_table.py``), over real loopback sockets.

Every row of the table: the error class (exactly) or success, how often it was sent (the exact
number of generation requests the fake received: by default nothing that may have been billed
is sent twice), the waits chosen (reported by ``on_retry``; waited through an injected sleep,
never slept), the faults left queued, the text and the facts of the error, whether it keeps
the request id and what arrived (``error.generation``), and that the client works again right
after. Refused connections, URL mode and partial answers follow the table.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fault_table import AMPLE, BACKOFF_1, BACKOFF_2, DALLE_2, ROWS, Row

from comet_widgets import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncImageClient,
    CometError,
    Generation,
    ImageDownloadError,
    ModelUnavailableError,
    RateLimitError,
    ResponseError,
    UnprocessableEntityError,
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


async def generate(
    client: AsyncImageClient, waits: Waits | None = None, **params: Any
) -> Generation:
    """A small dall-e-2 generation (base64, so that no download is involved unless asked)."""
    payload = build_payload("a paper boat", **{**DALLE_2, **params})
    return await client.generate_payload(payload, on_retry=waits.on_retry if waits else None)


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


@pytest.mark.slow
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


async def test_a_problem_json_answer_names_each_field_and_what_is_allowed(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    """A gateway's ``application/problem+json`` refusal with ``validation`` entries: the message
    and ``invalid_params`` say which field is wrong and what is allowed."""
    body = {
        "type": "about:blank",
        "title": "Request validation failed",
        "status": 422,
        "validation": [
            {"field": "size", "message": "unsupported size", "allowed": ["1024x1024", "auto"]},
            {"field": "quality", "message": "must be low, medium or high."},
        ],
    }
    fake.fail_next(1, 422, body=json.dumps(body), content_type="application/problem+json")
    with pytest.raises(UnprocessableEntityError) as caught:
        await client.generate("a boat", model="gpt-image-2")
    error = caught.value
    assert str(error).startswith(
        "HTTP 422: Request validation failed: size: unsupported size (allowed: 1024x1024, auto);"
        " quality: must be low, medium or high (request id: "
    )
    assert error.invalid_params == {
        "size": "unsupported size (allowed: 1024x1024, auto)",
        "quality": "must be low, medium or high",
    }
    openai_body = {
        "error": {"message": "Invalid size.", "type": "x", "param": "size", "code": "invalid_value"}
    }
    fake.fail_next(1, 400, body=json.dumps(openai_body), content_type="application/json")
    with pytest.raises(APIStatusError) as refused:
        await client.generate("a boat", model="gpt-image-2")
    assert refused.value.invalid_params == {"size": "Invalid size."}


@pytest.mark.parametrize("style", ["openai", "comet"])
async def test_either_error_style_gives_the_request_id_and_what_the_server_said(
    client: AsyncImageClient, fake: FakeAPI, style: str
) -> None:
    """OpenAI's bodies (``null``s, the id in ``x-request-id``) and CometAPI's
    (``comet_api_error``, ``""``s, the id only inside the message) read the same."""
    fake.error_style = style  # type: ignore[assignment]
    fake.request_id_in_header = style == "openai"
    fake.fail_next(1, 400, message="size 13x13 is not supported")
    with pytest.raises(APIStatusError) as caught:
        await client.generate("a boat", model="gpt-image-2")
    error = caught.value
    assert error.status_code == 400
    assert error.request_id == fake.requests[-1].request_id
    assert error.server_message == "size 13x13 is not supported"
    assert error.code is None
    assert str(error).count("request id") == 1
