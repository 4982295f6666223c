"""``client.edit``'s keywords are ``EditParams``: what it does not declare is refused before any
request (``moderation`` and ``style`` by name), a mask refuses GIF output and a markup, a markup
(gpt-image-2.5) is sent as a file like the mask, and ``stream=True`` is the streaming path of
``partial_images`` (no second way)."""

from __future__ import annotations

from typing import Any

import pytest

from comet_widgets import AsyncImageClient, InvalidParameterError
from comet_widgets.testing import FakeAPI
from tests.helpers import MARKUP_MODEL, PHOTO, SIDE, marks


def edits(fake: FakeAPI) -> list[Any]:
    return [r for r in fake.requests if r.path == "/v1/images/edits"]


REFUSALS = [
    pytest.param({"moderation": "low"}, "moderation", "edits take no moderation", id="moderation"),
    pytest.param({"style": "vivid"}, "style", "edits take no style", id="style"),
    pytest.param({"sizee": "1024x1024"}, "sizee", "did you mean 'size'", id="a typo"),
    pytest.param({"seed": 7}, "seed", "extra_body", id="an unknown field"),
    pytest.param(
        {"mask": SIDE * [[True] * SIDE], "output_format": "gif"},
        "mask",
        "GIF output takes no mask",
        id="gif with a mask",
    ),
    pytest.param(
        {"mask": PHOTO, "markup": marks(), "model": MARKUP_MODEL},
        "markup",
        "cannot be combined with a mask",
        id="markup with a mask",
    ),
    pytest.param(
        {"markup": marks(), "model": "gpt-image-2"},
        "markup",
        "gpt-image-2 takes no markup",
        id="markup for a model without it",
    ),
    pytest.param(
        {"markup": marks(), "model": "dall-e-2"},
        "markup",
        "dall-e-2 takes no markup",
        id="markup for dall-e-2",
    ),
    pytest.param(
        {"markup": marks(32), "model": MARKUP_MODEL},
        "markup",
        "the markup is 32x32",
        id="markup of another size",
    ),
    pytest.param(
        {"markup": marks(mode="RGB"), "model": MARKUP_MODEL},
        "markup",
        "has no alpha channel",
        id="markup without transparency",
    ),
    pytest.param(
        {"input_fidelity": "high", "model": "gpt-image-1-mini"},
        "input_fidelity",
        "not supported by gpt-image-1-mini",
        id="a fidelity the model does not take",
    ),
    pytest.param(
        {"extra_body": {"markup": "x"}}, "extra_body", "must not override markup", id="extra"
    ),
    pytest.param(
        {"stream": False, "partial_images": 2}, "stream", "contradicts", id="stream=False"
    ),
]


@pytest.mark.parametrize(("params", "field", "words"), REFUSALS)
async def test_refused_before_any_request(
    client: AsyncImageClient, fake: FakeAPI, params: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(InvalidParameterError, match=words) as caught:
        await client.edit("add a lamp", image=PHOTO, **params)
    assert caught.value.field == field
    assert caught.value.allowed  # what to do instead
    assert edits(fake) == []


async def test_the_unknown_keyword_refusal_lists_the_edit_parameters(
    client: AsyncImageClient,
) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        await client.edit("x", image=PHOTO, colour="red")  # type: ignore[call-arg]
    assert caught.value.value == "red"
    assert "markup" in caught.value.allowed
    assert "moderation" not in caught.value.allowed


async def test_a_markup_is_sent_as_a_file_and_recorded_without_bytes(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    generation = await client.edit(
        "a lamp where the line is", image=PHOTO, markup=marks(), model=MARKUP_MODEL
    )
    assert generation.ok
    form = edits(fake)[-1].form
    files = [(p.name, p.filename, p.content_type) for p in form if p.value is None]
    assert files == [("image", "image-0.png", "image/png"), ("markup", "markup.png", "image/png")]
    assert "markup" not in {p.name for p in form if p.value is not None}
    recorded = generation.params["markup"]
    assert recorded["format"] == "png"
    assert (recorded["width"], recorded["height"]) == (SIDE, SIDE)
    assert len(recorded["sha256"]) == 64
    assert "mask" not in generation.params


async def test_a_gif_edit_without_a_mask_is_sent(client: AsyncImageClient, fake: FakeAPI) -> None:
    await client.edit("x", image=PHOTO, model="gpt-image-2", output_format="gif", frame_count=3)
    fields = {p.name: p.value for p in edits(fake)[-1].form if p.value is not None}
    assert (fields["output_format"], fields["frame_count"]) == ("gif", "3")


async def test_stream_true_is_the_partial_images_path_without_previews(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    seen: list[Any] = []
    generation = await client.edit("x", image=PHOTO, stream=True, on_partial=seen.append)
    fields = {p.name: p.value for p in edits(fake)[-1].form if p.value is not None}
    assert fields["stream"] == "true"
    assert "partial_images" not in fields
    assert generation.streamed
    assert seen == []
    await client.edit("x", image=PHOTO, partial_images=1, on_partial=seen.append)
    fields = {p.name: p.value for p in edits(fake)[-1].form if p.value is not None}
    assert (fields["stream"], fields["partial_images"]) == ("true", "1")
    assert len(seen) == 1
