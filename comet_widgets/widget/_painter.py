"""``MaskPainter``: paint where an edit may change an image, in the notebook.

The one custom front-end of the package, built on ``anywidget`` (an extra: ``pip install
"comet-widgets[painter]"``; without it, importing ``MaskPainter`` raises
``MissingDependencyError``). The browser gets a downscaled preview (at most 512 px); the brush
paints a translucent overlay on a canvas over it. When a stroke ends, the canvas goes to the
kernel as one small PNG (``_mask_png``, a data URL: a few kilobytes, never stroke events or raw
pixels); ``painter.mask`` is that overlay scaled to the image's full size as a boolean array
(True = edit here), ready for ``client.edit(..., mask=painter.mask)``. Setting ``painter.mask``
from code draws it in the browser.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import traitlets

from .._constants import PAINTER_INSTALL
from .._errors import MissingDependencyError

try:
    import anywidget
except ImportError as exc:
    raise MissingDependencyError(
        "the mask painter (MaskPainter)", "anywidget", PAINTER_INSTALL
    ) from exc

__all__ = ["MaskPainter"]

PREVIEW_SIDE = 512

_ESM = Path(__file__).with_name("_painter.js")


def preview_size(size: tuple[int, int]) -> tuple[int, int]:
    """The preview's size for an image of ``size``: at most ``PREVIEW_SIDE`` px, same shape.
    Known without decoding, so a mask can be drawn before the preview is made."""
    width, height = size
    scale = min(1.0, PREVIEW_SIDE / max(width, height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


def preview_of(image: Any) -> tuple[tuple[int, int], str]:
    """``(full size, preview data URL)`` of ``image``: decodes it (run it off the kernel's
    thread for big images; ``ImageGenerator`` does)."""
    from PIL import Image

    from ..images._inputs import source_of

    _, data, pil = source_of(image, "image")
    if pil is None:
        with Image.open(io.BytesIO(data or b"")) as opened:
            size = opened.size
            opened.draft("RGB", preview_size(size))  # a JPEG decodes at a fraction of its size
            small = opened.convert("RGB")
    else:
        size = pil.size
        small = pil if pil.mode in ("RGB", "RGBA", "L") else pil.convert("RGB")
    preview = small.resize(preview_size(size), Image.Resampling.BICUBIC, reducing_gap=2.0)
    return size, _data_url(preview.convert("RGB"), "JPEG")


def _data_url(image: Any, fmt: str = "PNG") -> str:
    out = io.BytesIO()
    image.save(out, fmt)
    kind = "png" if fmt == "PNG" else "jpeg"
    return f"data:image/{kind};base64," + base64.b64encode(out.getvalue()).decode("ascii")


class MaskPainter(anywidget.AnyWidget):
    """Paint a mask over ``image`` (a PIL image, array, bytes, path or ``GeneratedImage``).

    ``mask``: a boolean numpy array of the image's size (True = edit here), or None before
    anything is painted; assignable from code (an array or image meaning "edit here").
    Controls (CSS classes): ``cw-painter``, ``cw-brush``, ``cw-eraser``, ``cw-clear``,
    ``cw-invert``, ``cw-brush-size``, ``cw-painter-canvas`` over ``cw-painter-image``.
    ``rendered`` turns True once a front-end has shown it.
    """

    _esm = _ESM
    _image = traitlets.Unicode("").tag(sync=True)
    _mask_png = traitlets.Unicode("").tag(sync=True)
    brush_size = traitlets.Int(32).tag(sync=True)
    #: Set True by the front-end when it has drawn the painter (False where custom widgets
    #: cannot render: the ``ImageGenerator`` panel then says to set the mask from code).
    rendered = traitlets.Bool(False).tag(sync=True)
    mode = traitlets.Unicode("brush").tag(sync=True)

    def __init__(self, image: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size: tuple[int, int] = (0, 0)
        self.preview_size: tuple[int, int] = (0, 0)
        if image is not None:
            self.set_image(image)

    def set_image(self, image: Any) -> None:
        """Paint over another image (the mask is cleared)."""
        size, url = preview_of(image)
        self.expect(size)
        self.show_preview(url)

    def expect(self, size: tuple[int, int]) -> None:
        """Paint over an image of ``size`` whose preview comes later (``show_preview``): the
        mask is cleared and the old image is no longer shown; ``mask`` works at once."""
        self.size = size
        self.preview_size = preview_size(size)
        self._mask_png = ""
        self._image = ""

    def show_preview(self, url: str) -> None:
        """Show the preview (a data URL from ``preview_of``) of the image ``expect`` named."""
        self._image = url

    @property
    def mask(self) -> Any:
        """The painted area at the image's full size (True = edit here), or None."""
        if not self._mask_png:
            return None
        import numpy as np
        from PIL import Image

        raw = base64.b64decode(self._mask_png.split(",", 1)[1])
        with Image.open(io.BytesIO(raw)) as opened:
            alpha = opened.convert("RGBA").getchannel("A")
        painted = alpha.resize(self.size, Image.Resampling.NEAREST)
        array = np.asarray(painted) > 0
        return array if array.any() else None

    @mask.setter
    def mask(self, value: Any) -> None:
        if value is None:
            self._mask_png = ""
            return
        import numpy as np
        from PIL import Image

        from ..images._inputs import array_image

        pil = array_image(np.asarray(value), "mask") if not hasattr(value, "mode") else value
        edit = pil.convert("L").resize(self.preview_size, Image.Resampling.NEAREST)
        alpha = edit.point(lambda v: 255 if v > 127 else 0)
        colour = Image.new("RGBA", self.preview_size, (0, 170, 255, 0))
        colour.putalpha(alpha)
        self._mask_png = _data_url(colour)
