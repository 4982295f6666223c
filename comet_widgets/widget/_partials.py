"""Partial previews in the panel: a streamed generation's partial images shown in its tiles.

Previews are opt-in (the panel's ``partial_images`` starts at 0 for every model: each costs
output tokens). The panel passes a ``PartialPreviews`` as the client's ``on_partial``. Each
partial becomes a thumbnail off the loop (``PartialImage.preview``: at most 512 px, JPEG unless
transparent) and is handed to ``show(index, data, format)``, which puts it in that image's
placeholder tile, as long as the run is still the current one and no newer partial of that image
was shown. Partials never reach ``images`` or the history: only the final ``Generation`` lands.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from .._catalog import NO_STREAM_FORMATS, rules_for
from ..images._results import PartialImage

__all__ = ["PartialPreviews", "streams"]


def streams(model: str, output_format: str | None) -> bool:
    """Whether ``model`` can stream partial images with ``output_format``."""
    spec = rules_for(model)
    return spec is not None and spec.accepts("stream") and output_format not in NO_STREAM_FORMATS


class PartialPreviews:
    """The ``on_partial`` of one panel run."""

    def __init__(
        self, show: Callable[[int, bytes, str], None], current: Callable[[], bool]
    ) -> None:
        self._show = show
        self._current = current
        self._latest: dict[int, int] = {}
        #: How many partials reached a tile (tests and benchmarks read it).
        self.shown = 0

    async def __call__(self, partial: PartialImage) -> None:
        if not self._current():
            return
        data, fmt = await asyncio.to_thread(partial.preview)
        # The final image, a cancel or a newer partial may have come while the thumbnail was
        # made: then this one is stale.
        if not self._current() or partial.partial_index <= self._latest.get(partial.index, -1):
            return
        self._latest[partial.index] = partial.partial_index
        self._show(partial.index, data, fmt)
        self.shown += 1
