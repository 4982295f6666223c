"""Placeholder images for the fake API: drawn from the prompt, deterministic, cheap, cached.

Each image is a flat colour chosen from a hash of (prompt, index) with the prompt written on it,
so the same request always gives the same bytes and different prompts give different images.
Flat colours compress to a few kilobytes even at 3840x2160, which keeps the fake fast.
Also here: a decompression bomb for fault tests (a tiny PNG declaring a huge image).
"""

from __future__ import annotations

import hashlib
import html
import io
import struct
import textwrap
import zlib
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

__all__ = [
    "NOT_AN_IMAGE",
    "ImageSpec",
    "bomb_png",
    "draw",
    "encode",
    "parse_size",
    "render",
]

#: What ``malform_next("not_an_image")`` sends instead of an image.
NOT_AN_IMAGE = b"hello world"

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def parse_size(size: str) -> tuple[int, int]:
    """``'1536x1024'`` -> ``(1536, 1024)``; ``'auto'`` (or anything unparsable) -> 1024x1024."""
    width, _, height = size.partition("x")
    if width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0:
        return int(width), int(height)
    return 1024, 1024


@dataclass(frozen=True)
class ImageSpec:
    """Everything that decides an image's bytes (also its cache key)."""

    prompt: str
    index: int
    width: int
    height: int
    #: png, jpeg, webp, gif or svg.
    format: str = "png"
    transparent: bool = False
    compression: int | None = None
    #: Above 1: a coarse version made of ``block``-pixel squares (a stream's partial previews).
    block: int = 1
    #: GIF output: how many frames, and the delay of each (the SDK's defaults: 9 and 200 ms).
    frames: int = 9
    frame_ms: int = 200


@lru_cache(maxsize=64)  # thread-safe: the server thread and tests share it
def render(spec: ImageSpec) -> bytes:
    """The encoded image for ``spec`` (recent ones come from a cache)."""
    return _svg(spec) if spec.format == "svg" else encode(draw(spec), spec)


def _svg(spec: ImageSpec) -> bytes:
    """An SVG document with the placeholder's band, disc and prompt (escaped) as text."""
    red, green, blue = _colour(spec.prompt, spec.index)
    width, height = spec.width, spec.height
    accent = f"rgb({255 - red},{255 - green},{255 - blue})"
    radius = max(4, min(width, height) // 8)
    text = html.escape(spec.prompt[:200], quote=True)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}">\n'
        f'<rect width="{width}" height="{height}" fill="rgb({red},{green},{blue})"/>\n'
        f'<rect y="{height * 3 // 4}" width="{width}" height="{height // 4}" fill="{accent}"/>\n'
        f'<circle cx="{green * width // 256}" cy="{blue * height // 256}" r="{radius}"'
        f' fill="{accent}"/>\n'
        f'<text x="16" y="48" font-size="32" font-family="sans-serif">{text}</text>\n'
        f"</svg>\n"
    ).encode()


def _colour(prompt: str, index: int) -> tuple[int, int, int]:
    digest = hashlib.sha256(f"{index}\x00{prompt}".encode()).digest()
    return digest[0], digest[1], digest[2]


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (ImportError, OSError):  # Pillow built without FreeType: the bitmap font
        return ImageFont.load_default()


def draw(spec: ImageSpec) -> Image.Image:
    """The placeholder for ``spec`` as a Pillow image (``encode`` makes its bytes)."""
    width, height = spec.width, spec.height
    red, green, blue = _colour(spec.prompt, spec.index)
    light = 0.299 * red + 0.587 * green + 0.114 * blue > 140
    ink = (0, 0, 0, 255) if light else (255, 255, 255, 255)
    label_ink = (255, 255, 255, 255) if light else (0, 0, 0, 255)  # the band is the complement
    accent = (255 - red, 255 - green, 255 - blue, 255)
    if spec.transparent:
        image = Image.new("RGBA", (width, height), (red, green, blue, 0))
    else:
        image = Image.new("RGB", (width, height), (red, green, blue))
    draw = ImageDraw.Draw(image)
    side = min(width, height)
    # A band and a disc placed by the hash, so thumbnails of different prompts look different.
    draw.rectangle((0, height * 3 // 4, width, height), fill=accent)
    cx, cy = (green * width) // 256, (blue * height) // 256
    radius = max(4, side // 8)
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=accent)
    size = max(10, side // 24)
    font = _font(size)
    margin = max(4, side // 32)
    columns = max(8, int((width - 2 * margin) / (size * 0.5)))
    lines = textwrap.wrap(spec.prompt[:400], width=columns)[: max(1, (height // 2) // (size + 4))]
    draw.multiline_text((margin, margin), "\n".join(lines), fill=ink, font=font, spacing=4)
    label = f"comet-fake #{spec.index + 1}  {width}x{height}"
    draw.text((margin, height - margin - size), label, fill=label_ink, font=font)
    if spec.block > 1:
        small = (max(1, width // spec.block), max(1, height // spec.block))
        image = image.resize(small, Image.Resampling.BOX).resize(
            (width, height), Image.Resampling.NEAREST
        )
    return image


def encode(image: Image.Image, spec: ImageSpec) -> bytes:
    """``image`` (``spec``'s size) encoded as ``spec.format``: PNG, JPEG or WebP (at
    ``spec.compression``), or an animated GIF with a disc moving one step per frame
    (``spec.frames`` frames of ``spec.frame_ms`` each)."""
    out = io.BytesIO()
    if spec.format == "gif":
        red, green, blue = _colour(spec.prompt, spec.index)
        radius = max(4, min(spec.width, spec.height) // 16)
        frames = []
        for number in range(spec.frames):
            frame = image.convert("RGB")
            x = (number + 1) * spec.width // (spec.frames + 1)
            disc = (x - radius, radius, x + radius, 3 * radius)
            ImageDraw.Draw(frame).ellipse(disc, fill=(255 - red, 255 - green, 255 - blue))
            frames.append(frame.quantize(colors=16))
        frames[0].save(
            out, "GIF", save_all=True, append_images=frames[1:], duration=spec.frame_ms, loop=0
        )
    elif spec.format == "jpeg":
        quality = spec.compression if spec.compression is not None else 85
        image.convert("RGB").save(out, "JPEG", quality=max(1, min(95, quality)))
    elif spec.format == "webp":
        quality = spec.compression if spec.compression is not None else 80
        image.save(out, "WEBP", quality=quality, method=0)
    else:
        image.save(out, "PNG", compress_level=1)
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny, well-formed PNG whose header declares ``width`` x ``height`` RGB pixels.

    Decoding it would need tens of gigabytes: a client must refuse it from the header alone.
    """
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        _PNG_SIGNATURE
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )
