"""Partial previews for the panel's tiles: thumbnails, stale partials dropped, which models
stream them and what the control says they cost."""

from __future__ import annotations

import io

from PIL import Image

from comet_widgets import AsyncImageClient, PartialImage, estimate_cost
from comet_widgets.widget._controls import PARTIALS_HINT
from comet_widgets.widget._partials import PartialPreviews, streams


def _partial(index: int, number: int, side: int = 1024) -> PartialImage:
    buffer = io.BytesIO()
    Image.new("RGB", (side, side), (10, 20 * number, 30)).save(buffer, format="PNG")
    return PartialImage(
        index=index,
        partial_index=number,
        data=buffer.getvalue(),
        format="png",
        width=side,
        height=side,
    )


async def test_each_partial_becomes_a_small_thumbnail_in_its_tile() -> None:
    shown: list[tuple[int, str, tuple[int, int]]] = []

    def show(index: int, data: bytes, fmt: str) -> None:
        shown.append((index, fmt, Image.open(io.BytesIO(data)).size))

    previews = PartialPreviews(show, lambda: True)
    await previews(_partial(0, 0))
    await previews(_partial(1, 0))
    await previews(_partial(0, 1))
    assert shown == [(0, "jpeg", (512, 512)), (1, "jpeg", (512, 512)), (0, "jpeg", (512, 512))]
    assert previews.shown == 3


async def test_a_stale_partial_or_a_finished_run_shows_nothing() -> None:
    shown: list[int] = []
    running = True
    previews = PartialPreviews(lambda i, d, f: shown.append(i), lambda: running)
    await previews(_partial(0, 1))
    await previews(_partial(0, 0))  # arrived after a newer one (its thumbnail was slower)
    assert shown == [0]
    running = False
    await previews(_partial(0, 2))
    assert shown == [0]


def test_which_models_can_stream_previews() -> None:
    assert streams("gpt-image-2", None)
    assert streams("gpt-image-1.5", "webp")
    assert not streams("gpt-image-2", "gif")
    assert not streams("gpt-image-2", "svg")
    for model in ("dall-e-3", "dall-e-2", "qwen-image", "flux-pro-1.1"):
        assert not streams(model, None)


async def test_what_the_previews_control_says_they_cost(client: AsyncImageClient) -> None:
    """The hint's figures: about 100 output image tokens each (the estimate and the fake's
    usage), so two nearly double a low-quality gpt-image-2 image's cost."""
    assert "about 100 output image tokens" in PARTIALS_HINT
    assert "two nearly double the cost of a low-quality gpt-image-2 image" in PARTIALS_HINT
    low = {"prompt": "a lighthouse", "model": "gpt-image-2", "quality": "low"}
    alone, with_two = estimate_cost(**low), estimate_cost(**low, partial_images=2)
    assert alone.usd is not None
    assert with_two.usd is not None
    assert 1.6 <= with_two.usd / alone.usd < 2.1
    plain = await client.generate(**low)
    streamed = await client.generate(**low, partial_images=2)
    assert plain.usage is not None
    assert streamed.usage is not None
    assert streamed.usage["output_tokens"] - plain.usage["output_tokens"] == 2 * 100
