"""Generation and GeneratedImage without the network: bytes, decoding cache, saving, display."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from comet_widgets import CometError, ImageDownloadError, InvalidParameterError, read_metadata
from comet_widgets._constants import DECODED_CACHE_SIZE, THUMBNAIL_MAX_SIDE
from comet_widgets.images._formats import sniff
from comet_widgets.images._metadata import sidecar_path
from comet_widgets.images._results import GeneratedImage, Generation, decoded_cache


def encode(fmt: str, size: tuple[int, int] = (64, 48), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    color: Any = (20, 160, 90, 100) if mode == "RGBA" else (20, 160, 90)
    Image.new(mode, size, color).save(buffer, format=fmt)
    return buffer.getvalue()


def image_of(data: bytes, index: int = 0, **fields: Any) -> GeneratedImage:
    info = sniff(data)
    return GeneratedImage(
        index=index, data=data, format=info.format, width=info.width, height=info.height, **fields
    )


def generation_of(*images: GeneratedImage, **fields: Any) -> Generation:
    params = {"model": "dall-e-3", "prompt": "A paper boat", "n": len(images), "size": "1024x1024"}
    options: dict[str, Any] = {
        "prompt": "A paper boat",
        "model": "dall-e-3",
        "created": 1_760_000_000,
        "images": list(images),
        "params": params,
        "request_id": "req_123",
    }
    options.update(fields)
    return Generation(**options)


def test_images_know_their_generation() -> None:
    first, second = image_of(encode("PNG")), image_of(encode("PNG"), 1)
    gen = generation_of(first, second)
    assert first.generation is gen
    assert second.generation is gen
    assert gen.ok
    assert gen.errors == []


def test_a_failed_image_is_not_ok_and_raises_its_error_on_use() -> None:
    error = ImageDownloadError("image 1: download failed with HTTP 404", status_code=404)
    good, bad = image_of(encode("PNG")), GeneratedImage(index=1, url="http://x/1.png", error=error)
    gen = generation_of(good, bad)
    assert not gen.ok
    assert gen.errors == [error]
    assert not bad.ok
    assert bad.mime_type is None
    with pytest.raises(ImageDownloadError):
        _ = bad.image
    with pytest.raises(ImageDownloadError):
        bad.save("x.png")
    assert set(bad._repr_mimebundle_()) == {"text/plain"}
    assert "failed" in repr(bad)
    assert len(gen.pil_images) == 1
    assert "1 failed" in repr(gen)


def test_an_image_without_data_or_error_raises_a_comet_error() -> None:
    with pytest.raises(CometError, match="no data"):
        _ = GeneratedImage(index=4).image


def test_image_decodes_lazily_and_keeps_mode_and_size() -> None:
    image = image_of(encode("PNG", (30, 20), "RGBA"))
    decoded = image.image
    assert decoded.size == (30, 20)
    assert decoded.mode == "RGBA"
    assert image.image is decoded  # cached


def test_the_decoded_cache_is_bounded() -> None:
    images = [image_of(encode("PNG", (8, 8)), i) for i in range(DECODED_CACHE_SIZE + 10)]
    decoded = [image.image for image in images]
    assert len(decoded_cache) <= DECODED_CACHE_SIZE
    # least recently used first out: the newest is still cached, the oldest decodes again
    assert images[-1].image is decoded[-1]
    again = images[0].image
    assert again is not decoded[0]
    assert again.tobytes() == decoded[0].tobytes()
    assert len(decoded_cache) <= DECODED_CACHE_SIZE


def test_to_numpy_shape() -> None:
    pytest.importorskip("numpy")
    assert image_of(encode("PNG", (40, 30))).to_numpy().shape == (30, 40, 3)
    assert image_of(encode("PNG", (40, 30), "RGBA")).to_numpy().shape == (30, 40, 4)


def test_metadata_record() -> None:
    image = image_of(encode("PNG", (16, 8)), 0, revised_prompt="A rewritten boat")
    generation_of(image, usage={"total_tokens": 5})
    record = image.metadata
    assert record["prompt"] == "A paper boat"
    assert record["revised_prompt"] == "A rewritten boat"
    assert record["model"] == "dall-e-3"
    assert record["size"] == "1024x1024"
    assert record["request_id"] == "req_123"
    assert (record["format"], record["width"], record["height"]) == ("png", 16, 8)
    assert record["usage"] == {"total_tokens": 5}
    assert "prompt" not in record["parameters"]
    assert record["parameters"]["model"] == "dall-e-3"
    assert record["software"].startswith("comet-widgets ")
    json.dumps(record)


def test_default_filename() -> None:
    image = image_of(encode("JPEG"), 2)
    generation_of(image, prompt="A Paper Boat, at sunrise!!")
    assert image.default_filename() == "20251009-085320-a-paper-boat-at-sunrise-2.jpg"


# -- saving ------------------------------------------------------------------------------------


def test_an_answer_without_created_is_not_named_for_1970() -> None:
    image = image_of(encode("PNG"))
    generation_of(image, created=0)
    name = image.default_filename()
    assert not name.startswith("1970"), name
    assert name[:4] == time.strftime("%Y", time.gmtime())


def test_save_png_writes_original_pixels_and_text_chunks(tmp_path: Path) -> None:
    data = encode("PNG", (20, 10))
    image = image_of(data, revised_prompt="rewritten")
    generation_of(image)
    path = image.save(tmp_path / "boat.png")
    assert path == tmp_path / "boat.png"
    written = path.read_bytes()
    assert written != data  # metadata chunks added...
    with Image.open(path) as saved, Image.open(io.BytesIO(data)) as original:
        assert saved.tobytes() == original.tobytes()  # ...pixels untouched
    record = read_metadata(path)
    assert record["prompt"] == "A paper boat"
    assert record["revised_prompt"] == "rewritten"
    assert not sidecar_path(path).exists()


@pytest.mark.parametrize(("fmt", "suffix"), [("JPEG", ".jpg"), ("WEBP", ".webp"), ("GIF", ".gif")])
def test_save_other_formats_keeps_bytes_and_writes_a_sidecar(
    tmp_path: Path, fmt: str, suffix: str
) -> None:
    data = encode(fmt)
    image = image_of(data)
    generation_of(image)
    path = image.save(tmp_path / f"boat{suffix}")
    assert path.read_bytes() == data  # the original bytes, untouched
    assert sidecar_path(path).exists()  # the format cannot hold the record itself
    assert read_metadata(path)["prompt"] == "A paper boat"


def test_sidecar_false_writes_none(tmp_path: Path) -> None:
    image = image_of(encode("JPEG"))
    generation_of(image)
    path = image.save(tmp_path / "boat.jpg", sidecar=False)
    assert not sidecar_path(path).exists()
    with pytest.raises(InvalidParameterError, match="has no comet-widgets metadata"):
        read_metadata(path)


def test_sidecar_true_also_for_png(tmp_path: Path) -> None:
    image = image_of(encode("PNG"))
    generation_of(image)
    path = image.save(tmp_path / "boat.png", sidecar=True)
    assert json.loads(sidecar_path(path).read_text())["prompt"] == "A paper boat"


@pytest.mark.parametrize(
    ("source", "suffix", "expected"),
    [
        ("WEBP", ".png", "png"),
        ("PNG", ".jpg", "jpeg"),
        ("PNG", ".webp", "webp"),
        ("JPEG", ".jpeg", "jpeg"),
    ],
)
def test_another_extension_converts(
    tmp_path: Path, source: str, suffix: str, expected: str
) -> None:
    image = image_of(encode(source, (30, 20), "RGBA" if source == "PNG" else "RGB"))
    generation_of(image)
    path = image.save(tmp_path / f"out{suffix}")
    info = sniff(path.read_bytes())
    assert (info.format, info.width, info.height) == (expected, 30, 20)
    assert read_metadata(path)["prompt"] == "A paper boat"


def test_no_extension_gets_the_real_format_s(tmp_path: Path) -> None:
    image = image_of(encode("WEBP"))
    generation_of(image)
    assert image.save(tmp_path / "boat") == tmp_path / "boat.webp"
    assert image.save(tmp_path / "boat.v2") == tmp_path / "boat.v2.webp"


def test_save_into_a_directory_uses_the_default_name(tmp_path: Path) -> None:
    image = image_of(encode("PNG"), 1)
    generation_of(image)
    path = image.save(tmp_path)
    assert path.parent == tmp_path
    assert path.name == image.default_filename()
    new_dir = image.save(str(tmp_path / "new") + os.sep)
    assert new_dir.parent == tmp_path / "new"


def test_save_without_a_path_uses_comet_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    image = image_of(encode("PNG"))
    generation_of(image)
    path = image.save()
    assert path.parent.resolve() == (tmp_path / "comet-images").resolve()
    assert path.exists()


def test_saving_two_generations_of_one_prompt_keeps_both(tmp_path: Path) -> None:
    first, second = image_of(encode("PNG", (8, 8))), image_of(encode("PNG", (9, 9)))
    generation_of(first)
    generation_of(second)  # same prompt, same second
    paths = [first.save(tmp_path), second.save(tmp_path)]
    assert paths[0] != paths[1]
    assert [sniff(p.read_bytes()).width for p in paths] == [8, 9]


def test_an_explicit_path_is_overwritten(tmp_path: Path) -> None:
    first, second = image_of(encode("PNG", (8, 8))), image_of(encode("PNG", (9, 9)))
    generation_of(first, second)
    first.save(tmp_path / "same.png")
    assert second.save(tmp_path / "same.png") == tmp_path / "same.png"
    assert sniff((tmp_path / "same.png").read_bytes()).width == 9


def test_generation_save_skips_failed_images(tmp_path: Path) -> None:
    good = image_of(encode("PNG"), 0)
    bad = GeneratedImage(index=1, error=ImageDownloadError("gone"))
    also_good = image_of(encode("JPEG"), 2)
    gen = generation_of(good, bad, also_good)
    paths = gen.save(tmp_path / "out")
    assert [p.suffix for p in paths] == [".png", ".jpg"]
    assert all(p.parent == tmp_path / "out" for p in paths)


# -- display -----------------------------------------------------------------------------------


def test_previews_are_downscaled() -> None:
    image = image_of(encode("PNG", (1500, 600)))
    bundle = image._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "image/jpeg"}
    with Image.open(io.BytesIO(bundle["image/jpeg"])) as shown:
        assert max(shown.size) == THUMBNAIL_MAX_SIDE
        assert shown.size == (512, 205)
    assert image.image.size == (1500, 600)  # the original is untouched


def test_a_notebook_keeps_one_preview_per_image() -> None:
    from IPython.core.formatters import DisplayFormatter

    shown, _ = DisplayFormatter().format(image_of(encode("PNG", (900, 600))))
    assert set(shown) == {"text/plain", "image/jpeg"}  # no second (PNG) thumbnail


def test_a_transparent_image_previews_as_png() -> None:
    data, fmt = image_of(encode("PNG", (700, 700), "RGBA")).preview()
    assert fmt == "png"
    assert sniff(data).width == 512


def test_a_small_image_is_not_upscaled() -> None:
    data, fmt = image_of(encode("PNG", (40, 20))).preview()
    assert fmt == "jpeg"
    assert (sniff(data).width, sniff(data).height) == (40, 20)


def test_generation_display_is_a_contact_sheet() -> None:
    gen = generation_of(image_of(encode("PNG", (900, 900))), image_of(encode("JPEG"), 1))
    bundle = gen._repr_mimebundle_()
    assert "Generation dall-e-3 2 image(s)" in bundle["text/plain"]
    assert sniff(bundle["image/png"]).format == "png"
    assert len(bundle["image/png"]) < 200_000


def test_reprs_are_short() -> None:
    image = image_of(encode("PNG", (16, 8)))
    gen = generation_of(image)
    assert repr(image) == f"<GeneratedImage #0 png 16x8, {len(image.data or b'')} bytes>"
    assert "request_id='req_123'" in repr(gen)
    assert len(repr(gen)) < 120
