"""``MaskPainter`` on the kernel side: the mask round-trips through its small synced PNG."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from comet_widgets import InvalidParameterError, MaskPainter


def test_a_mask_set_from_code_comes_back_at_full_size() -> None:
    painter = MaskPainter(Image.new("RGB", (1024, 768), (10, 20, 30)))
    assert painter.mask is None
    wanted = np.zeros((768, 1024), dtype=bool)
    wanted[100:400, 200:600] = True
    painter.mask = wanted
    back = painter.mask
    assert back.shape == (768, 1024)
    # Stored at the preview's scale (512 px): edges may move by one full-size pixel.
    assert (back != wanted).mean() < 0.01
    state = painter.get_state()
    assert len(state["_mask_png"]) < 10_000
    assert len(state["_image"]) < 100_000  # a <= 512 px JPEG preview, not the image
    painter.mask = None
    assert painter.mask is None


def test_every_input_kind_and_an_empty_mask(tmp_path: object) -> None:
    array = np.zeros((64, 32, 3), dtype=np.uint8)
    painter = MaskPainter(array)
    assert painter.size == (32, 64)
    painter.mask = np.zeros((64, 32), dtype=bool)
    assert painter.mask is None  # nothing painted means no mask
    with pytest.raises(InvalidParameterError):
        MaskPainter(42)
