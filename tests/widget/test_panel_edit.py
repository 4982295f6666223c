"""Edit mode in the panel with no kernel: Edit on tiles, ``gen.inputs``, uploads, the mask
(from code and as the painter's front-end sends it), refusals before sending, cancel, errors
and the history, against the in-process fake (which replaces the masked area by its pattern
and leaves the rest unchanged)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from widget_parts import part, parts, shown, text, tiles

from comet_widgets import Generation, ImageGenerator, InvalidParameterError
from comet_widgets.testing import FakeAPI

MakePanel = Callable[..., ImageGenerator]
WaitUntil = Callable[..., float]

REPO = Path(__file__).resolve().parents[2]


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def photo(
    size: tuple[int, int] = (1024, 1024), colour: tuple[int, int, int] = (200, 30, 30)
) -> Any:
    return Image.new("RGB", size, colour)


def edit_requests(app: FakeAPI) -> list[Any]:
    return [r for r in app.requests if r.path.endswith("/images/edits")]


def pixels(image: Image.Image) -> Any:
    return np.asarray(image.convert("RGB"), dtype=int)


def card_names(panel: ImageGenerator) -> list[str]:
    return [text(card, "cw-input-label") for card in parts(panel, "cw-input", visible=True)]


async def generated(make_panel: MakePanel, **kwargs: Any) -> tuple[ImageGenerator, Generation]:
    kwargs.setdefault("prompt", "A paper boat")
    kwargs.setdefault("model", "gpt-image-2")
    kwargs.setdefault("size", "1024x1024")
    panel = make_panel(**kwargs)
    return panel, await panel.generate()


async def test_edit_on_a_tile_puts_it_in_the_strip_and_switches_to_edit_mode(
    make_panel: MakePanel, app: FakeAPI, wait_until: WaitUntil
) -> None:
    panel, first = await generated(make_panel, n=2)
    assert panel.mode == "generate"
    assert not shown(part(panel, "cw-edit-area"))
    assert not shown(part(panel, "cw-inputs"))
    assert part(panel, "cw-generate").description == "Generate"

    part(tiles(panel)[1], "cw-edit").click()
    assert panel.inputs == [first.images[1]]
    assert panel.mode == "edit"
    assert shown(part(panel, "cw-edit-area"))
    assert shown(part(panel, "cw-inputs"))
    [card] = parts(panel, "cw-input", visible=True)
    wait_until(lambda: bool(part(card, "cw-input-thumb").value))  # made in a worker thread
    thumb = Image.open(io.BytesIO(bytes(part(card, "cw-input-thumb").value)))
    assert max(thumb.size) <= 96
    assert "image 2 of 2 from 'A paper boat'" in text(card, "cw-input-label")
    assert part(panel, "cw-generate").description == "Apply edit"
    assert part(panel, "cw-prompt").description == "What to change"
    assert "what to change" in part(panel, "cw-prompt").placeholder.lower()
    assert panel.size == "1024x1024"  # the input's own size

    # The lightbox's Edit does the same for the image it shows, and closes the lightbox.
    part(tiles(panel)[0], "cw-full-size").click()
    assert shown(part(panel, "cw-lightbox"))
    part(panel, "cw-lightbox-edit").click()
    assert not shown(part(panel, "cw-lightbox"))
    assert panel.inputs == [first.images[0]]

    part(panel, "cw-back-to-generate").click()
    assert panel.inputs == []
    assert panel.mode == "generate"
    assert not shown(part(panel, "cw-edit-area"))
    assert part(panel, "cw-generate").description == "Generate"
    assert part(panel, "cw-prompt").description == "Prompt"
    assert app.edit_count == 0


async def test_every_input_kind_and_the_remove_button(
    make_panel: MakePanel, tmp_path: Path, wait_until: WaitUntil
) -> None:
    panel, first = await generated(make_panel)
    picture = photo((300, 200))
    array = np.zeros((64, 96, 3), dtype=np.uint8)
    data = png(photo((50, 40), (0, 90, 0)))
    path = tmp_path / "holiday.png"
    path.write_bytes(png(photo((80, 60))))
    jpeg = tmp_path / "cat.jpg"
    photo((120, 90)).save(jpeg, "JPEG")
    panel.inputs = [picture, array, data, str(path), jpeg, first.images[0]]
    names = card_names(panel)
    assert len(names) == 6
    assert names[0].startswith("a PIL image")
    assert "300x200" in names[0]
    assert names[1].startswith("an array")
    assert "96x64" in names[1]
    assert "50x40" in names[2]
    assert names[3].startswith("holiday.png")
    assert names[4].startswith("cat.jpg")
    assert "image 1 from 'A paper boat'" in names[5]
    cards = parts(panel, "cw-input", visible=True)
    wait_until(lambda: all(part(card, "cw-input-thumb").value for card in cards))
    for card in cards:
        thumb = bytes(part(card, "cw-input-thumb").value)
        assert 0 < len(thumb) < 20_000
        with Image.open(io.BytesIO(thumb)) as opened:
            assert max(opened.size) <= 96
    assert not parts(panel, "cw-input-pending")

    # Remove the third (the bytes): the others stay, in order.
    part(parts(panel, "cw-input", visible=True)[2], "cw-input-remove").click()
    assert panel.inputs == [picture, array, str(path), jpeg, first.images[0]]
    assert len(card_names(panel)) == 5

    # One image alone is a list of one; None clears.
    panel.inputs = picture
    assert panel.inputs == [picture]
    panel.inputs = None
    assert panel.inputs == []
    assert panel.mode == "generate"


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        (42, "int"),
        (b"not an image at all", "not an image"),
        ("/no/such/photo.png", "cannot read"),
        (np.zeros((4, 4, 7), dtype=np.uint8), "shape"),
    ],
)
def test_a_bad_input_is_refused_at_once_naming_the_field(
    make_panel: MakePanel, bad: Any, says: str
) -> None:
    panel = make_panel()
    good = photo((64, 64))
    panel.inputs = [good]
    with pytest.raises(InvalidParameterError, match=says) as caught:
        panel.inputs = [good, bad]
    assert caught.value.field == "inputs"
    assert panel.inputs == [good]
    assert len(card_names(panel)) == 1


def test_an_upload_becomes_an_input_and_leaves_no_file_in_widget_state(
    make_panel: MakePanel,
) -> None:
    panel = make_panel()
    upload = part(panel, "cw-upload")
    assert shown(upload)
    assert ".png" in upload.accept
    assert ".webp" in upload.accept
    assert upload.multiple
    data = png(photo((256, 256), (10, 20, 200)))
    # What the front-end sends when a file is picked (ipywidgets 8's FileUpload value).
    upload.set_state(
        {
            "value": [
                {
                    "name": "beach.png",
                    "type": "image/png",
                    "size": len(data),
                    "content": memoryview(data),
                    "last_modified": 0,
                },
            ]
        }
    )
    assert [bytes(v) for v in panel.inputs] == [data]
    assert panel.mode == "edit"
    assert card_names(panel)[0].startswith("beach.png")
    assert upload.value == ()  # read once, then cleared: the file is not kept in widget state
    assert len(json.dumps(upload.get_state(), default=str)) < 2_000

    # A file that is not an image is said in the panel; the inputs stay.
    upload.set_state(
        {
            "value": [
                {
                    "name": "notes.txt",
                    "type": "text/plain",
                    "size": 5,
                    "content": memoryview(b"hello"),
                    "last_modified": 0,
                },
            ]
        }
    )
    assert len(panel.inputs) == 1
    assert shown(part(panel, "cw-error"))
    assert "notes.txt" in text(panel, "cw-error")

    # The history names the uploaded file, and brings it back by that name.
    panel.prompt = "make it winter"
    panel.edit().result(20)
    [card] = parts(panel, "cw-history-item", visible=True)
    assert "Edit of beach.png" in text(card, "cw-history-label")
    part(panel, "cw-back-to-generate").click()
    part(card, "cw-history-pick").click()
    assert [bytes(v) for v in panel.inputs] == [data]
    assert card_names(panel)[0].startswith("beach.png")


async def test_a_mask_set_from_code_is_honoured(make_panel: MakePanel, app: FakeAPI) -> None:
    panel = make_panel(prompt="make it winter", model="gpt-image-2")
    source = photo((1024, 1024))
    panel.inputs = [source]
    assert panel.mask is None
    assert "No mask" in text(panel, "cw-mask-note")
    wanted = np.zeros((1024, 1024), dtype=bool)
    wanted[:, :512] = True
    panel.mask = wanted
    assert panel.mask is wanted or (panel.mask == wanted).all()
    assert "set from code: 50%" in text(panel, "cw-mask-note")

    edited = await panel.generate()  # in edit mode, generate() applies the edit
    assert isinstance(edited, Generation)
    assert edited.ok
    assert panel.status == "done"
    assert panel.generation is edited
    assert panel.history[-1] is edited
    assert tiles(panel)
    assert shown(part(panel, "cw-gallery"))
    [request] = edit_requests(app)
    fields = {p.name: p for p in request.form}
    assert "mask" in fields
    assert "image" in fields
    assert fields["prompt"].value == "make it winter"
    assert edited.params["mask"]["width"] == 1024
    changed = np.abs(pixels(edited.images[0].image) - pixels(source)).sum(axis=2) > 0
    assert changed[wanted].mean() > 0.9  # the pattern replaced the masked half
    assert not changed[~wanted].any()  # and nothing else

    # Other kinds mean the same: a 0-1 float array, a white-on-black image.
    panel.mask = wanted.astype(float)
    assert (panel.mask == wanted).all()
    panel.mask = Image.fromarray(wanted.astype(np.uint8) * 255)
    assert (panel.mask == wanted).all()
    panel.mask = None
    assert panel.mask is None


async def test_an_edit_with_several_inputs_and_no_mask(make_panel: MakePanel, app: FakeAPI) -> None:
    panel = make_panel(prompt="put them on one sofa", model="gpt-image-2", size="1024x1024")
    panel.inputs = [photo(), photo(colour=(0, 0, 200))]
    edited = await panel.edit()
    assert edited.ok
    [request] = edit_requests(app)
    assert [p.name for p in request.form if p.filename] == ["image[]", "image[]"]
    history = parts(panel, "cw-history-item", visible=True)
    assert "Edit of a PIL image and 1 more image" in text(history[0], "cw-history-label")


async def test_refusals_come_before_any_request(make_panel: MakePanel, app: FakeAPI) -> None:
    panel = make_panel(prompt="make it winter")
    with pytest.raises(InvalidParameterError) as caught:
        await panel.edit()
    assert caught.value.field == "inputs"
    with pytest.raises(InvalidParameterError, match=r"set gen\.inputs first"):
        panel.mask = np.ones((8, 8), dtype=bool)

    panel.inputs = [photo((512, 512))]
    # A mask of another size, and an empty one, are refused when set.
    with pytest.raises(InvalidParameterError, match="first input's size, 512x512") as caught:
        panel.mask = np.ones((256, 256), dtype=bool)
    assert caught.value.field == "mask"
    with pytest.raises(InvalidParameterError, match="marks no pixel"):
        panel.mask = np.zeros((512, 512), dtype=bool)
    assert panel.mask is None

    # A model that cannot edit: shown as a validation message, the button disabled.
    panel.model = "dall-e-3"
    validation = part(panel, "cw-validation")
    assert shown(validation)
    assert "dall-e-3 cannot edit" in text(panel, "cw-validation")
    assert "Apply edit" in text(panel, "cw-validation")
    assert part(panel, "cw-generate").disabled
    with pytest.raises(InvalidParameterError) as caught:
        panel.generate()
    assert caught.value.field == "model"

    # Too many inputs for dall-e-2 (one square PNG).
    panel.model = "dall-e-2"
    panel.size = "512x512"
    assert not part(panel, "cw-generate").disabled
    panel.inputs = [photo((512, 512)), photo((512, 512))]
    assert "at most 1 image" in text(panel, "cw-validation")
    with pytest.raises(InvalidParameterError, match="at most 1 image"):
        panel.edit()
    assert app.edit_count == 0
    assert edit_requests(app) == []
    assert panel.status == "error"
    panel.inputs = panel.inputs[:1]
    assert not shown(validation)
    assert not part(panel, "cw-generate").disabled
    assert panel.status == "idle"


async def test_cancel_an_edit_and_edit_again(
    make_panel: MakePanel, app: FakeAPI, wait_until: WaitUntil
) -> None:
    panel, first = await generated(make_panel)
    part(tiles(panel)[0], "cw-edit").click()
    panel.prompt = "make it winter"
    app.latency = 5.0
    part(panel, "cw-generate").click()
    assert panel.status == "running"
    assert shown(part(panel, "cw-cancel"))
    assert not shown(part(panel, "cw-generate"))
    assert "Editing image 1 from 'A paper boat'" in text(panel, "cw-status")
    assert parts(panel, "cw-placeholder", visible=True)
    wait_until(lambda: app.in_flight == 1)
    part(panel, "cw-cancel").click()
    assert panel.status == "cancelled"
    assert panel.history == [first]
    assert panel.inputs == [first.images[0]]  # the inputs stay for the next try
    app.latency = 0.0
    edited = await panel.generate()
    assert panel.history == [first, edited]


async def test_an_error_is_shown_and_the_panel_edits_again(
    make_panel: MakePanel, app: FakeAPI
) -> None:
    panel = make_panel(prompt="make it winter", model="gpt-image-2")
    panel.inputs = [photo()]
    app.fail_next(1, 400, message="the image was rejected by the provider")
    pending = panel.edit()
    with pytest.raises(Exception, match="rejected"):
        await pending
    assert panel.status == "error"
    assert shown(part(panel, "cw-error"))
    assert "rejected" in text(panel, "cw-error")
    assert panel.mode == "edit"
    assert not part(panel, "cw-generate").disabled
    edited = await panel.edit()
    assert edited.ok
    assert panel.status == "done"
    assert not shown(part(panel, "cw-error"))


async def test_a_rate_limit_is_retried_with_the_countdown(
    make_panel: MakePanel, app: FakeAPI
) -> None:
    panel = make_panel(prompt="make it winter", model="gpt-image-2")
    panel.inputs = [photo()]
    app.fail_next(1, 429, headers={"Retry-After": "1"})
    edited = await panel.edit()
    assert edited.ok
    assert text(panel, "cw-status") == "Done: 1 image after 1 retry"
    assert app.edit_count == 2


@pytest.mark.slow
async def test_the_history_names_the_edited_image_and_restores_its_inputs(
    make_panel: MakePanel,
) -> None:
    panel, first = await generated(make_panel, n=2)
    part(tiles(panel)[1], "cw-edit").click()
    wanted = np.zeros((1024, 1024), dtype=bool)
    wanted[100:300, 100:300] = True
    panel.mask = wanted
    panel.prompt = "add a red sail"
    edited = await panel.generate()
    cards = parts(panel, "cw-history-item", visible=True)  # newest first
    assert "Edit of image 2 of 2 from 'A paper boat'" in text(cards[0], "cw-history-label")
    assert "Edit of image 2" in part(cards[0], "cw-history-pick").tooltip
    assert "add a red sail" in part(cards[0], "cw-history-pick").tooltip
    assert "Edit of" not in text(cards[1], "cw-history-label")

    # Picking the generation goes back to generating; picking the edit brings its inputs back.
    part(cards[1], "cw-history-pick").click()
    assert panel.mode == "generate"
    assert panel.inputs == []
    assert panel.prompt == "A paper boat"
    part(cards[0], "cw-history-pick").click()
    assert panel.inputs == [first.images[1]]
    assert (panel.mask == wanted).all()
    assert panel.prompt == "add a red sail"
    assert panel.history == [first, edited]


def painted_png(size: tuple[int, int], box: tuple[int, int, int, int]) -> str:
    """The data URL the painter's front-end sends after a stroke: the overlay at preview size."""
    overlay = Image.new("RGBA", size, (0, 170, 255, 0))
    overlay.paste((0, 170, 255, 255), box)
    return "data:image/png;base64," + base64.b64encode(png(overlay)).decode("ascii")


@pytest.mark.slow
async def test_the_painter_over_the_first_input_and_its_notice(
    make_panel: MakePanel, app: FakeAPI, wait_until: WaitUntil
) -> None:
    panel = make_panel(prompt="make it winter", model="gpt-image-2")
    source = photo((1024, 1024))
    panel.inputs = [source, photo((1024, 1024), (0, 0, 0))]
    painter = part(panel, "cw-mask-painter")
    assert painter.size == (1024, 1024)  # known at once; the preview follows from a worker
    wait_until(lambda: painter.get_state()["_image"].startswith("data:image/jpeg;base64,"))
    preview = base64.b64decode(painter.get_state()["_image"].split(",", 1)[1])
    with Image.open(io.BytesIO(preview)) as opened:
        assert opened.size == (512, 512)
        assert opened.convert("RGB").getpixel((256, 256)) == pytest.approx((200, 30, 30), abs=4)
    notice = part(panel, "cw-painter-notice")
    assert shown(notice)
    assert "custom widgets" in text(panel, "cw-painter-notice")
    assert "gen.mask" in text(panel, "cw-painter-notice")
    # The front-end reports that it drew the painter (as its JavaScript does on render).
    painter.set_state({"rendered": True})
    assert not shown(notice)

    # A stroke as the front-end sends it: the left half of the 512 px preview.
    painter.set_state({"_mask_png": painted_png((512, 512), (0, 0, 256, 512))})
    mask = panel.mask
    assert mask.shape == (1024, 1024)
    assert mask[:, :512].all()
    assert not mask[:, 512:].any()
    assert "painted: 50%" in text(panel, "cw-mask-note")
    edited = await panel.edit()
    changed = np.abs(pixels(edited.images[0].image) - pixels(source)).sum(axis=2) > 0
    assert changed[:, :512].mean() > 0.9
    assert not changed[:, 512:].any()

    # A mask from code replaces the painted one and is drawn in the painter.
    code = np.zeros((1024, 1024), dtype=bool)
    code[:10, :10] = True
    panel.mask = code
    assert painter.get_state()["_mask_png"]
    assert panel.mask.sum() == 100
    # A new first input clears the mask and the painter paints over it.
    other = photo((1024, 1024), (0, 200, 0))
    panel.inputs = [other]
    assert panel.mask is None
    assert painter.get_state()["_mask_png"] == ""
    wait_until(lambda: painter.get_state()["_image"].startswith("data:image/jpeg"))
    green = base64.b64decode(painter.get_state()["_image"].split(",", 1)[1])
    with Image.open(io.BytesIO(green)) as opened:
        assert opened.convert("RGB").getpixel((256, 256)) == pytest.approx((0, 200, 0), abs=4)
    # Removing the second input of two keeps the first's mask.
    panel.inputs = [other, source]
    panel.mask = code
    part(parts(panel, "cw-input", visible=True)[1], "cw-input-remove").click()
    assert panel.mask is not None
    assert panel.mask.sum() == 100


def test_the_synced_state_holds_thumbnails_only(
    make_panel: MakePanel, descendants: Any, secret_key: str
) -> None:
    panel = make_panel(prompt="make it winter", model="gpt-image-2")
    big = Image.effect_noise((1536, 1024), 80).convert("RGB")
    panel.inputs = [big, big.copy()]
    panel.mask = np.ones((1024, 1536), dtype=bool)
    for widget in descendants(panel):
        state = json.dumps(widget.get_state(), default=lambda v: f"<{len(bytes(v))} bytes>")
        assert secret_key not in state
        assert len(state) < 200_000, type(widget).__name__


@pytest.mark.slow
def test_without_the_painter_extra_the_panel_edits_with_a_mask_from_code(tmp_path: Path) -> None:
    """A fresh interpreter where ``import anywidget`` fails: the area says so, and the edit
    still honours ``gen.mask``."""
    script = textwrap.dedent(
        """
        import asyncio, sys
        sys.modules["anywidget"] = None  # import anywidget raises ImportError
        import numpy as np
        from PIL import Image
        sys.path.insert(0, sys.argv[1])
        from widget_parts import part, parts, shown, text
        from comet_widgets import ImageGenerator

        async def main():
            gen = ImageGenerator(offline=True, prompt="make it winter", model="gpt-image-2")
            source = Image.new("RGB", (1024, 1024), (200, 30, 30))
            gen.inputs = [source]
            assert not parts(gen, "cw-mask-painter")
            print("notice", shown(part(gen, "cw-painter-notice")), text(gen, "cw-painter-notice"))
            mask = np.zeros((1024, 1024), dtype=bool)
            mask[:, :512] = True
            gen.mask = mask
            edited = await gen.edit()
            result = np.asarray(edited.images[0].image.convert("RGB"), dtype=int)
            changed = np.abs(result - np.asarray(source, dtype=int)).sum(axis=2) > 0
            print("inside", round(float(changed[mask].mean()), 2), "outside", changed[~mask].any())
            gen.close()

        asyncio.run(main())
        """
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("COMETAPI_KEY", None)
    done = subprocess.run(
        [sys.executable, "-c", script, str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        timeout=90,  # inside the test's own 120 s
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "notice True" in done.stdout
    assert "painter extra" in done.stdout
    assert "gen.mask" in done.stdout
    assert "outside False" in done.stdout
    inside = float(done.stdout.split("inside ")[1].split()[0])
    assert inside > 0.9


def test_size_follows_a_new_first_input_when_the_model_takes_it(make_panel: MakePanel) -> None:
    panel = make_panel(model="dall-e-2", size="1024x1024")
    panel.inputs = [photo((512, 512))]
    assert panel.size == "512x512"
    panel.model = "gpt-image-2"
    panel.size = "1024x1024"
    panel.inputs = [photo((640, 480))]  # too small for gpt-image-2's free sizes: auto
    assert panel.size == "auto"
    panel.inputs = [photo((1536, 1024))]
    assert panel.size == "1536x1024"


@pytest.mark.slow
def test_an_edit_streams_partial_previews_into_its_tile(
    make_panel: MakePanel, app: FakeAPI, wait_until: WaitUntil
) -> None:
    panel = make_panel(prompt="make it winter", model="gpt-image-2", partial_images=2)
    panel.inputs = [photo()]
    app.stream_interval = 0.3
    pending = panel.edit()

    def a_partial_is_shown() -> bool:
        return any(bytes(part(tile, "cw-thumb").value) for tile in tiles(panel))

    wait_until(a_partial_is_shown, timeout=10)
    assert panel.status == "running"
    assert panel.history == []  # nothing partial lands
    edited = pending.result(20)
    assert panel.history == [edited]
    [request] = edit_requests(app)
    fields = {p.name: p.value for p in request.form if p.filename is None}
    assert fields["partial_images"] == "2"
    assert fields["stream"] == "true"


async def test_an_edit_sends_planning_effort_but_not_moderation(
    make_panel: MakePanel, app: FakeAPI
) -> None:
    """Edits take ``complexity`` and no ``moderation`` (the SDK's edit parameters)."""
    panel = make_panel(prompt="make it winter", partial_images=0)
    panel.complexity, panel.moderation = "low", "low"
    panel.inputs = [photo()]
    await panel.edit()
    [request] = edit_requests(app)
    fields = {p.name: p.value for p in request.form if p.filename is None}
    assert fields["complexity"] == "low"
    assert "moderation" not in fields


async def test_error_advice_speaks_of_apply_edit(make_panel: MakePanel, app: FakeAPI) -> None:
    panel = make_panel(prompt="make it winter", model="gpt-image-2")
    panel.inputs = [photo()]
    app.fail_next(1, 500)
    with pytest.raises(Exception, match="500"):
        await panel.edit()
    said = text(panel, "cw-error")
    assert "Apply edit" in said
    assert "Generate" not in said


@pytest.mark.slow
async def test_generate_many_in_edit_mode_edits_the_inputs_once_per_prompt(
    make_panel: MakePanel, app: FakeAPI
) -> None:
    panel = make_panel(model="gpt-image-2", size="1024x1024")
    source = photo()
    panel.inputs = [source]
    wanted = np.zeros((1024, 1024), dtype=bool)
    wanted[:256] = True
    panel.mask = wanted
    prompts = ["make it winter", "make it night", "add a red scarf"]
    results = await panel.generate_many(prompts, concurrency=2)
    assert results.ok
    assert [item.prompt for item in results] == prompts
    requests = edit_requests(app)
    assert len(requests) == 3
    assert app.generation_count == 0
    assert sorted(str({p.name: p for p in r.form}["prompt"].value) for r in requests) == sorted(
        prompts
    )
    for request in requests:
        assert {p.name for p in request.form if p.filename} == {"image", "mask"}
    for item in results:  # each one the input, changed where the mask says and only there
        changed = np.abs(pixels(item.images[0].image) - pixels(source)).sum(axis=2) > 0
        assert changed[wanted].mean() > 0.9
        assert not changed[~wanted].any()
    # The gallery shows the batch in input order; the history card says what was edited.
    assert len(tiles(panel)) == 3
    assert [g.prompt for g in panel.history] == prompts
    [card] = parts(panel, "cw-history-item", visible=True)
    label = text(card, "cw-history-label")
    assert "batch of 3" in label
    assert "Edits of a PIL image" in label
    assert panel.mode == "edit"  # still editing the same inputs
    assert panel.inputs == [source]


@pytest.mark.slow
async def test_generate_many_in_edit_mode_with_several_inputs_and_an_item_of_its_own(
    make_panel: MakePanel, app: FakeAPI, tmp_path: Path
) -> None:
    panel, first = await generated(make_panel)
    part(tiles(panel)[0], "cw-edit").click()
    panel.inputs = [*panel.inputs, photo(colour=(0, 0, 200))]
    other = tmp_path / "other.png"
    photo(colour=(0, 200, 0)).save(other)
    results = await panel.generate_many(
        ["both on one sofa", {"prompt": "just this one", "image": str(other)}]
    )
    assert results.ok
    by_prompt = {str({p.name: p for p in r.form}["prompt"].value): r for r in edit_requests(app)}
    assert [p.name for p in by_prompt["both on one sofa"].form if p.filename] == [
        "image[]",
        "image[]",
    ]
    [own] = [p for p in by_prompt["just this one"].form if p.filename]
    assert own.name == "image"
    assert own.filename == "other.png"
    # The generated input went as its bytes, unchanged, named as client.edit names it.
    [sent, _second] = [p for p in by_prompt["both on one sofa"].form if p.filename]
    assert sent.sha256 == hashlib.sha256(first.images[0].data or b"").hexdigest()
    assert sent.filename == "generated-0.png"


async def test_generate_many_in_edit_mode_refuses_what_an_edit_refuses(
    make_panel: MakePanel, app: FakeAPI
) -> None:
    panel = make_panel(model="dall-e-3", size="1024x1024")
    panel.inputs = [photo()]
    with pytest.raises(InvalidParameterError) as caught:
        panel.generate_many(["make it winter"])
    assert caught.value.field == "model"
    assert not edit_requests(app)
    assert panel.status == "error"


@pytest.mark.slow
async def test_shortened_names_carry_the_whole_text_as_their_tooltip(
    make_panel: MakePanel,
) -> None:
    prompt = "A paper boat floating on calm water at sunrise, with a lighthouse far behind it"
    panel, _first = await generated(make_panel, prompt=prompt)
    part(tiles(panel)[0], "cw-edit").click()
    [card] = parts(panel, "cw-input", visible=True)
    label = part(card, "cw-input-label").value
    shown_text = text(card, "cw-input-label")
    assert prompt not in shown_text  # shortened on the card...
    assert "…" in shown_text
    assert f'title="image 1 from &#x27;{prompt}&#x27;"' in label  # ...and whole in its tooltip
    assert prompt in part(card, "cw-input-remove").tooltip
    panel.prompt = "make it winter"
    await panel.edit()
    history = parts(panel, "cw-history-item", visible=True)
    note = part(history[0], "cw-history-label").value
    assert "Edit of image 1 from" in text(history[0], "cw-history-label")
    assert prompt not in text(history[0], "cw-history-label")
    assert f'title="Edit of image 1 from &#x27;{prompt}&#x27;"' in note
    assert prompt in part(history[0], "cw-history-pick").tooltip


class _Watched(Image.Image):
    """A PIL image that records which threads read its pixels."""

    readers: set[str]

    def load(self) -> Any:
        self.readers.add(threading.current_thread().name)
        return super().load()


@pytest.mark.slow
def test_inputs_are_checked_at_once_and_decoded_off_the_callers_thread(
    make_panel: MakePanel, wait_until: WaitUntil, tmp_path: Path
) -> None:
    panel = make_panel(model="gpt-image-2")
    watched = photo((1500, 1000))
    watched.__class__ = _Watched
    watched.readers = set()
    large = tmp_path / "large.png"
    Image.effect_noise((2000, 1500), 60).convert("RGB").save(large, compress_level=1)
    panel.inputs = [watched, str(large)]
    # What the edit rules need is known at once, without decoding anything here...
    assert panel.mode == "edit"
    assert card_names(panel)[0].endswith("1500x1000 · mask")
    assert "2000x1500" in card_names(panel)[1]
    assert panel.size == "1536x1024" or panel.size == "auto"
    assert threading.current_thread().name not in watched.readers
    # ...and the thumbnails and the painter's preview come from a worker thread.
    cards = parts(panel, "cw-input", visible=True)
    wait_until(lambda: all(part(card, "cw-input-thumb").value for card in cards))
    painter = part(panel, "cw-mask-painter")
    wait_until(lambda: bool(painter.get_state()["_image"]))
    assert watched.readers
    assert threading.current_thread().name not in watched.readers
    assert not parts(panel, "cw-input-pending")


def test_bytes_that_cannot_be_decoded_say_so_on_their_card(
    make_panel: MakePanel, wait_until: WaitUntil
) -> None:
    panel = make_panel(model="gpt-image-2")
    good = png(photo((64, 64)))
    # The header says a 64x64 PNG and it ends as one; the pixel data between is garbage.
    garbled = good[:41] + b"\x00" * (len(good) - 53) + good[-12:]
    panel.inputs = [photo((64, 64)), garbled]
    assert "64x64" in card_names(panel)[1]
    wait_until(lambda: "cannot" in card_names(panel)[1])
    assert not part(parts(panel, "cw-input", visible=True)[1], "cw-input-thumb").value
