"""Provenance: metadata written into PNG text chunks or JSON sidecars, and read back."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, PngImagePlugin

from comet_widgets import InvalidParameterError, read_metadata
from comet_widgets.images._formats import sniff
from comet_widgets.images._metadata import METADATA_KEY, add_png_text, sidecar_path, write_file

RECORD: dict[str, Any] = {
    "prompt": "Ein Papierboot 🛶 auf ruhigem Wasser — 日の出",
    "revised_prompt": "A small paper boat drifting on a still lake at dawn.",
    "model": "dall-e-3",
    "size": "1024x1024",
    "software": "comet-widgets 0.1.0",
    "parameters": {"n": 1, "quality": "hd"},
    "usage": None,
}


def png(mode: str = "RGB", size: tuple[int, int] = (32, 16)) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (10, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_png_text_chunks_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "boat.png"
    path.write_bytes(add_png_text(png(), RECORD))
    assert read_metadata(path) == RECORD


def test_the_pixels_are_not_touched(tmp_path: Path) -> None:
    original = png("RGBA", (20, 10))
    tagged = add_png_text(original, RECORD)
    assert tagged.startswith(original[: original.rfind(b"IEND") - 4])
    assert tagged.endswith(original[original.rfind(b"IEND") - 4 :])
    with Image.open(io.BytesIO(original)) as a, Image.open(io.BytesIO(tagged)) as b:
        assert a.tobytes() == b.tobytes()
    assert sniff(tagged).format == "png"


def test_image_viewers_see_title_description_and_software() -> None:
    with Image.open(io.BytesIO(add_png_text(png(), RECORD))) as image:
        image.load()
        assert isinstance(image, PngImagePlugin.PngImageFile)
        text = image.text
    assert text["Title"] == RECORD["prompt"]
    assert text["Description"] == RECORD["revised_prompt"]
    assert text["Software"] == "comet-widgets 0.1.0"
    assert json.loads(text[METADATA_KEY]) == RECORD


def test_readable_entries_are_left_out_when_empty() -> None:
    with Image.open(io.BytesIO(add_png_text(png(), {"prompt": "boat"}))) as image:
        image.load()
        text = image.text  # type: ignore[attr-defined]
    assert text["Title"] == "boat"
    assert "Description" not in text
    assert "Software" not in text


def test_add_png_text_refuses_other_bytes() -> None:
    jpeg = io.BytesIO()
    Image.new("RGB", (4, 4)).save(jpeg, format="JPEG")
    for data in (jpeg.getvalue(), b"", b"\x89PNG\r\n\x1a\n"):
        with pytest.raises(ValueError, match="not a complete PNG"):
            add_png_text(data, RECORD)


@pytest.mark.parametrize("compressed", [False, True])
def test_records_written_by_other_tools_are_read(tmp_path: Path, compressed: bool) -> None:
    """An iTXt (compressed or not) or tEXt chunk written by Pillow under our key is read."""
    info = PngImagePlugin.PngInfo()
    info.add_itxt(METADATA_KEY, json.dumps({"prompt": "from pillow"}), zip=compressed)
    path = tmp_path / "pillow.png"
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    assert read_metadata(path) == {"prompt": "from pillow"}


def test_a_ztxt_record_is_read(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text(METADATA_KEY, json.dumps({"prompt": "ztxt"}), zip=True)
    path = tmp_path / "z.png"
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    assert read_metadata(path) == {"prompt": "ztxt"}


def test_other_text_chunks_are_skipped(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "unrelated")
    path = tmp_path / "other.png"
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    path.write_bytes(add_png_text(path.read_bytes(), {"prompt": "ours"}))
    assert read_metadata(path) == {"prompt": "ours"}


def test_sidecar_path() -> None:
    assert sidecar_path("out/boat.webp") == Path("out/boat.webp.json")
    assert sidecar_path(Path("/x/y.tar.gz")) == Path("/x/y.tar.gz.json")


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "PNG"])
def test_a_sidecar_is_read_when_the_file_holds_no_record(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"boat.{fmt.lower()}"
    Image.new("RGB", (8, 8)).save(path, format=fmt)
    sidecar_path(path).write_text(json.dumps(RECORD, ensure_ascii=False), encoding="utf-8")
    assert read_metadata(path) == RECORD


def test_the_png_record_wins_over_a_sidecar(tmp_path: Path) -> None:
    path = tmp_path / "boat.png"
    path.write_bytes(add_png_text(png(), {"prompt": "chunk"}))
    sidecar_path(path).write_text(json.dumps({"prompt": "sidecar"}))
    assert read_metadata(path) == {"prompt": "chunk"}


def test_no_metadata_is_refused_naming_the_sidecar(tmp_path: Path) -> None:
    path = tmp_path / "plain.png"
    path.write_bytes(png())
    with pytest.raises(InvalidParameterError, match=r"plain\.png\.json"):
        read_metadata(path)


def test_a_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_metadata(tmp_path / "nope.png")


def test_read_metadata_takes_a_string_path(tmp_path: Path) -> None:
    path = tmp_path / "boat.png"
    path.write_bytes(add_png_text(png(), {"prompt": "s"}))
    assert read_metadata(str(path)) == {"prompt": "s"}


# -- atomic writes -----------------------------------------------------------------------------


def test_write_file_creates_parents_and_replaces(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "file.bin"
    write_file(path, b"first")
    write_file(path, b"second", fsync=True)
    assert path.read_bytes() == b"second"
    assert sorted(p.name for p in path.parent.iterdir()) == ["file.bin"]  # no temp files left


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "file.bin"
    write_file(path, b"old")
    with pytest.raises(TypeError):
        write_file(path, "not bytes")  # type: ignore[arg-type]
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.bin"]


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        (b"iTXt", b""),  # cut right after the keyword
        (b"iTXt", b"\x00\x00"),  # no language / translated keyword
        (b"iTXt", b"\x01\x00\x00\x00not zlib"),  # flagged compressed, is not
        (b"zTXt", b"\x00not zlib"),
        (b"tEXt", b"{not json"),
        (b"tEXt", b'["a", "list"]'),  # JSON, but not a record
        (b"tEXt", b"\xff\xfe"),  # not UTF-8
    ],
)
def test_a_damaged_record_falls_back_to_the_sidecar(
    tmp_path: Path, kind: bytes, payload: bytes
) -> None:
    data = png()
    end = data.rfind(b"IEND") - 4
    body = METADATA_KEY.encode() + b"\x00" + payload
    chunk = struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    path = tmp_path / "damaged.png"
    path.write_bytes(data[:end] + chunk + data[end:])
    with pytest.raises(InvalidParameterError):
        read_metadata(path)
    sidecar_path(path).write_text(json.dumps({"prompt": "from the sidecar"}))
    assert read_metadata(path) == {"prompt": "from the sidecar"}
