"""Generating from the panel with no kernel: clicks, traits, gallery, history, errors, cancel."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pytest
from PIL import Image

from comet_widgets import (
    AuthenticationError,
    Generation,
    ImageGenerator,
    ModelUnavailableError,
    read_metadata,
)
from comet_widgets.testing import FakeAPI
from comet_widgets.testing._bodies import REVISION

MakePanel = Callable[..., ImageGenerator]
WaitUntil = Callable[..., float]

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def generation_requests(app: FakeAPI) -> list[Any]:
    """The generation requests the fake received (a panel also lists the key's models)."""
    return [r for r in app.requests if r.path.endswith("/generations")]


def visible_tiles(panel: ImageGenerator) -> list[Any]:
    return [tile for tile in panel._gallery.tiles if tile.box.layout.display != "none"]


def thumbnail(tile: Any) -> Image.Image:
    data = bytes(tile.thumb.value)
    assert data.startswith(JPEG_MAGIC if tile.thumb.format == "jpeg" else PNG_MAGIC)
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def shown(widget: widgets.Widget) -> bool:
    return widget.layout.display != "none"


async def test_a_click_returns_at_once_and_the_images_land(
    make_panel: MakePanel, app: FakeAPI
) -> None:
    panel = make_panel(prompt="A paper boat", model="dall-e-2", n=2, size="1024x1024")
    landed: list[list[Image.Image]] = []
    panel.observe(lambda change: landed.append(change["new"]), names="images")
    app.latency = 0.3

    started = time.monotonic()
    panel._controls.generate.click()
    assert time.monotonic() - started < 0.25, "the click handler must only schedule the work"
    assert panel.status == "running"
    assert shown(panel._controls.cancel)
    assert not shown(panel._controls.generate)

    result = await panel.wait()
    assert isinstance(result, Generation)
    assert panel.status == "done"
    assert panel.error == ""
    assert panel.generation is result
    assert panel.history == [result]
    assert len(panel.images) == 2
    assert landed == [panel.images]
    assert all(isinstance(i, Image.Image) and i.size == (1024, 1024) for i in panel.images)
    assert panel._view.status.value == "done: 2 images"
    assert shown(panel._controls.generate)
    assert not shown(panel._controls.cancel)
    assert app.generation_count == 1

    tiles = visible_tiles(panel)
    assert len(tiles) == 2
    assert shown(panel._gallery.box)
    for tile in tiles:
        thumb = thumbnail(tile)
        assert max(thumb.size) <= 512
        assert tile.thumb.format == "jpeg"
        assert len(tile.thumb.value) < 60_000
        assert "A paper boat" in tile.caption.value
        assert "dall-e-2 · 1024x1024" in tile.caption.value


async def test_generate_from_code_is_awaitable_and_always_notifies(make_panel: MakePanel) -> None:
    panel = make_panel(prompt="A lighthouse at dusk", model="dall-e-2")
    counts: list[int] = []
    panel.observe(lambda change: counts.append(len(change["new"])), names="images")
    first = await panel.generate()
    second = await panel.generate()  # the fake draws the same pixels again: still notifies
    assert counts == [1, 1]
    assert panel.history == [first, second]
    assert panel.generation is second
    assert panel.images[0] is second.images[0].image
    assert repr(panel) == "<ImageGenerator model='dall-e-2' status='done' 2 generations>"


async def test_observers_see_a_consistent_panel(make_panel: MakePanel) -> None:
    panel = make_panel(prompt="A kite", model="dall-e-2", n=2)
    seen: list[tuple[Any, ...]] = []

    def on_images(change: Any) -> None:
        generation = panel.generation
        seen.append((len(panel.history), generation is not None, panel.status, len(change.new)))
        if len(seen) == 1:  # chain one more generation, from the panel's own thread, where
            with pytest.raises(RuntimeError, match="forever"):  # blocking could never end
                panel.generate().result()

    panel.observe(on_images, names="images")
    await panel.generate()
    await panel.wait()  # the generation the observer started
    assert seen == [(1, True, "done", 2), (2, True, "done", 2)]
    assert len(panel.history) == 2


def test_generate_works_from_plain_code_without_a_loop(make_panel: MakePanel) -> None:
    panel = make_panel(prompt="A kite", model="dall-e-2")
    pending = panel.generate()
    generation = pending.result(timeout=10)
    assert pending.done()
    assert "done" in repr(pending)
    assert panel.generation is generation


async def test_caption_shows_the_revised_prompt(make_panel: MakePanel) -> None:
    panel = make_panel(prompt="A paper boat", model="dall-e-3")
    await panel.generate()
    [tile] = visible_tiles(panel)
    assert f"A paper boat{REVISION}" in tile.caption.value


async def test_usage_is_shown_for_gpt_image_models(make_panel: MakePanel) -> None:
    panel = make_panel(prompt="A bicycle", model="gpt-image-1", quality="low")
    await panel.generate()
    assert shown(panel._gallery.usage)
    assert "tokens" in panel._gallery.usage.value
    assert "total tokens" in panel._gallery.usage.value
    panel.model = "dall-e-2"
    await panel.generate()
    assert not shown(panel._gallery.usage)


async def test_a_transparent_image_gets_a_png_thumbnail(make_panel: MakePanel) -> None:
    panel = make_panel(prompt="A logo", model="gpt-image-1")
    panel.background = "transparent"
    panel.output_format = "png"
    await panel.generate()
    [tile] = visible_tiles(panel)
    assert tile.thumb.format == "png"
    assert thumbnail(tile).mode == "RGBA"


async def test_an_auth_error_is_readable_and_the_panel_stays_usable(
    make_panel: MakePanel, app: FakeAPI, secret_key: str
) -> None:
    panel = make_panel(prompt="A cat", model="dall-e-2")
    app.fail_next(1, 401)
    panel._controls.generate.click()
    assert await panel.wait() is None
    [request] = generation_requests(app)
    assert panel.status == "error"
    assert "HTTP 401" in panel.error
    assert request.request_id in panel.error
    assert "What to do" in panel.error
    assert "COMETAPI_KEY" in panel.error
    assert shown(panel._view.error)
    assert request.request_id in panel._view.error.value
    assert secret_key not in panel.error
    assert panel.history == []
    assert panel.images == []
    app.fail_next(1, 401)
    with pytest.raises(AuthenticationError):
        await panel.generate()

    await panel.generate()  # usable right after
    assert panel.status == "done"
    assert panel.error == ""
    assert not shown(panel._view.error)


async def test_an_error_message_is_escaped(make_panel: MakePanel, app: FakeAPI) -> None:
    panel = make_panel(prompt="A cat", model="dall-e-2")
    app.fail_next(1, 400, message="<img src=x onerror=alert(1)> refused")
    panel._controls.generate.click()
    await panel.wait()
    assert "<img src=x" in panel.error
    assert "&lt;img src=x onerror=alert(1)&gt;" in panel._view.error.value
    assert "<img" not in panel._view.error.value


async def test_a_rate_limit_is_shown_then_retried(make_panel: MakePanel, app: FakeAPI) -> None:
    panel = make_panel(prompt="A dog", model="dall-e-2")
    statuses: list[str] = []
    panel._view.status.observe(lambda change: statuses.append(change["new"]), names="value")
    app.fail_next(1, 429, headers={"Retry-After": "1"})
    panel._controls.generate.click()
    result = await panel.wait()
    assert result is not None
    assert panel.status == "done"
    limited = generation_requests(app)[0]
    note = f"rate limited by the API; retrying in 1 s (request id {limited.request_id})"
    assert f"running: {note}" in statuses
    assert panel._view.status.value.startswith("done: 1 image after 1 retry")
    assert [r.status for r in app.requests if r.path.endswith("/generations")] == [429, 200]


async def test_an_unavailable_model_says_to_pick_another(
    make_panel: MakePanel, app: FakeAPI
) -> None:
    panel = make_panel(prompt="A cat", model="qwen-image")
    app.fail_next(1, 503)
    with pytest.raises(ModelUnavailableError):
        await panel.generate()
    assert panel.status == "error"
    assert "pick another model" in panel.error
    assert generation_requests(app)[0].request_id in panel.error
    assert app.generation_count == 1, "an unavailable model is not retried"


async def test_a_partial_result_lands_with_an_error_tile(
    make_panel: MakePanel, app: FakeAPI
) -> None:
    panel = make_panel(prompt="Three boats", model="dall-e-2", n=3, response_format="url")
    app.expire_urls([1])
    result = await panel.generate()
    assert panel.status == "done"
    assert panel.generation is result
    assert len(panel.images) == 2
    assert panel.error.startswith("1 of 3 images failed")
    tiles = visible_tiles(panel)
    assert len(tiles) == 3
    assert shown(tiles[1].failure)
    assert not shown(tiles[1].thumb)
    assert "image 1 failed" in tiles[1].failure.value
    assert tiles[1].save.disabled
    assert shown(tiles[0].thumb)
    assert shown(tiles[2].thumb)


async def test_an_answer_with_no_usable_image_is_an_error(
    make_panel: MakePanel, app: FakeAPI
) -> None:
    panel = make_panel(prompt="A cat", model="dall-e-2", response_format="b64_json")
    app.malform_next("bad_base64")
    panel._controls.generate.click()
    await panel.wait()
    assert panel.status == "error"
    assert "base64" in panel.error
    assert panel.history == []
    assert panel.images == []


async def test_cancel_is_quick_and_nothing_lands(
    make_panel: MakePanel, app: FakeAPI, wait_until: WaitUntil
) -> None:
    panel = make_panel(prompt="A slow sunrise", model="dall-e-2")
    ticks: list[str] = []
    panel._view.elapsed.observe(lambda change: ticks.append(change["new"]), names="value")
    landed: list[Any] = []
    panel.observe(landed.append, names="images")
    app.latency = 5.0
    panel._controls.generate.click()
    wait_until(lambda: app.in_flight == 1)
    await asyncio.sleep(0.6)  # long enough for the elapsed ticker to tick
    panel._controls.cancel.click()
    took = wait_until(lambda: panel.status == "cancelled", timeout=1.0)
    assert took < 1.0
    assert await panel.wait() is None
    wait_until(lambda: app.in_flight == 0, timeout=2.0)
    assert generation_requests(app)[0].status is None, "the request was abandoned, not answered"
    assert landed == []
    assert panel.history == []
    assert panel.images == []
    assert panel._view.status.value == "cancelled"
    assert panel.error == ""
    assert shown(panel._controls.generate)
    assert not shown(panel._controls.cancel)
    assert len(ticks) >= 2
    assert ticks[0] == "0.0 s"

    app.latency = 0.0
    await panel.generate()
    assert panel.status == "done"
    assert len(panel.history) == 1


async def test_a_new_generation_starts_right_after_cancel_and_the_old_never_lands(
    make_panel: MakePanel, app: FakeAPI, wait_until: WaitUntil
) -> None:
    panel = make_panel(prompt="A slow sunrise", model="dall-e-2")
    app.latency = 1.0
    first = panel.generate()
    wait_until(lambda: app.in_flight == 1)
    panel.cancel()
    assert panel.status == "cancelled"
    assert not panel.running
    panel.prompt = "A quick sunset"
    second = panel.generate()  # at once: no "already running"
    with pytest.raises(asyncio.CancelledError):
        await first
    generation = await second
    assert generation.prompt == "A quick sunset"
    await asyncio.sleep(1.2)  # the old request's answer, had it not been dropped, is back by now
    assert [g.prompt for g in panel.history] == ["A quick sunset"]
    assert panel.status == "done"


async def test_cancelling_the_awaitable_cancels_the_generation(
    make_panel: MakePanel, app: FakeAPI, wait_until: WaitUntil
) -> None:
    panel = make_panel(prompt="A slow sunrise", model="dall-e-2")
    app.latency = 5.0
    pending = panel.generate()
    with pytest.raises(RuntimeError, match="already running"):
        panel.generate()
    wait_until(lambda: app.in_flight == 1)
    assert pending.cancel()
    wait_until(lambda: panel.status == "cancelled", timeout=1.0)
    with pytest.raises(asyncio.CancelledError):
        await pending
    assert panel.history == []


async def test_choosing_history_restores_prompt_params_and_images(make_panel: MakePanel) -> None:
    panel = make_panel(prompt="A red kite", model="dall-e-2", n=2, size="512x512")
    first = await panel.generate()
    first_thumbs = [bytes(t.thumb.value) for t in visible_tiles(panel)]
    panel.model = "gpt-image-1"
    panel.prompt = "A blue bicycle against a wall"
    panel.quality = "high"
    second = await panel.generate()
    dropdown = panel._history_view.dropdown
    labels = [label for label, _ in dropdown.options]
    assert len(labels) == 2
    assert dropdown.value == 1
    assert shown(dropdown)
    assert labels[0].endswith(" · dall-e-2 · A red kite")
    assert labels[1].endswith(" · gpt-image-1 · A blue bicycle against a wall")

    dropdown.value = 0
    assert (panel.prompt, panel.model, panel.n, panel.size) == (
        "A red kite",
        "dall-e-2",
        2,
        "512x512",
    )
    assert panel.quality is None
    assert panel._controls.prompt.value == "A red kite"
    assert [bytes(t.thumb.value) for t in visible_tiles(panel)] == first_thumbs
    assert panel.generation is second
    assert panel.images[0] is second.images[0].image
    assert not shown(panel._gallery.usage)
    assert panel._view.status.value == "showing #1 of 2: 2 images"

    dropdown.value = 1
    assert (panel.model, panel.quality, panel.n) == ("gpt-image-1", "high", 2)
    assert len(visible_tiles(panel)) == 2
    assert shown(panel._gallery.usage)
    assert panel.history == [first, second]


def test_save_writes_the_original_with_metadata(make_panel: MakePanel, output_dir: Path) -> None:
    panel = make_panel(prompt="A paper boat", model="dall-e-2")
    generation = panel.generate().result(timeout=10)
    [tile] = visible_tiles(panel)
    tile.save.click()
    [path] = list(output_dir.iterdir())
    assert path.read_bytes().startswith(PNG_MAGIC)
    assert read_metadata(path)["prompt"] == "A paper boat"
    assert str(path) in tile.saved.value
    with Image.open(path) as saved:
        assert saved.size == generation.images[0].image.size


async def test_full_size_is_sent_only_on_request(make_panel: MakePanel) -> None:
    panel = make_panel(prompt="A paper boat", model="dall-e-2")
    generation = await panel.generate()
    full = panel._gallery.full_view
    assert not shown(full.box)
    assert full.image.value == b""
    [tile] = visible_tiles(panel)
    tile.full.click()
    assert shown(full.box)
    assert bytes(full.image.value) == generation.images[0].data
    full.close.click()
    assert not shown(full.box)
    assert full.image.value == b""


async def test_the_mimebundle_has_a_static_contact_sheet(make_panel: MakePanel) -> None:
    panel = make_panel(prompt="Four boats", model="dall-e-2", n=4)
    before = panel._repr_mimebundle_()
    assert before is not None
    assert "image/png" not in before
    await panel.generate()
    bundle = panel._repr_mimebundle_()
    assert bundle is not None
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == panel.model_id
    assert bundle["text/plain"] == repr(panel)
    sheet = Image.open(io.BytesIO(bundle["image/png"]))
    assert sheet.format == "PNG"
    assert sheet.width <= 4 * 160 + 3 * 4
    assert sheet.height <= 160


async def test_no_synced_state_holds_the_key_after_generating(
    make_panel: MakePanel, secret_key: str, app: FakeAPI, descendants: Any
) -> None:
    panel = make_panel(prompt="A key under a doormat", model="dall-e-2", n=2)
    await panel.generate()
    app.fail_next(1, 401)
    await panel.wait()
    with pytest.raises(AuthenticationError):
        await panel.generate()
    assert generation_requests(app)[0].auth_ok, "the key did reach the API"
    for widget in descendants(panel):
        text = json.dumps(widget.get_state(), default=lambda b: bytes(b).decode("latin-1"))
        assert secret_key not in text
    assert secret_key not in repr(panel)
    assert secret_key not in panel.error


async def test_offline_mode_generates_placeholders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMETAPI_KEY", raising=False)
    panel = ImageGenerator(offline=True, prompt="A paper boat", model="dall-e-2", n=2)
    try:
        result = await panel.generate()
        assert panel.status == "done"
        assert len(panel.images) == 2
        assert result.request_id
        assert result.request_id.startswith("fake-")
    finally:
        panel.close()
