"""The panel's batch entry point: ``ImageGenerator.generate_many``."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from widget_parts import part, parts

from comet_widgets import BatchResults, ImageGenerator, InvalidItemError
from comet_widgets.batch._prompts import read_prompts
from comet_widgets.testing import FakeAPI

MakePanel = Callable[..., ImageGenerator]


async def test_a_batch_lands_every_item_in_gallery_and_history(
    make_panel: MakePanel, app: FakeAPI
) -> None:
    panel = make_panel(model="dall-e-2", size="256x256", n=1)
    landed: list[int] = []
    panel.observe(lambda change: landed.append(len(change["new"])), names="images")

    results = await panel.generate_many("a red fox\n\na blue whale\n  an owl  \n", concurrency=2)

    assert isinstance(results, BatchResults)
    assert [item.prompt for item in results] == ["a red fox", "a blue whale", "an owl"]
    assert len(results.succeeded) == 3
    assert results.ok is True
    assert app.generation_count == 3
    # The panel's parameters were the defaults of every item.
    assert {r.json["size"] for r in app.requests if r.json} == {"256x256"}
    assert sorted(g.prompt for g in panel.history) == ["a blue whale", "a red fox", "an owl"]
    assert landed == [1, 1, 1]
    assert panel.status == "done"
    assert part(panel, "cw-status").value == "Done: batch of 3 prompts, 3 done"
    assert len(parts(panel, "cw-history-item")) == 1  # one entry: the batch
    assert [g.prompt for g in panel.history] == ["a red fox", "a blue whale", "an owl"]
    assert len(parts(panel, "cw-tile", visible=True)) == 3


async def test_a_batch_with_an_invalid_item_sends_nothing_and_shows_why(
    make_panel: MakePanel, app: FakeAPI
) -> None:
    panel = make_panel(model="dall-e-3")
    with pytest.raises(InvalidItemError) as caught:
        await panel.generate_many(["a fox", {"prompt": "a whale", "size": "800x600"}])
    assert caught.value.index == 1
    assert app.generation_count == 0
    assert panel.status == "error"
    assert "800x600" in panel.error
    assert "item 1" in panel.error
    assert panel.history == []
    # The panel is usable right after.
    panel.prompt = "a fox"
    assert (await panel.generate()).prompt == "a fox"


async def test_a_failed_item_is_reported_and_the_others_land(
    make_panel: MakePanel, app: FakeAPI
) -> None:
    panel = make_panel(model="dall-e-2", size="256x256")
    app.fail_next(1, 400, message="bad prompt")
    results = await panel.generate_many(["one", "two", "three"], concurrency=1)
    assert len(results.failed) == 1
    assert len(panel.history) == 2
    assert panel.status == "done"
    assert panel.error.startswith(
        "1 of 3 prompts failed; first: prompt 1: "
    )  # as BatchError words it
    assert "bad prompt" in panel.error


async def test_cancelling_a_batch_keeps_finished_items_only(
    make_panel: MakePanel, app: FakeAPI
) -> None:
    panel = make_panel(model="dall-e-2", size="256x256")
    app.latency = 0.2
    first_landed = threading.Event()
    panel.observe(lambda _change: first_landed.set(), names="history")
    pending = panel.generate_many([f"prompt {i}" for i in range(20)], concurrency=1)
    assert await asyncio.to_thread(first_landed.wait, 10)
    panel.cancel()
    with pytest.raises(asyncio.CancelledError):
        await pending
    assert panel.status == "cancelled"
    kept = len(panel.history)
    assert 1 <= kept < 20
    assert all(g.ok for g in panel.history)
    # Usable right after.
    panel.prompt = "after"
    app.latency = 0
    assert (await panel.generate()).prompt == "after"
    assert len(panel.history) == kept + 1


@pytest.mark.slow
async def test_a_busy_panel_refuses_a_batch(make_panel: MakePanel, app: FakeAPI) -> None:
    panel = make_panel(prompt="slow", model="dall-e-2", size="256x256")
    app.latency = 0.5
    pending = panel.generate()
    with pytest.raises(RuntimeError, match="already running"):
        panel.generate_many(["x"])
    await pending


async def test_the_panels_batch_text_reads_like_a_txt_prompt_file(
    make_panel: MakePanel, app: FakeAPI, tmp_path: Path
) -> None:
    # One reading of "one prompt per line": '#' lines are comments in both (they were prompts
    # in the panel).
    text = "# my list\na red fox\n\n  # skipped too\nan owl\n"
    (tmp_path / "prompts.txt").write_text(text)
    panel = make_panel(model="dall-e-2", size="256x256", n=1)
    results = await panel.generate_many(text)
    in_file = read_prompts(tmp_path / "prompts.txt").items
    assert [item.prompt for item in results] == in_file == ["a red fox", "an owl"]
    assert app.generation_count == 2
