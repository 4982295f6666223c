"""The panel's layout in the kernel: two columns (controls, results), and views added beside
"Results" with ``add_view`` (issue 23: a library, a comparison... beside the gallery)."""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets
import pytest
from widget_parts import part, parts, shown

from comet_widgets import ImageGenerator

MakePanel = Callable[..., ImageGenerator]


def test_controls_and_results_are_the_two_columns(make_panel: MakePanel) -> None:
    panel = make_panel(prompt="A kite")
    body = part(panel, "cw-body")
    controls, results = body.children
    assert "cw-controls-column" in controls._dom_classes
    assert "cw-results-column" in results._dom_classes
    for css in ("cw-prompt", "cw-fields", "cw-generate", "cw-validation"):
        assert parts(controls, css), css
    for css in ("cw-status", "cw-error", "cw-gallery", "cw-usage", "cw-edit-area"):
        assert parts(results, css), css
    assert not parts(results, "cw-prompt")
    # The stylesheet puts them side by side from 900 px of panel, on the panel's width.
    css = str(part(panel, "cw-stylesheet").value)
    assert "container-type: inline-size" in css
    assert "@container cw-panel (min-width: 870px)" in css


async def test_a_view_added_beside_results_is_switched_to_and_back(
    make_panel: MakePanel,
) -> None:
    panel = make_panel(prompt="A kite")
    switch = part(panel, "cw-view-switch")
    assert panel.view == "Results"
    assert not shown(switch), "no switch while Results is the only view"
    library = ipywidgets.HTML("the library")
    opened: list[str] = []
    panel.add_view(
        "My library", library, tooltip="Saved images", on_show=lambda: opened.append(panel.view)
    )
    assert shown(switch)
    assert list(switch.options) == ["Results", "My library"]
    assert panel.view == "Results"
    box = part(panel, "cw-view-my-library")
    assert library in box.children
    assert not shown(library, within=panel)
    assert shown(part(panel, "cw-results"), within=panel)

    switch.value = "My library"  # a click in the browser
    assert panel.view == "My library"
    assert opened == ["My library"]
    assert shown(library, within=panel)
    assert not shown(part(panel, "cw-results"), within=panel)

    await panel.generate()  # a run shows its results
    assert panel.view == "Results"
    assert shown(part(panel, "cw-results"), within=panel)
    assert not shown(library, within=panel)

    panel.show_view("My library")
    assert (panel.view, opened) == ("My library", ["My library", "My library"])
    with pytest.raises(ValueError, match="no view 'Compare'"):
        panel.show_view("Compare")
    with pytest.raises(ValueError, match="already taken"):
        panel.add_view("My library", ipywidgets.HTML())
    with pytest.raises(TypeError, match="ipywidgets widget"):
        panel.add_view("Compare", "not a widget")  # type: ignore[arg-type]
