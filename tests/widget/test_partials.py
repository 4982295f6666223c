"""Partial previews for the panel's tiles: thumbnails, stale partials dropped, model defaults."""

from __future__ import annotations

import io

from PIL import Image

from comet_widgets import PartialImage
from comet_widgets.widget._partials import PartialPreviews, default_partials, streams


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


def test_two_partials_for_models_that_stream_none_otherwise() -> None:
    assert default_partials("gpt-image-2", None) == 2
    assert default_partials("gpt-image-1.5", "webp") == 2
    assert default_partials("gpt-image-2", "gif") == 0
    assert default_partials("gpt-image-2", "svg") == 0
    for model in ("dall-e-3", "dall-e-2", "qwen-image", "flux-pro-1.1"):
        assert default_partials(model, None) == 0
        assert not streams(model, None)
