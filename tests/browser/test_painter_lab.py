"""The mask painter in JupyterLab: paint a stroke with the mouse, then edit with that mask.

The kernel's ``painter.mask`` covers the stroke and nothing else, and the edit (against the fake,
which replaces the masked area by its pattern) changes exactly the painted pixels. A message
that is not a mask is refused: the painter says so and still shows the stroke.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from comet_widgets.testing import FakeAPI

from .conftest import ARTIFACTS, HERE, record_artifact

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]  # see conftest: servers start


def test_a_painted_stroke_is_the_mask_of_the_edit(lab_notebook: Any, fake: FakeAPI) -> None:
    notebook = lab_notebook(HERE / "painter.ipynb")
    notebook.run_cell(0)
    canvas = notebook.cell(0).locator(".cw-painter-canvas")
    expect(canvas).to_be_visible(timeout=30_000)
    notebook.page.wait_for_function(
        "c => c.width === 256", arg=canvas.element_handle(), timeout=10_000
    )
    box = canvas.bounding_box()
    assert box is not None
    mouse = notebook.page.mouse
    mouse.move(box["x"] + 60, box["y"] + 20)
    mouse.down()
    for y in range(20, 236, 12):
        mouse.move(box["x"] + 60, box["y"] + y)
    mouse.up()
    notebook.page.wait_for_timeout(500)  # the PNG reaches the kernel
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "painter-stroke.png"
    notebook.cell(0).screenshot(path=str(shot))
    record_artifact(shot)
    notebook.run_cell(1)
    output = notebook.output(1)
    expect(output).to_contain_text("outside", timeout=30_000)
    text = output.inner_text()
    assert "left True right False" in text, text
    match = re.search(r"edited True inside ([0-9.]+) outside (\w+)", text)
    assert match, text
    assert float(match.group(1)) > 0.9
    assert match.group(2) == "False"
    assert fake.edit_count == 1

    # A message that is not a mask: refused, said under the painter, the stroke still drawn.
    notebook.run_cell(2)
    expect(notebook.output(2)).to_contain_text("kept True", timeout=30_000)
    refused = notebook.cell(0).locator(".cw-painter-refused")
    expect(refused).to_be_visible(timeout=10_000)
    expect(refused).to_contain_text("the previous mask is kept")
    notebook.page.wait_for_timeout(500)  # the kept mask is drawn again
    painted = canvas.evaluate(
        "c => c.getContext('2d').getImageData(0, 0, c.width, c.height).data"
        ".filter((v, i) => i % 4 === 3 && v > 0).length"
    )
    assert painted > 1000
