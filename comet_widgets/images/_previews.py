"""Small encodings of images for display: thumbnails, notebook previews and contact sheets.

Full images stay in Python; only these reach a browser or a saved notebook. Opaque images are
encoded as JPEG (about 5 ms at 512 px, far smaller than PNG); images with transparency as PNG.
Pillow is imported here, on first use, never when the package is imported.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._constants import THUMBNAIL_JPEG_QUALITY, THUMBNAIL_MAX_SIDE
from .._errors import InvalidParameterError

if TYPE_CHECKING:
    from PIL.Image import Image

__all__ = [
    "contact_sheet",
    "decode_image",
    "encode_preview",
    "gif_preview",
    "sheet_image",
    "thumbnail_of",
    "transparent",
]


def decode_image(data: bytes) -> Image:
    """The image in ``data``, decoded (the first frame of an animation)."""
    from PIL import Image as PILImage

    with PILImage.open(io.BytesIO(data)) as opened:
        opened.load()
        # copy() detaches the pixels from the decoder: a loaded WebP otherwise keeps ~12 MiB of
        # decoder state alive per image.
        copy: Image = opened.copy()
        return copy


def transparent(image: Image) -> bool:
    """Whether a PIL image has transparency: an alpha band, or a palette with a transparent
    entry."""
    return "A" in image.getbands() or (image.mode == "P" and "transparency" in image.info)


def thumbnail_of(image: Image, max_side: int = THUMBNAIL_MAX_SIDE) -> Image:
    """A copy no larger than ``max_side`` on its longest side (the original is untouched)."""
    from PIL import Image as PILImage

    width, height = image.size
    if max(width, height) <= max_side:
        return image.copy()
    scale = max_side / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # reducing_gap=1.0: shrink by the largest whole factor first (a 2x2 box average, ~1 ms at
    # 1024 px) and Lanczos only what is left; gap 2.0 ran Lanczos over the full image (~27 ms)
    # for a thumbnail no one can tell apart (bench/RESULTS.md). resize() also skips the copy.
    return image.resize(size, PILImage.Resampling.LANCZOS, reducing_gap=1.0)


def encode_preview(image: Image, *, max_side: int = THUMBNAIL_MAX_SIDE) -> tuple[bytes, str]:
    """Encode a downscaled preview; returns ``(bytes, format)`` with format ``jpeg`` or ``png``."""
    thumb = thumbnail_of(image, max_side)
    buffer = io.BytesIO()
    if transparent(thumb):
        thumb.save(buffer, format="PNG", optimize=False, compress_level=6)
        return buffer.getvalue(), "png"
    if thumb.mode != "RGB":
        thumb = thumb.convert("RGB")
    thumb.save(buffer, format="JPEG", quality=THUMBNAIL_JPEG_QUALITY, optimize=True)
    return buffer.getvalue(), "jpeg"


def gif_preview(data: bytes, *, max_side: int = THUMBNAIL_MAX_SIDE) -> bytes:
    """An animated GIF no larger than ``max_side``: every frame downscaled, timing kept."""
    from PIL import Image as PILImage
    from PIL import ImageSequence

    with PILImage.open(io.BytesIO(data)) as source:
        if max(source.size) <= max_side:
            return data
        durations = []
        frames = []
        for frame in ImageSequence.Iterator(source):
            durations.append(frame.info.get("duration", 100))
            frames.append(thumbnail_of(frame.convert("RGBA"), max_side))
        loop = source.info.get("loop", 0)
    buffer = io.BytesIO()
    frames[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=frames[1:],
        duration=durations,
        loop=loop,
        disposal=2,
    )
    return buffer.getvalue()


def sheet_image(images: Sequence[Image], *, cell: int = 192, gap: int = 4) -> Image:
    """A grid of ``images`` (up to 4 a row), each fitted in a ``cell``-pixel square, on white."""
    from PIL import Image as PILImage

    if not images:
        raise InvalidParameterError(
            "images", images, "at least one image", reason="no images for a contact sheet"
        )
    columns = min(4, len(images))
    rows = -(-len(images) // columns)
    sheet = PILImage.new(
        "RGB", (columns * cell + (columns - 1) * gap, rows * cell + (rows - 1) * gap), "white"
    )
    for number, image in enumerate(images):
        thumb = thumbnail_of(image, cell).convert("RGB")
        x = (number % columns) * (cell + gap) + (cell - thumb.width) // 2
        y = (number // columns) * (cell + gap) + (cell - thumb.height) // 2
        sheet.paste(thumb, (x, y))
    return sheet


def contact_sheet(images: Sequence[Image], *, cell: int = 192) -> bytes:
    """A small PNG grid of ``images`` (for a saved notebook's static fallback)."""
    buffer = io.BytesIO()
    sheet_image(images, cell=cell).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
