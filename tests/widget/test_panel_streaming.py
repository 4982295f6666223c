"""Partial previews in the panel, over loopback: a tile shows partials, then the final image.

Previews are opt-in. Nothing partial lands in ``images`` or the history; cancel works at any
point; on a gateway that does not stream the model (a 400 refusing ``stream``, or a plain JSON
answer) the images land all the same and the panel says once that previews are off.
"""

from __future__ import annotations

import asyncio
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


def test_partial_images_are_opt_in_and_the_control_says_what_they_cost(make: Make) -> None:
    assert make().partial_images == 0  # the default model streams: still off
    panel = make(model="dall-e-3")
    control = part(panel, "cw-partial-images")
    hint = part(panel, "cw-partials-hint")
    assert panel.partial_images == 0
    panel.model = "gpt-image-2"
    assert panel.partial_images == 0
    assert control.value == 0
    assert "Off by default" in hint.value
    assert "about 100 output image tokens" in hint.value
    assert "double the cost of a low-quality gpt-image-2 image" in hint.value
    control.value = 3
    assert panel.partial_images == 3
    panel.output_format = "gif"
    assert panel.partial_images == 0  # gif results cannot stream
    panel.output_format = None
    control.value = 2
    panel.model = "gpt-image-1.5"
    assert panel.partial_images == 2  # kept: that model streams too
    panel.model = "qwen-image"
    assert panel.partial_images == 0
    assert make(model="gpt-image-2", partial_images=1).partial_images == 1


@pytest.mark.slow
def test_a_tile_shows_the_latest_partial_then_the_final_image(make: Make, fake: FakeAPI) -> None:
    fake.stream_interval = 0.3
    panel = make(model="gpt-image-2", partial_images=2)
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


def test_an_image_completed_before_a_stream_failed_is_shown_and_the_rest_says_why(
    make: Make, fake: FakeAPI
) -> None:
    """The stream sends image 1 (a partial, then completed), then an error event: image 1 is
    paid for, so it lands in its tile, the history and ``images``; tile 2 shows the error."""
    fake.break_stream_next("error", after=2, message="upstream failed on image 2")
    panel = make(model="gpt-image-2", n=2, partial_images=1)
    generation = panel.generate().result(20)
    assert panel.status == "done"
    assert len(panel.images) == 1
    assert panel.history == [generation]
    assert [image.ok for image in generation.images] == [True, False]
    [thumb] = parts(panel, "cw-thumb", visible=True)
    assert bytes(thumb.value)
    [failed] = parts(panel, "cw-image-error", visible=True)
    assert "upstream failed on image 2" in str(failed.value)
    assert "image 2 failed" in panel.error
    assert panel.spent_usd == pytest.approx(generation.cost.usd)
    assert fake.generation_count == 1


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_panel_batch_shows_each_items_partials_in_its_own_tile(make: Make, fake: FakeAPI) -> None:
    """A batch streams as a single run does (its requests ask for partials, so they are paid
    for): each item's previews go to that item's tile, then its final image replaces them."""
    panel = make(model="gpt-image-2", n=1, partial_images=2)
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


@pytest.mark.slow
def test_an_edit_batch_streams_like_a_single_edit(make: Make, fake: FakeAPI) -> None:
    from PIL import Image

    panel = make(model="gpt-image-2", n=1, partial_images=2)
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


# -- a gateway that does not stream (CometAPI's gpt-image-2 page: "Streaming: Not supported") --

NOTICE = "Previews are off for gpt-image-2: this gateway sends its images whole"


def _notice(panel: ImageGenerator) -> str | None:
    """The stream notice's text when it is on show, else None."""
    shown = parts(panel, "cw-stream-notice", visible=True)
    return str(shown[0].value) if shown else None


def _asked(fake: FakeAPI) -> list[bool]:
    """For each generation or edit request the fake received: did it ask to stream?"""
    asked = []
    for request in fake.requests:
        if request.path.endswith("/images/edits"):
            asked.append(any(p.name == "stream" for p in request.form or []))
        elif request.path.endswith("/images/generations"):
            asked.append(bool(request.json.get("stream")))
    return asked


@pytest.mark.parametrize("refusal", ["comet", "openai", "plain JSON"])
async def test_a_gateway_that_does_not_stream_lands_images_and_says_so_once(
    make: Make, fake: FakeAPI, refusal: str
) -> None:
    if refusal == "plain JSON":
        fake.stream_relay = False
    else:
        fake.stream_refusal = refusal  # type: ignore[assignment]
    panel = make()
    # The default click asks for no previews: it lands, and there is nothing to say.
    # Until the run is over: its history entry, status and notice are written one by one.
    part(panel, "cw-generate").click()
    await asyncio.wait_for(panel.wait(), 20)
    assert panel.status == "done"
    assert len(panel.images) == 1
    assert _asked(fake) == [False]
    assert _notice(panel) is None
    # Previews on: refused (or answered whole), the images land all the same, said once.
    panel.partial_images = 2
    part(panel, "cw-generate").click()
    await asyncio.wait_for(panel.wait(), 20)
    assert len(panel.history) == 2
    assert panel.status == "done"
    assert panel.error == ""
    assert len(panel.images) == 1
    assert panel.generation is not None
    assert panel.generation.streamed is False
    assert _asked(fake) == ([False, True, False] if refusal != "plain JSON" else [False, True])
    notice = _notice(panel)
    assert notice is not None
    assert NOTICE in notice
    # The only message box on show: a quiet notice, not an error.
    assert parts(panel, "cw-message", visible=True) == parts(panel, "cw-stream-notice")
    # The next run of the model does not ask to stream, and the notice is not repeated.
    requests = len(fake.requests)
    generation = panel.generate().result(20)
    assert generation.ok
    assert _asked(fake)[-1] is False
    assert len(fake.requests) == requests + 1
    assert _notice(panel) is None


def test_an_edit_and_a_batch_with_previews_land_from_a_gateway_that_refuses_streams(
    make: Make, fake: FakeAPI
) -> None:
    from PIL import Image

    fake.stream_refusal = "comet"
    panel = make(model="gpt-image-2", n=1, partial_images=2)
    results = panel.generate_many(["a red fox", "a blue whale"]).result(30)
    assert len(results.succeeded) == 2
    assert all(item.generation.streamed is False for item in results.succeeded)
    notice = _notice(panel)
    assert notice is not None
    assert NOTICE in notice
    assert sum(_asked(fake)) <= 2  # at most the two first requests asked, before it was known
    panel.inputs = [Image.new("RGB", (1024, 1024), (200, 30, 30))]
    edited = panel.edit().result(30)
    assert edited.ok
    assert edited.streamed is False
    assert _asked(fake)[-1] is False  # known since the batch: the edit does not ask
    assert _notice(panel) is None  # said once


def test_a_panel_edit_is_the_run_that_finds_out(make: Make, fake: FakeAPI) -> None:
    from PIL import Image

    fake.stream_refusal = "openai"
    panel = make(model="gpt-image-2", n=1, partial_images=2)
    panel.inputs = [Image.new("RGB", (1024, 1024), (200, 30, 30))]
    edited = panel.edit().result(30)
    assert edited.ok
    assert _asked(fake) == [True, False]
    notice = _notice(panel)
    assert notice is not None
    assert NOTICE in notice
