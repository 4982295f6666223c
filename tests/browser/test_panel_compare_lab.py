"""The panel's Compare view in JupyterLab: pick two models and two qualities by checkbox, see
the cells and the estimate, run, watch the placeholders fill while the kernel stays free, open
a cell in the lightbox with its parameters, and put its settings back into the panel.

The screenshots go to test-artifacts/browser/compare-*.png (look at them).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from comet_widgets.testing import FakeAPI

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]  # see conftest: servers start

FREE_CELL = 2  # print("the kernel is free:", 6 * 7)


def _choice(panel: Any, group: str, name: str) -> Any:
    """The checkbox of ``name`` in a picker (its label's text, exactly)."""
    page = panel.page
    return (
        panel.root.locator(f".{group} .cw-compare-choice")
        .filter(has=page.get_by_text(name, exact=True))
        .locator("input[type=checkbox]")
    )


def test_compare_view_runs_a_grid_cell_by_cell_and_gives_a_cell_back(
    lab_panel: Any, fake: FakeAPI, whole_screenshot: Any
) -> None:
    notebook, panel = lab_panel()
    panel.type_prompt("A red fox in snow")
    panel.root.locator(".cw-view-switch button", has_text="Compare").click()
    view = panel.root.locator(".cw-compare")
    expect(view).to_be_visible()
    expect(panel.root.locator(".cw-results")).to_be_hidden()

    summary = view.locator(".cw-compare-summary")
    expect(summary).to_contain_text("nothing to compare yet")
    expect(_choice(panel, "cw-compare-models", "gpt-image-2")).to_be_checked()  # the panel's
    _choice(panel, "cw-compare-models", "gpt-image-2.5-flare").check()
    _choice(panel, "cw-compare-qualities", "low").check()
    _choice(panel, "cw-compare-qualities", "xhigh").check()
    expect(summary).to_have_text(
        re.compile(r"^4 cell\(s\) \(1 not applicable\), 3 to send: estimate about \$0\.\d+$")
    )

    fake.latency = 3.0  # long enough to see the placeholders and to use the kernel meanwhile
    run = view.locator("button.cw-compare-run")
    expect(run).to_be_enabled()
    run.click()
    cells = view.locator(".cw-compare-cell")
    expect(cells).to_have_count(4)
    expect(view.locator(".cw-compare-cell.cw-compare-pending")).to_have_count(3)
    expect(view.locator(".cw-compare-cell.cw-compare-na")).to_have_count(1)
    expect(view.locator(".cw-compare-na .cw-compare-caption")).to_contain_text(
        "not applicable: quality 'xhigh' is not supported by gpt-image-2"
    )
    expect(view.locator(".cw-compare-col-label")).to_have_text(["quality: low", "quality: xhigh"])
    expect(view.locator(".cw-compare-row-label")).to_have_text(
        ["model: gpt-image-2", "model: gpt-image-2.5-flare"]
    )
    expect(panel.status).to_have_text(re.compile(r"^Comparing"))
    whole_screenshot(panel.root, "compare-placeholders.png")
    # The kernel is free while the cells run (the work is on the panel's own loop).
    notebook.run_cell(FREE_CELL)
    expect(notebook.output(FREE_CELL)).to_contain_text("the kernel is free: 42", timeout=10_000)
    expect(view.locator(".cw-compare-cell.cw-compare-pending")).to_have_count(3)

    expect(view.locator(".cw-compare-cell.cw-compare-ok")).to_have_count(3, timeout=30_000)
    expect(panel.status).to_have_text("Done: comparison of 3 ok, 1 not applicable")
    assert fake.generation_count == 3
    sent = {(r.json["model"], r.json.get("quality")) for r in fake.requests if r.json}
    assert ("gpt-image-2", "xhigh") not in sent
    thumbs = view.locator(".cw-compare-ok img.cw-compare-thumb")
    expect(thumbs).to_have_count(3)
    page = panel.page
    page.wait_for_function(
        "imgs => imgs.every(i => i.complete && i.naturalWidth > 0)",
        arg=thumbs.element_handles(),
        timeout=10_000,
    )
    expect(view.locator(".cw-compare-ok .cw-compare-caption").first).to_have_text(
        re.compile(r"^\$0\.\d+ · \d+\.\d s$")
    )
    whole_screenshot(panel.root, "compare-grid.png")

    # The flare xhigh cell, full size, with its parameters.
    chosen = cells.nth(3)
    chosen.locator("button.cw-compare-view").click()
    lightbox = panel.root.locator(".cw-lightbox")
    expect(lightbox).to_be_visible()
    expect(lightbox.locator(".cw-lightbox-caption")).to_contain_text(
        "model gpt-image-2.5-flare · quality xhigh"
    )
    whole_screenshot(lightbox, "compare-lightbox.png")
    lightbox.locator("button.cw-lightbox-close").click()
    expect(lightbox).to_be_hidden()

    # Use these settings: the panel's controls take the cell's model and quality.
    chosen.locator("button.cw-compare-use").click()
    expect(panel.model.select).to_have_value(re.compile(r"^gpt-image-2\.5-flare( ·.*)?$"))
    expect(panel.root.locator(".cw-quality select")).to_have_value("xhigh")
    expect(view.locator(".cw-compare-note")).to_contain_text("click Generate")
