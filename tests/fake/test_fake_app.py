"""The fake API in-process (``httpx.ASGITransport``): protocol, images, knobs and counters.

Socket-level faults (a connection closed mid-body, a trickling body) are checked on real
loopback in ``tests/contract/test_fake_contract.py``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import json
import re
import struct
import time
import zlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from PIL import Image

from comet_widgets import MODELS
from comet_widgets.testing import (
    FAKE_API_KEY,
    IN_PROCESS_BASE_URL,
    MALFORM_KINDS,
    FakeAPI,
    fake_transport,
)

GENERATIONS = f"{IN_PROCESS_BASE_URL}/images/generations"
AUTH = {"Authorization": f"Bearer {FAKE_API_KEY}"}
REQUEST_ID = re.compile(r"\(request id: ([^)]+)\)$")
GPT_MODELS = [name for name, spec in MODELS.items() if spec.family == "gpt-image"]


@pytest.fixture
def app() -> FakeAPI:
    return FakeAPI()


@pytest.fixture
async def http(app: FakeAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=fake_transport(app), headers=AUTH) as client:
        yield client


async def generate(http: httpx.AsyncClient, **body: Any) -> httpx.Response:
    body.setdefault("prompt", "A paper boat floating on calm water at sunrise.")
    body.setdefault("model", "dall-e-3")  # the gateway needs a model to route
    return await http.post(GENERATIONS, json=body)


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The error object, checked for OpenAI's shape: ``null`` where there is no value (never
    ``""``), the request id in ``x-request-id`` only."""
    document = response.json()
    assert set(document) == {"error"}
    error: dict[str, Any] = document["error"]
    assert set(error) == {"message", "type", "param", "code"}
    status = response.status_code
    kind = "requests" if status == 429 else "server_error" if status >= 500 else None
    assert error["type"] == (kind or "invalid_request_error")
    for field in ("param", "code"):
        assert error[field] is None or (isinstance(error[field], str) and error[field])
    assert response.headers["x-request-id"].startswith("fake-")
    assert "request id" not in error["message"]
    return error


def b64_images(response: httpx.Response) -> list[bytes]:
    return [base64.b64decode(item["b64_json"]) for item in response.json()["data"]]


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# -- auth ------------------------------------------------------------------------------------
async def test_missing_key_is_401(http: httpx.AsyncClient, app: FakeAPI) -> None:
    response = await http.post(GENERATIONS, json={"prompt": "x"}, headers={"Authorization": ""})
    assert response.status_code == 401
    error = error_of(response)
    assert "missing API key" in error["message"]
    assert (error["param"], error["code"]) == (None, "invalid_api_key")
    record = app.requests[-1]
    assert (record.auth_ok, record.status) == (False, 401)


async def test_no_authorization_header_is_401() -> None:
    async with httpx.AsyncClient(transport=fake_transport()) as client:
        response = await client.post(GENERATIONS, json={"prompt": "x"})
    assert response.status_code == 401
    error_of(response)


@pytest.mark.parametrize("header", ["Basic abc", "Bearer ", "Bearer wrong-key"])
async def test_wrong_key_is_401_and_never_echoed(header: str) -> None:
    app = FakeAPI(api_key="the-right-key")
    async with httpx.AsyncClient(transport=fake_transport(app)) as client:
        response = await client.post(
            GENERATIONS, json={"prompt": "x"}, headers={"Authorization": header}
        )
    assert response.status_code == 401
    assert "wrong-key" not in response.text
    assert app.requests[-1].auth_present
    assert not app.requests[-1].auth_ok
    assert "wrong-key" not in repr(app.requests)


async def test_configured_key_is_accepted_and_not_logged() -> None:
    app = FakeAPI(api_key="the-right-key")
    async with httpx.AsyncClient(transport=fake_transport(app)) as client:
        response = await client.post(
            GENERATIONS,
            json={"prompt": "x", "model": "gpt-image-2"},
            headers={"Authorization": "Bearer the-right-key"},
        )
    assert response.status_code == 200
    assert app.requests[-1].auth_ok
    assert "the-right-key" not in repr(app.requests) + repr(app)


# -- validation ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "words", "code"),
    [
        ({"model": "dall-e-3", "n": 2}, "n 2", "invalid_value"),
        ({"model": "dall-e-2", "size": "1792x1024"}, "size", "invalid_value"),
        (
            {"model": "gpt-image-1", "response_format": "url"},
            "response_format",
            "unsupported_parameter",
        ),
        ({"model": "dall-e-3", "stream": True}, "stream", "unsupported_parameter"),
        ({"model": "dall-e-2", "n": "2"}, "n must be int", "invalid_value"),
        ({"model": "dall-e-3", "prompt": ""}, "prompt is empty", "invalid_value"),
        ({"model": "gpt-image-2", "size": "1000x1000"}, "multiples of 16", "invalid_value"),
    ],
)
async def test_invalid_parameters_are_400_naming_the_field(
    http: httpx.AsyncClient, body: dict[str, Any], words: str, code: str
) -> None:
    response = await generate(http, **body)
    assert response.status_code == 400
    error = error_of(response)
    assert words in error["message"]
    assert (error["param"], error["code"]) == (next(iter(body.keys() - {"model"})), code)


async def test_missing_prompt_is_400(http: httpx.AsyncClient) -> None:
    response = await http.post(GENERATIONS, json={"model": "dall-e-3"})
    assert response.status_code == 400
    error = error_of(response)
    assert "prompt" in error["message"]
    assert (error["param"], error["code"]) == ("prompt", "missing_required_parameter")


async def test_error_style_comet_answers_cometapis_bodies(app: FakeAPI) -> None:
    """``error_style="comet"``: ``comet_api_error``, ``""`` for no value, the request id in
    the message; ``reset()`` restores OpenAI's."""
    app.error_style = "comet"
    async with httpx.AsyncClient(transport=fake_transport(app)) as client:
        refused = await client.post(GENERATIONS, json={"prompt": "x", "model": "dall-e-3"})
        client.headers.update(AUTH)
        app.fail_next(1, 500)
        failed = await client.post(GENERATIONS, json={"prompt": "x", "model": "dall-e-3"})
        app.reset()
        plain = await client.post(GENERATIONS, json={"prompt": "x", "model": "dall-e-3"})
    for response, code in ((refused, "invalid_api_key"), (failed, "")):
        error = response.json()["error"]
        assert error["type"] == "comet_api_error"
        assert (error["param"], error["code"]) == ("", code)
        assert error["message"].endswith(f"(request id: {response.headers['x-request-id']})")
    assert plain.status_code == 200


async def test_unknown_fields_pass_as_extra_body(http: httpx.AsyncClient, app: FakeAPI) -> None:
    response = await generate(http, model="dall-e-2", watermark=False)
    assert response.status_code == 200
    assert app.requests[-1].json["watermark"] is False


async def test_request_ids_are_unique_and_can_stay_out_of_headers(
    http: httpx.AsyncClient, app: FakeAPI
) -> None:
    first, second = await generate(http), await generate(http)
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    app.request_id_in_header = False
    response = await generate(http, model="dall-e-3", n=5)
    assert "x-request-id" not in response.headers
    assert REQUEST_ID.search(response.json()["error"]["message"])


# -- success answers -------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["dall-e-2", "dall-e-3", "qwen-image", "some-new-model"])
async def test_url_mode_is_the_default_outside_gpt(
    http: httpx.AsyncClient, app: FakeAPI, model: str
) -> None:
    response = await generate(http, model=model)
    assert response.status_code == 200
    document = response.json()
    assert isinstance(document["created"], int)
    assert set(document) == {"created", "data"}
    [item] = document["data"]
    assert "b64_json" not in item
    assert item["url"].startswith(f"{IN_PROCESS_BASE_URL.removesuffix('/v1')}/files/")
    download = await http.get(item["url"], headers={"Authorization": ""})
    assert download.status_code == 200
    assert download.headers["content-type"] == "image/png"
    assert opened(download.content).size == (1024, 1024)
    assert app.download_count == 1


@pytest.mark.parametrize("model", ["dall-e-2", "dall-e-3", "qwen-image", "some-new-model"])
async def test_b64_json_mode(http: httpx.AsyncClient, model: str) -> None:
    response = await generate(http, model=model, response_format="b64_json")
    [item] = response.json()["data"]
    assert "url" not in item
    assert opened(b64_images(response)[0]).format == "PNG"


@pytest.mark.parametrize("model", list(MODELS))
async def test_revised_prompt_only_for_dall_e_3(http: httpx.AsyncClient, model: str) -> None:
    response = await generate(http, model=model, prompt="a red kite")
    [item] = response.json()["data"]
    if model == "dall-e-3":
        assert item["revised_prompt"] == "a red kite, rendered in soft natural light."
    else:
        assert "revised_prompt" not in item


@pytest.mark.parametrize("model", GPT_MODELS)
async def test_gpt_models_answer_base64_with_usage(http: httpx.AsyncClient, model: str) -> None:
    response = await generate(http, model=model, n=2, quality="high", size="1536x1024")
    document = response.json()
    assert all(set(item) == {"b64_json"} for item in document["data"])
    assert document["size"] == "1536x1024"
    assert (document["quality"], document["background"]) == ("high", "opaque")
    assert document["output_format"] == "png"
    usage = document["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["output_tokens"] > 0
    assert set(usage["input_tokens_details"]) == {"text_tokens", "image_tokens"}
    assert [opened(data).size for data in b64_images(response)] == [(1536, 1024)] * 2


async def test_gpt_top_level_fields_say_what_was_made(http: httpx.AsyncClient) -> None:
    auto = (await generate(http, model="gpt-image-1", size="auto", quality="auto")).json()
    assert (auto["size"], auto["quality"]) == ("1024x1024", "medium")
    free = (await generate(http, model="gpt-image-2", size="2048x1152")).json()
    assert free["size"] == "2048x1152"  # a free size too: the SDK types size as any string
    assert opened(base64.b64decode(free["data"][0]["b64_json"])).size == (2048, 1152)


@pytest.mark.parametrize(
    ("model", "size"),
    [("dall-e-2", "256x256"), ("dall-e-2", "512x512"), ("dall-e-3", "1024x1792")],
)
async def test_image_size_matches_the_request(
    http: httpx.AsyncClient, model: str, size: str
) -> None:
    response = await generate(http, model=model, size=size, response_format="b64_json")
    width, height = (int(side) for side in size.split("x"))
    assert opened(b64_images(response)[0]).size == (width, height)


async def test_n_images_are_all_different(http: httpx.AsyncClient) -> None:
    response = await generate(http, model="dall-e-2", n=3, response_format="b64_json")
    images = b64_images(response)
    assert len(images) == 3
    assert len(set(images)) == 3


async def test_images_are_deterministic_per_prompt(http: httpx.AsyncClient) -> None:
    def body(prompt: str) -> dict[str, Any]:
        return {"model": "dall-e-2", "prompt": prompt, "response_format": "b64_json"}

    first = b64_images(await generate(http, **body("a lighthouse")))
    again = b64_images(await generate(http, **body("a lighthouse")))
    other = b64_images(await generate(http, **body("a windmill")))
    assert first == again
    assert first != other
    colours = {opened(data).convert("RGB").getpixel((2, 300)) for data in first + other}
    assert len(colours) == 2


@pytest.mark.parametrize(
    ("output_format", "magic"),
    [("png", b"\x89PNG\r\n\x1a\n"), ("jpeg", b"\xff\xd8\xff"), ("webp", b"RIFF")],
)
async def test_output_format_is_honoured(
    http: httpx.AsyncClient, output_format: str, magic: bytes
) -> None:
    response = await generate(http, model="gpt-image-1", output_format=output_format)
    assert response.json()["output_format"] == output_format
    data = b64_images(response)[0]
    assert data.startswith(magic)
    assert opened(data).format == {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}[output_format]


async def test_transparent_background_gives_rgba(http: httpx.AsyncClient) -> None:
    response = await generate(http, model="gpt-image-1.5", background="transparent")
    assert response.json()["background"] == "transparent"
    image = opened(b64_images(response)[0])
    assert (image.format, image.mode) == ("PNG", "RGBA")
    assert image.getpixel((1, 300))[3] == 0


async def test_image_bytes_knob(http: httpx.AsyncClient, app: FakeAPI) -> None:
    app.image_bytes = b"\x89PNG\r\n\x1a\n exactly these bytes"
    b64 = await generate(http, model="gpt-image-1", n=2)
    assert b64_images(b64) == [app.image_bytes] * 2
    url = (await generate(http, model="dall-e-3")).json()["data"][0]["url"]
    assert (await http.get(url)).content == app.image_bytes


async def test_url_extension_can_lie(http: httpx.AsyncClient, app: FakeAPI) -> None:
    app.url_extension = "webp"
    url = (await generate(http, model="dall-e-3")).json()["data"][0]["url"]
    assert url.endswith(".webp")
    download = await http.get(url)
    assert download.headers["content-type"] == "image/png"
    assert download.content.startswith(b"\x89PNG")


# -- fail_next -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "words"),
    [
        (429, "rate limit exceeded"),
        (500, "internal server error"),
        (502, "bad gateway"),
        (503, "no available channel for model dall-e-3 under group default"),
        (504, "gateway timeout"),
        (524, "timeout"),
    ],
)
async def test_fail_next_default_messages(
    http: httpx.AsyncClient, app: FakeAPI, status: int, words: str
) -> None:
    app.fail_next(1, status)
    response = await generate(http, model="dall-e-3")
    assert response.status_code == status
    assert words in error_of(response)["message"]
    assert app.requests[-1].fault == f"fail:{status}"
    assert (await generate(http)).status_code == 200


async def test_fail_next_count_message_code_and_headers(
    http: httpx.AsyncClient, app: FakeAPI
) -> None:
    app.fail_next(2, 429, message="slow down", code="rate_limited", headers={"Retry-After": "1"})
    for _ in range(2):
        response = await generate(http)
        assert response.status_code == 429
        assert response.headers["retry-after"] == "1"
        error = error_of(response)
        assert error["message"] == "slow down"
        assert error["code"] == "rate_limited"
    assert (await generate(http)).status_code == 200
    assert app.pending_faults == 0


async def test_fail_next_raw_body(http: httpx.AsyncClient, app: FakeAPI) -> None:
    app.fail_next(1, 502, body="<html><body>Bad Gateway</body></html>", headers={"x-a": "b"})
    response = await generate(http)
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert response.text == "<html><body>Bad Gateway</body></html>"
    assert response.headers["x-a"] == "b"


async def test_faults_skip_unauthenticated_and_invalid_requests(
    http: httpx.AsyncClient, app: FakeAPI
) -> None:
    app.fail_next(1, 500)
    assert (await generate(http, model="dall-e-3", n=3)).status_code == 400
    assert (await generate(http)).status_code == 500


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((0, 429), {}), ((1, 200), {}), ((True, 500), {}), ((1, 301), {})],
)
def test_fail_next_refuses_bad_arguments(
    app: FakeAPI, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match=r"count|status"):
        app.fail_next(*args, **kwargs)


# -- malform_next ----------------------------------------------------------------------------
async def test_malform_invalid_json(http: httpx.AsyncClient, app: FakeAPI) -> None:
    app.malform_next("invalid_json")
    response = await generate(http)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


async def test_malform_html_200_and_301(http: httpx.AsyncClient, app: FakeAPI) -> None:
    app.malform_next("html_200")
    app.malform_next("html_301")
    page = await generate(http)
    assert (page.status_code, page.headers["content-type"]) == (200, "text/html; charset=utf-8")
    assert page.text.startswith("<!DOCTYPE html>")
    moved = await generate(http)
    assert moved.status_code == 301
    assert moved.headers["location"] == f"{GENERATIONS}/"
    assert "<html>" in moved.text


@pytest.mark.parametrize("kind", ["empty_data", "no_image_fields", "bad_base64"])
async def test_malform_documents(http: httpx.AsyncClient, app: FakeAPI, kind: str) -> None:
    app.malform_next(kind)  # type: ignore[arg-type]
    document = (await generate(http, model="dall-e-2", n=2)).json()
    assert isinstance(document["created"], int)
    items = document["data"]
    if kind == "empty_data":
        assert items == []
    elif kind == "no_image_fields":
        assert items == [{}, {}]
    else:
        assert len(items) == 2
        with pytest.raises(binascii.Error):
            base64.b64decode(items[0]["b64_json"], validate=True)


@pytest.mark.parametrize("mode", ["b64_json", "url"])
async def test_malform_not_an_image(http: httpx.AsyncClient, app: FakeAPI, mode: str) -> None:
    app.malform_next("not_an_image")
    [item] = (await generate(http, model="dall-e-3", response_format=mode)).json()["data"]
    data = base64.b64decode(item["b64_json"]) if mode == "b64_json" else None
    if data is None:
        data = (await http.get(item["url"])).content
    assert data == b"hello world"


async def test_malform_truncated_png(http: httpx.AsyncClient, app: FakeAPI) -> None:
    app.malform_next("truncated_png")
    data = b64_images(await generate(http, model="gpt-image-1"))[0]
    whole = b64_images(await generate(http, model="gpt-image-1"))[0]
    assert data == whole[: len(whole) // 2]
    assert Image.open(io.BytesIO(data)).size == (1024, 1024)  # the header survives
    with pytest.raises(OSError, match="truncated"):
        Image.open(io.BytesIO(data)).load()


async def test_malform_bomb_declares_ten_gigapixels(http: httpx.AsyncClient, app: FakeAPI) -> None:
    app.malform_next("bomb")
    data = b64_images(await generate(http, model="gpt-image-1"))[0]
    assert len(data) < 200
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    length, kind = struct.unpack(">I4s", data[8:16])
    ihdr = data[16 : 16 + length]
    assert (kind, struct.unpack(">II", ihdr[:8])) == (b"IHDR", (100_000, 100_000))
    (crc,) = struct.unpack(">I", data[16 + length : 20 + length])
    assert crc == zlib.crc32(kind + ihdr)
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(data))


@pytest.mark.parametrize("kind", ["reset_mid_body", "close_after_headers"])
async def test_broken_connections_in_process(
    http: httpx.AsyncClient, app: FakeAPI, kind: str
) -> None:
    # ASGITransport cannot cut a socket: the fake raises httpx.RemoteProtocolError instead.
    app.malform_next(kind)  # type: ignore[arg-type]
    with pytest.raises(httpx.RemoteProtocolError):
        await generate(http)
    assert app.requests[-1].status == 200
    assert (await generate(http)).status_code == 200


async def test_trickle_takes_at_least_trickle_seconds(
    http: httpx.AsyncClient, app: FakeAPI
) -> None:
    app.trickle_seconds, app.trickle_chunks = 0.1, 4
    app.malform_next("trickle")
    started = time.perf_counter()
    response = await generate(http, model="dall-e-2", response_format="b64_json")
    assert time.perf_counter() - started >= 0.1
    assert opened(b64_images(response)[0]).size == (1024, 1024)


async def test_seconds_per_image_paces_each_image_and_spreads_over_a_stream(
    http: httpx.AsyncClient, app: FakeAPI
) -> None:
    assert app.seconds_per_image == 0  # tests stay fast
    app.seconds_per_image = 0.1
    started = time.perf_counter()
    response = await generate(http, model="gpt-image-2", n=2)
    assert time.perf_counter() - started >= 0.2  # two images
    assert len(response.json()["data"]) == 2
    started = time.perf_counter()
    await generate(http, model="gpt-image-2", stream=True, partial_images=1)
    partial, completed = (at - started for at in app.stream_times)
    assert partial >= 0.05  # the image's 0.1 s, half before its preview, half after
    assert completed - partial >= 0.05
    app.reset()
    assert app.seconds_per_image == 0


@pytest.mark.parametrize("declare", [True, False])
async def test_huge_body(http: httpx.AsyncClient, app: FakeAPI, declare: bool) -> None:
    app.huge_body_bytes, app.huge_body_declare_length = 300_000, declare
    app.malform_next("huge_body")
    response = await generate(http)
    assert len(response.content) == 300_000
    assert ("content-length" in response.headers) is declare
    assert response.json()["data"][0]["b64_json"].startswith("AAAA")


@pytest.mark.parametrize("mode", ["b64_json", "url"])
async def test_malform_only_some_images(http: httpx.AsyncClient, app: FakeAPI, mode: str) -> None:
    app.malform_next("not_an_image", indexes=[1])
    items = (await generate(http, model="dall-e-2", n=3, response_format=mode)).json()["data"]
    if mode == "b64_json":
        images = [base64.b64decode(item["b64_json"]) for item in items]
    else:
        images = [(await http.get(item["url"])).content for item in items]
    assert images[1] == b"hello world"
    assert opened(images[0]).size == opened(images[2]).size == (1024, 1024)


async def test_malform_bad_base64_for_one_image(http: httpx.AsyncClient, app: FakeAPI) -> None:
    app.malform_next("bad_base64", indexes=[0])
    first, second = (await generate(http, model="gpt-image-1", n=2)).json()["data"]
    with pytest.raises(binascii.Error):
        base64.b64decode(first["b64_json"], validate=True)
    assert opened(base64.b64decode(second["b64_json"], validate=True)).format == "PNG"


def test_malform_indexes_need_an_image_kind(app: FakeAPI) -> None:
    with pytest.raises(ValueError, match="indexes work only with"):
        app.malform_next("trickle", indexes=[0])
    with pytest.raises(ValueError, match="0-based"):
        app.malform_next("bomb", indexes=[-1])


def test_malform_next_refuses_unknown_kinds(app: FakeAPI) -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        app.malform_next("sideways")  # type: ignore[arg-type]
    assert "bomb" in MALFORM_KINDS


async def test_fail_and_malform_share_one_queue(http: httpx.AsyncClient, app: FakeAPI) -> None:
    app.fail_next(1, 429)
    app.malform_next("empty_data")
    app.fail_next(1, 500)
    statuses = [(await generate(http)).status_code for _ in range(4)]
    assert statuses == [429, 200, 500, 200]
    assert [r.fault for r in app.requests] == ["fail:429", "malform:empty_data", "fail:500", None]


# -- url faults ------------------------------------------------------------------------------
async def test_expire_urls_hits_only_the_next_generation(
    http: httpx.AsyncClient, app: FakeAPI
) -> None:
    app.expire_urls([1])
    urls = [item["url"] for item in (await generate(http, model="dall-e-2", n=3)).json()["data"]]
    assert [(await http.get(url)).status_code for url in urls] == [200, 404, 200]
    later = (await generate(http, model="dall-e-2", n=2)).json()["data"]
    assert [(await http.get(item["url"])).status_code for item in later] == [200, 200]


async def test_b64_answers_do_not_consume_url_plans(http: httpx.AsyncClient, app: FakeAPI) -> None:
    app.expire_urls([0])
    await generate(http, model="gpt-image-1")
    [item] = (await generate(http, model="dall-e-3")).json()["data"]
    assert (await http.get(item["url"])).status_code == 404


async def test_slow_urls(http: httpx.AsyncClient, app: FakeAPI) -> None:
    app.slow_urls([0], 0.2)
    first, second = (await generate(http, model="dall-e-2", n=2)).json()["data"]
    started = time.perf_counter()
    assert (await http.get(first["url"])).status_code == 200
    assert time.perf_counter() - started >= 0.2
    started = time.perf_counter()
    assert (await http.get(second["url"])).status_code == 200
    assert time.perf_counter() - started < 0.2


async def test_redirect_loop_urls(http: httpx.AsyncClient, app: FakeAPI) -> None:
    app.redirect_loop_urls([0])
    [item] = (await generate(http, model="dall-e-3")).json()["data"]
    response = await http.get(item["url"])
    assert (response.status_code, response.headers["location"]) == (302, item["url"])
    with pytest.raises(httpx.TooManyRedirects):
        await http.get(item["url"], follow_redirects=True)


async def test_non_http_urls(http: httpx.AsyncClient, app: FakeAPI) -> None:
    app.non_http_urls([0])
    app.non_http_urls([1], url="file:///etc/passwd")
    items = (await generate(http, model="dall-e-2", n=3)).json()["data"]
    assert items[0]["url"] == "ftp://example.invalid/image.png"
    assert items[1]["url"] == "file:///etc/passwd"
    assert items[2]["url"].startswith("http://")


def test_url_plans_refuse_bad_indexes(app: FakeAPI) -> None:
    with pytest.raises(ValueError, match="0-based"):
        app.expire_urls([-1])


async def test_unknown_files_are_404(http: httpx.AsyncClient) -> None:
    response = await http.get(f"{IN_PROCESS_BASE_URL.removesuffix('/v1')}/files/nothing.png")
    assert response.status_code == 404


# -- random faults ---------------------------------------------------------------------------
async def statuses_with_rates(seed: int, count: int) -> list[int]:
    app = FakeAPI()
    app.fault_rates(0.3, 0.2, seed=seed)
    async with httpx.AsyncClient(transport=fake_transport(app), headers=AUTH) as client:
        return [(await generate(client, model="dall-e-2")).status_code for _ in range(count)]


async def test_fault_rates_are_repeatable_with_a_seed() -> None:
    first = await statuses_with_rates(7, 40)
    assert first == await statuses_with_rates(7, 40)
    assert {200, 429, 503} == set(first)


async def test_fault_rates_answers(http: httpx.AsyncClient, app: FakeAPI) -> None:
    app.fault_rates(1.0, 0.0, seed=1)
    limited = await generate(http)
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "0")
    app.fault_rates(0.0, 1.0)
    unavailable = await generate(http)
    assert unavailable.status_code == 503
    message = error_of(unavailable)["message"]
    assert "service unavailable" in message
    assert "no available channel" not in message
    app.fault_rates(0, 0)
    assert (await generate(http)).status_code == 200
    with pytest.raises(ValueError, match="rate"):
        app.fault_rates(0.8, 0.8)


# -- counters, latency, reset ----------------------------------------------------------------
async def test_counters_and_log(http: httpx.AsyncClient, app: FakeAPI) -> None:
    await generate(http, model="dall-e-3")
    await generate(http, model="dall-e-3", n=2)
    await http.get(f"{IN_PROCESS_BASE_URL}/models")
    assert (app.generation_count, app.success_count) == (2, 1)
    first, second, models = app.requests
    assert (first.method, first.path, first.status) == ("POST", "/v1/images/generations", 200)
    assert first.json == {
        "model": "dall-e-3",
        "prompt": "A paper boat floating on calm water at sunrise.",
    }
    assert first.auth_present
    assert first.auth_ok
    assert first.duration is not None
    assert first.duration >= 0
    assert second.status == 400
    assert (models.path, models.status) == ("/v1/models", 200)


async def test_latency_and_concurrency(http: httpx.AsyncClient, app: FakeAPI) -> None:
    app.latency = 0.05
    started = time.perf_counter()
    responses = await asyncio.gather(*(generate(http, model="dall-e-2") for _ in range(4)))
    assert time.perf_counter() - started >= 0.05
    assert all(response.status_code == 200 for response in responses)
    assert (app.max_in_flight, app.in_flight, app.success_count) == (4, 0, 4)


async def test_reset_restores_constructor_knobs() -> None:
    app = FakeAPI(latency=0.01, url_extension="webp")
    async with httpx.AsyncClient(transport=fake_transport(app), headers=AUTH) as client:
        await generate(client)
        app.latency, app.url_extension = 5.0, None
        app.fail_next(3, 500)
        app.expire_urls([0])
        app.fault_rates(0.5, 0.5, seed=1)
        app.reset()
        assert (app.latency, app.url_extension, app.pending_faults) == (0.01, "webp", 0)
        assert (app.requests, app.generation_count, app.success_count) == ([], 0, 0)
        assert app.max_in_flight == 0
        response = await generate(client, model="dall-e-2", n=2)
        assert response.status_code == 200
        urls = [item["url"] for item in response.json()["data"]]
        assert [(await client.get(url)).status_code for url in urls] == [200, 200]


# -- other routes ----------------------------------------------------------------------------
async def test_models_list(http: httpx.AsyncClient) -> None:
    document = (await http.get(f"{IN_PROCESS_BASE_URL}/models")).json()
    assert document["object"] == "list"
    assert [item["id"] for item in document["data"]][: len(MODELS)] == list(MODELS)
    assert document["data"][0]["id"] == "gpt-image-2"
    assert document["data"][0]["owned_by"] == "openai"
    denied = await http.get(f"{IN_PROCESS_BASE_URL}/models", headers={"Authorization": ""})
    assert denied.status_code == 401
    assert error_of(denied)["code"] == "invalid_api_key"


async def test_one_model_by_id(http: httpx.AsyncClient) -> None:
    """``GET /v1/models/{id}``: the list's item, or 404 ``model_not_found``."""
    listed = (await http.get(f"{IN_PROCESS_BASE_URL}/models")).json()["data"]
    one = await http.get(f"{IN_PROCESS_BASE_URL}/models/gpt-image-2")
    assert one.status_code == 200
    assert one.json() == next(item for item in listed if item["id"] == "gpt-image-2")
    missing = await http.get(f"{IN_PROCESS_BASE_URL}/models/no-such-model")
    assert missing.status_code == 404
    error = error_of(missing)
    assert (error["param"], error["code"]) == (None, "model_not_found")
    assert "no-such-model" in error["message"]
    denied = await http.get(
        f"{IN_PROCESS_BASE_URL}/models/gpt-image-2", headers={"Authorization": ""}
    )
    assert denied.status_code == 401


async def test_unknown_paths_are_404_and_wrong_methods_405(http: httpx.AsyncClient) -> None:
    root = IN_PROCESS_BASE_URL.removesuffix("/v1")
    missing = await http.post(f"{root}/images/generations", json={})
    assert missing.status_code == 404
    assert "Invalid URL (POST /images/generations)" in error_of(missing)["message"]
    wrong = await http.get(GENERATIONS)
    assert (wrong.status_code, wrong.headers["allow"]) == (405, "POST")
    error_of(wrong)


async def test_lifespan_protocol(app: FakeAPI) -> None:
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: Any) -> None:
        sent.append(dict(message))

    await app({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
