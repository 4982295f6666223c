"""``AsyncImageClient.edit`` against the loopback fake: every input kind, every mask kind, the
mask honoured in the result, provenance without bytes, refusals before sending, retries."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from comet_widgets import (
    APIConnectionError,
    AsyncImageClient,
    Generation,
    InvalidParameterError,
    ResponseError,
    ServerError,
)
from comet_widgets.testing import FAKE_API_KEY, IN_PROCESS_BASE_URL, FakeAPI
from tests.helpers import png

SIDE = 64
RED = (200, 30, 30)


def photo(side: int = SIDE, colour: tuple[int, int, int] = RED) -> Image.Image:
    return Image.new("RGB", (side, side), colour)


def left_half() -> np.ndarray:
    """A boolean "edit here" mask: the left half."""
    mask = np.zeros((SIDE, SIDE), dtype=bool)
    mask[:, : SIDE // 2] = True
    return mask


def parts(fake: FakeAPI) -> list[Any]:
    edits = [r for r in fake.requests if r.path == "/v1/images/edits"]
    assert edits, "no edit reached the fake"
    form = edits[-1].form
    assert form is not None
    return form


def changed(result: Image.Image, original: Image.Image) -> np.ndarray:
    """Per pixel: does the result differ from the original?"""
    a = np.asarray(result.convert("RGB"), dtype=int)
    b = np.asarray(original.convert("RGB"), dtype=int)
    return np.abs(a - b).sum(axis=2) > 0


async def test_pil_image_with_boolean_mask_edits_only_the_masked_area(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    original = photo()
    gen = await client.edit(
        "make the sky stormy", image=original, mask=left_half(), model="gpt-image-1"
    )
    assert gen.ok
    result = gen.images[0].image
    assert result.size == (SIDE, SIDE)
    diff = changed(result, original)
    assert not diff[:, SIDE // 2 :].any(), "pixels outside the mask changed"
    assert diff[:, : SIDE // 2].mean() > 0.5, "the masked area was not edited"
    names = [(p.name, p.filename, p.content_type) for p in parts(fake) if p.value is None]
    assert names == [("image", "image-0.png", "image/png"), ("mask", "mask.png", "image/png")]
    assert fake.edit_count == 1
    assert fake.generation_count == 0


@pytest.mark.parametrize(
    "mask",
    [
        pytest.param(left_half().astype(float), id="0-1 float array"),
        pytest.param(left_half().astype(np.uint8) * 255, id="uint8 array"),
        pytest.param(Image.fromarray(left_half().astype(np.uint8) * 255), id="L image"),
        pytest.param(png(Image.fromarray(left_half().astype(np.uint8) * 255)), id="grey PNG bytes"),
        pytest.param(
            png(
                Image.merge(
                    "RGBA",
                    (
                        *Image.new("RGB", (SIDE, SIDE)).split(),
                        Image.fromarray((~left_half()).astype(np.uint8) * 255),
                    ),
                )
            ),
            id="RGBA PNG bytes (sent as is)",
        ),
    ],
)
async def test_every_mask_kind_means_the_same_area(
    client: AsyncImageClient, fake: FakeAPI, mask: Any
) -> None:
    original = photo()
    gen = await client.edit("winter", image=png(original), mask=mask, model="gpt-image-2")
    diff = changed(gen.images[0].image, original)
    assert not diff[:, SIDE // 2 :].any()
    assert diff[:, : SIDE // 2].mean() > 0.5


async def test_rgba_mask_bytes_are_sent_unchanged(client: AsyncImageClient, fake: FakeAPI) -> None:
    alpha = Image.fromarray((~left_half()).astype(np.uint8) * 255)
    mask = png(Image.merge("RGBA", (*Image.new("RGB", (SIDE, SIDE)).split(), alpha)))
    gen = await client.edit("winter", image=photo(), mask=mask, model="gpt-image-2")
    sent = next(p for p in parts(fake) if p.name == "mask")
    assert sent.size == len(mask)
    assert gen.params["mask"]["bytes"] == len(mask)


async def test_every_image_kind_is_accepted(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path
) -> None:
    path = tmp_path / "photo.png"
    path.write_bytes(png(photo(colour=(10, 200, 10))))
    first = await client.edit("a cat", image=photo(), model="gpt-image-2")
    kinds: list[Any] = [
        photo(),
        np.zeros((SIDE, SIDE, 3), dtype=np.uint8),
        png(photo()),
        str(path),
        path,
        first.images[0],
    ]
    gen = await client.edit("two cats on one sofa", image=kinds, model="gpt-image-2")
    assert gen.ok
    files = [p for p in parts(fake) if p.value is None]
    assert [p.name for p in files] == ["image[]"] * len(kinds)
    assert [p.filename for p in files] == [
        "image-0.png",
        "image-1.png",
        "image-2.png",
        "photo.png",
        "photo.png",
        "generated-0.png",
    ]
    assert all(p.content_type == "image/png" for p in files)
    # bytes, files and generated images go as they are: the same hash as the given bytes
    assert files[3].size == path.stat().st_size
    assert files[5].size == len(first.images[0].data or b"")


async def test_jpeg_and_webp_inputs_keep_their_content_type(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    jpeg, webp = io.BytesIO(), io.BytesIO()
    photo().save(jpeg, "JPEG")
    photo().save(webp, "WEBP")
    await client.edit("x", image=[jpeg.getvalue(), webp.getvalue()], model="gpt-image-1.5")
    files = [(p.filename, p.content_type) for p in parts(fake) if p.value is None]
    assert files == [("image-0.jpg", "image/jpeg"), ("image-1.webp", "image/webp")]


async def test_provenance_holds_names_and_hashes_never_bytes(
    client: AsyncImageClient, tmp_path: Path
) -> None:
    import hashlib

    data = png(photo())
    (tmp_path / "in.png").write_bytes(data)
    gen = await client.edit(
        "x", image=tmp_path / "in.png", mask=left_half(), model="gpt-image-2", size="1024x1024"
    )
    image = gen.params["image"][0]
    assert image == {
        "name": "in.png",
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "format": "png",
        "width": SIDE,
        "height": SIDE,
    }
    assert gen.params["mask"]["name"] == "mask.png"
    text = json.dumps(gen.params)
    assert len(text) < 1000
    assert gen.params["size"] == "1024x1024"
    assert gen.images[0].width == 1024  # the fake resizes to the size asked for


async def test_fields_are_sent_as_text(client: AsyncImageClient, fake: FakeAPI) -> None:
    await client.edit(
        "x",
        image=photo(),
        model="gpt-image-1",
        n=2,
        quality="low",
        output_format="webp",
        output_compression=50,
        input_fidelity="high",
        background="opaque",
        safety_identifier="user-1",
    )
    fields = {p.name: p.value for p in parts(fake) if p.value is not None}
    assert fields == {
        "model": "gpt-image-1",
        "prompt": "x",
        "n": "2",
        "quality": "low",
        "output_format": "webp",
        "output_compression": "50",
        "input_fidelity": "high",
        "background": "opaque",
        "safety_identifier": "user-1",
    }


REFUSALS = [
    pytest.param({"model": "dall-e-3"}, "model", "dall-e-3 cannot edit", id="dall-e-3 cannot edit"),
    pytest.param(
        {"model": "qwen-image"}, "model", "qwen-image does not edit", id="qwen-image does not"
    ),
    pytest.param({"image": [photo()] * 17}, "image", "17 input images", id="more than 16 inputs"),
    pytest.param(
        {"model": "dall-e-2", "image": [photo(), photo()]},
        "image",
        "2 input images",
        id="dall-e-2 takes one",
    ),
    pytest.param(
        {"model": "dall-e-2", "image": photo().resize((64, 32))},
        "image",
        "64x32",
        id="dall-e-2 square only",
    ),
    pytest.param({"model": "dall-e-2", "image": "JPEG"}, "image", "jpeg", id="dall-e-2 png only"),
    pytest.param({"image": "GIF"}, "image", "gif", id="gif input"),
    pytest.param(
        {"mask": np.zeros((32, 32), dtype=bool)}, "mask", "32x32", id="mask of another size"
    ),
    pytest.param({"mask": "JPEG"}, "mask", "mask.png", id="jpeg mask converted, then size"),
    pytest.param(
        {"input_fidelity": "high"}, "input_fidelity", "gpt-image-2", id="no fidelity on 2"
    ),
    pytest.param(
        {"model": "gpt-image-1-mini", "input_fidelity": "high"},
        "input_fidelity",
        "choose one of low",
        id="mini: low only",
    ),
    pytest.param({"input_fidelity": "max"}, "input_fidelity", "high, low", id="bad fidelity"),
    pytest.param({"image": "/nonexistent/photo.png"}, "image", "cannot read", id="missing file"),
    pytest.param({"image": 42}, "image", "int", id="not an image kind"),
    pytest.param({"image": b"hello"}, "image", "not an image", id="bytes not an image"),
    pytest.param({"image": []}, "image", "no image", id="empty list"),
    pytest.param({"image": np.zeros((4, 4, 7))}, "image", "shape", id="array not an image"),
    pytest.param({"quality": "ultra"}, "quality", "ultra", id="generation rules still hold"),
    pytest.param({"n": 11}, "n", "11", id="n"),
]


def _materialise(kwargs: dict[str, Any]) -> dict[str, Any]:
    out = dict(kwargs)
    for name in ("image", "mask"):
        value = out.get(name)
        if isinstance(value, str) and value == "JPEG":
            buffer = io.BytesIO()
            photo().save(buffer, "JPEG")
            out[name] = buffer.getvalue()
        elif isinstance(value, str) and value == "GIF":
            buffer = io.BytesIO()
            photo().save(buffer, "GIF")
            out[name] = buffer.getvalue()
    return out


@pytest.mark.parametrize(("kwargs", "field", "text"), REFUSALS)
async def test_refused_before_sending(
    client: AsyncImageClient, fake: FakeAPI, kwargs: dict[str, Any], field: str, text: str
) -> None:
    call: dict[str, Any] = {"image": photo(), "model": "gpt-image-2", **_materialise(kwargs)}
    if isinstance(kwargs.get("mask"), str):
        call["image"] = photo(side=32 * 3)
    with pytest.raises(InvalidParameterError) as caught:
        await client.edit("make it winter", **call)
    assert caught.value.field.startswith(field), caught.value
    assert text in str(caught.value)
    assert caught.value.allowed
    assert fake.requests == []


async def test_a_429_is_retried_with_the_same_upload(
    client: AsyncImageClient, fake: FakeAPI, recorded_sleeps: list[float]
) -> None:
    fake.fail_next(1, 429, headers={"Retry-After": "0"})
    gen = await client.edit("x", image=photo(), mask=left_half(), model="gpt-image-2")
    assert gen.ok
    edits = [r for r in fake.requests if r.path == "/v1/images/edits"]
    assert edits[0].status == 429
    assert fake.edit_count == 2  # (the second's status is recorded just after it is answered)
    assert [p.sha256 for p in edits[0].form or []] == [p.sha256 for p in edits[1].form or []]


async def test_a_500_is_not_retried_it_may_have_been_billed(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    fake.fail_next(1, 500)
    with pytest.raises(ServerError, match="may have been billed"):
        await client.edit("x", image=photo(), model="gpt-image-2")
    assert fake.edit_count == 1


async def test_url_mode_edit_downloads_the_result(client: AsyncImageClient) -> None:
    original = photo(side=256)
    gen = await client.edit(
        "x",
        image=original,
        mask=np.ones((256, 256), dtype=bool),
        model="dall-e-2",
        response_format="url",
    )
    assert gen.images[0].url is not None
    assert changed(gen.images[0].image, original).mean() > 0.5


@pytest.mark.slow
async def test_upload_counts_against_the_write_timeout(fake: FakeAPI) -> None:
    """A server that never reads the upload: the write timeout ends the edit, unsent=False."""
    import asyncio

    import httpx

    writers: list[asyncio.StreamWriter] = []

    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)  # never reads: the client's send buffer fills up

    server = await asyncio.start_server(stall, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    timeout = httpx.Timeout(connect=2, read=30, write=0.5, pool=2)
    noise = np.random.default_rng(0).integers(0, 255, (1024, 1024, 3), dtype=np.uint8)
    try:
        async with AsyncImageClient(
            api_key="k", base_url=f"http://127.0.0.1:{port}/v1", timeout=timeout, max_retries=0
        ) as slow:
            with pytest.raises(APIConnectionError, match="write timeout"):
                await asyncio.wait_for(
                    slow.edit("x", image=[noise] * 8, model="gpt-image-2"), timeout=20
                )
    finally:
        for writer in writers:
            writer.close()
            await writer.wait_closed()
        server.close()
        await server.wait_closed()


async def test_cancel_during_upload_leaves_the_client_usable(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    import asyncio

    fake.latency = 5
    task = asyncio.create_task(client.edit("x", image=photo(), model="gpt-image-2"))
    for _ in range(500):  # until the fake holds the upload
        if fake.in_flight:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    fake.latency = 0
    gen = await client.edit("x", image=photo(), model="gpt-image-2")
    assert gen.ok


async def _winter_with_previews(
    client: AsyncImageClient, original: Image.Image, partials: list[Any]
) -> Generation:
    """An edit of ``original``'s left half that asks for two partial previews."""
    return await client.edit(
        "winter",
        image=original,
        mask=left_half(),
        model="gpt-image-2",
        partial_images=2,
        on_partial=partials.append,
    )


async def test_an_edit_can_stream_partial_previews(client: AsyncImageClient, fake: FakeAPI) -> None:
    partials: list[Any] = []
    original = photo()
    gen = await _winter_with_previews(client, original, partials)
    assert gen.ok
    assert [p.partial_index for p in partials] == [0, 1]
    diff = changed(gen.images[0].image, original)  # the streamed final is the edited input
    assert not diff[:, SIDE // 2 :].any()
    assert diff[:, : SIDE // 2].mean() > 0.5
    fields = {p.name: p.value for p in parts(fake) if p.value is not None}
    assert fields["stream"] == "true"
    assert fields["partial_images"] == "2"


async def test_an_edits_stream_is_read_by_its_own_event_types(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    """Edits stream ``image_edit.*``; like the SDK, the client goes by the JSON ``type``
    exactly: a generation's event types in an edit's stream are no completed image."""
    partials: list[Any] = []
    gen = await client.edit(
        "snow", image=photo(), model="gpt-image-2", partial_images=1, on_partial=partials.append
    )
    assert gen.ok
    assert gen.streamed
    assert len(partials) == 1

    async def mislabelled(scope: Any, receive: Any, send: Any) -> None:
        async def relabel(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                body = message.get("body", b"").replace(b"image_edit.", b"image_generation.")
                message = {**message, "body": body}
            await send(message)

        await fake(scope, receive, relabel)

    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=mislabelled))
    async with AsyncImageClient(
        api_key=FAKE_API_KEY, base_url=IN_PROCESS_BASE_URL, http_client=http, max_retries=0
    ) as other:
        with pytest.raises(APIConnectionError, match="ended before its completed event"):
            await other.edit("snow", image=photo(), model="gpt-image-2", partial_images=1)
    await http.aclose()


async def test_a_failed_edit_still_records_the_inputs_hashes(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    """The hashes are computed once the body is sent: a result that fails after that carries
    them too, in ``error.generation.params``."""
    import hashlib

    data = png(photo())
    fake.malform_next("bad_base64")
    with pytest.raises(ResponseError) as caught:
        await client.edit("x", image=[data, data], model="gpt-image-2")
    generation = caught.value.generation
    assert generation is not None
    digest = hashlib.sha256(data).hexdigest()
    assert [image["sha256"] for image in generation.params["image"]] == [digest, digest]


@pytest.mark.parametrize("refuse", [True, False])
async def test_an_edit_with_partials_lands_from_a_gateway_that_does_not_stream(
    client: AsyncImageClient, fake: FakeAPI, refuse: bool
) -> None:
    """The multipart edit is sent once more without ``stream``/``partial_images`` when they
    are refused (a plain JSON answer is taken as it is), and the next edit does not ask."""
    if refuse:
        fake.stream_refusal = "openai"
    else:
        fake.stream_relay = False
    partials: list[Any] = []
    original = photo()
    gen = await _winter_with_previews(client, original, partials)
    assert gen.ok
    assert gen.streamed is False
    assert partials == []
    diff = changed(gen.images[0].image, original)
    assert not diff[:, SIDE // 2 :].any()
    # params: what was really sent (a plain JSON answer came to a request that asked).
    assert ("stream" in gen.params, "partial_images" in gen.params) == (not refuse, not refuse)
    assert len(gen.params["image"][0]["sha256"]) == 64
    sent = [
        {p.name for p in (r.form or []) if p.value is not None}
        for r in fake.requests
        if r.path == "/v1/images/edits"
    ]
    asked = {"stream", "partial_images"}
    assert [asked <= names for names in sent] == ([True, False] if refuse else [True])
    again = await client.edit("snow", image=original, model="gpt-image-2", partial_images=2)
    assert again.ok
    assert again.streamed is False
    assert not asked & {p.name for p in parts(fake)}
    assert not asked & set(again.params)
    assert fake.edit_count == (3 if refuse else 2)
