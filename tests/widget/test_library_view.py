"""The panel's Library view, with no kernel: browsing newest first, pages, search and filters,
and what a chosen entry offers (View, Restore, Edit, Star, collections, Delete that asks)."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from widget_parts import part, parts, shown, text

from comet_widgets import GeneratedImage, Generation, ImageGenerator, Library
from comet_widgets._constants import LIBRARY_VIEW_PAGE

MakePanel = Callable[..., ImageGenerator]
WaitUntil = Callable[..., float]


def open_library(panel: ImageGenerator) -> None:
    panel.show_view("Library")
    assert panel.view == "Library"


def library_tooltip(panel: ImageGenerator) -> str:
    switch = part(panel, "cw-view-switch")
    return str(switch.tooltips[list(switch.options).index("Library")])


def lib(panel: ImageGenerator) -> Library:
    assert panel.library is not None
    return panel.library


def cards(panel: ImageGenerator) -> list[Any]:
    return parts(panel, "cw-library-item", visible=True)


def captions(panel: ImageGenerator) -> list[str]:
    return [" ".join(text(card, "cw-library-caption").split()) for card in cards(panel)]


def choose(panel: ImageGenerator, number: int) -> None:
    part(cards(panel)[number], "cw-library-pick").click()


def png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "PNG")
    return out.getvalue()


def fill(library: Library, count: int, model: str = "gpt-image-2") -> None:
    """``count`` one-image runs, recorded the way a client's generations are."""
    for number in range(count):
        prompt = f"entry {number} of a {'kite' if number % 2 else 'boat'}"
        image = GeneratedImage(index=0, data=png((number % 250, 40, 90)), format="png")
        image.width, image.height = 64, 48
        generation = Generation(
            prompt=prompt,
            model=model,
            created=int(time.time()) - 1000 + number,
            images=[image],
            params={"prompt": prompt, "model": model, "size": "1024x1024", "n": 1},
            request_id=f"req-{number}",
        )
        library.add(generation)


@pytest.fixture
def library(tmp_path: Path) -> Library:
    """A new, empty library."""
    return Library(tmp_path / "lib")


def browse(make_panel: MakePanel, library: Library) -> ImageGenerator:
    """A panel recording into ``library``, its Library view open."""
    panel = make_panel(library=library)
    open_library(panel)
    return panel


@pytest.fixture
def panel(make_panel: MakePanel, library: Library) -> ImageGenerator:
    """A panel with its Library view open on ``library``, filled with three runs (``fill``)."""
    fill(library, 3)
    return browse(make_panel, library)


async def two_runs(make_panel: MakePanel, wait_until: WaitUntil) -> ImageGenerator:
    panel = make_panel(prompt="A red kite over the dunes", model="dall-e-2", n=2, size="512x512")
    await panel.generate()
    panel.prompt = "A fox in the snow"
    panel.size = "256x256"
    await panel.generate()
    assert panel.library is not None
    library = panel.library
    wait_until(lambda: len(library) == 4, timeout=10)
    return panel


async def test_the_view_shows_the_library_newest_first_and_where_it_is(
    make_panel: MakePanel, wait_until: WaitUntil
) -> None:
    panel = await two_runs(make_panel, wait_until)
    assert not shown(part(panel, "cw-library"), within=panel)
    assert str(lib(panel).path) in library_tooltip(panel)
    open_library(panel)
    assert shown(part(panel, "cw-library"), within=panel)
    assert not shown(part(panel, "cw-gallery"), within=panel)
    assert [c.split(" dall-e-2")[0] for c in captions(panel)] == [
        "A fox in the snow",
        "A fox in the snow",
        "A red kite over the dunes",
        "A red kite over the dunes",
    ]
    where = text(panel, "cw-library-where")
    assert str(lib(panel).path) in where
    assert "4 images" in where
    thumbs = [bytes(part(card, "cw-library-thumb").value) for card in cards(panel)]
    assert all(thumbs)
    assert thumbs[0] == lib(panel).search()[0].thumbnail
    assert not shown(part(panel, "cw-library-pager"), within=panel)  # one page


async def test_a_new_run_appears_in_the_open_view(
    make_panel: MakePanel, wait_until: WaitUntil
) -> None:
    panel = await two_runs(make_panel, wait_until)
    open_library(panel)
    panel.prompt = "A whale in the sky"
    await panel.generate()
    assert panel.view == "Results"  # a run shows its results
    # Back in the Library at once: the run is there as soon as it is recorded (shown on
    # opening when it already was, else when the recording thread has written it).
    open_library(panel)
    wait_until(lambda: len(cards(panel)) == 6, timeout=10)
    assert captions(panel)[0].startswith("A whale in the sky")


def test_pages_of_a_large_library(make_panel: MakePanel, library: Library) -> None:
    fill(library, LIBRARY_VIEW_PAGE + 5)
    panel = browse(make_panel, library)
    assert len(cards(panel)) == LIBRARY_VIEW_PAGE
    assert captions(panel)[0].startswith(f"entry {LIBRARY_VIEW_PAGE + 4} ")
    assert text(panel, "cw-library-page") == f"Page 1 · 1–{LIBRARY_VIEW_PAGE}"
    assert part(panel, "cw-library-prev").disabled
    part(panel, "cw-library-next").click()
    assert len(cards(panel)) == 5
    assert captions(panel)[-1].startswith("entry 0 ")
    assert text(panel, "cw-library-page") == (
        f"Page 2 · {LIBRARY_VIEW_PAGE + 1}–{LIBRARY_VIEW_PAGE + 5}"
    )
    assert part(panel, "cw-library-next").disabled
    part(panel, "cw-library-prev").click()
    assert len(cards(panel)) == LIBRARY_VIEW_PAGE


def test_search_and_filters(make_panel: MakePanel, library: Library) -> None:
    fill(library, 6)
    fill(library, 2, model="dall-e-3")
    panel = browse(make_panel, library)
    assert len(cards(panel)) == 8
    part(panel, "cw-library-search").value = "kite"
    assert len(cards(panel)) == 4  # entries 1, 3, 5 and the dall-e-3 one
    assert all("kite" in c for c in captions(panel))
    model = part(panel, "cw-library-model")
    assert set(model.options) == {"All models", "gpt-image-2", "dall-e-3"}
    model.value = "dall-e-3"
    assert len(cards(panel)) == 1
    part(panel, "cw-library-search").value = "nothing like this"
    assert not cards(panel)
    assert shown(part(panel, "cw-library-empty"), within=panel)
    assert "Nothing matches" in text(panel, "cw-library-empty")
    part(panel, "cw-library-search").value = ""
    model.value = "All models"
    import datetime as dt

    part(panel, "cw-library-since").value = dt.date.today() + dt.timedelta(days=1)
    assert not cards(panel)
    part(panel, "cw-library-since").value = None
    part(panel, "cw-library-until").value = dt.date.today()
    assert len(cards(panel)) == 8


def test_star_collections_and_the_starred_filter(library: Library, panel: ImageGenerator) -> None:
    assert not shown(part(panel, "cw-library-detail"), within=panel)
    choose(panel, 1)
    assert shown(part(panel, "cw-library-detail"), within=panel)
    assert "cw-selected" in cards(panel)[1]._dom_classes
    assert text(panel, "cw-library-info").startswith("entry 1 of a kite")
    star = part(panel, "cw-library-star")
    assert star.description == "Star"
    star.click()
    assert star.description == "Unstar"
    assert [e.prompt for e in library.search(starred=True)] == ["entry 1 of a kite"]
    assert "★" in captions(panel)[1]
    part(panel, "cw-library-collection-name").value = "kites"
    part(panel, "cw-library-add").click()
    assert library.collections == {"kites": 1}
    assert "kites" in part(panel, "cw-library-collection").options
    part(panel, "cw-library-starred").value = True
    assert [c.split(" gpt")[0] for c in captions(panel)] == ["★ entry 1 of a kite"]
    part(panel, "cw-library-starred").value = False
    part(panel, "cw-library-collection").value = "kites"
    assert len(cards(panel)) == 1


def test_delete_asks_first(library: Library, panel: ImageGenerator) -> None:
    choose(panel, 0)
    chosen = library.search()[0]
    part(panel, "cw-library-delete").click()
    assert shown(part(panel, "cw-library-confirm"), within=panel)
    assert f"#{chosen.id}" in text(panel, "cw-library-confirm-text")
    assert len(library) == 3  # asked, not done
    part(panel, "cw-library-keep").click()
    assert not shown(part(panel, "cw-library-confirm"), within=panel)
    assert len(library) == 3
    part(panel, "cw-library-delete").click()
    part(panel, "cw-library-confirm-delete").click()
    assert len(library) == 2
    assert not chosen.path.exists()
    assert len(cards(panel)) == 2
    assert not shown(part(panel, "cw-library-detail"), within=panel)


async def test_view_restore_and_edit(make_panel: MakePanel, wait_until: WaitUntil) -> None:
    panel = await two_runs(make_panel, wait_until)
    open_library(panel)
    choose(panel, 3)  # the oldest: the kite
    entry = lib(panel).search()[3]
    part(panel, "cw-library-view").click()
    lightbox = part(panel, "cw-lightbox")
    assert shown(lightbox)
    assert bytes(part(panel, "cw-lightbox-image").value) == entry.path.read_bytes()
    part(panel, "cw-lightbox-close").click()

    assert panel.prompt == "A fox in the snow"
    part(panel, "cw-library-restore").click()
    assert panel.prompt == "A red kite over the dunes"
    assert panel.size == "512x512"
    assert panel.model == "dall-e-2"
    assert panel.mode == "generate"

    panel.model = "gpt-image-2"
    part(panel, "cw-library-edit").click()
    assert panel.mode == "edit"
    assert panel.prompt == ""  # as Edit on a tile: the field waits for what to change
    (source,) = panel.inputs
    assert source.data == entry.path.read_bytes()
    labels = [text(card, "cw-input-label") for card in parts(panel, "cw-input", visible=True)]
    assert labels
    assert "A red kite" in labels[0]


async def test_restore_an_edit_brings_back_its_inputs_and_mask(
    make_panel: MakePanel, wait_until: WaitUntil
) -> None:
    import numpy as np

    panel = make_panel(prompt="make it winter", model="gpt-image-2")
    panel.inputs = [Image.new("RGB", (1024, 1024), (200, 30, 30))]
    mask = np.zeros((1024, 1024), dtype=bool)
    mask[:256] = True
    panel.mask = mask
    await panel.edit()
    library = panel.library
    assert library is not None
    wait_until(lambda: len(library) == 1, timeout=10)
    panel.inputs = []
    panel.prompt = "something else"
    open_library(panel)
    choose(panel, 0)
    part(panel, "cw-library-restore").click()
    assert panel.mode == "edit"
    assert panel.prompt == "make it winter"
    assert len(panel.inputs) == 1
    assert panel.mask is not None
    assert np.array_equal(np.asarray(panel.mask), mask)


def test_a_panel_that_records_nothing_has_no_library_view(make_panel: MakePanel) -> None:
    panel = make_panel(library=False)
    assert not parts(panel, "cw-library")
    with pytest.raises(ValueError, match="no view 'Library'"):
        panel.show_view("Library")


def test_a_damaged_library_is_said_in_the_view(make_panel: MakePanel, tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    folder.mkdir()
    (folder / "library.db").write_bytes(b"not a database at all" * 50)
    panel = make_panel(library=folder)
    open_library(panel)
    error = part(panel, "cw-library-error")
    assert shown(error, within=panel)
    assert "rebuild()" in text(panel, "cw-library-error")
    line, details = error.value.split('<details class="cw-details">')
    assert "rebuild()" not in line
    assert "rebuild()" in details
