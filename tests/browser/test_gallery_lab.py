"""The gallery in JupyterLab, as a person uses it with a keyboard and a mouse: select tiles
(a click, then Shift+click for the range), download them as one ZIP, open the lightbox, page it
with the arrow keys, Tab stays inside it, Escape closes it and focus goes back to the tile; the
lightbox keeps its size (Save does not widen it), its image fits, and Download gives the
original file.

Screenshots of the open lightbox, light and dark, 700 and 1400 px wide, go to
test-artifacts/browser/gallery-lightbox-*.png, and of the panel with three tiles selected to
gallery-selected-*.png (look at them).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import nbformat
import pytest
from PIL import Image
from playwright.sync_api import expect

from comet_widgets.testing import FakeAPI

from .conftest import HERE, PANEL_CELL

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]  # see conftest: servers start

SELECTED_CELL = 3
SETUP_CELL = 4
PROMPT = "Four paper boats on a pond at dawn"

#: Whether focus is inside the open lightbox of the page's panel.
_FOCUS_INSIDE_JS = (
    "() => !!document.activeElement && !!document.activeElement.closest('.cw-lightbox')"
)


def _notebook(tmp_path: Path) -> Path:
    """panel.ipynb with a cell that prints what the kernel has selected."""
    notebook = nbformat.read(HERE / "panel.ipynb", as_version=4)
    notebook.cells += [
        nbformat.v4.new_code_cell("print('selected:', [image.index for image in gen.selected])"),
        nbformat.v4.new_code_cell(f"gen.n = 4\ngen.prompt = {PROMPT!r}"),
    ]
    path = tmp_path / "gallery.ipynb"
    nbformat.write(notebook, path)
    return path


def _open_with_images(lab_panel: Any, tmp_path: Path, theme: str) -> Any:
    notebook, panel = lab_panel(_notebook(tmp_path), theme=theme)
    notebook.run_cell(SETUP_CELL)  # four images of PROMPT, the panel's model and size
    expect(panel.prompt).to_have_value(PROMPT)
    panel.generate()
    expect(panel.history_items).to_have_count(1, timeout=30_000)
    expect(panel.status).to_have_text(re.compile(r"^Done"))
    panel.wait_decoded(4)
    return notebook, panel


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_lightbox_keys_focus_and_size_and_selecting_a_range(
    lab_panel: Any,
    fake: FakeAPI,
    tmp_path: Path,
    whole_screenshot: Any,
    theme: str,
) -> None:
    from .conftest import ARTIFACTS, record_artifact

    notebook, panel = _open_with_images(lab_panel, tmp_path, theme)
    page = notebook.page
    tiles = panel.root.locator(".cw-gallery > .cw-tile")

    # Select: a click on the first tile's box, a Shift+click on the third's: three selected.
    tiles.nth(0).locator(".cw-select input").click()
    expect(tiles.nth(0)).to_have_class(re.compile(r"\bcw-tile-selected\b"))
    tiles.nth(2).locator(".cw-select input").click(modifiers=["Shift"])
    count = panel.root.locator(".cw-selection-count")
    expect(count).to_have_text("3 of 4 selected")
    expect(panel.root.locator(".cw-tile-selected")).to_have_count(3)
    expect(tiles.nth(3).locator(".cw-select input")).not_to_be_checked()
    notebook.run_cell(SELECTED_CELL)
    expect(notebook.output(SELECTED_CELL)).to_contain_text("selected: [0, 1, 2]")
    whole_screenshot(panel.root, f"gallery-selected-{theme}.png")

    # The lightbox, from the second tile: focus moves into it, the counter and the caption.
    view = tiles.nth(1).locator("button.cw-full-size")
    view.click()
    lightbox = panel.root.locator(".cw-lightbox")
    expect(lightbox).to_be_visible()
    counter = lightbox.locator(".cw-lightbox-count")
    expect(counter).to_have_text("Image 2 of 4")
    expect(lightbox.locator(".cw-lightbox-caption")).to_contain_text(PROMPT)
    expect(lightbox.locator("button.cw-lightbox-close")).to_be_focused()

    # Arrow keys page it; Tab and Shift+Tab never leave it.
    page.keyboard.press("ArrowRight")
    expect(counter).to_have_text("Image 3 of 4")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(counter).to_have_text("Image 1 of 4")  # it wraps around
    page.keyboard.press("ArrowLeft")
    expect(counter).to_have_text("Image 4 of 4")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    expect(counter).to_have_text("Image 2 of 4")
    buttons = lightbox.locator("button:visible:enabled").count()
    assert buttons >= 5
    for _ in range(buttons + 2):
        page.keyboard.press("Tab")
        assert page.evaluate(_FOCUS_INSIDE_JS), "Tab left the open lightbox"
    for _ in range(buttons + 2):
        page.keyboard.press("Shift+Tab")
        assert page.evaluate(_FOCUS_INSIDE_JS), "Shift+Tab left the open lightbox"

    # Its size: the image fits the frame, no strips beside it, and Save does not widen it.
    page.wait_for_timeout(300)  # the image is laid out
    card = lightbox.locator(".cw-lightbox-card")
    before = card.bounding_box()
    lightbox.locator("button.cw-lightbox-save").click()
    expect(lightbox.locator(".cw-lightbox-saved a")).to_be_visible()
    assert card.bounding_box() == before, "Save changed the lightbox's size"
    image = lightbox.locator("img.cw-lightbox-image")
    fit = image.evaluate(
        """img => { const f = img.parentElement.getBoundingClientRect();
          const b = img.getBoundingClientRect();
          return {inside: b.left >= f.left - 1 && b.right <= f.right + 1
                    && b.top >= f.top - 1 && b.bottom <= f.bottom + 1,
                  shape: Math.abs(b.width / b.height - img.naturalWidth / img.naturalHeight),
                  frame: getComputedStyle(img.parentElement).backgroundImage,
                  seen: b.bottom <= window.innerHeight && b.right <= window.innerWidth}; }"""
    )
    assert fit["inside"], fit
    assert fit["shape"] < 0.02, f"the image box is not the image's shape (strips): {fit}"
    assert fit["frame"] == "none", f"the frame draws a background beside the image: {fit}"
    assert fit["seen"], fit

    for width in (700, 1400):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(400)  # JupyterLab lays out again
        expect(lightbox.locator("button.cw-lightbox-close")).to_be_in_viewport()
        expect(image).to_be_in_viewport(ratio=1)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / f"gallery-lightbox-{theme}-{width}.png"
        page.screenshot(path=str(shot))
        record_artifact(shot)
    page.set_viewport_size({"width": 1280, "height": 1000})

    # Escape closes it and focus goes back to the View button it was opened from.
    lightbox.locator("button.cw-lightbox-next").focus()
    page.keyboard.press("Escape")
    expect(lightbox).to_be_hidden()
    expect(view).to_be_focused()
    expect(count).to_have_text("3 of 4 selected")  # the notebook did not take the keys
    assert notebook.cell(PANEL_CELL).evaluate("c => !c.classList.contains('jp-mod-editMode')")


def test_downloads_a_zip_of_the_selected_and_the_original_of_one(
    lab_panel: Any, fake: FakeAPI, tmp_path: Path
) -> None:
    notebook, panel = _open_with_images(lab_panel, tmp_path, "light")
    page = notebook.page
    tiles = panel.root.locator(".cw-gallery > .cw-tile")
    tiles.nth(1).locator(".cw-select input").click()
    tiles.nth(3).locator(".cw-select input").click()
    expect(panel.root.locator(".cw-selection-count")).to_have_text("2 of 4 selected")
    with page.expect_download() as started:
        panel.root.locator("button.cw-download-selected").click()
    download = started.value
    assert re.fullmatch(r"comet-images-\d{8}-\d{6}-2\.zip", download.suggested_filename)
    with zipfile.ZipFile(download.path()) as archive:
        names = archive.namelist()
        lines = archive.read("metadata.jsonl").decode().splitlines()
        sizes = [Image.open(io.BytesIO(archive.read(n))).size for n in names[:-1]]
    assert names[-1] == "metadata.jsonl"
    records = [json.loads(line) for line in lines]
    assert [r["file_name"] for r in records] == names[:-1]
    assert [r["index"] for r in records] == [1, 3]
    assert all(r["prompt"] == PROMPT and r["model"] for r in records)
    assert sizes == [(r["width"], r["height"]) for r in records]

    tiles.nth(0).locator("button.cw-full-size").click()
    lightbox = panel.root.locator(".cw-lightbox")
    expect(lightbox.locator(".cw-lightbox-count")).to_have_text("Image 1 of 4")
    with page.expect_download() as started:
        lightbox.locator("button.cw-lightbox-download").click()
    original = Path(started.value.path()).read_bytes()
    assert started.value.suggested_filename.endswith("-0.png")
    shown = lightbox.locator("img.cw-lightbox-image").evaluate(
        "img => [img.naturalWidth, img.naturalHeight]"
    )
    assert Image.open(io.BytesIO(original)).size == tuple(shown)
    assert min(shown) >= 256, "the lightbox shows the full-size image, not a thumbnail"
