"""Requested vs effective: ``GeneratedImage.mismatches`` against a gateway that silently
changes parameters (the fake's ``silent_changes``), over loopback, and in saved files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from comet_widgets import AsyncImageClient, GeneratedImage, Generation, read_metadata
from comet_widgets.images._formats import has_alpha
from comet_widgets.images._metadata import sidecar_path
from comet_widgets.testing import FakeAPI

MODEL = "gpt-image-2"
ASK = {
    "model": MODEL,
    "size": "1536x1024",
    "output_format": "webp",
    "quality": "high",
    "background": "transparent",
}


async def test_what_was_asked_and_what_came_back(client: AsyncImageClient, fake: FakeAPI) -> None:
    fake.silent_changes = {
        "size": "1024x1024",
        "output_format": "png",
        "quality": "low",
        "background": "opaque",
        "prompt": "A paper boat on a pond, photographed",
    }
    generation = await client.generate("A paper boat", **ASK)
    [image] = generation.images
    assert (image.width, image.height, image.format) == (1024, 1024, "png")
    assert image.mismatches == {
        "size": ("1536x1024", "1024x1024"),
        "output_format": ("webp", "png"),
        "quality": ("high", "low"),
        "background": ("transparent", "opaque"),
        "prompt": ("A paper boat", "A paper boat on a pond, photographed"),
    }
    sent = fake.requests[-1].json
    assert sent is not None
    assert sent["size"] == "1536x1024"  # the request itself was not changed


async def test_nothing_differs_when_the_gateway_does_as_asked(client: AsyncImageClient) -> None:
    generation = await client.generate("A paper boat", **ASK)
    assert generation.images[0].mismatches == {}
    # jpg and jpeg are one format; "auto" asks nothing
    jpeg = await client.generate("A kite", model=MODEL, output_format="jpeg", size="auto")
    assert (jpeg.images[0].format, jpeg.images[0].mismatches) == ("jpeg", {})


async def test_a_streamed_answer_is_compared_too(client: AsyncImageClient, fake: FakeAPI) -> None:
    fake.silent_changes = {"size": "1024x1024"}
    generation = await client.generate(
        "A kite", model=MODEL, size="1536x1024", stream=True, partial_images=1
    )
    assert generation.images[0].mismatches == {"size": ("1536x1024", "1024x1024")}


def _png(mode: str) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (8, 8)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(("mode", "expected"), [("RGB", {"background": ("transparent", "opaque")}),
                                                ("RGBA", {})])  # fmt: skip
def test_a_transparent_ask_is_checked_in_the_bytes_when_the_answer_is_silent(
    mode: str, expected: dict[str, tuple[str, str]]
) -> None:
    """A gateway that drops the answer's fields: the image's own alpha says what came back."""
    data = _png(mode)
    image = GeneratedImage(index=0, data=data, format="png", width=8, height=8)
    Generation("A logo", MODEL, 0, [image], params={"prompt": "A logo", **ASK, "size": "8x8",
                                                    "output_format": "png"})  # fmt: skip
    assert image.mismatches == expected


@pytest.mark.parametrize(
    ("fmt", "mode", "options", "alpha"),
    [
        ("PNG", "RGBA", {}, True),
        ("PNG", "RGB", {}, False),
        ("WEBP", "RGBA", {}, True),
        ("WEBP", "RGB", {}, False),
        ("WEBP", "RGBA", {"lossless": True}, True),
        ("WEBP", "RGB", {"lossless": True}, False),
        ("JPEG", "RGB", {}, False),
        ("GIF", "RGB", {}, None),
    ],
)
def test_has_alpha_reads_the_header(
    fmt: str, mode: str, options: dict[str, bool], alpha: bool | None
) -> None:
    buffer = io.BytesIO()
    Image.new(mode, (8, 8)).save(buffer, fmt, **options)
    assert has_alpha(buffer.getvalue()) is alpha


async def test_saved_files_record_the_mismatches(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path
) -> None:
    fake.silent_changes = {"size": "1024x1024", "output_format": "png"}
    png = await client.generate("A paper boat", model=MODEL, size="1536x1024", output_format="webp")
    fake.silent_changes = {"size": "1024x1024"}
    webp = await client.generate("A kite", model=MODEL, size="1536x1024", output_format="webp")
    png_path = png.images[0].save(tmp_path)
    webp_path = webp.images[0].save(tmp_path)
    assert read_metadata(png_path)["mismatches"] == {  # the PNG's own text chunk
        "size": ["1536x1024", "1024x1024"],
        "output_format": ["webp", "png"],
    }
    sidecar = json.loads(sidecar_path(webp_path).read_text(encoding="utf-8"))
    assert sidecar["mismatches"] == {"size": ["1536x1024", "1024x1024"]}
    fake.silent_changes = {}
    good = await client.generate("A kite", model=MODEL, size="1536x1024")
    assert read_metadata(good.images[0].save(tmp_path))["mismatches"] == {}


def test_the_fake_refuses_a_change_it_cannot_make() -> None:
    with pytest.raises(ValueError, match="cannot change \\['n'\\]"):
        FakeAPI(silent_changes={"n": "2"})
