"""The Library view in JupyterLab: two runs, the view beside Results, a search, Restore (the
prompt comes back into the prompt field) and Edit (the panel enters edit mode with the image),
in the light and the dark theme.

Screenshots go to test-artifacts/browser/ (look at them).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat
import pytest
from playwright.sync_api import expect

from .conftest import HERE, PANEL_CELL

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]  # see conftest: servers start


def _notebook(tmp_path: Path) -> Path:
    """panel.ipynb whose panel records into a library of this test's own."""
    notebook = nbformat.read(HERE / "panel.ipynb", as_version=4)
    source = notebook.cells[PANEL_CELL].source
    assert "ImageGenerator(offline=" in source
    library = tmp_path / "library"
    notebook.cells[PANEL_CELL].source = source.replace(
        "ImageGenerator(offline=", f"ImageGenerator(library={str(library)!r}, offline="
    )
    path = tmp_path / "library-panel.ipynb"
    nbformat.write(notebook, path)
    return path


def _generate(panel: Any, prompt: str) -> None:
    runs = panel.history_items.count()
    panel.type_prompt(prompt)
    panel.generate()
    expect(panel.history_items).to_have_count(runs + 1, timeout=20_000)
    expect(panel.status).to_have_text(re.compile(r"^Done"))
    panel.wait_decoded(1)


def _open_library(panel: Any) -> Any:
    """Click "Library" in the view switch; the view's box once it is shown."""
    panel.root.locator(".cw-view-switch button", has_text="Library").click()
    view = panel.root.locator(".cw-library")
    expect(view).to_be_visible()
    return view


def test_library_view_browse_search_restore_and_edit(
    lab_panel: Any, whole_screenshot: Any, tmp_path: Path
) -> None:
    notebook, panel = lab_panel(_notebook(tmp_path))
    switch = panel.root.locator(".cw-view-switch")
    expect(switch).to_be_visible()
    tooltip = switch.locator("button", has_text="Library").get_attribute("title") or ""
    assert str(tmp_path / "library") in tooltip, tooltip

    _generate(panel, "A lighthouse at dusk")
    _generate(panel, "A red bicycle against a blue wall")

    view = _open_library(panel)
    expect(panel.gallery).to_be_hidden()
    cards = view.locator(".cw-library-item")
    expect(cards).to_have_count(2, timeout=20_000)
    panel.wait_decoded(2, 20_000, ".cw-library-item img.cw-library-thumb")
    expect(cards.nth(0)).to_contain_text("A red bicycle")  # newest first
    expect(cards.nth(1)).to_contain_text("A lighthouse")
    expect(view.locator(".cw-library-where")).to_contain_text(str(tmp_path / "library"))
    expect(view.locator(".cw-library-where")).to_contain_text("2 images")
    whole_screenshot(panel.root, "library-view-light.png")

    search = view.locator(".cw-library-search input")
    search.fill("lighthouse")
    search.press("Enter")
    expect(cards).to_have_count(1)
    expect(cards.nth(0)).to_contain_text("A lighthouse at dusk")

    cards.nth(0).locator("button.cw-library-pick").click()
    detail = view.locator(".cw-library-detail")
    expect(detail).to_be_visible()
    expect(cards.nth(0)).to_have_class(re.compile(r"\bcw-selected\b"))
    expect(detail.locator(".cw-library-info")).to_contain_text("A lighthouse at dusk")
    whole_screenshot(panel.root, "library-view-chosen-light.png")

    expect(panel.prompt).to_have_value("A red bicycle against a blue wall")
    detail.locator("button.cw-library-restore").click()
    expect(panel.prompt).to_have_value("A lighthouse at dusk")

    # The dark theme, with the chosen entry.
    notebook.set_theme("dark")
    expect(detail).to_be_visible()
    whole_screenshot(panel.root, "library-view-chosen-dark.png")
    notebook.set_theme("light")

    detail.locator("button.cw-library-edit").click()
    expect(panel.root.locator(".cw-edit-area")).to_be_visible()
    expect(panel.root.locator(".cw-input")).to_have_count(1)
    expect(panel.root.locator(".cw-input-label")).to_contain_text("A lighthouse at dusk")
    expect(panel.generate_button).to_have_text(re.compile("Apply edit"))
    expect(panel.prompt).to_have_value("")  # as Edit on a tile: waiting for what to change
    whole_screenshot(panel.root, "library-view-edit-light.png")

    # View opens the image full size in the lightbox.
    detail.locator("button.cw-library-view").click()
    lightbox = panel.root.locator(".cw-lightbox")
    expect(lightbox).to_be_visible()
    panel.page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0",
        arg=lightbox.locator("img.cw-lightbox-image").element_handle(),
        timeout=10_000,
    )
    lightbox.locator("button.cw-lightbox-close").click()
    expect(lightbox).to_be_hidden()
