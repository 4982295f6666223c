"""Selecting tiles, saving and downloading many, and the lightbox's Download of the original.

Through the panel's documented CSS classes and ``gen.selected``; a Shift+click is what the page
bridge (``cw-bridge``) sends the kernel for it, a ``{"range": position}`` message. Without a
front-end that drew the bridge, a download is a link (``cw-download-link``, a data URL).
"""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from widget_parts import parts, shown, text

from comet_widgets import ImageGenerator, read_metadata

MakePanel = Callable[..., ImageGenerator]


def _boxes(panel: ImageGenerator) -> list[Any]:
    return parts(panel, "cw-select", visible=True)


def _shift_click(panel: ImageGenerator, part: Any, position: int) -> None:
    """What the page bridge sends for a Shift+click on tile ``position``'s Select box."""
    bridge = part(panel, "cw-bridge")
    data = {"method": "custom", "content": {"range": position}}
    bridge._handle_msg({"content": {"data": data}, "buffers": []})


def _download(panel: ImageGenerator, css: str) -> tuple[str, bytes]:
    """The file a download link in the part ``css`` offers: (its name, its bytes)."""
    html = str(parts(panel, css)[0].value)
    found = re.search(r'download="([^"]+)" href="data:[^;]+;base64,([^"]+)"', html)
    assert found, html
    return found[1], base64.b64decode(found[2])


async def test_ticking_tiles_selects_them_and_shift_click_selects_a_range(
    make_panel: MakePanel, part: Any
) -> None:
    panel = make_panel(model="dall-e-2", prompt="A paper boat", n=4)
    assert not shown(part(panel, "cw-selection"), within=panel)  # no images yet
    await panel.generate()
    assert shown(part(panel, "cw-selection"), within=panel)
    assert text(panel, "cw-selection-count") == "None selected"
    assert part(panel, "cw-save-selected").disabled
    assert part(panel, "cw-download-selected").disabled
    boxes = _boxes(panel)
    assert len(boxes) == 4
    boxes[0].value = True
    boxes[2].value = True
    assert [image.index for image in panel.selected] == [0, 2]
    assert all(image.image.size == (1024, 1024) for image in panel.selected)
    assert text(panel, "cw-selection-count") == "2 of 4 selected"
    selected = [t for t in parts(panel, "cw-tile") if "cw-tile-selected" in t._dom_classes]
    assert len(selected) == 2
    assert not part(panel, "cw-save-selected").disabled

    boxes[2].value = False
    assert [image.index for image in panel.selected] == [0]
    _shift_click(panel, part, 3)  # from the last box clicked (image 3) to image 4
    assert [image.index for image in panel.selected] == [0, 2, 3]
    assert [box.value for box in boxes] == [True, False, True, True]
    boxes[3].value = False
    _shift_click(panel, part, 0)  # from image 4 back to image 1
    assert [image.index for image in panel.selected] == [0, 1, 2, 3]
    assert text(panel, "cw-selection-count") == "4 of 4 selected"
    assert part(panel, "cw-select-all").disabled

    part(panel, "cw-select-none").click()
    assert panel.selected == []
    assert [box.value for box in boxes] == [False] * 4
    part(panel, "cw-select-all").click()
    assert len(panel.selected) == 4
    with pytest.raises(AttributeError):
        panel.selected = []  # type: ignore[misc]

    await panel.generate()  # other images: nothing of them is selected
    assert panel.selected == []
    assert [box.value for box in _boxes(panel)] == [False] * 4


async def test_a_failed_image_cannot_be_selected(
    make_panel: MakePanel, app: Any, part: Any
) -> None:
    panel = make_panel(model="dall-e-2", prompt="Three boats", n=3, response_format="url")
    app.expire_urls([1])
    await panel.generate()
    assert len(_boxes(panel)) == 2  # the failed tile shows no Select box
    _shift_click(panel, part, 2)
    _shift_click(panel, part, 0)
    assert [image.index for image in panel.selected] == [0, 2]
    assert text(panel, "cw-selection-count") == "2 of 2 selected"


async def test_save_selected_writes_each_image_with_its_metadata(
    make_panel: MakePanel, part: Any, output_dir: Path
) -> None:
    panel = make_panel(model="dall-e-2", prompt="A paper boat", n=3)
    await panel.generate()
    boxes = _boxes(panel)
    boxes[0].value = boxes[2].value = True
    part(panel, "cw-save-selected").click()
    records = _saved_records(output_dir)
    assert sorted(r["index"] for r in records) == [0, 2]
    assert all(r["prompt"] == "A paper boat" for r in records)
    assert " ".join(text(panel, "cw-selection-saved").split()) == "Saved 2 images in comet-images"


def _saved_records(folder: Path) -> list[dict[str, Any]]:
    """The metadata of every image file in ``folder`` (PNG: read from the file itself)."""
    return [read_metadata(f) for f in sorted(folder.glob("*.png"))]


async def test_download_selected_is_one_zip_of_the_images_and_their_provenance(
    make_panel: MakePanel, part: Any
) -> None:
    panel = make_panel(model="gpt-image-1", prompt="A paper boat", n=3, output_format="webp")
    generation = await panel.generate()
    boxes = _boxes(panel)
    boxes[1].value = boxes[2].value = True
    part(panel, "cw-download-selected").click()
    name, data = _download(panel, "cw-selection-saved")
    assert re.fullmatch(r"comet-images-\d{8}-\d{6}-2\.zip", name)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        members = archive.namelist()
        lines = archive.read("metadata.jsonl").decode().splitlines()
        files = {m: archive.read(m) for m in members if m != "metadata.jsonl"}
    records = [json.loads(line) for line in lines]
    assert [r["file_name"] for r in records] == [m for m in members if m != "metadata.jsonl"]
    assert [r["index"] for r in records] == [1, 2]
    assert all(r["prompt"] == "A paper boat" and r["model"] == "gpt-image-1" for r in records)
    assert all(name.endswith(".webp") for name in files)
    originals = [generation.images[1].data, generation.images[2].data]
    assert list(files.values()) == originals  # the files as they came, not re-encoded


async def test_the_lightbox_downloads_the_original_and_keeps_no_link_after(
    make_panel: MakePanel, part: Any
) -> None:
    panel = make_panel(model="dall-e-2", prompt="A paper boat", n=2)
    generation = await panel.generate()
    parts(panel, "cw-full-size")[1].click()
    assert text(panel, "cw-lightbox-count") == "Image 2 of 2"
    assert "A paper boat" in text(panel, "cw-lightbox-caption")
    part(panel, "cw-lightbox-download").click()
    name, data = _download(panel, "cw-lightbox-saved")
    image = generation.images[1]
    assert data == image.data
    assert name == image.default_filename()
    with Image.open(io.BytesIO(data)) as opened:
        assert opened.size == (image.width, image.height)
    part(panel, "cw-lightbox-close").click()
    assert "data:" not in str(part(panel, "cw-lightbox-saved").value)


async def test_a_front_end_that_drew_the_bridge_gets_the_file_itself(
    make_panel: MakePanel, part: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    panel = make_panel(model="dall-e-2", prompt="A paper boat", n=2)
    generation = await panel.generate()
    bridge = part(panel, "cw-bridge")
    bridge.rendered = True  # what the front-end sets once it has drawn it
    sent: list[tuple[Any, Any]] = []
    monkeypatch.setattr(
        bridge, "send", lambda content, buffers=None: sent.append((content, buffers))
    )
    parts(panel, "cw-full-size")[0].click()
    assert bridge.origin == 0
    part(panel, "cw-lightbox-download").click()
    assert sent == [
        (
            {"download": generation.images[0].default_filename(), "mime": "image/png"},
            [generation.images[0].data],
        )
    ]
    assert "cw-download-link" not in str(part(panel, "cw-lightbox-saved").value)


@pytest.mark.slow
def test_without_anywidget_the_lightbox_and_downloads_work_with_buttons_and_links() -> None:
    """No ``painter`` extra: no bridge, and the panel still pages, selects and downloads (a
    link to click), in a fresh interpreter where anywidget cannot be imported."""
    code = f"""
import sys
sys.modules["anywidget"] = None
sys.path.insert(0, {str(Path(__file__).parent)!r})
import asyncio
from widget_parts import parts, part, text
from comet_widgets import ImageGenerator

panel = ImageGenerator(offline=True, model="dall-e-2", prompt="A kite", n=2)

async def main():
    await panel.generate()

asyncio.run(main())
assert parts(panel, "cw-bridge") == []
parts(panel, "cw-full-size")[1].click()
part(panel, "cw-lightbox-next").click()
print(text(panel, "cw-lightbox-count"))
part(panel, "cw-lightbox-download").click()
print("link" if "cw-download-link" in part(panel, "cw-lightbox-saved").value else "none")
part(panel, "cw-lightbox-close").click()
part(panel, "cw-select-all").click()
print([image.index for image in panel.selected])
panel.close()
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=90, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["Image 1 of 2", "link", "[0, 1]"]
