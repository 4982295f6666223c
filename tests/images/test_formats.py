"""Format sniffing from bytes: the real format and declared size, truncation and bombs refused."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from comet_widgets.images._formats import EXTENSIONS, MIME_TYPES, ImageInfo, NotAnImage, sniff


def encode(fmt: str, width: int = 40, height: int = 30, mode: str = "RGB", **options: Any) -> bytes:
    buffer = io.BytesIO()
    color: Any = (200, 30, 60, 128) if mode == "RGBA" else (200, 30, 60)
    if mode in ("L", "P"):
        color = 90
    Image.new(mode, (width, height), color).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A tiny valid PNG that *declares* a huge size: the shape of a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("fmt", "options", "expected"),
    [
        ("PNG", {}, "png"),
        ("PNG", {"mode": "RGBA"}, "png"),
        ("PNG", {"mode": "P"}, "png"),
        ("JPEG", {}, "jpeg"),
        ("JPEG", {"progressive": True}, "jpeg"),
        ("JPEG", {"mode": "L"}, "jpeg"),
        ("JPEG", {"mode": "CMYK"}, "jpeg"),
        ("JPEG", {"exif": b"Exif\x00\x00" + b"\x00" * 64}, "jpeg"),
        ("WEBP", {}, "webp"),  # lossy: VP8
        ("WEBP", {"lossless": True}, "webp"),  # VP8L
        ("WEBP", {"mode": "RGBA"}, "webp"),  # VP8X (alpha)
        ("WEBP", {"exif": b"Exif\x00\x00" + b"\x00" * 16}, "webp"),  # VP8X (metadata)
        ("GIF", {"mode": "P"}, "gif"),
    ],
)
def test_sniff_reads_format_and_size(fmt: str, options: dict[str, Any], expected: str) -> None:
    data = encode(fmt, 123, 45, **options)
    info = sniff(data)
    assert info == ImageInfo(expected, 123, 45)  # type: ignore[arg-type]


def test_an_animated_gif_is_sniffed() -> None:
    frames = [Image.new("P", (20, 10), color) for color in (1, 2, 3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    assert sniff(buffer.getvalue()) == ImageInfo("gif", 20, 10)


@settings(max_examples=40, deadline=None)
@given(
    fmt=st.sampled_from(["PNG", "JPEG", "WEBP", "GIF"]),
    width=st.integers(min_value=1, max_value=700),
    height=st.integers(min_value=1, max_value=700),
)
def test_sniff_agrees_with_pillow(fmt: str, width: int, height: int) -> None:
    data = encode(fmt, width, height, mode="P" if fmt == "GIF" else "RGB")
    info = sniff(data)
    with Image.open(io.BytesIO(data)) as opened:
        assert (info.width, info.height) == opened.size
        assert info.format == (opened.format or "").lower()


def test_the_extension_table_covers_every_format() -> None:
    assert set(EXTENSIONS) == set(MIME_TYPES) == {"png", "jpeg", "webp", "gif", "svg"}
    assert EXTENSIONS["jpeg"] == ".jpg"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello world",
        b"<html><body>502 Bad Gateway</body></html>",
        b'{"error": "nope"}',
        b"\x00" * 64,
        b"BM" + b"\x00" * 60,  # BMP: not a format the API sends
        b"RIFF\x10\x00\x00\x00WAVEfmt ",  # RIFF, but audio
    ],
)
def test_non_images_are_refused(data: bytes) -> None:
    with pytest.raises(NotAnImage, match="not a PNG, JPEG, WebP, GIF or SVG"):
        sniff(data)


def test_not_an_image_is_a_value_error() -> None:
    assert issubclass(NotAnImage, ValueError)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF"])
@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9])
def test_truncated_images_are_refused(fmt: str, keep: float) -> None:
    # noise does not compress, so the cut lands in the image data, not in the trailer
    noise = Image.frombytes("RGB", (64, 64), bytes(range(256)) * 48)
    buffer = io.BytesIO()
    noise.convert("P" if fmt == "GIF" else "RGB").save(buffer, format=fmt)
    data = buffer.getvalue()
    sniff(data)  # the whole file is fine
    with pytest.raises(NotAnImage, match=r"truncated|no IHDR|no frame header"):
        sniff(data[: int(len(data) * keep)])


@pytest.mark.parametrize("cut", [8, 20, 32])
def test_a_png_cut_inside_its_header_is_refused(cut: int) -> None:
    with pytest.raises(NotAnImage):
        sniff(encode("PNG")[:cut])


def test_a_webp_with_an_unknown_first_chunk_is_refused() -> None:
    body = b"WEBP" + b"ABCD" + struct.pack("<I", 20) + b"\x00" * 20
    data = b"RIFF" + struct.pack("<I", len(body)) + body
    with pytest.raises(NotAnImage, match="unknown first chunk"):
        sniff(data)


def test_a_declared_bomb_is_refused_before_decoding() -> None:
    bomb = png_header_only(100_000, 100_000)
    assert len(bomb) < 100
    assert sniff(bomb) == ImageInfo("png", 100_000, 100_000)  # no limit: just read
    with pytest.raises(NotAnImage, match="decompression bomb"):
        sniff(bomb, max_pixels=64_000_000)


def test_max_pixels_is_inclusive() -> None:
    data = encode("PNG", 100, 50)
    assert sniff(data, max_pixels=5000).width == 100
    with pytest.raises(NotAnImage, match="100x50"):
        sniff(data, max_pixels=4999)


def test_an_empty_image_is_refused() -> None:
    with pytest.raises(NotAnImage, match="PNG header is corrupt"):  # Pillow refuses it
        sniff(png_header_only(0, 10))
    screen = b"GIF89a" + struct.pack("<HHBBB", 0, 10, 0, 0, 0)
    with pytest.raises(NotAnImage, match="empty image"):
        sniff(screen + gif_frame(0, 0, 0, 10) + b";")


def test_sniff_accepts_bytearray() -> None:
    assert sniff(bytearray(encode("PNG", 3, 4))) == ImageInfo("png", 3, 4)


# -- crafted to get past the checks ---------------------------------------------------------


def animated_gif(size: tuple[int, int] = (300, 300), frames: int = 3) -> bytes:
    images = [Image.new("P", size, i * 40) for i in range(frames)]
    buffer = io.BytesIO()
    images[0].save(
        buffer,
        "GIF",
        save_all=True,
        append_images=images[1:],
        duration=50,
        comment=b"; semicolons ;;;;;;;; are the trailer's byte",  # cuts that end with ';'
    )
    return buffer.getvalue()


def test_a_gif_frame_larger_than_its_logical_screen_counts() -> None:
    data = bytearray(animated_gif((300, 300), frames=1))
    data[6:10] = struct.pack("<HH", 1, 1)  # the logical screen says 1x1
    crafted = bytes(data)
    with Image.open(io.BytesIO(crafted)) as image:
        image.load()
        assert image.size == (300, 300), "the attack is real: Pillow decodes the frame's size"
    info = sniff(crafted)
    assert (info.width, info.height) == (300, 300)
    with pytest.raises(NotAnImage, match="over the limit"):
        sniff(crafted, max_pixels=10_000)


def gif_frame(left: int, top: int, width: int, height: int) -> bytes:
    """An image descriptor and a minimal LZW body (what sniff walks, not a full picture)."""
    return b"\x2c" + struct.pack("<HHHHB", left, top, width, height, 0) + b"\x02\x02\x44\x01\x00"


def test_every_gif_frame_is_checked() -> None:
    screen = b"GIF89a" + struct.pack("<HHBBB", 20, 20, 0x80, 0, 0) + bytes(6)  # 2-colour table
    small = screen + gif_frame(0, 0, 1, 1) + gif_frame(5, 5, 1, 1) + b";"
    assert (sniff(small).width, sniff(small).height) == (20, 20)
    # A later frame far right and down: the canvas the decoder allocates grows to hold it.
    far = screen + gif_frame(0, 0, 1, 1) + gif_frame(2000, 2000, 1, 1) + b";"
    assert (sniff(far).width, sniff(far).height) == (2001, 2001)
    with pytest.raises(NotAnImage, match="over the limit"):
        sniff(far, max_pixels=1_000_000)


def test_a_decoy_jpeg_frame_header_does_not_hide_the_real_one() -> None:
    real = encode("JPEG", 300, 300)
    decoy = b"\xff\xc0\x00\x11\x08" + struct.pack(">HH", 16, 16) + b"\x03" + b"\x01\x22\x00" * 3
    crafted = real[:2] + decoy + real[2:]
    with Image.open(io.BytesIO(crafted)) as image:
        assert image.size == (300, 300), "the attack is real: the decoder uses the last SOF"
    assert (sniff(crafted).width, sniff(crafted).height) == (300, 300)
    with pytest.raises(NotAnImage, match="over the limit"):
        sniff(crafted, max_pixels=10_000)
    # ... and a decoy inside an APP segment is skipped with the segment, as the decoder does.
    app = b"\xff\xe1" + struct.pack(">H", 2 + len(decoy)) + decoy
    inside = real[:2] + app + real[2:]
    assert (sniff(inside).width, sniff(inside).height) == (300, 300)
    with pytest.raises(NotAnImage):
        sniff(inside, max_pixels=10_000)


def test_a_gif_cut_anywhere_is_refused() -> None:
    data = animated_gif((24, 16), frames=3)
    assert sniff(data).format == "gif"
    for cut in range(1, len(data)):
        with pytest.raises(NotAnImage):
            sniff(data[:cut])
