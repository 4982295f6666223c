"""A long session stays light: what one more run costs the page and the memory does not grow
with the session (issue 21, item 5)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable

import pytest
from widget_parts import part, parts

from bench._traffic import WidgetTraffic
from comet_widgets import ImageGenerator
from comet_widgets._constants import DECODED_CACHE_SIZE
from comet_widgets.images._results import decoded_cache

MakePanel = Callable[..., ImageGenerator]


@pytest.mark.slow
async def test_one_more_run_costs_the_page_the_same_however_long_the_session(
    make_panel: MakePanel,
) -> None:
    """The history strip gets the new run's card; the cards already shown are not re-sent
    (they used to be refilled, each shifted by one: two or three messages per card per run)."""
    panel = make_panel(prompt="A kite", n=4, partial_images=0)
    sent: list[tuple[int, int]] = []
    for number in range(20):
        panel.prompt = f"A kite, take {number}"
        with WidgetTraffic() as traffic:
            await panel.generate()
        assert panel.status == "done"
        # Not the elapsed time's ticks (twice a second: as many as the machine made it last).
        ticking = parts(panel, "cw-elapsed") + parts(panel, "cw-placeholder")
        sent.append(traffic.besides(ticking))
    assert len(parts(panel, "cw-history-item")) == 20
    # Every run after the first sends as many messages (the first builds the strip).
    assert len({m for m, _ in sent[1:]}) == 1, sent
    # The strip's list of children grows by one id per run: a few dozen bytes (the images'
    # own bytes differ from prompt to prompt).
    early, late = sent[1:4], sent[-3:]
    assert min(b for _, b in late) <= 1.1 * min(b for _, b in early), sent


@pytest.mark.slow
async def test_history_keeps_no_decoded_image_beyond_the_cache(make_panel: MakePanel) -> None:
    panel = make_panel(prompt="A lighthouse", n=4, partial_images=0)
    first = await panel.generate()
    decoded = [weakref.ref(image) for image in panel.images]
    assert len(decoded) == 4
    runs = DECODED_CACHE_SIZE // 4 + 1  # enough four-image runs to push the first out
    for number in range(runs):
        panel.prompt = f"A lighthouse, take {number}"
        await panel.generate()
    gc.collect()
    assert [ref() for ref in decoded] == [None] * 4, "a decoded image outlived the cache"
    assert len(decoded_cache) <= DECODED_CACHE_SIZE
    assert panel.history[0] is first
    # The first run's images decode again on access, and its card still restores it.
    again = first.images[1].image
    assert again.size == (first.images[1].width, first.images[1].height)
    cards = parts(panel, "cw-history-item")
    part(cards[-1], "cw-history-pick").click()
    assert panel.prompt == "A lighthouse"


@pytest.mark.slow
async def test_a_batch_keeps_no_decoded_image_beyond_the_cache(make_panel: MakePanel) -> None:
    panel = make_panel(n=4, partial_images=0)
    shown: list[weakref.ref[object]] = []
    panel.observe(lambda change: shown.extend(map(weakref.ref, change.new)), names="images")
    prompts = [f"A harbour at dawn, take {number}" for number in range(DECODED_CACHE_SIZE // 4 + 1)]
    results = await panel.generate_many(prompts)
    assert len(results.succeeded) == len(prompts)
    assert len(shown) == 4 * len(prompts)
    gc.collect()
    alive = sum(ref() is not None for ref in shown)
    assert alive <= DECODED_CACHE_SIZE, f"{alive} decoded images outlived the cache"
    first = panel.history[0].images[0]
    assert first.image.size == (first.width, first.height)
