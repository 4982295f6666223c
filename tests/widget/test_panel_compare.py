"""The panel's Compare view in the kernel: axes picked from the panel's own choices, the cells
and their estimate before running, placeholders first, cells landing in place, not-applicable
cells never sent, the lightbox with a cell's parameters, and "Use these settings"."""

from __future__ import annotations

import re
from collections.abc import Callable

import ipywidgets
import pytest
from widget_parts import part, parts, shown

from comet_widgets import MODELS, ImageGenerator, estimate_cost
from comet_widgets.testing import FakeAPI

MakePanel = Callable[..., ImageGenerator]


def tick(panel: ImageGenerator, group: str, *names: str) -> None:
    """Tick exactly ``names`` among a picker's checkboxes (a click each in the browser)."""
    for box in parts(part(panel, group), "cw-compare-choice"):
        box.value = box.description in names


def cells(panel: ImageGenerator) -> list[ipywidgets.Widget]:
    return parts(panel, "cw-compare-cell")


def state(cell: ipywidgets.Widget) -> str:
    [found] = [c for c in cell._dom_classes if c != "cw-compare-cell"]
    return str(found)


def open_compare(panel: ImageGenerator) -> None:
    part(panel, "cw-view-switch").value = "Compare"  # a click on the switch


def test_the_choices_are_the_catalogues(make_panel: MakePanel) -> None:
    """The view offers the current models, every quality one of them takes and the default
    model's preset sizes, as the catalogue lists them (nothing hand-kept to go stale)."""
    panel = make_panel()
    open_compare(panel)

    def offered(group: str) -> list[str]:
        return [box.description for box in parts(part(panel, group), "cw-compare-choice")]

    models = offered("cw-compare-models")
    assert models
    assert all(MODELS[m].status == "current" for m in models)
    takes = {q for m in models for q in MODELS[m].qualities} - {"auto"}
    assert sorted(offered("cw-compare-qualities")) == sorted(takes)
    sizes = offered("cw-compare-sizes")
    assert sizes == [s for s in MODELS[panel.model].sizes if s != "auto"]


def test_the_view_counts_the_cells_and_estimates_them_before_anything_is_sent(
    make_panel: MakePanel, app: FakeAPI
) -> None:
    panel = make_panel(prompt="a red fox in snow", size="1024x1024")
    open_compare(panel)
    assert panel.view == "Compare"
    summary = part(panel, "cw-compare-summary")
    # the panel's own model and size are ticked: one cell, nothing to compare yet
    assert "nothing to compare yet" in summary.value
    assert part(panel, "cw-compare-run").disabled
    tick(panel, "cw-compare-models", "gpt-image-2", "gpt-image-2.5-flare")
    tick(panel, "cw-compare-qualities", "low", "xhigh")
    each = [
        estimate_cost(prompt="a red fox in snow", model=m, quality=q, size="1024x1024")
        for m, q in (("gpt-image-2", "low"), ("gpt-image-2.5-flare", "low"))
    ]
    flare = estimate_cost(
        prompt="a red fox in snow", model="gpt-image-2.5-flare", quality="xhigh", size="1024x1024"
    )
    total = sum(each, flare)
    assert summary.value == (
        f"4 cell(s) (1 not applicable), 3 to send: estimate {total}".replace("'", "&#x27;")
    )
    assert not part(panel, "cw-compare-run").disabled
    # the panel's own prompt is part of it: a second prompt makes a third axis
    part(panel, "cw-compare-prompt2").value = "a lighthouse at dusk"
    assert summary.value.startswith("8 cell(s) (2 not applicable), 6 to send")
    tick(panel, "cw-compare-sizes", "1024x1024", "1536x1024")
    assert "at most 3" in summary.value
    assert part(panel, "cw-compare-run").disabled
    assert app.generation_count == 0


def test_the_grid_fills_cell_by_cell_and_never_sends_a_refused_cell(
    make_panel: MakePanel, app: FakeAPI, wait_until: Callable[..., float]
) -> None:
    panel = make_panel(prompt="a red fox in snow", size="1024x1024")
    open_compare(panel)
    tick(panel, "cw-compare-models", "gpt-image-2", "gpt-image-2.5-flare")
    tick(panel, "cw-compare-qualities", "low", "xhigh")
    app.latency = 0.4
    part(panel, "cw-compare-run").click()
    # placeholders first (labels drawn), the refused cell marked at once
    assert [state(c) for c in cells(panel)] == [
        "cw-compare-pending",
        "cw-compare-na",
        "cw-compare-pending",
        "cw-compare-pending",
    ]
    labels = [w.value for w in parts(panel, "cw-compare-col-label")]
    assert labels == ["quality: low", "quality: xhigh"]
    rows = [w.value for w in parts(panel, "cw-compare-row-label")]
    assert rows == ["model: gpt-image-2", "model: gpt-image-2.5-flare"]
    assert panel.status == "running"
    wait_until(lambda: panel.status == "done", timeout=20)
    assert [state(c) for c in cells(panel)] == [
        "cw-compare-ok",
        "cw-compare-na",
        "cw-compare-ok",
        "cw-compare-ok",
    ]
    assert app.generation_count == 3
    sent = {(r.json["model"], r.json.get("quality")) for r in app.requests if r.json}
    assert ("gpt-image-2", "xhigh") not in sent
    refused = cells(panel)[1]
    assert "quality &#x27;xhigh&#x27; is not supported by gpt-image-2" in (
        part(refused, "cw-compare-caption").value
    )
    assert not shown(part(refused, "cw-compare-use"), within=panel)
    first = cells(panel)[0]
    assert part(first, "cw-compare-thumb").value  # its thumbnail
    assert re.search(r"\$0\.\d+ · \d+\.\d s", part(first, "cw-compare-caption").value)
    assert part(panel, "cw-status").value.startswith("Done: comparison of 3 ok, 1 not applicable")
    assert len(panel.history) == 3  # every cell's generation, as for a batch
    assert panel.spent_usd > 0
    assert panel.view == "Compare"  # the grid stays in view


def test_a_cell_opens_in_the_lightbox_and_its_settings_go_back_into_the_panel(
    make_panel: MakePanel, wait_until: Callable[..., float]
) -> None:
    panel = make_panel(prompt="a red fox in snow", size="1024x1024")
    open_compare(panel)
    tick(panel, "cw-compare-models", "gpt-image-2", "gpt-image-2.5-flare")
    tick(panel, "cw-compare-qualities", "low", "xhigh")
    part(panel, "cw-compare-prompt2").value = "a lighthouse at dusk"
    part(panel, "cw-compare-run").click()
    wait_until(lambda: panel.status == "done", timeout=30)
    assert len(parts(panel, "cw-compare-sheet")) == 2  # the third axis: one sheet per value
    titles = [w.value for w in parts(panel, "cw-compare-sheet-title")]
    assert titles == ["quality: low", "quality: xhigh"]
    # the last cell: a lighthouse, gpt-image-2.5-flare, xhigh
    chosen = cells(panel)[-1]
    part(chosen, "cw-compare-view").click()
    lightbox = part(panel, "cw-lightbox")
    assert shown(lightbox, within=panel)
    caption = part(panel, "cw-lightbox-caption").value
    assert "a lighthouse at dusk" in caption
    assert "model gpt-image-2.5-flare · quality xhigh" in caption
    assert part(panel, "cw-lightbox-image").value  # the full image, sent while shown
    part(panel, "cw-lightbox-close").click()
    part(chosen, "cw-compare-use").click()
    assert (panel.prompt, panel.model, panel.quality) == (
        "a lighthouse at dusk",
        "gpt-image-2.5-flare",
        "xhigh",
    )
    assert "click Generate" in part(panel, "cw-compare-note").value
    assert part(panel, "cw-model").value == "gpt-image-2.5-flare"  # the controls show it


def test_a_failed_cell_shows_its_error_and_the_others_land(
    make_panel: MakePanel, app: FakeAPI, wait_until: Callable[..., float]
) -> None:
    panel = make_panel(prompt="a paper boat", size="1024x1024", quality="low")
    open_compare(panel)
    tick(panel, "cw-compare-models", "gpt-image-2", "gpt-image-2.5-flare")
    app.fail_next(1, 400, message="your prompt was refused", code="content_policy_violation")
    part(panel, "cw-compare-run").click()
    wait_until(lambda: panel.status in ("done", "error"), timeout=20)
    found = sorted(state(c) for c in cells(panel))
    assert found == ["cw-compare-failed", "cw-compare-ok"]
    [failed] = [c for c in cells(panel) if state(c) == "cw-compare-failed"]
    assert "failed: HTTP 400: your prompt was refused" in part(failed, "cw-compare-caption").value


def test_without_a_key_nothing_runs_and_the_view_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("COMETAPI_KEY", raising=False)
    monkeypatch.delenv("COMETAPI_OFFLINE", raising=False)
    panel = ImageGenerator(prompt="a boat", library=False)
    try:
        open_compare(panel)
        tick(panel, "cw-compare-qualities", "low", "high")
        part(panel, "cw-compare-run").click()
        assert "No API key" in part(panel, "cw-compare-summary").value
        assert cells(panel) == []
        assert panel.status == "error"
    finally:
        panel.close()


def test_cancel_stops_the_comparison_and_the_waiting_cells_say_so(
    make_panel: MakePanel, app: FakeAPI, wait_until: Callable[..., float]
) -> None:
    panel = make_panel(prompt="a paper boat", size="1024x1024")
    open_compare(panel)
    tick(panel, "cw-compare-qualities", "low", "medium", "high")
    app.latency = 5.0
    part(panel, "cw-compare-run").click()
    wait_until(lambda: app.in_flight > 0, timeout=10)
    part(panel, "cw-cancel").click()
    assert panel.status == "cancelled"
    wait_until(
        lambda: all("stopped" in part(c, "cw-compare-caption").value for c in cells(panel)),
        timeout=10,
    )
    assert all(state(c) == "cw-compare-pending" for c in cells(panel))
    wait_until(lambda: not part(panel, "cw-compare-run").disabled, timeout=10)  # again
