"""``MaskPainter`` on the kernel side: the mask round-trips through its small synced PNG."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from widget_parts import part, text

from comet_widgets import ImageGenerator, InvalidParameterError, MaskPainter
from comet_widgets.testing import FakeAPI


def test_a_mask_set_from_code_comes_back_at_full_size() -> None:
    painter = MaskPainter(Image.new("RGB", (1024, 768), (10, 20, 30)))
    assert painter.mask is None
    wanted = np.zeros((768, 1024), dtype=bool)
    wanted[100:400, 200:600] = True
    painter.mask = wanted
    back = painter.mask
    assert back.shape == (768, 1024)
    # Stored at the preview's scale (512 px): edges may move by one full-size pixel.
    assert (back != wanted).mean() < 0.01
    state = painter.get_state()
    assert len(state["_mask_png"]) < 10_000
    assert len(state["_image"]) < 100_000  # a <= 512 px JPEG preview, not the image
    painter.mask = None
    assert painter.mask is None


def test_every_input_kind_and_an_empty_mask(tmp_path: object) -> None:
    array = np.zeros((64, 32, 3), dtype=np.uint8)
    painter = MaskPainter(array)
    assert painter.size == (32, 64)
    painter.mask = np.zeros((64, 32), dtype=bool)
    assert painter.mask is None  # nothing painted means no mask
    with pytest.raises(InvalidParameterError):
        MaskPainter(42)


def _png(image: Image.Image, **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", **options)
    return out.getvalue()


def _url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _declaring(width: int, height: int) -> bytes:
    """A small PNG whose header declares ``width`` x ``height`` (a decompression bomb)."""
    data = bytearray(_png(Image.new("RGBA", (8, 8))))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def _painted(size: tuple[int, int], box: tuple[int, int, int, int]) -> str:
    overlay = Image.new("RGBA", size, (0, 170, 255, 0))
    overlay.paste((0, 170, 255, 255), box)
    return _url(_png(overlay))


def _hostile_messages() -> dict[str, str]:
    good = _png(Image.new("RGBA", (512, 384), (0, 170, 255, 255)))
    idat = good.index(b"IDAT")
    corrupt = good[: idat + 8] + bytes(len(good) - idat - 20) + good[-12:]
    jpeg = io.BytesIO()
    Image.new("RGB", (512, 384)).save(jpeg, "JPEG")
    return {
        "not a data URL": "hello",
        "another media type": "data:text/html;base64," + base64.b64encode(good).decode(),
        "bad base64": "data:image/png;base64,%%%not-base64%%%",
        "a JPEG": _url(jpeg.getvalue()),
        "not an image": _url(b"\x89PNG\r\n\x1a\n garbage"),
        "the wrong size": _url(_png(Image.new("RGBA", (64, 64), (0, 0, 0, 255)))),
        "a decompression bomb": _url(_declaring(100_000, 100_000)),
        "pixels that do not decode": _url(corrupt),
        "megabytes of text": "data:image/png;base64," + "A" * 8_000_000,
    }


def test_a_front_end_message_that_is_not_a_mask_is_refused_and_the_mask_stays() -> None:
    painter = MaskPainter(Image.new("RGB", (1024, 768)))
    painter.set_state({"_mask_png": _painted((512, 384), (0, 0, 256, 384))})
    kept = painter.mask
    assert kept is not None
    assert kept[:, :512].all()
    assert not kept[:, 512:].any()
    for kind, message in _hostile_messages().items():
        painter.set_state({"_mask_png": message})  # as a comm message from the browser
        assert (painter.mask == kept).all(), kind
        assert painter.get_state()["_mask_png"] != message, kind
        assert "the painter sent a mask that" in painter.notice, kind
        assert "the previous mask is kept" in painter.notice, kind
    painter.set_state({"_mask_png": _painted((512, 384), (256, 0, 512, 384))})
    assert painter.notice == ""
    assert painter.mask[:, 512:].all()


def test_an_image_that_cannot_be_painted_over_is_refused_naming_it(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_declaring(30_000, 30_000))
    for given in (bomb, bomb.read_bytes(), b"<svg xmlns='http://www.w3.org/2000/svg'></svg>"):
        with pytest.raises(InvalidParameterError) as refused:
            MaskPainter(given)
        assert refused.value.field == "image"
        assert "cannot be painted over" in str(refused.value)
    with pytest.raises(InvalidParameterError, match=r"bomb\.png"):
        MaskPainter(bomb)


async def test_the_panel_edits_with_the_kept_mask_after_a_hostile_message(
    make_panel: Callable[..., ImageGenerator], app: FakeAPI
) -> None:
    panel = make_panel(prompt="make it winter", model="gpt-image-2")
    panel.inputs = [Image.new("RGB", (1024, 768), (200, 30, 30))]
    painter = part(panel, "cw-mask-painter")
    painter.set_state({"rendered": True, "_mask_png": _painted((512, 384), (0, 0, 256, 384))})
    assert "painted: 50%" in text(panel, "cw-mask-note")
    for message in _hostile_messages().values():
        painter.set_state({"_mask_png": message})
        assert panel.mask[:, :512].all()
        assert not panel.mask[:, 512:].any()
    assert "the previous mask is kept" in painter.notice
    edited = await panel.edit()
    assert edited.images[0].ok
    assert [r.path for r in app.requests if r.path != "/v1/models"] == ["/v1/images/edits"]
