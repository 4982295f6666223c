"""Generating from the panel with no kernel: clicks, traits, gallery, history, errors, cancel."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import ipywidgets as widgets
import pytest
from PIL import Image
from widget_parts import descendants, part, parts, shown, text

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
    """The gallery's visible tiles, each with its parts found by their CSS classes."""
    return [
        SimpleNamespace(
            box=box,
            thumb=part(box, "cw-thumb"),
            failure=part(box, "cw-image-error"),
            caption=part(box, "cw-caption"),
            full=part(box, "cw-full-size"),
            save=part(box, "cw-save"),
            saved=part(box, "cw-saved"),
        )
        for box in parts(panel, "cw-tile", visible=True)
    ]


def thumbnail(tile: Any) -> Image.Image:
    data = bytes(tile.thumb.value)
    assert data.startswith(JPEG_MAGIC if tile.thumb.format == "jpeg" else PNG_MAGIC)
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


async def test_a_click_returns_at_once_and_the_images_land(
    make_panel: MakePanel, app: FakeAPI
) -> None:
    panel = make_panel(prompt="A paper boat", model="dall-e-2", n=2, size="1024x1024")
    landed: list[list[Image.Image]] = []
    panel.observe(lambda change: landed.append(change["new"]), names="images")
    app.latency = 0.3

    part(panel, "cw-generate").click()
    # The click only scheduled the work: it returned before the fake (0.3 s late) answered.
    assert panel.images == [], "the click handler waited for the answer"
    assert panel.generation is None
    assert panel.status == "running"
    assert shown(part(panel, "cw-cancel"))
    assert not shown(part(panel, "cw-generate"))

    result = await panel.wait()
    assert isinstance(result, Generation)
    assert panel.status == "done"
    assert panel.error == ""
    assert panel.generation is result
    assert panel.history == [result]
    assert len(panel.images) == 2
    assert landed == [panel.images]
    assert all(isinstance(i, Image.Image) and i.size == (1024, 1024) for i in panel.images)
    assert part(panel, "cw-status").value == "Done: 2 images"
    assert shown(part(panel, "cw-generate"))
    assert not shown(part(panel, "cw-cancel"))
    assert app.generation_count == 1

    tiles = visible_tiles(panel)
    assert len(tiles) == 2
    assert shown(part(panel, "cw-gallery"))
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


async def test_planning_effort_and_moderation_are_sent_from_more_options(
    make_panel: MakePanel, app: FakeAPI
) -> None:
    panel = make_panel(prompt="A map of an imaginary city", partial_images=0)
    part(panel, "cw-complexity").value = "high"
    part(panel, "cw-moderation").value = "low"
    assert (panel.complexity, panel.moderation) == ("high", "low")
    assert "2 set" in part(panel, "cw-advanced-toggle").description
    await panel.generate()
    sent = generation_requests(app)[-1].json
    assert (sent["complexity"], sent["moderation"]) == ("high", "low")
    panel.model = "dall-e-2"  # takes neither: both go back to "not sent"
    assert (panel.complexity, panel.moderation) == (None, None)


async def test_caption_shows_the_revised_prompt(make_panel: MakePanel) -> None:
    panel = make_panel(prompt="A paper boat", model="dall-e-3")
    await panel.generate()
    [tile] = visible_tiles(panel)
    assert f"A paper boat{REVISION}" in tile.caption.value


async def test_usage_is_shown_for_gpt_image_models(make_panel: MakePanel) -> None:
    panel = make_panel(prompt="A bicycle", model="gpt-image-1", quality="low")
    await panel.generate()
    assert shown(part(panel, "cw-usage"))
    assert "tokens" in part(panel, "cw-usage").value
    assert "total tokens" in part(panel, "cw-usage").value
    panel.model = "dall-e-2"
    await panel.generate()
    assert "tokens" not in part(panel, "cw-usage").value


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
    part(panel, "cw-generate").click()
    assert await panel.wait() is None
    [request] = generation_requests(app)
    assert panel.status == "error"
    assert "HTTP 401" in panel.error
    assert request.request_id in panel.error
    assert "What to do" in panel.error
    assert "COMETAPI_KEY" in panel.error
    assert shown(part(panel, "cw-error"))
    assert request.request_id in part(panel, "cw-error").value
    assert secret_key not in panel.error
    assert panel.history == []
    assert panel.images == []
    app.fail_next(1, 401)
    with pytest.raises(AuthenticationError):
        await panel.generate()

    await panel.generate()  # usable right after
    assert panel.status == "done"
    assert panel.error == ""
    assert not shown(part(panel, "cw-error"))


async def test_an_error_message_is_escaped(make_panel: MakePanel, app: FakeAPI) -> None:
    panel = make_panel(prompt="A cat", model="dall-e-2")
    app.fail_next(1, 400, message="<img src=x onerror=alert(1)> refused")
    part(panel, "cw-generate").click()
    await panel.wait()
    assert "<img src=x" in panel.error
    assert "&lt;img src=x onerror=alert(1)&gt;" in part(panel, "cw-error").value
    assert "<img" not in part(panel, "cw-error").value


async def test_a_rate_limit_is_shown_then_retried(make_panel: MakePanel, app: FakeAPI) -> None:
    panel = make_panel(prompt="A dog", model="dall-e-2")
    statuses: list[str] = []
    part(panel, "cw-status").observe(lambda change: statuses.append(change["new"]), names="value")
    app.fail_next(1, 429, headers={"Retry-After": "1"})
    part(panel, "cw-generate").click()
    result = await panel.wait()
    assert result is not None
    assert panel.status == "done"
    # The wait is counted down on the status line, then the line says what happened.
    assert "Rate limited by the API: retrying in 1 s" in statuses
    assert part(panel, "cw-status").value == "Done: 1 image after 1 retry"
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
    assert panel.error.startswith("2 of 3 images; image 2 failed: ")
    assert part(panel, "cw-status").value == "Done: 2 of 3 images; image 2 failed"
    tiles = visible_tiles(panel)
    assert len(tiles) == 3
    assert shown(tiles[1].failure, within=panel)
    assert not shown(tiles[1].thumb, within=panel)
    assert "Image 2 of 3 failed" in tiles[1].failure.value
    assert tiles[1].save.disabled
    assert shown(tiles[0].thumb, within=panel)
    assert shown(tiles[2].thumb, within=panel)


async def test_an_answer_with_no_usable_image_is_an_error(
    make_panel: MakePanel, app: FakeAPI
) -> None:
    panel = make_panel(prompt="A cat", model="dall-e-2", response_format="b64_json")
    app.malform_next("bad_base64")
    part(panel, "cw-generate").click()
    await panel.wait()
    assert panel.status == "error"
    assert "base64" in panel.error
    assert panel.history == []
    assert panel.images == []


@pytest.mark.slow
async def test_cancel_is_quick_and_nothing_lands(
    make_panel: MakePanel, app: FakeAPI, wait_until: WaitUntil
) -> None:
    panel = make_panel(prompt="A slow sunrise", model="dall-e-2")
    ticks: list[str] = []
    part(panel, "cw-elapsed").observe(lambda change: ticks.append(change["new"]), names="value")
    landed: list[Any] = []
    panel.observe(landed.append, names="images")
    app.latency = 5.0
    part(panel, "cw-generate").click()
    wait_until(lambda: app.in_flight == 1)
    await asyncio.sleep(0.6)  # long enough for the elapsed ticker to tick
    part(panel, "cw-cancel").click()
    took = wait_until(lambda: panel.status == "cancelled", timeout=1.0)
    assert took < 1.0
    assert await panel.wait() is None
    wait_until(lambda: app.in_flight == 0, timeout=2.0)
    assert generation_requests(app)[0].status is None, "the request was abandoned, not answered"
    assert landed == []
    assert panel.history == []
    assert panel.images == []
    assert part(panel, "cw-status").value == "Cancelled"
    assert panel.error == ""
    assert shown(part(panel, "cw-generate"))
    assert not shown(part(panel, "cw-cancel"))
    assert len(ticks) >= 2
    assert ticks[0] == "0.0 s"

    app.latency = 0.0
    await panel.generate()
    assert panel.status == "done"
    assert len(panel.history) == 1


@pytest.mark.slow
async def test_a_rerun_redraws_each_tile_in_few_widget_messages(
    make_panel: MakePanel, app: FakeAPI, wait_until: WaitUntil, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each synced change is a message the page handles on its own: a tile's change of state
    is its state class (the stylesheet shows that state's parts) and at most its placeholder
    text, or its thumbnail, caption and state class; never one message per part."""
    panel = make_panel(prompt="Four kites over a beach", n=4, partial_images=0)
    await panel.generate()
    boxes = parts(panel, "cw-tile", visible=True)
    assert len(boxes) == 4
    owner = {id(w): box for box in boxes for w in descendants(box)}
    sent: dict[int, list[Any]] = {id(box): [] for box in boxes}
    send_state = widgets.Widget.send_state

    def counted(self: widgets.Widget, key: Any = None) -> None:
        if id(self) in owner:
            sent[id(owner[id(self)])].append((self._dom_classes, key))
        send_state(self, key)

    monkeypatch.setattr(widgets.Widget, "send_state", counted)
    app.latency = 2.0
    part(panel, "cw-generate").click()
    wait_until(lambda: len(parts(panel, "cw-placeholder", visible=True)) == 4)
    assert all(len(messages) <= 2 for messages in sent.values()), sent
    for messages in sent.values():
        messages.clear()
    app.latency = 0.0
    await panel.wait()
    assert panel.status == "done"
    assert len(parts(panel, "cw-thumb", visible=True)) == 4
    for messages in sent.values():  # the elapsed time ticked on the placeholders meanwhile
        messages[:] = [(css, key) for css, key in messages if "cw-placeholder" not in css]
    assert all(len(messages) <= 3 for messages in sent.values()), sent


@pytest.mark.slow
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
    cards = parts(panel, "cw-history-item")
    assert len(cards) == 2
    assert shown(part(panel, "cw-history-box"))
    # Newest first; the shown run is marked.
    labels = [text(card, "cw-history-label") for card in cards]
    # Each card says what the run was: the prompt's first words, the model, the count.
    assert [" ".join(label.split()) for label in labels] == [
        "A blue bicycle against a wall gpt-image-1 · 2 images",
        "A red kite dall-e-2 · 2 images",
    ]
    assert "cw-selected" in cards[0]._dom_classes
    tips = [part(card, "cw-history-pick").tooltip for card in cards]
    assert tips[0].endswith(" · gpt-image-1 · A blue bicycle against a wall")
    assert tips[1].endswith(" · dall-e-2 · A red kite")
    assert all(bytes(part(card, "cw-history-thumb").value) for card in cards)

    part(cards[1], "cw-history-pick").click()
    assert (panel.prompt, panel.model, panel.n, panel.size) == (
        "A red kite",
        "dall-e-2",
        2,
        "512x512",
    )
    assert panel.quality is None
    assert part(panel, "cw-prompt").value == "A red kite"
    assert [bytes(t.thumb.value) for t in visible_tiles(panel)] == first_thumbs
    assert panel.generation is second
    assert panel.images[0] is second.images[0].image
    assert "tokens" not in part(panel, "cw-usage").value
    assert part(panel, "cw-status").value == "Showing run 1 of 2: 2 images"
    assert part(panel, "cw-elapsed").value == ""
    assert "cw-selected" in cards[1]._dom_classes

    part(cards[0], "cw-history-pick").click()
    assert (panel.model, panel.quality, panel.n) == ("gpt-image-1", "high", 2)
    assert len(visible_tiles(panel)) == 2
    assert shown(part(panel, "cw-usage"))
    assert panel.history == [first, second]


def test_save_writes_the_original_with_metadata(make_panel: MakePanel, output_dir: Path) -> None:
    panel = make_panel(prompt="A paper boat", model="dall-e-2")
    generation = panel.generate().result(timeout=10)
    [tile] = visible_tiles(panel)
    tile.save.click()
    [path] = list(output_dir.iterdir())
    assert path.read_bytes().startswith(PNG_MAGIC)
    assert read_metadata(path)["prompt"] == "A paper boat"
    assert path.name in tile.saved.value
    assert "Saved" in tile.saved.value
    with Image.open(path) as saved:
        assert saved.size == generation.images[0].image.size


def test_a_failed_save_says_why_in_words(make_panel: MakePanel, tmp_path: Path) -> None:
    """Save into a path that is a file: one line saying why, the OS's words behind Details."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file")
    panel = make_panel(prompt="A paper boat", model="dall-e-2")
    panel.output_dir = str(blocker / "images")
    panel.generate().result(timeout=10)
    [tile] = visible_tiles(panel)
    tile.save.click()
    saved = str(tile.saved.value)
    line, _, details = saved.partition('<details class="cw-details">')
    assert "Could not save: the output folder&#x27;s path is not a folder." in line
    assert "Error" not in line  # no exception class, no errno
    assert "Errno" not in line
    assert "NotADirectoryError" in details or "FileExistsError" in details


async def test_the_lightbox_sends_full_size_only_while_open(make_panel: MakePanel) -> None:
    panel = make_panel(prompt="A paper boat", model="dall-e-2", n=3)
    generation = await panel.generate()
    box, image = part(panel, "cw-lightbox"), part(panel, "cw-lightbox-image")
    assert not shown(box)
    assert image.value == b""
    second = visible_tiles(panel)[1]
    second.full.click()
    assert shown(box)
    assert bytes(image.value) == generation.images[1].data
    assert part(panel, "cw-lightbox-count").value == "Image 2 of 3"
    part(panel, "cw-lightbox-next").click()
    assert bytes(image.value) == generation.images[2].data
    part(panel, "cw-lightbox-next").click()  # wraps around
    assert part(panel, "cw-lightbox-count").value == "Image 1 of 3"
    part(panel, "cw-lightbox-prev").click()
    assert part(panel, "cw-lightbox-count").value == "Image 3 of 3"
    part(panel, "cw-lightbox-save").click()
    assert "Saved" in part(panel, "cw-lightbox-saved").value
    part(panel, "cw-lightbox-close").click()
    assert not shown(box)
    assert image.value == b""


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
