"""The panel's results in JupyterLab: the history strip restores a run (images and parameters),
a panel batch is one grid in input order, the badge, the saved-file link, the lightbox kept
inside the notebook, and a notebook saved with JupyterLab's default settings (no widget state)
showing the latest images, also after nbconvert.

Screenshots go to test-artifacts/browser/ (look at them).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from playwright.sync_api import expect

from comet_widgets.testing import FakeAPI

from .conftest import HERE, PANEL_CELL

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]  # see conftest: servers start

BATCH = ["a red fox in the snow", "a blue whale under a boat", "a green frog on a leaf"]
WIDGETS_PLUGIN = "@jupyter-widgets/jupyterlab-manager:plugin"
TRACKER_PLUGIN = "@jupyterlab/notebook-extension:tracker"


def _notebook_with(tmp_path: Path, *extra: str) -> Path:
    """panel.ipynb with ``extra`` code cells appended (after the print cell)."""
    notebook = nbformat.read(HERE / "panel.ipynb", as_version=4)
    notebook.cells += [nbformat.v4.new_code_cell(code) for code in extra]
    path = tmp_path / "panel-plus.ipynb"
    nbformat.write(notebook, path)
    return path


def _set_n(panel: Any, n: int) -> None:
    field = panel.root.locator(".cw-n input")
    field.fill(str(n))
    field.press("Tab")
    expect(field).to_have_value(str(n))


def _generate(panel: Any, prompt: str, images: int) -> None:
    """Generate and wait until the run has landed: its history card is there (the status
    line still reads the last run's "Done" until then, and a partial preview is a decoded
    thumbnail too)."""
    runs = panel.history_items.count()
    panel.type_prompt(prompt)
    panel.generate()
    expect(panel.history_items).to_have_count(runs + 1, timeout=20_000)
    expect(panel.status).to_have_text(re.compile(r"^Done"))
    expect(panel.generate_button).to_be_visible()
    panel.wait_decoded(images)


def _badge(panel: Any) -> Any:
    return panel.root.locator(".cw-header .cw-badge")


def test_history_restores_a_run_and_a_batch_is_one_grid_in_input_order(
    lab_panel: Any,
    fake: FakeAPI,
    screenshot: Any,
    whole_screenshot: Any,
    tmp_path: Path,
) -> None:
    source = _notebook_with(
        tmp_path, f"_ = await gen.generate_many({BATCH!r}, concurrency=3)\nprint('batch done')"
    )
    notebook, panel = lab_panel(source)
    # The kernel's API is the fake on loopback: "Local API" until its answers show it is the
    # fake (its request ids), then "Offline".
    expect(_badge(panel)).to_have_class(re.compile(r"\bcw-local\b"))
    expect(_badge(panel)).to_have_text(re.compile(r"^Local API · 127\.0\.0\.1:\d+$"))
    expect(panel.root.locator(".cw-offline-banner")).to_be_hidden()

    _set_n(panel, 2)
    panel.root.locator(".cw-quality select").select_option("low")
    _generate(panel, "A lighthouse at dusk", 2)
    first = [panel.pixels(0), panel.pixels(1)]
    expect(_badge(panel)).to_have_class(re.compile(r"\bcw-offline\b"))
    expect(_badge(panel)).to_have_text("Offline · fake API")
    expect(panel.root.locator(".cw-offline-banner")).to_be_visible()

    _set_n(panel, 1)
    panel.root.locator(".cw-quality select").select_option("high")
    _generate(panel, "A red bicycle against a blue wall", 1)
    assert panel.pixels(0) not in first

    # A batch through the panel: the first request that arrives is rate-limited once and
    # retried a second later, so it is not the first to finish; the grid keeps the input order.
    fake.fail_next(1, 429, headers={"Retry-After": "1"})
    notebook.run_cell(3)
    expect(notebook.output(3)).to_contain_text("batch done", timeout=30_000)
    expect(panel.status).to_have_text("Done: batch of 3 prompts, 3 done")
    panel.wait_decoded(3)
    captions = [c.split("\n")[0] for c in panel.captions.all_inner_texts()]
    assert [c[: len(p)] for c, p in zip(captions, BATCH, strict=True)] == BATCH, captions
    columns = panel.thumbs.evaluate_all(
        "imgs => imgs.map(i => Math.round(i.getBoundingClientRect().left))"
    )
    assert len(set(columns)) > 1, "the batch is not shown as a grid"
    expect(panel.history_items).to_have_count(3)  # the batch is one entry
    whole_screenshot(panel.root, "results-batch-grid.png")

    # The oldest run (last in the strip): its images and its parameters come back.
    panel.history_picks.nth(2).click()
    expect(panel.prompt).to_have_value("A lighthouse at dusk")
    expect(panel.root.locator(".cw-n input")).to_have_value("2")
    expect(panel.root.locator(".cw-quality select")).to_have_value("low")
    expect(panel.history_items.nth(2)).to_have_class(re.compile(r"\bcw-selected\b"))
    panel.wait_decoded(2)
    panel.wait_pixels(first[0], index=0)
    panel.wait_pixels(first[1], index=1)
    whole_screenshot(panel.root, "results-history-restored.png")


def test_saved_file_link_opens_the_image_in_jupyterlab(lab_panel: Any, fake: FakeAPI) -> None:
    notebook, panel = lab_panel()
    _generate(panel, "A paper lantern", 1)
    panel.root.locator(".cw-tile button.cw-save").first.click()
    link = panel.root.locator(".cw-tile .cw-saved a")
    expect(link).to_be_visible()
    expect(link).to_have_attribute("target", "_blank")
    relative = link.get_attribute("href")
    assert relative is not None
    assert not relative.startswith(("/", "http", "file:")), relative  # relative to the notebook
    saved = notebook.server.notebooks / relative
    assert saved.is_file(), f"{relative} is not a file next to the notebook"
    assert saved.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    expect(link).to_have_text(saved.name)
    expect(link).to_have_attribute("title", re.compile(re.escape(saved.name) + "$"))

    with notebook.page.context.expect_page() as opened:
        link.click()
    tab = opened.value
    tab.wait_for_load_state()
    assert tab.url.split("?")[0].endswith("/tree/" + relative), tab.url
    # JupyterLab opens the file in its image viewer.
    viewer = tab.locator(".jp-ImageViewer img")
    expect(viewer).to_be_visible(timeout=30_000)
    tab.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=viewer.element_handle()
    )
    tab.close()


def test_lightbox_stays_inside_the_notebook_and_in_view_from_far_down(
    default_windowing: None, lab_panel: Any, fake: FakeAPI
) -> None:
    """Ten images; "View" on the last one (scrolled far down): the overlay covers the notebook
    panel only (not the menu bar or the file browser), and its card is in view. (Its
    ``position: fixed`` is held by the notebook, whose ``contain: strict`` makes it the
    containing block: in JupyterLab's default windowing mode too.)"""
    from .conftest import ARTIFACTS, record_artifact

    notebook, panel = lab_panel()
    page = notebook.page
    _set_n(panel, 10)
    _generate(panel, "Ten kites over a beach", 10)
    last = panel.root.locator(".cw-tile button.cw-full-size").nth(9)
    last.scroll_into_view_if_needed()
    last.click()
    lightbox = panel.root.locator(".cw-lightbox")
    expect(lightbox).to_be_visible()
    expect(lightbox.locator(".cw-lightbox-count")).to_have_text("Image 10 of 10")
    page.wait_for_timeout(300)  # let the image lay out before measuring
    box = lightbox.bounding_box()
    area = page.locator(".jp-NotebookPanel:visible").bounding_box()
    menu = page.locator("#jp-top-panel").bounding_box()
    assert box is not None
    assert area is not None
    assert menu is not None
    assert box["x"] >= area["x"] - 1, (box, area)
    assert box["y"] >= area["y"] - 1, (box, area)
    assert box["x"] + box["width"] <= area["x"] + area["width"] + 1, (box, area)
    assert box["y"] + box["height"] <= area["y"] + area["height"] + 1, (box, area)
    assert box["y"] >= menu["y"] + menu["height"], "the lightbox covers the menu bar"
    for part in ("cw-lightbox-close", "cw-lightbox-next", "cw-lightbox-image"):
        expect(lightbox.locator(f".{part}")).to_be_in_viewport()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "results-lightbox-far-down.png"
    page.screenshot(path=str(shot))
    record_artifact(shot)
    lightbox.locator("button.cw-lightbox-next").click()
    expect(lightbox.locator(".cw-lightbox-count")).to_have_text("Image 1 of 10")
    expect(lightbox.locator(".cw-lightbox-close")).to_be_in_viewport()
    lightbox.locator("button.cw-lightbox-close").click()
    expect(lightbox).to_be_hidden()


def _lab_setting(server: Any, plugin: str, values: dict[str, Any]) -> None:
    """Set a JupyterLab plugin's settings through its settings API (read by pages opened
    afterwards)."""
    import urllib.request

    body = json.dumps({"raw": json.dumps(values)}).encode()
    request = urllib.request.Request(
        f"{server.url}/lab/api/settings/{plugin}",
        data=body,
        method="PUT",
        headers={"Authorization": f"token {server.token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status in (200, 204)


@pytest.fixture
def default_widget_settings(lab_server: Any) -> Any:
    """JupyterLab's default: no widget state saved into the notebook (this package's other
    tests save it); put back afterwards."""
    _lab_setting(lab_server, WIDGETS_PLUGIN, {"saveState": False})
    yield
    _lab_setting(lab_server, WIDGETS_PLUGIN, {"saveState": True})


@pytest.fixture
def default_windowing(lab_server: Any) -> Any:
    """JupyterLab's default windowing mode ("contentVisibility": cells off screen are skipped
    by the browser; this package's other tests attach every cell); put back afterwards."""
    _lab_setting(lab_server, TRACKER_PLUGIN, {"windowingMode": "contentVisibility"})
    yield
    _lab_setting(lab_server, TRACKER_PLUGIN, {"windowingMode": "none"})


def test_saved_with_default_settings_and_nbconvert_shows_the_latest_images(
    default_widget_settings: None,
    lab_panel: Any,
    fake: FakeAPI,
    tmp_path: Path,
    screenshot: Any,
) -> None:
    notebook, panel = lab_panel()
    _generate(panel, "A red kite", 1)
    _set_n(panel, 2)
    _generate(panel, "A blue whale and its calf", 2)
    page = notebook.page
    # The static view (hidden under the live panel) follows the run, after its thumbnails.
    expect(notebook.cell(PANEL_CELL).locator(".cw-static")).to_contain_text("latest run: 2 images")
    # Save as a person does: Ctrl+S with the notebook focused.
    notebook.cell(2).locator(".jp-InputPrompt").click()
    page.keyboard.press("Control+s")
    page.wait_for_function(
        "() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=15_000
    )
    assert "A blue whale" in notebook.path.read_text()

    document = json.loads(notebook.path.read_text())
    state = document["metadata"].get("widgets", {})
    assert not state.get("application/vnd.jupyter.widget-state+json", {}).get("state"), (
        "widget state was saved with the default settings"
    )
    outputs = document["cells"][PANEL_CELL]["outputs"]
    statics = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(statics) == 1, [list(o.get("data", {})) for o in outputs]
    html = "".join(statics[0]["data"]["text/html"])
    assert "A blue whale and its calf" in html
    assert "A red kite" not in html

    converted = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter",
            "nbconvert",
            "--to",
            "html",
            "--output-dir",
            str(tmp_path),
            str(notebook.path),
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert converted.returncode == 0, converted.stderr[-2000:]
    page_html = (tmp_path / (notebook.path.stem + ".html")).read_text()
    assert "A blue whale and its calf" in page_html
    assert "data:image/jpeg;base64," in page_html
    # In a browser, the converted page shows the latest images (nothing hides the static view:
    # the live panel is not there).
    viewer = page.context.new_page()
    viewer.set_content(page_html, wait_until="load")
    static = viewer.locator(".cw-static")
    expect(static).to_be_visible()
    expect(static).to_contain_text("A blue whale and its calf")
    image = static.locator("img")
    viewer.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    assert image.evaluate("i => i.naturalWidth") > image.evaluate("i => i.naturalHeight")
    screenshot(static, "results-nbconvert-static.png")
    viewer.close()
