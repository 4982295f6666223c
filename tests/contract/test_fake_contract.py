"""The fake API against the contract: OpenAI's OpenAPI schema, the official SDK, real sockets.

Every success body the fake can produce validates against ``ImagesResponse`` and every error
body against ``ErrorResponse``; the ``openai`` SDK parses its answers over loopback; socket
faults reach a plain httpx client as the exceptions a real broken server would cause.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import io
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from PIL import Image

from bench._lab import start_server, stop_server
from comet_widgets import MODELS
from comet_widgets.testing import (
    FAKE_API_KEY,
    IN_PROCESS_BASE_URL,
    FakeAPI,
    FakeServer,
    fake_transport,
    serve_fake,
)

AUTH = {"Authorization": f"Bearer {FAKE_API_KEY}"}
PROMPT = "A paper boat floating on calm water at sunrise."
BODY = {"prompt": PROMPT, "model": "gpt-image-2"}


@pytest.fixture(scope="module")
def schema(openapi: dict[str, Any]) -> Callable[[str], Draft202012Validator]:
    components = copy.deepcopy(openapi["components"])
    # The vendored document (f85dbe2) predates gpt-image-2's free sizes: its enum lists three.
    # The SDK (3.63) types ImagesResponse.size as any string, and OpenAI answers the size made:
    # the fake follows the SDK, so the check takes any string there.
    size = components["schemas"]["ImagesResponse"]["properties"]["size"]
    assert size.pop("enum") == ["1024x1024", "1024x1536", "1536x1024"]

    def validator(name: str) -> Draft202012Validator:
        root = {"components": components, "$ref": f"#/components/schemas/{name}"}
        return Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)

    return validator


@pytest.fixture
async def inproc() -> AsyncIterator[tuple[httpx.AsyncClient, FakeAPI]]:
    app = FakeAPI()
    async with httpx.AsyncClient(transport=fake_transport(app), headers=AUTH) as client:
        yield client, app


@pytest.fixture
async def loopback(fake_server: FakeServer) -> AsyncIterator[httpx.AsyncClient]:
    """Plain httpx on real sockets against the session's fake server (reset per test)."""
    async with httpx.AsyncClient(
        base_url=fake_server.base_url, headers=AUTH, timeout=httpx.Timeout(10.0)
    ) as client:
        yield client


def _success_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []
    for name, spec in MODELS.items():
        for response_format in spec.response_formats or (None,):
            body: dict[str, Any] = {"model": name, "n": min(2, spec.max_n)}
            if response_format is not None:
                body["response_format"] = response_format
            cases.append(body)
        if spec.family == "gpt-image":
            cases += [
                {"model": name, "size": "auto", "quality": "auto", "background": "auto"},
                {"model": name, "size": "1024x1536", "quality": "low", "output_format": "jpeg"},
                {"model": name, "background": "transparent", "output_format": "webp"},
            ]
    cases += [
        {"model": "dall-e-3", "size": "1792x1024", "quality": "hd", "style": "natural"},
        {"model": "gpt-image-2", "size": "2048x1152", "quality": "high"},
        {"model": "unknown-model", "n": 2},
        {"model": "unknown-model", "response_format": "b64_json", "size": "640x480"},
    ]
    return cases


@pytest.mark.parametrize("body", _success_cases(), ids=lambda body: json.dumps(body))
async def test_every_success_answer_matches_images_response(
    inproc: tuple[httpx.AsyncClient, FakeAPI],
    schema: Callable[[str], Draft202012Validator],
    body: dict[str, Any],
) -> None:
    client, _ = inproc
    response = await client.post(
        f"{IN_PROCESS_BASE_URL}/images/generations", json={"prompt": PROMPT, **body}
    )
    assert response.status_code == 200, response.text
    document = response.json()
    schema("ImagesResponse").validate(document)
    assert len(document["data"]) == body.get("n", 1)


def test_the_schema_check_can_fail(schema: Callable[[str], Draft202012Validator]) -> None:
    validator = schema("ImagesResponse")
    for bad in (
        {"data": []},
        {"created": 1, "size": 2048},
        {"created": 1, "quality": "auto"},
        {"created": 1, "background": "auto"},
        {"created": 1, "data": [{"url": 3}]},
        {"created": 1, "usage": {"input_tokens": 1}},
    ):
        with pytest.raises(ValidationError):
            validator.validate(bad)


async def test_error_answers_match_error_response(
    inproc: tuple[httpx.AsyncClient, FakeAPI], schema: Callable[[str], Draft202012Validator]
) -> None:
    client, app = inproc
    url = f"{IN_PROCESS_BASE_URL}/images/generations"
    app.fail_next(1, 429, headers={"Retry-After": "1"})
    app.fail_next(1, 503)
    app.fail_next(1, 500, code="invalid_request")
    responses = [
        await client.post(url, json=BODY),
        await client.post(url, json=BODY),
        await client.post(url, json=BODY),
        await client.post(url, json={"prompt": PROMPT, "model": "dall-e-3", "n": 4}),
        await client.post(url, content=b"{"),
        await client.post(url, json=BODY, headers={"Authorization": ""}),
        await client.get(url),
        await client.get(f"{IN_PROCESS_BASE_URL}/nowhere"),
    ]
    assert [r.status_code for r in responses] == [429, 503, 500, 400, 400, 401, 405, 404]
    for response in responses:
        schema("ErrorResponse").validate(response.json())


# -- the official SDK over loopback ----------------------------------------------------------
def sdk(server: FakeServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key=FAKE_API_KEY, base_url=server.base_url, max_retries=0)


async def test_openai_sdk_dall_e_3_url(fake_server: FakeServer) -> None:
    async with sdk(fake_server) as client:
        result = await client.images.generate(
            model="dall-e-3", prompt=PROMPT, size="1792x1024", response_format="url"
        )
    assert result.data is not None
    [image] = result.data
    assert image.revised_prompt == PROMPT.rstrip(".") + ", rendered in soft natural light."
    assert image.url is not None
    assert image.url.startswith(f"{fake_server.url}/files/")
    async with httpx.AsyncClient() as http:
        download = await http.get(image.url)
    assert download.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(download.content)).size == (1792, 1024)
    assert fake_server.app.requests[0].json == {
        "model": "dall-e-3",
        "prompt": PROMPT,
        "size": "1792x1024",
        "response_format": "url",
    }


async def test_openai_sdk_dall_e_2_b64(fake_server: FakeServer) -> None:
    async with sdk(fake_server) as client:
        result = await client.images.generate(
            model="dall-e-2", prompt=PROMPT, n=2, size="256x256", response_format="b64_json"
        )
    assert result.data is not None
    assert len(result.data) == 2
    for image in result.data:
        assert image.url is None
        assert image.revised_prompt is None
        assert image.b64_json is not None
        decoded = Image.open(io.BytesIO(base64.b64decode(image.b64_json)))
        assert (decoded.format, decoded.size) == ("PNG", (256, 256))


async def test_openai_sdk_gpt_image_1(fake_server: FakeServer) -> None:
    async with sdk(fake_server) as client:
        result = await client.images.generate(
            model="gpt-image-1", prompt=PROMPT, quality="low", output_format="jpeg"
        )
    assert (result.output_format, result.quality, result.size) == ("jpeg", "low", "1024x1024")
    assert result.background == "opaque"
    assert result.usage is not None
    assert result.usage.total_tokens == result.usage.input_tokens + result.usage.output_tokens
    assert result.usage.input_tokens_details.image_tokens == 0
    assert result.data is not None
    assert result.data[0].b64_json is not None
    assert base64.b64decode(result.data[0].b64_json).startswith(b"\xff\xd8\xff")


async def test_openai_sdk_reads_errors_and_request_ids(fake_server: FakeServer) -> None:
    fake_server.app.fail_next(1, 429, headers={"Retry-After": "0"})
    async with sdk(fake_server) as client:
        with pytest.raises(openai.RateLimitError) as caught:
            await client.images.generate(model="dall-e-3", prompt=PROMPT)
        with pytest.raises(openai.BadRequestError, match="accepts only n=1"):
            await client.images.generate(model="dall-e-3", prompt=PROMPT, n=2)
    assert caught.value.status_code == 429
    assert caught.value.request_id == fake_server.app.requests[0].request_id


# -- socket faults over loopback -------------------------------------------------------------
async def wait_until_idle(app: FakeAPI, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while app.in_flight or any(r.finished is None for r in app.requests):
        assert time.monotonic() < deadline, "the fake kept serving a client that hung up"
        await asyncio.sleep(0.01)


async def test_reset_mid_body(loopback: httpx.AsyncClient, fake: FakeAPI) -> None:
    fake.malform_next("reset_mid_body")
    body = {"prompt": PROMPT, "model": "dall-e-2", "response_format": "b64_json"}
    async with loopback.stream("POST", "/images/generations", json=body) as response:
        assert response.status_code == 200
        declared = int(response.headers["content-length"])
        with pytest.raises(httpx.RemoteProtocolError, match=f"expected {declared}") as caught:
            await response.aread()
    assert f"received {declared // 2} bytes" in str(caught.value)
    assert (await loopback.post("/images/generations", json=body)).status_code == 200


async def test_close_after_headers(loopback: httpx.AsyncClient, fake: FakeAPI) -> None:
    fake.malform_next("close_after_headers")
    with pytest.raises(httpx.RemoteProtocolError, match="received 0 bytes"):
        await loopback.post("/images/generations", json=BODY)
    assert fake.requests[-1].status == 200


async def test_trickle(loopback: httpx.AsyncClient, fake: FakeAPI) -> None:
    fake.trickle_seconds, fake.trickle_chunks = 0.2, 4
    fake.malform_next("trickle")
    body = {"prompt": PROMPT, "model": "dall-e-2", "response_format": "b64_json"}
    started = time.perf_counter()
    response = await loopback.post("/images/generations", json=body)
    assert time.perf_counter() - started >= 0.2
    assert response.json()["data"][0]["b64_json"]
    fake.malform_next("trickle")
    with pytest.raises(httpx.ReadTimeout):
        await loopback.post("/images/generations", json=body, timeout=httpx.Timeout(5, read=0.02))
    await wait_until_idle(fake)


async def test_huge_body_declared(loopback: httpx.AsyncClient, fake: FakeAPI) -> None:
    fake.malform_next("huge_body")
    async with loopback.stream("POST", "/images/generations", json=BODY) as r:
        assert int(r.headers["content-length"]) == 300 * 1024 * 1024
    await wait_until_idle(fake)


async def test_huge_body_chunked_trips_a_size_cap(
    loopback: httpx.AsyncClient, fake: FakeAPI
) -> None:
    fake.huge_body_declare_length = False
    fake.malform_next("huge_body")
    cap, total = 4 * 1024 * 1024, 0
    async with loopback.stream("POST", "/images/generations", json=BODY) as r:
        assert "content-length" not in r.headers
        async for chunk in r.aiter_bytes():
            total += len(chunk)
            if total > cap:
                break
    assert total > cap
    await wait_until_idle(fake)
    assert fake.requests[-1].status == 200


async def test_a_client_hanging_up_during_latency_frees_the_server(
    loopback: httpx.AsyncClient, fake: FakeAPI
) -> None:
    fake.latency = 30
    request = asyncio.ensure_future(loopback.post("/images/generations", json=BODY))
    deadline = time.monotonic() + 5
    while not fake.in_flight:
        assert time.monotonic() < deadline, "the request never reached the fake"
        await asyncio.sleep(0.01)
    request.cancel()  # closes the connection mid-request
    with pytest.raises(asyncio.CancelledError):
        await request
    await wait_until_idle(fake)
    assert fake.requests[-1].status is None
    assert fake.success_count == 0


async def test_url_mode_over_loopback(
    loopback: httpx.AsyncClient, fake: FakeAPI, fake_server: FakeServer
) -> None:
    fake.url_extension = "webp"
    fake.expire_urls([1])
    body = {"prompt": PROMPT, "model": "dall-e-2", "n": 2}
    first, second = (await loopback.post("/images/generations", json=body)).json()["data"]
    assert first["url"].startswith(f"{fake_server.url}/files/")
    assert first["url"].endswith(".webp")
    downloaded = await loopback.get(first["url"], headers={"Authorization": ""})
    assert downloaded.content.startswith(b"\x89PNG")
    assert (await loopback.get(second["url"])).status_code == 404


# -- the server itself -----------------------------------------------------------------------
async def test_serve_fake_inside_a_running_loop_and_stops() -> None:
    before = sum(t.name == "comet-fake-api" for t in threading.enumerate())
    app = FakeAPI(api_key="only-this-key")
    with serve_fake(app) as server:
        assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
        assert server.app is app
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            denied = await client.get("/models", headers={"Authorization": "Bearer nope"})
            allowed = await client.get("/models", headers={"Authorization": "Bearer only-this-key"})
        assert (denied.status_code, allowed.status_code) == (401, 200)
        with pytest.raises(RuntimeError, match="cannot listen"), serve_fake(port=server.port):
            pass
    assert sum(t.name == "comet-fake-api" for t in threading.enumerate()) == before
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", server.port)) != 0


@pytest.mark.slow
def test_standalone_server_runs_until_ctrl_c(tmp_path: Path) -> None:
    image = tmp_path / "image.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n served as every image")
    command = [sys.executable, "-m", "comet_widgets.testing", "--port", "0"]
    command += ["--latency", "0", "--image-file", str(image)]
    process = start_server(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        assert base_url.endswith("/v1")
        response = httpx.get(f"{base_url}/models", headers=AUTH)
        assert response.status_code == 200
        body = {"model": "gpt-image-1", "prompt": PROMPT}
        generated = httpx.post(f"{base_url}/images/generations", json=body, headers=AUTH)
        assert base64.b64decode(generated.json()["data"][0]["b64_json"]) == image.read_bytes()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
    finally:
        stop_server(process)
    assert process.returncode == 0, stderr
    assert "stopped" in stderr
