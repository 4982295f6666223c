"""SVG and animated GIF results, fewer images than asked for, and conformance of error answers
(problem+json, 409/422, no '..', an event stream to a plain request), against the fake."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from comet_widgets import (
    AsyncImageClient,
    CometError,
    ConflictError,
    ResponseError,
    UnprocessableEntityError,
    read_metadata,
)
from comet_widgets.testing import FAKE_API_KEY, IN_PROCESS_BASE_URL, FakeAPI, fake_transport


@pytest.fixture
async def client() -> AsyncIterator[AsyncImageClient]:
    app = FakeAPI(serve_retired=False)
    async with (
        httpx.AsyncClient(transport=fake_transport(app)) as http,
        AsyncImageClient(api_key=FAKE_API_KEY, base_url=IN_PROCESS_BASE_URL, http_client=http) as c,
    ):
        yield c


async def test_an_svg_result_is_valid_and_explains_image(
    client: AsyncImageClient, tmp_path: Path
) -> None:
    gen = await client.generate(
        "a <b>bold</b> boat", output_format="svg", svg={"model": "svg-author"}
    )
    [image] = gen.images
    assert image.ok
    assert (image.format, image.width, image.height) == ("svg", 1024, 1024)
    assert image.svg is not None
    assert image.svg.lstrip().startswith("<?xml")
    assert "&lt;b&gt;" in image.svg  # the prompt is text in it, never markup
    with pytest.raises(CometError, match=r"use \.svg for the text or \.data for the bytes"):
        _ = image.image
    bundle = image._repr_mimebundle_()
    assert bundle["text/html"].startswith('<img src="data:image/svg+xml;base64,')
    assert not any(key.startswith("image/svg") for key in bundle)  # never inlined as markup
    path = image.save(tmp_path)
    assert path.suffix == ".svg"
    assert path.read_bytes() == image.data
    assert read_metadata(path)["format"] == "svg"  # from the sidecar: SVG has no text chunks
    assert gen.pil_images == []


@pytest.mark.slow
async def test_an_animated_gif_keeps_every_frame(client: AsyncImageClient, tmp_path: Path) -> None:
    gen = await client.generate(
        "a spinning top", output_format="gif", frame_count=4, frame_duration_ms=120
    )
    [image] = gen.images
    assert (image.format, image.frames) == ("gif", 4)
    path = image.save(tmp_path)
    with Image.open(path) as saved:
        assert saved.n_frames == 4
        assert saved.info["duration"] == 120
    sidecar = await asyncio.to_thread(Path(f"{path}.json").read_text)
    assert json.loads(sidecar)["format"] == "gif"
    preview, fmt = image.preview(256)
    assert fmt == "gif"
    with Image.open(__import__("io").BytesIO(preview)) as small:
        assert small.n_frames == 4
        assert max(small.size) <= 256


def _mock(status: int, body: bytes, content_type: str) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"content-type": content_type})

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def _generate_against(status: int, body: bytes, content_type: str, **params: object):  # type: ignore[no-untyped-def]
    http = _mock(status, body, content_type)
    async with AsyncImageClient(
        api_key="k", base_url="http://localhost/v1", http_client=http, max_retries=0
    ) as c:
        try:
            return await c.generate("a boat", **params)  # type: ignore[arg-type]
        finally:
            await http.aclose()


async def test_fewer_images_than_asked_is_a_shortfall() -> None:
    """A gateway that answers n=3 with two images: the Generation says so."""
    app = FakeAPI()

    async def two_of_them(scope: Any, receive: Any, send: Any) -> None:
        held: list[Any] = []

        async def keep(message: Any) -> None:
            held.append(message)

        await app(scope, receive, keep)
        start, *bodies = held
        document = json.loads(b"".join(m.get("body", b"") for m in bodies))
        if scope["path"].endswith("/generations"):
            document["data"] = document["data"][:2]
        body = json.dumps(document).encode()
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=two_of_them))
    async with AsyncImageClient(
        api_key=FAKE_API_KEY, base_url=IN_PROCESS_BASE_URL, http_client=http
    ) as c:
        gen = await c.generate("a boat", n=3, partial_images=0)
    await http.aclose()
    assert (len(gen.images), gen.requested, gen.shortfall, gen.ok) == (2, 3, 1, False)
    assert "2 of 3 image(s)" in repr(gen)
    from comet_widgets.widget._status import status_text

    assert status_text("done", gen, []) == "Done: 2 of 3 images"  # the panel's status line


async def test_a_problem_json_error_reads_its_reasons() -> None:
    body = json.dumps(
        {
            "type": "https://example.com/invalid",
            "title": "Invalid request.",
            "status": 422,
            "errors": [{"name": "size", "reason": "too large"}, {"name": "n", "reason": "max 4"}],
        }
    ).encode()
    with pytest.raises(UnprocessableEntityError) as info:
        await _generate_against(422, body, "application/problem+json")
    message = str(info.value)
    assert message.startswith("HTTP 422: Invalid request: size: too large; n: max 4. What to do:")
    assert "{" not in message
    assert ".." not in message


async def test_409_is_a_conflict_and_messages_never_end_in_two_periods() -> None:
    body = json.dumps({"error": {"message": "Busy with another request.", "code": None}}).encode()
    with pytest.raises(ConflictError) as info:
        await _generate_against(409, body, "application/json")
    assert "Busy with another request. What to do:" in str(info.value)
    assert ".." not in str(info.value)


async def test_an_event_stream_to_a_plain_request_says_the_server_streamed() -> None:
    body = b'event: image_generation.completed\ndata: {"type": "image_generation.completed"}\n\n'
    with pytest.raises(ResponseError) as info:
        await _generate_against(200, body, "text/event-stream", model="dall-e-3")
    assert "the server streamed its answer (text/event-stream)" in str(info.value)
    assert "base_url" not in str(info.value)
