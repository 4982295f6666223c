"""Edit mode of the panel in JupyterLab: generate, Edit on the tile, paint a stroke with the
mouse on the panel's painter, Apply edit.

The kernel's ``gen.mask`` covers the stroke and nothing else, the edit (against the fake, which
replaces the masked area by its pattern) changes exactly the painted pixels, and the edited
image lands in the gallery and the history. Screenshots in the light and dark themes go to
test-artifacts/browser/.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from comet_widgets.testing import FakeAPI

from .conftest import HERE

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]  # see conftest: servers start

NOTEBOOK = HERE / "panel_edit.ipynb"
CHECK_CELL = 2


def test_paint_on_the_panel_and_apply_the_edit(
    lab_panel: Any, fake: FakeAPI, screenshot: Any
) -> None:
    notebook, panel = lab_panel(NOTEBOOK, viewport=(1280, 2200))  # the whole panel in view
    edit_area = panel.root.locator(".cw-edit-area")
    expect(edit_area).to_be_hidden()
    expect(panel.root.locator(".cw-upload")).to_be_visible()

    panel.generate()
    expect(panel.status).to_have_text(re.compile(r"^Done"))
    panel.wait_decoded(1)

    panel.root.locator(".cw-tile:visible button.cw-edit").first.click()
    expect(edit_area).to_be_visible()
    expect(panel.generate_button).to_have_text("Apply edit")
    expect(panel.root.locator(".cw-inputs .cw-input")).to_have_count(1)
    expect(panel.root.locator(".cw-input-label")).to_contain_text("image 1 from")
    canvas = panel.root.locator(".cw-mask-painter .cw-painter-canvas")
    expect(canvas).to_be_visible(timeout=30_000)
    # The painter reported that it rendered: the "set gen.mask from code" notice is gone.
    expect(panel.root.locator(".cw-painter-notice")).to_be_hidden(timeout=10_000)
    notebook.page.wait_for_function(
        "c => c.width === 512 && c.getBoundingClientRect().width > 100",
        arg=canvas.element_handle(),
        timeout=10_000,
    )
    box = canvas.bounding_box()
    assert box is not None
    # A vertical stroke at a quarter of the width, from 20% to 80% of the height.
    x = box["x"] + box["width"] / 4
    mouse = notebook.page.mouse
    mouse.move(x, box["y"] + box["height"] * 0.2)
    mouse.down()
    for step in range(1, 31):
        mouse.move(x, box["y"] + box["height"] * (0.2 + 0.6 * step / 30))
    mouse.up()
    # The kernel has the mask once its note says so (it is computed from the PNG it received).
    expect(panel.root.locator(".cw-mask-note")).to_contain_text("Mask painted", timeout=10_000)

    panel.prompt.fill("make it winter")
    expect(panel.prompt).to_have_value("make it winter")
    expect(panel.generate_button).to_be_enabled()
    screenshot(panel.root, "panel-edit-light.png")
    panel.generate_button.click()
    expect(panel.status).to_have_text(re.compile(r"^Done"), timeout=30_000)
    panel.wait_decoded(1)
    expect(panel.captions.first).to_contain_text("make it winter")
    history = panel.root.locator(".cw-history .cw-history-item")
    expect(history).to_have_count(2)
    expect(history.first.locator(".cw-history-note")).to_contain_text("Edit of image 1")
    assert fake.edit_count == 1
    screenshot(panel.root, "panel-edit-done-light.png")

    notebook.run_cell(CHECK_CELL)
    output = notebook.output(CHECK_CELL)
    expect(output).to_contain_text("mode edit", timeout=30_000)
    said = output.inner_text()
    assert "mask 1024 1024" in said, said
    stroke = re.search(r"stroke ([0-9.]+)", said)
    assert stroke, said
    assert float(stroke.group(1)) > 0.9  # the stroke's column is painted...
    assert "elsewhere False False" in said, said  # ...and neither the right half nor the top
    edit = re.search(r"edit True inside ([0-9.]+) outside (\w+)", said)
    assert edit, said
    assert float(edit.group(1)) > 0.9
    assert edit.group(2) == "False"
    assert "shown True" in said, said

    notebook.set_theme("dark")
    screenshot(panel.root, "panel-edit-done-dark.png")
    notebook.set_theme("light")
