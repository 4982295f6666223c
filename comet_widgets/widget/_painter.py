"""``MaskPainter``: paint where an edit may change an image, in the notebook.

The one custom front-end of the package, built on ``anywidget`` (an extra: ``pip install
"comet-widgets[painter]"``; without it, importing ``MaskPainter`` raises
``MissingDependencyError``). The browser gets a downscaled preview (at most 512 px); the brush
paints a translucent overlay on a canvas over it. When a stroke ends, the canvas goes to the
kernel as one small PNG (``_mask_png``, a data URL: a few kilobytes, never stroke events or raw
pixels); ``painter.mask`` is that overlay scaled to the image's full size as a boolean array
(True = edit here), ready for ``client.edit(..., mask=painter.mask)``. Setting ``painter.mask``
from code draws it in the browser.

What the front-end sends is checked when it arrives, as input from outside: a message that is
not a PNG data URL of the preview's size (bad base64, another format or size, a decompression
bomb, bytes that do not decode) is refused, the previous mask stays (and is drawn again), and
``notice`` says why (shown under the painter), so ``mask`` never fails on what a browser sent.
"""

from __future__ import annotations

import base64
import binascii
import io
from pathlib import Path
from typing import Any

import traitlets

from .._constants import MAX_IMAGE_PIXELS, PAINTER_INSTALL
from .._errors import InvalidParameterError, MissingDependencyError
from ..images._formats import NotAnImage, sniff

try:
    import anywidget
except ImportError as exc:
    raise MissingDependencyError(
        "the mask painter (MaskPainter)", "anywidget", PAINTER_INSTALL
    ) from exc

__all__ = ["MaskPainter"]

PREVIEW_SIDE = 512

_PNG_URL = "data:image/png;base64,"


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

    name, data, pil = source_of(image, "image")
    try:
        if pil is None:
            sniff(data or b"", max_pixels=MAX_IMAGE_PIXELS)  # a bomb is refused undecoded
            with Image.open(io.BytesIO(data or b"")) as opened:
                size = opened.size
                opened.draft("RGB", preview_size(size))  # a JPEG decodes at a fraction of it
                small = opened.convert("RGB")
        else:
            size = pil.size
            small = pil if pil.mode in ("RGB", "RGBA", "L") else pil.convert("RGB")
        preview = small.resize(preview_size(size), Image.Resampling.BICUBIC, reducing_gap=2.0)
    except Exception as exc:  # Pillow's errors (and NotAnImage) for what cannot be shown
        raise InvalidParameterError(
            "image",
            name,
            f"a png, jpeg, webp or gif image of at most {MAX_IMAGE_PIXELS:,} pixels",
            reason=f"image {name!r} cannot be painted over ({exc})",
        ) from None
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
    ``cw-invert``, ``cw-brush-size``, ``cw-painter-canvas`` over ``cw-painter-image``, and
    ``cw-painter-refused`` showing ``notice``. ``rendered`` turns True once a front-end has
    shown it.
    """

    _esm = Path(__file__).with_name("_painter.js")
    _image = traitlets.Unicode("").tag(sync=True)
    _mask_png = traitlets.Unicode("").tag(sync=True)
    brush_size = traitlets.Int(32).tag(sync=True)
    #: Set True by the front-end when it has drawn the painter (False where custom widgets
    #: cannot render: the ``ImageGenerator`` panel then says to set the mask from code).
    rendered = traitlets.Bool(False).tag(sync=True)
    mode = traitlets.Unicode("brush").tag(sync=True)
    #: Why the front-end's last message was refused (the previous mask kept), or "".
    notice = traitlets.Unicode("").tag(sync=True)
    #: The painted overlay's alpha at the preview's size (a PIL image), or None; and the
    #: message it came from (under ``set_state``'s held notifications, ``_mask_png`` already
    #: holds the new value when it is validated).
    _painted: Any = None
    _accepted = ""

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
        self.notice = ""

    def show_preview(self, url: str) -> None:
        """Show the preview (a data URL from ``preview_of``) of the image ``expect`` named."""
        self._image = url

    @property
    def mask(self) -> Any:
        """The painted area at the image's full size (True = edit here), or None."""
        if self._painted is None:
            return None
        import numpy as np
        from PIL import Image

        array = np.asarray(self._painted.resize(self.size, Image.Resampling.NEAREST)) > 0
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

    @traitlets.validate("_mask_png")
    def _check_painted(self, proposal: Any) -> str:
        url = str(proposal["value"])
        if url == self._accepted:
            return url
        try:
            self._painted = self._read_painted(url) if url else None
        except InvalidParameterError as exc:
            self.notice = f"{exc} (the previous mask is kept)"
            return self._accepted  # sent back: the front-end draws the kept mask again
        self.notice = ""
        self._accepted = url
        return url

    def _read_painted(self, url: str) -> Any:
        """The alpha of the overlay ``url`` carries; ``InvalidParameterError`` when it is not
        a PNG data URL of the preview's size that decodes."""
        from PIL import Image

        width, height = self.preview_size

        def refused(why: str) -> InvalidParameterError:
            return InvalidParameterError(
                "mask",
                url[:40] + ("…" if len(url) > 40 else ""),
                f"a PNG data URL of the preview's size, {width}x{height}",
                reason=f"the painter sent a mask that {why}",
            )

        if self.size == (0, 0):
            raise refused("has no image to go over")
        # base64 of a PNG no larger than raw RGBA pixels plus its chunks
        if not url.startswith(_PNG_URL) or len(url) > len(_PNG_URL) + 6 * width * height + 4096:
            raise refused("is not a PNG data URL of a sensible length")
        try:
            raw = base64.b64decode(url[len(_PNG_URL) :], validate=True)
            info = sniff(raw, max_pixels=width * height)
        except (binascii.Error, NotAnImage) as exc:
            raise refused(f"is not a PNG ({exc})") from None
        if (info.format, info.width, info.height) != ("png", width, height):
            raise refused(f"is a {info.width}x{info.height} {info.format}")
        try:
            with Image.open(io.BytesIO(raw)) as opened:
                return opened.convert("RGBA").getchannel("A")
        except Exception as exc:  # Pillow's errors for a PNG that does not decode
            raise refused(f"does not decode ({exc})") from None
