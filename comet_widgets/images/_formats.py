"""Image formats from bytes: which format, what size, and two promises kept before anything
is decoded.

The format is read from the file's signature, never from a URL's extension or the requested
``output_format`` (CometAPI re-hosts images as ``.webp`` whatever they are). PNG and JPEG sizes
come from Pillow's own plugins, header only (~20 microseconds more than by hand); the size
Pillow reports is the one its decoder allocates (a JPEG's last frame header, not a decoy in
front of it). What is read by hand serves one of the two promises:

- The pixel cap (``max_pixels``: a decompression bomb is refused before it is decoded):
  ``sniff``'s check of the size; ``_gif``'s walk over every frame, because the decoder grows
  the canvas to hold a frame outside the logical screen; ``_webp``'s header (Pillow's WebP
  plugin demuxes the whole file to open it: ~0.8 ms for a 700 KB image).
- Truncation (a file cut short is an error on arrival, not a silently partial picture): the
  end markers of PNG (``IEND``), JPEG (``EOI``) and SVG (``</svg>``), the RIFF length of a
  WebP, and the GIF walk to its trailer.

SVG (XML text, the ``svg`` output of today's GPT image models; Pillow has no SVG reader) is
recognised by its ``<svg`` root element and sized from its attributes. ``has_alpha`` reads
transparency from the header (edit inputs and masks, format mismatches).
"""

from __future__ import annotations

import io
import re
import struct
from dataclasses import dataclass
from typing import Literal

ImageFormat = Literal["png", "jpeg", "webp", "gif", "svg"]

__all__ = [
    "EXTENSIONS",
    "MIME_TYPES",
    "ImageFormat",
    "ImageInfo",
    "NotAnImage",
    "has_alpha",
    "sniff",
]

MIME_TYPES: dict[str, str] = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "svg": "image/svg+xml",
}
EXTENSIONS: dict[str, str] = {
    "png": ".png",
    "jpeg": ".jpg",
    "webp": ".webp",
    "gif": ".gif",
    "svg": ".svg",
}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"IEND\xaeB`\x82"


class NotAnImage(ValueError):
    """The bytes are not a complete PNG, JPEG, WebP, GIF or SVG image."""


@dataclass(frozen=True)
class ImageInfo:
    """What the header of an image says."""

    format: ImageFormat
    width: int
    height: int


def sniff(data: bytes, *, max_pixels: int | None = None) -> ImageInfo:
    """Return the format and declared size of ``data``.

    Raises ``NotAnImage`` for bytes that are not a supported image, for a file cut short, and
    for declared dimensions above ``max_pixels``.
    """
    if data[:8] == _PNG_SIGNATURE:
        if _PNG_END not in data[-64:]:
            raise NotAnImage("the PNG is truncated (no IEND chunk at its end)")
        info = _pillow("png", data)
    elif data[:3] == b"\xff\xd8\xff":
        if b"\xff\xd9" not in data[-64:]:
            raise NotAnImage("the JPEG is truncated (no end-of-image marker)")
        info = _pillow("jpeg", data)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        info = _webp(data)
    elif data[:6] in (b"GIF87a", b"GIF89a"):
        info = _gif(data)
    elif _SVG_START.match(data[:_SVG_HEAD]):
        return _svg(data)  # vector: no pixel count to bound
    else:
        head = bytes(data[:16])
        raise NotAnImage(
            f"the bytes are not a PNG, JPEG, WebP, GIF or SVG image (they start {head!r})"
        )
    if info.width <= 0 or info.height <= 0:
        raise NotAnImage(f"the {info.format} header declares an empty image")
    if max_pixels is not None and info.width * info.height > max_pixels:
        raise NotAnImage(
            f"the {info.format} declares {info.width}x{info.height} pixels, over the limit of"
            f" {max_pixels:,} (a decompression bomb?)"
        )
    return info


def _pillow(kind: Literal["png", "jpeg"], data: bytes) -> ImageInfo:
    """The size Pillow's plugin reads from the header (nothing is decoded). The plugin is built
    directly: ``Image.open``'s own bomb check, tied to Pillow's global limit, would warn or
    raise here; ``max_pixels`` is the limit."""
    from PIL import JpegImagePlugin, PngImagePlugin

    plugin = PngImagePlugin.PngImageFile if kind == "png" else JpegImagePlugin.JpegImageFile
    try:
        with plugin(io.BytesIO(data)) as image:
            width, height = image.size
    except Exception as exc:  # what Pillow says of a corrupt header: SyntaxError, OSError...
        raise NotAnImage(f"the {kind.upper()} header is corrupt ({exc})") from None
    return ImageInfo(kind, width, height)


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


def _skip_sub_blocks(data: bytes, pos: int) -> int:
    """The position after a chain of GIF data sub-blocks (ended by a zero-length block)."""
    size = len(data)
    while True:
        if pos >= size:
            raise NotAnImage("the GIF is truncated (inside a data block)")
        length = data[pos]
        pos += 1 + length
        if length == 0:
            return pos


# An SVG document: optional BOM, XML declaration, comments and doctype, then the <svg> element.
_SVG_HEAD = 4096
_SVG_START = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*)*<svg[\s>]",
    re.S | re.I,
)
_SVG_END = re.compile(rb"</svg\s*>\s*$", re.I)
_SVG_LENGTH = re.compile(rb"^\s*([0-9]+(?:\.[0-9]+)?)\s*(?:px)?\s*$")


def _svg_attribute(tag: bytes, name: bytes) -> bytes | None:
    match = re.search(rb"\s" + name + rb"\s*=\s*([\"'])(.*?)\1", tag, re.S)
    return match.group(2) if match else None


def _svg(data: bytes) -> ImageInfo:
    """SVG text: its declared width and height (or those of its viewBox; 0 when neither)."""
    if not _SVG_END.search(data[-256:]):
        raise NotAnImage("the SVG is truncated (no closing </svg>)")
    start = data.lower().find(b"<svg")
    tag = data[start : data.find(b">", start) + 1]
    sizes = []
    for name in (b"width", b"height"):
        value = _svg_attribute(tag, name)
        match = _SVG_LENGTH.match(value) if value is not None else None
        sizes.append(round(float(match.group(1))) if match else 0)
    if not all(sizes):
        box = (_svg_attribute(tag, b"viewBox") or b"").replace(b",", b" ").split()
        try:
            sizes = [round(float(box[2])), round(float(box[3]))]
        except (IndexError, ValueError):
            sizes = [0, 0]
    return ImageInfo("svg", sizes[0], sizes[1])


def _gif(data: bytes) -> ImageInfo:
    """Walk every block to the trailer: the canvas the decoder allocates grows to hold every
    frame (Pillow enlarges it for a frame outside the logical screen), so each frame counts;
    a file that ends before its trailer is truncated, wherever it was cut."""
    size = len(data)
    if size < 13:
        raise NotAnImage("the GIF is truncated")
    width, height, packed = struct.unpack("<HHB", data[6:11])
    pos = 13
    if packed & 0x80:
        pos += 3 << ((packed & 7) + 1)
    frames = 0
    while True:
        if pos >= size:
            raise NotAnImage("the GIF is truncated (no trailer)")
        block = data[pos]
        if block == 0x3B:  # trailer
            break
        if block == 0x21:  # extension: label, then sub-blocks
            pos = _skip_sub_blocks(data, pos + 2)
        elif block == 0x2C:  # image descriptor
            if pos + 10 > size:
                raise NotAnImage("the GIF is truncated (inside a frame header)")
            left, top, frame_w, frame_h, flags = struct.unpack("<HHHHB", data[pos + 1 : pos + 10])
            width, height = max(width, left + frame_w), max(height, top + frame_h)
            frames += 1
            pos += 10
            if flags & 0x80:
                pos += 3 << ((flags & 7) + 1)
            pos = _skip_sub_blocks(data, pos + 1)  # after the LZW minimum code size
        else:
            raise NotAnImage(f"the GIF is corrupt (unknown block 0x{block:02x})")
    if not frames:
        raise NotAnImage("the GIF has no frame")
    return ImageInfo("gif", width, height)


def has_alpha(data: bytes) -> bool | None:
    """Whether the image can be transparent, read from its header: a PNG with an alpha channel
    or ``tRNS``, a WebP with its alpha flag; False for JPEG; None when the header does not say
    (GIF, SVG, anything else)."""
    if data[:8] == _PNG_SIGNATURE:  # colour type 4 or 6, or a tRNS chunk before the first IDAT
        return len(data) >= 26 and (
            data[25] in (4, 6) or b"tRNS" in data[: max(data.find(b"IDAT"), 0)]
        )
    if data[:3] == b"\xff\xd8\xff":
        return False
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 25:
        chunk = data[12:16]
        if chunk == b"VP8X":
            return bool(data[20] & 0x10)
        if chunk == b"VP8L":
            return bool(data[24] & 0x10)  # the alpha_is_used bit, after 14+14 size bits
        return False  # plain lossy VP8 has no alpha
    return None
