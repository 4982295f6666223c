"""The panel's layout in the kernel: two columns (controls, results), and views added beside
"Results" with ``add_view`` (issue 23: a library, a comparison... beside the gallery)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import ipywidgets
import pytest
from widget_parts import part, parts, shown, text, tiles

from comet_widgets import CometError, ImageGenerator
from comet_widgets._constants import DEFAULT_EDIT_N
from comet_widgets.testing import FakeAPI
from comet_widgets.widget._history import first_words

MakePanel = Callable[..., ImageGenerator]


def edit_prompt(app: FakeAPI) -> str:
    """The prompt of the last edit request the fake received."""
    [*_, last] = [r for r in app.requests if r.path.endswith("/images/edits")]
    return str({p.name: p.value for p in last.form or []}["prompt"])


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
    panel = make_panel(prompt="A kite", library=False)  # no Library view: Results and Compare
    switch = part(panel, "cw-view-switch")
    assert panel.view == "Results"
    # the panel's own Compare view is beside Results from the start
    assert shown(switch)
    assert list(switch.options) == ["Results", "Compare"]
    library = ipywidgets.HTML("the library")
    opened: list[str] = []
    panel.add_view(
        "My library", library, tooltip="Saved images", on_show=lambda: opened.append(panel.view)
    )
    assert list(switch.options) == ["Results", "Compare", "My library"]
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
    with pytest.raises(ValueError, match="no view 'Gallery 2'"):
        panel.show_view("Gallery 2")
    with pytest.raises(ValueError, match="already taken"):
        panel.add_view("My library", ipywidgets.HTML())
    with pytest.raises(TypeError, match="ipywidgets widget"):
        panel.add_view("Other", "not a widget")  # type: ignore[arg-type]
    panel.close()  # the panel closes its own widgets, not the view it was given
    assert box.comm is None
    assert library.comm is not None
    library.close()


async def test_edit_mode_and_back_restores_generate_modes_prompt_and_count(
    make_panel: MakePanel, app: FakeAPI
) -> None:
    """Edit on a tile: n goes to the edit default and the prompt field waits for what to
    change; "Back to generating" brings back the generation's prompt and n (issue 23)."""
    panel = make_panel(prompt="A paper boat", model="gpt-image-2", n=3)
    first = await panel.generate()
    part(tiles(panel)[1], "cw-edit").click()
    assert panel.mode == "edit"
    assert panel.n == DEFAULT_EDIT_N == 1
    assert part(panel, "cw-n").value == 1
    assert panel.prompt == ""
    assert part(panel, "cw-prompt").value == ""
    panel.prompt = "make it winter"
    panel.n = 2
    edited = await panel.edit()
    assert len(edited.images) == 2
    assert edit_prompt(app) == "make it winter"

    part(panel, "cw-back-to-generate").click()
    assert panel.mode == "generate"
    assert (panel.prompt, panel.n) == ("A paper boat", 3)
    assert part(panel, "cw-prompt").value == "A paper boat"
    assert part(panel, "cw-n").value == 3
    assert part(panel, "cw-prompt").description == "Prompt"

    # From code too: the count goes to the edit default and comes back; the prompt a cell
    # set stays (only Edit on a tile, or an upload, empties the field).
    panel.prompt = "A paper boat at dawn"
    panel.inputs = [first.images[0]]
    assert (panel.prompt, panel.n) == ("A paper boat at dawn", 1)
    panel.prompt = "add a red sail"
    panel.inputs = []
    assert (panel.prompt, panel.n) == ("A paper boat at dawn", 3)


async def test_switching_modes_clears_the_other_modes_error(
    make_panel: MakePanel, app: FakeAPI
) -> None:
    panel = make_panel(prompt="A paper boat", model="gpt-image-2")
    await panel.generate()
    app.fail_next(1, 400, message="the prompt was rejected by the provider")
    with pytest.raises(CometError, match="rejected"):
        await panel.generate()
    assert panel.status == "error"
    assert shown(part(panel, "cw-error"))
    assert "rejected" in text(panel, "cw-error")

    part(tiles(panel)[0], "cw-edit").click()  # the last good run's tile
    assert panel.mode == "edit"
    assert not shown(part(panel, "cw-error")), text(panel, "cw-error")
    assert panel.status == "idle"
    assert panel.error == ""
    assert text(panel, "cw-status") == "Ready"

    panel.prompt = "make it winter"
    app.fail_next(1, 400, message="the image was rejected by the provider")
    with pytest.raises(CometError, match="rejected"):
        await panel.edit()
    assert shown(part(panel, "cw-error"))
    part(panel, "cw-back-to-generate").click()
    assert not shown(part(panel, "cw-error"))
    assert panel.status == "idle"


def inner(card: ipywidgets.Widget, css: str) -> str:
    """The text of the element of class ``css`` in a history card's label (HTML)."""
    label = str(part(card, "cw-history-label").value)
    found = re.search(rf'<div class="{css}"[^>]*>([^<]*)</div>', label)
    assert found, (css, label)
    return html.unescape(found[1])


def test_first_words_of_a_prompt() -> None:
    assert first_words("A red kite") == "A red kite"
    assert first_words("  A red\n kite  ") == "A red kite"
    long = "A paper boat floating on calm water at sunrise, with a lighthouse far behind it"
    assert first_words(long) == "A paper boat floating on calm water…"
    assert first_words("Supercalifragilisticexpialidocious" * 3).endswith("…")
    assert len(first_words("Supercalifragilisticexpialidocious" * 3)) <= 45
    assert first_words("") == ""


async def test_history_cards_say_prompt_model_and_count_newest_first(
    make_panel: MakePanel,
) -> None:
    panel = make_panel(prompt="A lighthouse on a cliff at dusk, watercolour", model="dall-e-2")
    panel.n = 3
    await panel.generate()
    panel.model = "gpt-image-2"
    panel.prompt = "A red kite"
    panel.n = 1
    await panel.generate()
    part(tiles(panel)[0], "cw-edit").click()
    panel.prompt = "make it winter"
    await panel.edit()
    cards = parts(panel, "cw-history-item", visible=True)
    said = [(inner(card, "cw-history-prompt"), inner(card, "cw-history-meta")) for card in cards]
    assert said == [
        ("make it winter", "gpt-image-2 · 1 image"),
        ("A red kite", "gpt-image-2 · 1 image"),
        ("A lighthouse on a cliff at dusk,…", "dall-e-2 · 3 images"),
    ]
    assert "Edit of image 1 from 'A red kite'" in text(cards[0], "cw-history-label")
    for card in cards:
        assert not re.search(r"#\d", text(card, "cw-history-label"))
    tip = part(cards[2], "cw-history-pick").tooltip
    assert tip.startswith("#1 · ")
    assert tip.endswith("dall-e-2 · A lighthouse on a cliff at dusk, watercolour")
