"""Image format sniffing from bytes, with no Pillow import.

The format is read from the file's signature, never from a URL's extension or the requested
``output_format`` (CometAPI re-hosts images as ``.webp`` whatever they are). The header also
gives the declared dimensions, so a decompression bomb is refused before anything is decoded,
and the end of the file is checked so a truncated PNG or JPEG is caught on arrival.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Literal

ImageFormat = Literal["png", "jpeg", "webp", "gif"]

__all__ = ["EXTENSIONS", "MIME_TYPES", "ImageFormat", "ImageInfo", "NotAnImage", "sniff"]

MIME_TYPES: dict[str, str] = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
}
EXTENSIONS: dict[str, str] = {"png": ".png", "jpeg": ".jpg", "webp": ".webp", "gif": ".gif"}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"IEND\xaeB`\x82"


class NotAnImage(ValueError):
    """The bytes are not a complete PNG, JPEG, WebP or GIF image."""


@dataclass(frozen=True)
class ImageInfo:
    """What the header of an image says."""

    format: ImageFormat
    width: int
    height: int

    @property
    def mime_type(self) -> str:
        return MIME_TYPES[self.format]


def sniff(data: bytes, *, max_pixels: int | None = None) -> ImageInfo:
    """Return the format and declared size of ``data``.

    Raises ``NotAnImage`` for bytes that are not a supported image, for a file cut short, and
    for declared dimensions above ``max_pixels``.
    """
    view = memoryview(data)
    if data[:8] == _PNG_SIGNATURE:
        info = _png(data, view)
    elif data[:3] == b"\xff\xd8\xff":
        info = _jpeg(data, view)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        info = _webp(data)
    elif data[:6] in (b"GIF87a", b"GIF89a"):
        info = _gif(data)
    else:
        head = bytes(data[:16])
        raise NotAnImage(f"the bytes are not a PNG, JPEG, WebP or GIF image (they start {head!r})")
    if info.width <= 0 or info.height <= 0:
        raise NotAnImage(f"the {info.format} header declares an empty image")
    if max_pixels is not None and info.width * info.height > max_pixels:
        raise NotAnImage(
            f"the {info.format} declares {info.width}x{info.height} pixels, over the limit of"
            f" {max_pixels:,} (a decompression bomb?)"
        )
    return info


def _png(data: bytes, view: memoryview) -> ImageInfo:
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise NotAnImage("the PNG has no IHDR header")
    width, height = struct.unpack(">II", view[16:24])
    if _PNG_END not in data[-64:]:
        raise NotAnImage("the PNG is truncated (no IEND chunk at its end)")
    return ImageInfo("png", width, height)


def _jpeg(data: bytes, view: memoryview) -> ImageInfo:
    if b"\xff\xd9" not in data[-64:]:
        raise NotAnImage("the JPEG is truncated (no end-of-image marker)")
    pos = 2
    size = len(data)
    while pos + 9 < size:
        if data[pos] != 0xFF:
            raise NotAnImage("the JPEG header is corrupt")
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        length = struct.unpack(">H", view[pos + 2 : pos + 4])[0]
        # SOF0..SOF15 carry the dimensions, except DHT (C4), JPG (C8) and DAC (CC).
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", view[pos + 5 : pos + 9])
            return ImageInfo("jpeg", width, height)
        pos += 2 + length
    raise NotAnImage("the JPEG has no frame header")


def _webp(data: bytes) -> ImageInfo:
    declared = struct.unpack("<I", data[4:8])[0] + 8
    if len(data) < declared or len(data) < 30:
        raise NotAnImage("the WebP is truncated")
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
    elif chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        width = (bits & 0x3FFF) + 1
        height = ((bits >> 14) & 0x3FFF) + 1
    elif chunk == b"VP8 ":
        width = struct.unpack("<H", data[26:28])[0] & 0x3FFF
        height = struct.unpack("<H", data[28:30])[0] & 0x3FFF
    else:
        raise NotAnImage("the WebP has an unknown first chunk")
    return ImageInfo("webp", width, height)


def _gif(data: bytes) -> ImageInfo:
    if len(data) < 13 or b";" not in data[-8:]:
        raise NotAnImage("the GIF is truncated")
    width, height = struct.unpack("<HH", data[6:10])
    return ImageInfo("gif", width, height)
