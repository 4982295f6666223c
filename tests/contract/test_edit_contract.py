"""Edits: the multipart body our client sends equals what the official ``openai`` SDK sends for
the same call (both captured by the fake), and the SDK's own ``images.edit`` works against the
fake (one file as ``image``, several as ``image[]``, a mask, its errors)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import openai
import pytest
from PIL import Image

from comet_widgets import AsyncImageClient
from comet_widgets.testing import FAKE_API_KEY, FakeAPI, FakeServer
from tests.helpers import png

IMAGE = png(Image.new("RGB", (64, 64), (20, 120, 220)))
OTHER = png(Image.new("RGB", (64, 64), (220, 120, 20)))
ALPHA = np.full((64, 64), 255, dtype=np.uint8)
ALPHA[:32] = 0
MASK = png(Image.merge("LA", (Image.new("L", (64, 64)), Image.fromarray(ALPHA))))
#: A markup: transparent but for a drawn mark (the opaque red top half).
MARKS = png(
    Image.merge(
        "RGBA", (*Image.new("RGB", (64, 64), (255, 0, 0)).split(), Image.fromarray(255 - ALPHA))
    )
)


def captured(fake: FakeAPI) -> list[tuple[Any, ...]]:
    """The last edit's parts as (name, filename, content type, text or sha256), sorted: the
    order of text fields follows each client's keyword order, which the API ignores."""
    form = [r for r in fake.requests if r.path == "/v1/images/edits"][-1].form or []
    return sorted((p.name, p.filename, p.content_type, p.value or p.sha256) for p in form)


def sdk(server: FakeServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key=FAKE_API_KEY, base_url=server.base_url, max_retries=0)


CALLS = [
    pytest.param(
        {"image": ("photo.png", IMAGE, "image/png"), "mask": ("mask.png", MASK, "image/png")},
        {"image": IMAGE, "mask": MASK},
        {"model": "gpt-image-1", "n": 2, "quality": "low", "input_fidelity": "high"},
        id="one image and a mask",
    ),
    pytest.param(
        {"image": [("a.png", IMAGE, "image/png"), ("b.png", OTHER, "image/png")]},
        {"image": [IMAGE, OTHER]},
        {"model": "gpt-image-2", "size": "1024x1024", "output_format": "webp"},
        id="two images as image[]",
    ),
    pytest.param(
        {"image": ("photo.png", IMAGE, "image/png")},
        {"image": IMAGE},
        {"model": "dall-e-2", "response_format": "b64_json", "size": "256x256", "user": "u"},
        id="dall-e-2",
    ),
    pytest.param(
        {"image": ("photo.png", IMAGE, "image/png"), "markup": ("marks.png", MARKS, "image/png")},
        {"image": IMAGE, "markup": MARKS},
        {"model": "gpt-image-2.5-flare", "quality": "xhigh"},
        id="a markup (gpt-image-2.5)",
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(("sdk_files", "ours", "params"), CALLS)
async def test_our_multipart_equals_the_sdks(
    fake_server: FakeServer,
    fake: FakeAPI,
    client: AsyncImageClient,
    sdk_files: dict[str, Any],
    ours: dict[str, Any],
    params: dict[str, Any],
) -> None:
    async with sdk(fake_server) as official:
        await official.images.edit(prompt="make it winter", **sdk_files, **params)
    theirs = captured(fake)
    await client.edit("make it winter", **ours, **params)
    mine = captured(fake)
    # Filenames aside (the SDK sends the names it is given; we name parts ourselves), every
    # part is the same: field name, content type, text or the file's sha256.
    assert [(n, t, v) for n, _, t, v in mine] == [(n, t, v) for n, _, t, v in theirs]
    given = [f[0] for v in sdk_files.values() for f in (v if isinstance(v, list) else [v])]
    assert sorted(f for _, f, _, _ in theirs if f) == sorted(given)
    assert fake.edit_count == 2


async def test_the_sdks_edit_with_a_mask_is_honoured(fake_server: FakeServer) -> None:
    async with sdk(fake_server) as official:
        answer = await official.images.edit(
            image=("photo.png", IMAGE, "image/png"),
            mask=("mask.png", MASK, "image/png"),
            prompt="make it winter",
            model="gpt-image-1.5",
        )
    import base64

    assert answer.data
    assert answer.data[0].b64_json
    result = np.asarray(Image.open(io.BytesIO(base64.b64decode(answer.data[0].b64_json))))
    original = np.asarray(Image.open(io.BytesIO(IMAGE)).convert("RGBA"))
    differs = np.abs(result.astype(int) - original.astype(int)).sum(axis=2) > 0
    assert differs[:32].mean() > 0.5  # the transparent top half was edited
    assert not differs[32:].any()  # the rest is unchanged
    assert answer.usage is not None


async def test_the_sdk_sees_the_fakes_refusals(fake_server: FakeServer, fake: FakeAPI) -> None:
    async with sdk(fake_server) as official:
        with pytest.raises(openai.BadRequestError, match="dall-e-3 cannot edit"):
            await official.images.edit(image=IMAGE, prompt="x", model="dall-e-3")
        small = png(Image.new("LA", (32, 32)))
        with pytest.raises(openai.BadRequestError, match="mask is 32x32"):
            await official.images.edit(
                image=("a.png", IMAGE, "image/png"),
                mask=("m.png", small, "image/png"),
                prompt="x",
                model="gpt-image-2",
            )
        fake.fail_next(1, 429, headers={"Retry-After": "0"})
        with pytest.raises(openai.RateLimitError):
            await official.images.edit(image=("a.png", IMAGE, "image/png"), prompt="x")
