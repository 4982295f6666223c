"""The wire format: success bodies parsed into images, error bodies into typed exceptions."""

from __future__ import annotations

import base64
import io
import json
import struct
import zlib
from typing import Any

import httpx
import pytest
from PIL import Image

from comet_widgets import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ContentPolicyError,
    ImageDownloadError,
    ModelUnavailableError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseError,
    ServerError,
)
from comet_widgets.client._wire import (
    decode_b64_image,
    error_from_response,
    first_error,
    parse_body,
    refuses_streaming,
)
from comet_widgets.images._results import GeneratedImage

MAX_PIXELS = 64_000_000


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (24, 16)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (1, 2, 3)).save(buffer, format=fmt)
    return buffer.getvalue()


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def parse(document: Any, *, request_id: str | None = None, raw: bytes | None = None) -> Any:
    body = raw if raw is not None else json.dumps(document).encode()
    return parse_body(
        body,
        status=200,
        content_type="application/json",
        request_id=request_id,
        max_pixels=MAX_PIXELS,
    )


# -- success bodies ----------------------------------------------------------------------------


def test_b64_images_are_decoded_and_sniffed() -> None:
    png, jpeg = image_bytes("PNG", (30, 20)), image_bytes("JPEG", (8, 9))
    parsed = parse(
        {"created": 1_760_000_000, "data": [{"b64_json": b64(png)}, {"b64_json": b64(jpeg)}]}
    )
    assert parsed.created == 1_760_000_000
    assert [image.index for image in parsed.images] == [0, 1]
    first, second = parsed.images
    assert (first.data, first.format, first.width, first.height) == (png, "png", 30, 20)
    assert (second.format, second.width, second.height) == ("jpeg", 8, 9)
    assert all(image.ok for image in parsed.images)
    assert parsed.pending_urls == {}


def test_url_images_are_left_pending_for_download() -> None:
    parsed = parse(
        {"created": 1, "data": [{"url": "https://cdn/a.webp"}, {"url": "https://cdn/b"}]}
    )
    assert parsed.pending_urls == {0: "https://cdn/a.webp", 1: "https://cdn/b"}
    assert [image.url for image in parsed.images] == ["https://cdn/a.webp", "https://cdn/b"]
    assert not any(image.ok for image in parsed.images)  # no bytes yet


def test_b64_wins_when_an_item_has_both() -> None:
    png = image_bytes()
    parsed = parse({"created": 1, "data": [{"b64_json": b64(png), "url": "https://cdn/x.png"}]})
    assert parsed.images[0].data == png
    assert parsed.pending_urls == {}


def test_escaped_slashes_in_b64_json_are_json_escapes() -> None:
    buffer = io.BytesIO()
    Image.frombytes("RGB", (16, 16), bytes(range(256)) * 3).save(buffer, format="PNG")
    buffer.write(b"\xff\xff\xff")  # after IEND, ignored by readers; base64 "////"
    png = buffer.getvalue()
    text = b64(png)
    assert "/" in text
    raw = b'{"created": 1, "data": [{"b64_json": "' + text.replace("/", "\\/").encode() + b'"}]}'
    assert parse(None, raw=raw).images[0].data == png


def test_revised_prompt_usage_and_extra_fields() -> None:
    usage = {"input_tokens": 10, "output_tokens": 4160, "total_tokens": 4170}
    parsed = parse(
        {
            "created": 5,
            "data": [{"b64_json": b64(image_bytes()), "revised_prompt": "A rewritten prompt."}],
            "usage": usage,
            "background": "opaque",
            "output_format": "png",
            "quality": "high",
            "size": "1024x1024",
            "comet_extra": {"route": "openai"},
        }
    )
    assert parsed.images[0].revised_prompt == "A rewritten prompt."
    assert parsed.usage == usage
    assert parsed.extra == {
        "background": "opaque",
        "output_format": "png",
        "quality": "high",
        "size": "1024x1024",
        "comet_extra": {"route": "openai"},
    }


def test_odd_types_are_tolerated() -> None:
    parsed = parse(
        {
            "created": "yesterday",
            "usage": "lots",
            "data": [{"b64_json": b64(image_bytes()), "revised_prompt": 42}],
        }
    )
    assert parsed.created == 0
    assert parsed.usage is None
    assert parsed.images[0].revised_prompt is None
    assert parsed.images[0].ok


@pytest.mark.parametrize(
    ("raw", "content_type", "expected"),
    [
        (b"<html><body>Welcome to nginx</body></html>", "text/html", "an HTML page"),
        (b"not json at all", "text/plain", "text/plain"),
        (b"", "", "no content type"),
        (b'{"created": 1, "data": [', "application/json", "instead of JSON"),
    ],
)
def test_a_body_that_is_not_json_names_base_url(
    raw: bytes, content_type: str, expected: str
) -> None:
    with pytest.raises(ResponseError) as info:
        parse_body(
            raw, status=200, content_type=content_type, request_id="r9", max_pixels=MAX_PIXELS
        )
    message = str(info.value)
    assert expected in message
    assert "base_url" in message
    assert "/v1" in message
    assert info.value.request_id == "r9"
    assert "(request id: r9)" in message


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"created": 1},
        {"created": 1, "data": {"url": "x"}},
        {"created": 1, "data": None},
        "data",
    ],
)
def test_a_body_without_a_data_list_is_refused(document: Any) -> None:
    with pytest.raises(ResponseError, match="without a 'data' list"):
        parse(document)


def test_an_empty_data_list_suggests_filtering() -> None:
    with pytest.raises(ResponseError, match="filtered") as info:
        parse({"created": 1, "data": []}, request_id="abc")
    assert "rephrase" in str(info.value)
    assert info.value.request_id == "abc"


def test_a_bad_item_is_recorded_and_the_others_are_kept() -> None:
    good = image_bytes()
    parsed = parse(
        {
            "created": 1,
            "data": [
                {"b64_json": b64(good)},
                {"revised_prompt": "no image here"},
                "not even an object",
                {"b64_json": "%%%not base64%%%"},
                {"b64_json": b64(b"plain text, not an image")},
                {"b64_json": b64(good[: len(good) // 2])},
                {"b64_json": 12345},
            ],
        },
        request_id="req-7",
    )
    images = parsed.images
    assert images[0].ok
    assert [image.ok for image in images[1:]] == [False] * 6
    assert all(isinstance(image.error, ResponseError) for image in images[1:])
    assert "neither 'url' nor 'b64_json'" in str(images[1].error)
    assert images[1].revised_prompt == "no image here"
    assert "neither" in str(images[2].error)
    assert "not valid base64" in str(images[3].error)
    assert "not a PNG, JPEG, WebP, GIF or SVG" in str(images[4].error)
    assert "truncated" in str(images[5].error)
    assert "not a string" in str(images[6].error)
    for image in images[1:]:
        assert image.data is None
        assert str(image.error).startswith(f"image {image.index}")


def test_decode_b64_image_refuses_a_bomb() -> None:
    # 100000 x 100000 declared in a few dozen bytes: the header is read, nothing is decoded
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"") + chunk(b"IEND", b"")
    image = decode_b64_image(b64(bomb), 3, max_pixels=MAX_PIXELS)
    assert not image.ok
    assert image.index == 3
    assert "decompression bomb" in str(image.error)


def test_decode_b64_image_success() -> None:
    data = image_bytes("WEBP", (5, 7))
    image = decode_b64_image(b64(data), 0, max_pixels=MAX_PIXELS)
    assert (image.data, image.format, image.width, image.height) == (data, "webp", 5, 7)


def test_first_error() -> None:
    ok = GeneratedImage(index=0, data=b"x", format="png")
    bad = GeneratedImage(index=1, error=ImageDownloadError("gone"))
    worse = GeneratedImage(index=2, error=ResponseError("broken"))
    assert first_error([ok, bad]) is None
    assert first_error([bad, worse]) is bad.error
    assert first_error([]) is None


# -- error bodies ------------------------------------------------------------------------------


def comet_error(message: str, *, code: str = "", type_: str = "comet_api_error") -> bytes:
    return json.dumps(
        {"error": {"message": message, "type": type_, "param": "", "code": code}}
    ).encode()


def headers(**values: str) -> httpx.Headers:
    return httpx.Headers({key.replace("_", "-"): value for key, value in values.items()})


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "", BadRequestError),
        (400, "content_policy_violation", ContentPolicyError),
        (400, "moderation_blocked", ContentPolicyError),
        (401, "", AuthenticationError),
        (403, "", PermissionDeniedError),
        (404, "", NotFoundError),
        (429, "", RateLimitError),
        (500, "", ServerError),
        (500, "invalid_request", ServerError),
        (502, "", ServerError),
        (503, "", ServerError),
        (503, "model_not_found", ModelUnavailableError),
        (524, "", ServerError),
    ],
)
def test_error_classes(status: int, code: str, cls: type[APIStatusError]) -> None:
    error = error_from_response(status, headers(), comet_error("went wrong", code=code))
    assert type(error) is cls or (cls is ModelUnavailableError and isinstance(error, cls))
    assert error.status_code == status
    assert error.code == (code or None)
    assert str(error).startswith(f"HTTP {status}: went wrong")
    assert "What to do:" in str(error)
    assert isinstance(error.body, dict)
    assert error.body["error"]["message"] == "went wrong"


def test_no_available_channel_is_model_unavailable() -> None:
    body = comet_error(
        "No available channel for model gpt-image-1 under group default"
        " (request id: 20260312093015123456789ABCDEF)"
    )
    error = error_from_response(503, headers(), body)
    assert isinstance(error, ModelUnavailableError)
    assert error.request_id == "20260312093015123456789ABCDEF"
    assert "pick another model" in str(error)
    assert str(error).count("20260312093015123456789ABCDEF") == 1  # not repeated


def test_request_id_header_wins_and_is_added_to_the_message() -> None:
    error = error_from_response(400, headers(x_request_id="req_abc"), comet_error("bad size"))
    assert error.request_id == "req_abc"
    assert "(request id: req_abc)" in str(error)


def test_rate_limit_carries_the_hint() -> None:
    error = error_from_response(429, headers(), comet_error("slow down"), retry_after=2.5)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 2.5
    assert "wait 2.5 s" in str(error)
    plain = error_from_response(429, headers(), comet_error("slow down"))
    assert isinstance(plain, RateLimitError)
    assert plain.retry_after is None
    assert "wait" not in str(plain).split("What to do")[0]


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b'{"error": "plain string error"}', "application/json", "plain string error"),
        (b'{"message": "top-level message"}', "application/json", "top-level message"),
        (b"<html><h1>502 Bad Gateway</h1></html>", "text/html", "an HTML page"),
        (b"upstream connect error", "text/plain", "upstream connect error"),
        (b"", "", "no details given"),
        (b'{"error": {"message": null, "code": 500}}', "application/json", "application/json"),
    ],
)
def test_odd_error_bodies_still_give_a_message(
    body: bytes, content_type: str, expected: str
) -> None:
    error = error_from_response(502, headers(content_type=content_type), body)
    assert isinstance(error, ServerError)
    assert expected in str(error)


def test_a_non_json_error_body_is_kept_as_text() -> None:
    error = error_from_response(500, headers(content_type="text/html"), b"<html>oops</html>")
    assert error.body == "<html>oops</html>"


def test_a_numeric_code_becomes_a_string() -> None:
    body = json.dumps({"error": {"message": "x", "code": 1234}}).encode()
    assert error_from_response(400, headers(), body).code == "1234"


def test_the_key_never_survives_into_the_error() -> None:
    secret = "sk-comet-secret-0123456789"
    body = comet_error(f"invalid key {secret}; header was 'Authorization: Bearer {secret}'")
    error = error_from_response(401, headers(), body, secret=secret)
    assert secret not in str(error)
    assert secret not in repr(error)
    assert secret not in json.dumps(error.body)
    text_error = error_from_response(500, headers(), f"echo {secret}".encode(), secret=secret)
    assert secret not in str(text_error)
    assert secret not in str(text_error.body)


@pytest.mark.parametrize(
    ("status", "error", "refused"),
    [
        (400, {"message": "stream is not supported for this model (request id: x1)"}, True),
        (400, {"message": "Streaming is not supported.", "param": "stream"}, True),
        (400, {"message": "invalid value", "param": "partial_images"}, True),
        (422, {"message": "unsupported", "code": "stream_not_supported"}, True),
        (400, {"message": "partial images are not available for this model"}, True),
        (400, {"message": "size 999x999 is not supported", "param": "size"}, False),
        (400, {"message": "the upstream provider refused it; mainstream"}, False),
        (400, {"message": "stream blocked", "code": "moderation_blocked"}, False),
        (429, {"message": "too many stream requests"}, False),
        (500, {"message": "stream is not supported for this model"}, False),
    ],
)
def test_a_refusal_of_streaming_is_told_from_other_refusals(
    status: int, error: dict[str, str], refused: bool
) -> None:
    body = json.dumps({"error": {"type": "comet_api_error", "param": "", "code": "", **error}})
    answer = error_from_response(status, {}, body.encode())
    assert refuses_streaming(answer) is refused
