"""The panel's layout in JupyterLab (issue 23): controls beside the results at 1400 px, one
column at 700 px; edit mode keeps "Apply edit" in the first screenful; the history's cards
say what each run was. Screenshots, light and dark at 700 and 1400 px, of generate mode, edit
mode and the history go to test-artifacts/browser/ (look at them).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from comet_widgets.testing import FakeAPI

from .conftest import HERE

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]  # see conftest: servers start

NOTEBOOK = HERE / "panel_edit.ipynb"
HEIGHT = 1000
#: The panel's width from which its columns are side by side (a container query).
WIDE = 900


def _box(locator: Any) -> dict[str, float]:
    box = locator.bounding_box()
    assert box is not None, f"{locator} has no box (hidden?)"
    return dict(box)


def _side_by_side(left: Any, right: Any) -> bool:
    a, b = _box(left), _box(right)
    return a["x"] + a["width"] <= b["x"] + 1 and a["y"] < b["y"] + b["height"]


def _stacked(top: Any, below: Any) -> bool:
    a, b = _box(top), _box(below)
    return a["y"] + a["height"] <= b["y"] + 1 and abs(a["x"] - b["x"]) < 2


def _at(notebook: Any, panel: Any, width: int) -> None:
    """Resize the window to ``width`` and wait until the panel's columns follow it."""
    page = notebook.page
    page.set_viewport_size({"width": width, "height": HEIGHT})
    # JupyterLab lays its panels out again a few frames after the window's resize: measure
    # the panel once its width has held still for 150 ms (measured at once, it could still
    # be the old width, and the wait below would expect the old number of columns).
    wide = panel.root.evaluate(
        """async (r, wide) => {
            let last = -1;
            for (let i = 0; i < 100; i++) {
                const now = r.getBoundingClientRect().width;
                if (now === last) break;
                last = now;
                await new Promise((done) => setTimeout(done, 150));
            }
            return last >= wide;
        }""",
        WIDE,
    )
    page.wait_for_function(
        "([b, n]) => getComputedStyle(b).gridTemplateColumns.split(' ').length === n",
        arg=[panel.root.locator(".cw-body").element_handle(), 2 if wide else 1],
        timeout=5_000,
    )


def _shots(notebook: Any, panel: Any, whole_screenshot: Any, what: str) -> None:
    for theme in ("light", "dark"):
        notebook.set_theme(theme)
        for width in (700, 1400):
            _at(notebook, panel, width)
            notebook.page.wait_for_timeout(200)
            whole_screenshot(panel.root, f"layout-{what}-{theme}-{width}.png")
    notebook.set_theme("light")


def test_columns_edit_mode_and_history_cards(
    lab_panel: Any, fake: FakeAPI, whole_screenshot: Any
) -> None:
    notebook, panel = lab_panel(NOTEBOOK, theme="light")
    controls = panel.root.locator(".cw-controls-column")
    results = panel.root.locator(".cw-results-column")

    # Generate mode: side by side at 1400 px, stacked at 700 px.
    _at(notebook, panel, 1400)
    assert _box(panel.root)["width"] >= WIDE  # JupyterLab's file browser is open
    assert _side_by_side(controls, results)
    panel.root.locator(".cw-n input").fill("2")
    panel.root.locator(".cw-n input").press("Tab")
    panel.generate()
    expect(panel.status).to_have_text("Done: 2 images", timeout=30_000)
    panel.wait_decoded(2)
    assert _side_by_side(controls, panel.gallery)
    assert _side_by_side(panel.prompt, panel.thumbs.first)
    _at(notebook, panel, 700)
    assert _box(panel.root)["width"] < WIDE
    assert _stacked(controls, results)
    assert _stacked(panel.generate_button, panel.gallery)
    _shots(notebook, panel, whole_screenshot, "generate")

    # Edit mode: the prompt and Apply edit stay in the first screenful at both widths.
    _at(notebook, panel, 1400)
    panel.root.locator(".cw-tile:visible button.cw-edit").first.click()
    expect(panel.generate_button).to_have_text("Apply edit")
    expect(panel.root.locator(".cw-edit-area")).to_be_visible()
    expect(panel.root.locator(".cw-mask-painter .cw-painter-canvas")).to_be_visible(timeout=30_000)
    for width in (1400, 700):
        _at(notebook, panel, width)
        notebook.page.evaluate(
            "el => el.scrollIntoView({block: 'start'})", panel.root.element_handle()
        )
        top = _box(panel.root)["y"]
        button = _box(panel.generate_button)
        assert button["y"] + button["height"] - top <= HEIGHT * 0.75, (width, button, top)
    _at(notebook, panel, 1400)
    assert _side_by_side(panel.prompt, panel.root.locator(".cw-mask-painter"))
    _shots(notebook, panel, whole_screenshot, "edit")
    _at(notebook, panel, 1400)
    panel.prompt.fill("make it winter")
    expect(panel.generate_button).to_be_enabled()
    panel.generate_button.click()
    expect(panel.status).to_have_text(re.compile(r"^Done"), timeout=30_000)
    panel.wait_decoded(1)

    # History: newest first; each card says the prompt's first words, the model, the count.
    cards = panel.root.locator(".cw-history .cw-history-item")
    expect(cards).to_have_count(2)
    expect(cards.nth(0)).to_contain_text("make it winter")
    expect(cards.nth(0)).to_contain_text("gpt-image-2")
    expect(cards.nth(0)).to_contain_text("1 image")
    expect(cards.nth(1)).to_contain_text("A paper boat on a calm")
    expect(cards.nth(1)).to_contain_text("2 images")
    assert not re.search(r"#\d", cards.nth(1).inner_text())
    _shots(notebook, panel, whole_screenshot, "history")
