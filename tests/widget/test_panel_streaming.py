"""Partial previews in the panel, over loopback: a tile shows partials, then the final image.

Nothing partial lands in ``images`` or the history; cancel works at any point; a gateway that
does not stream leaves the panel as it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from widget_parts import part, parts

from comet_widgets import ImageGenerator
from comet_widgets.testing import FakeAPI

KEY = "sk-panel-streaming"
Make = Callable[..., ImageGenerator]


@pytest.fixture
def make(loopback_panel: Make) -> Make:
    def build(**traits: Any) -> ImageGenerator:
        traits.setdefault("prompt", "a lighthouse in a storm")
        return loopback_panel(api_key=KEY, **traits)

    return build


def _partial_shown(panel: ImageGenerator, before: list[bytes]) -> bool:
    """A thumbnail is on show, and it is not one of ``before`` (a partial preview came)."""
    now = [bytes(t.value) for t in parts(panel, "cw-thumb", visible=True)]
    return bool(now) and now != before


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(0.01)


def test_partial_images_follow_the_model_and_the_control_says_what_they_cost(make: Make) -> None:
    panel = make(model="dall-e-3")
    control = part(panel, "cw-partial-images")
    hint = part(panel, "cw-partials-hint")
    assert panel.partial_images == 0
    panel.model = "gpt-image-2"
    assert panel.partial_images == 2
    assert control.value == 2
    assert "output tokens" in hint.value
    control.value = 3
    assert panel.partial_images == 3
    panel.output_format = "gif"
    assert panel.partial_images == 0  # gif results cannot stream
    panel.output_format = None
    panel.model = "qwen-image"
    assert panel.partial_images == 0
    assert make(model="gpt-image-2", partial_images=1).partial_images == 1


def test_a_tile_shows_the_latest_partial_then_the_final_image(make: Make, fake: FakeAPI) -> None:
    fake.stream_interval = 0.3
    panel = make(model="gpt-image-2")
    shown: list[tuple[str, bytes]] = []
    landed: list[Any] = []
    panel.observe(landed.append, names="images")
    pending = panel.generate()
    wait_until(lambda: bool(parts(panel, "cw-thumb")) and bool(parts(panel, "cw-thumb")[0].value))
    shown.append((panel.status, bytes(parts(panel, "cw-thumb")[0].value)))
    generation = pending.result(20)
    assert shown[0][0] == "running"
    assert landed
    assert len(panel.images) == 1
    assert len(panel.history) == 1
    assert panel.history[-1] is generation
    [thumb] = parts(panel, "cw-thumb", visible=True)
    assert bytes(thumb.value) != shown[0][1]  # the final thumbnail replaced the partial
    request = [r for r in fake.requests if r.json][-1]
    assert request.json["partial_images"] == 2
    assert panel.status == "done"


def test_cancel_during_a_stream_lands_nothing_and_restores_the_gallery(
    make: Make, fake: FakeAPI
) -> None:
    panel = make(model="gpt-image-2", partial_images=3)
    panel.generate().result(20)  # one finished generation on show
    before = [bytes(t.value) for t in parts(panel, "cw-thumb", visible=True)]
    fake.stream_interval = 0.4
    panel.generate()
    wait_until(lambda: _partial_shown(panel, before))
    panel.cancel()
    wait_until(lambda: panel.status == "cancelled")
    assert len(panel.history) == 1
    assert len(panel.images) == 1
    wait_until(lambda: fake.in_flight == 0, timeout=5)
    after = [bytes(t.value) for t in parts(panel, "cw-thumb", visible=True)]
    assert after == before  # the partial preview is gone
    fake.stream_interval = 0.0
    panel.generate().result(20)
    assert len(panel.history) == 2


def test_a_gateway_that_does_not_stream_leaves_the_panel_as_today(
    make: Make, fake: FakeAPI
) -> None:
    fake.stream_relay = False
    panel = make(model="gpt-image-2")
    generation = panel.generate().result(20)
    assert panel.status == "done"
    assert generation.ok
    assert len(panel.images) == 1
    assert len(panel.history) == 1


def test_a_panel_batch_shows_each_items_partials_in_its_own_tile(make: Make, fake: FakeAPI) -> None:
    """A batch streams as a single run does (its requests ask for partials, so they are paid
    for): each item's previews go to that item's tile, then its final image replaces them."""
    panel = make(model="gpt-image-2", n=1)
    fake.stream_interval = 0.3
    pending = panel.generate_many(["a red fox", "a blue whale", "a green frog"])
    wait_until(lambda: len(parts(panel, "cw-tile-partial", visible=True)) >= 2)
    partial = [bytes(t.value) for t in parts(panel, "cw-thumb", visible=True)]
    assert len(partial) >= 2
    assert panel.history == []  # nothing partial lands
    results = pending.result(30)
    assert len(results.succeeded) == 3
    requests = [r for r in fake.requests if r.json and r.path.endswith("/generations")]
    assert len(requests) == 3
    assert all(r.json["stream"] is True and r.json["partial_images"] == 2 for r in requests)
    tiles = parts(panel, "cw-tile", visible=True)
    assert [("cw-tile-image" in t._dom_classes) for t in tiles] == [True, True, True]
    final = [bytes(t.value) for t in parts(panel, "cw-thumb", visible=True)]
    assert not set(final) & set(partial)  # every tile ended with its final image
    fake.stream_interval = 0.0


def test_an_edit_batch_streams_like_a_single_edit(make: Make, fake: FakeAPI) -> None:
    from PIL import Image

    panel = make(model="gpt-image-2", n=1)
    panel.inputs = [Image.new("RGB", (1024, 1024), (200, 30, 30))]
    wait_until(lambda: panel.mode == "edit")
    fake.stream_interval = 0.3
    pending = panel.generate_many(["make it winter", "make it night"])
    wait_until(lambda: len(parts(panel, "cw-tile-partial", visible=True)) >= 1)
    assert panel.history == []
    results = pending.result(30)
    assert len(results.succeeded) == 2
    edits = [r for r in fake.requests if r.path.endswith("/images/edits")]
    assert len(edits) == 2
    for request in edits:
        fields = {p.name: p.value for p in request.form if p.filename is None}
        assert (fields["stream"], fields["partial_images"]) == ("true", "2")
    tiles = parts(panel, "cw-tile", visible=True)
    assert all("cw-tile-image" in t._dom_classes for t in tiles)
    fake.stream_interval = 0.0
