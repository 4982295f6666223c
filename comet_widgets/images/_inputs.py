"""Image inputs: what a user holds (a PIL image, a numpy array, bytes, a path, a
``GeneratedImage``) as bytes and a media type.

Edits (``client.edit``), a batch's edit items and the panel's inputs and mask painter all read
their inputs here, so they accept and refuse the same things, with ``InvalidParameterError``
naming the field. Bytes and files that already fit go as they are; a PIL image or an array is
encoded once, as PNG. A mask may also mean "edit here" (a boolean or 0-1 array, a
single-channel image, any image without alpha: white = edit); ``mask_file`` makes it the PNG
the API wants, whose fully transparent pixels mark the area to change. Everything here is
synchronous and may decode or encode: callers on an event loop run it in a worker thread.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .._catalog import KINDS, EditInput
from .._constants import MAX_IMAGE_PIXELS
from .._errors import CometError, InvalidParameterError
from .._types import ImageInput
from ._formats import EXTENSIONS, MIME_TYPES, NotAnImage, has_alpha, sniff
from ._metadata import read_path
from ._previews import transparent
from ._results import GeneratedImage

__all__ = [
    "InputFile",
    "array_image",
    "check_array",
    "encode_png",
    "in_hand",
    "input_file",
    "is_array",
    "mask_file",
    "read_path",
    "readable",
    "source_of",
    "to_bytes",
    "transparent",
]


@dataclass
class InputFile:
    """One input as it is sent: its bytes, media type and header. ``sha256`` is filled later
    (``client._uploads.hash_all``, in a worker thread: 16 MB take ~9 ms)."""

    field: str
    name: str
    data: bytes
    format: str
    width: int
    height: int
    alpha: bool
    #: True when this package encoded or converted it (False: sent as given).
    encoded: bool
    sha256: str = ""

    @property
    def content_type(self) -> str:
        return MIME_TYPES.get(self.format, "application/octet-stream")

    def describe(self) -> dict[str, Any]:
        """Provenance for ``Generation.params``: never the bytes."""
        return {
            "name": self.name,
            "sha256": self.sha256,
            "bytes": len(self.data),
            "format": self.format,
            "width": self.width,
            "height": self.height,
        }

    def for_catalogue(self) -> EditInput:
        return EditInput(
            self.name, self.format, self.width, self.height, len(self.data), alpha=self.alpha
        )


def is_array(value: object) -> bool:
    """Whether ``value`` is a numpy array (numpy is not imported to find out)."""
    return type(value).__module__ == "numpy" and type(value).__name__ == "ndarray"


@contextlib.contextmanager
def readable(field: str, name: str) -> Iterator[None]:
    """The one wrapper around reading an input: whatever Pillow (or numpy) raises while it is
    opened, loaded, converted or encoded (a decompression bomb, a truncated or corrupt file, a
    format it cannot read, a mode PNG cannot hold) becomes ``InvalidParameterError`` naming
    the input; the package's own errors pass through."""
    try:
        yield
    except CometError:
        raise
    except Exception as exc:  # Pillow raises OSError, ValueError, SyntaxError, KeyError...
        what = str(exc).split(" <", 1)[0] or type(exc).__name__  # no "<_io.BytesIO ...>"
        raise InvalidParameterError(
            field,
            name,
            "a png, jpeg or webp image that can be decoded, of a size Pillow accepts",
            reason=f"{field} {name!r} cannot be read as an image ({type(exc).__name__}: {what})",
        ) from None


def encode_png(image: Any) -> bytes:
    """A PIL image as PNG bytes (fast compression; modes PNG cannot hold are converted: a
    32-bit integer image to 8 or 16 bits when its values fit, losslessly; else refused)."""
    if image.mode == "I":
        low, high = image.getextrema()
        if low < 0 or high > 65535:
            raise ValueError(f"a mode I image with values {low}..{high} does not fit in 16 bits")
        image = image.convert("L") if high <= 255 else image.convert("I;16")
    elif image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


#: The arrays taken as images, and how their values are read.
ARRAY_RULE = (
    "uint8 (0-255, as is), uint16 (0-65535, scaled to 8 bits), float in 0..1 (times 255)"
    " or bool (True = white)"
)


def check_array(array: Any, field: str) -> tuple[int, int, bool]:
    """``(width, height, alpha)`` of an array that ``array_image`` takes: shape (H, W),
    (H, W, 1), (H, W, 3) or (H, W, 4), of a dtype ``ARRAY_RULE`` names (a float array only
    with finite values in 0..1); else ``InvalidParameterError`` naming ``field``."""
    import numpy as np

    shape = tuple(array.shape)
    if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] not in (1, 3, 4)):
        raise InvalidParameterError(
            field,
            f"array of shape {shape}",
            "an array of shape (H, W), (H, W, 3) or (H, W, 4)",
            reason=f"{field} array of shape {shape} is not an image",
        )
    kind = array.dtype
    ranged = kind.kind != "f" or not array.size or 0 <= array.min() <= array.max() <= 1
    if kind not in (np.uint8, np.uint16, np.bool_) and not (kind.kind == "f" and ranged):
        values = " with values outside 0..1" if kind.kind == "f" else ""
        raise InvalidParameterError(
            field,
            f"array of dtype {kind}",
            f"give {ARRAY_RULE}",
            reason=f"{field} array of dtype {kind}{values} is not read as an image",
        )
    return int(shape[1]), int(shape[0]), len(shape) == 3 and shape[2] == 4


def array_image(array: Any, field: str) -> Any:
    """An array ``check_array`` takes as a PIL image, its values read as ``ARRAY_RULE`` says."""
    import numpy as np
    from PIL import Image

    check_array(array, field)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    elif array.dtype == np.uint16:
        array = (array >> 8).astype(np.uint8)
    elif array.dtype != np.uint8:
        array = np.round(array * 255.0).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(array))


def source_of(value: ImageInput, field: str, number: int = 0) -> tuple[str, bytes | None, Any]:
    """``(name, bytes or None, PIL image or None)`` of one input: bytes for bytes, paths and
    ``GeneratedImage``s (a path is read), a PIL image for a PIL image or an array. The name is
    the file's, or made from ``field`` and ``number``."""
    stem = field if field in ("mask", "markup") else f"image-{number}"
    if isinstance(value, GeneratedImage):
        if value.data is None:
            raise InvalidParameterError(
                field,
                f"GeneratedImage #{value.index}",
                "an image that arrived (its error is set)",
                reason=f"{field} is a GeneratedImage without bytes",
            )
        suffix = EXTENSIONS.get(str(value.format), ".png")
        return f"generated-{value.index}{suffix}", value.data, None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return stem, bytes(value), None
    if isinstance(value, (str, os.PathLike)):
        name, data = read_path(value, field)
        return name, data, None
    from PIL import Image

    if isinstance(value, Image.Image):
        if value.mode == "F":  # floating point: read by the arrays' rule, not clipped to 0..255
            import numpy as np

            with readable(field, "a mode F image"):
                return f"{stem}.png", None, array_image(np.asarray(value), field)
        return f"{stem}.png", None, value
    if is_array(value):
        with readable(field, "an array"):
            return f"{stem}.png", None, array_image(value, field)
    raise InvalidParameterError(
        field,
        type(value).__name__,
        f"give {KINDS}",
        reason=f"{field} of type {type(value).__name__} cannot be uploaded",
    )


def to_bytes(value: ImageInput, field: str) -> tuple[str, bytes]:
    """``(name, bytes)`` of one input, a PIL image or an array encoded as PNG."""
    name, data, pil = source_of(value, field)
    with readable(field, name):
        return name, encode_png(pil) if data is None else data


def _from_bytes(field: str, name: str, data: bytes, *, encoded: bool) -> InputFile:
    try:
        info = sniff(data, max_pixels=MAX_IMAGE_PIXELS)  # a bomb is refused undecoded
    except NotAnImage as exc:
        raise InvalidParameterError(
            field,
            name,
            "a png, jpeg or webp image",
            reason=f"{field} {name!r} is not an image ({exc})",
        ) from None
    if "." not in name:
        name += EXTENSIONS[info.format]
    alpha = bool(has_alpha(data))
    return InputFile(field, name, data, info.format, info.width, info.height, alpha, encoded)


def input_file(
    value: ImageInput, field: str, number: int = 0, *, name: str | None = None
) -> InputFile:
    """One image (or a markup) as it is sent: as given when it is bytes or a file, else PNG.
    ``name`` names bytes already read from a file (a batch plans with them)."""
    made, data, pil = source_of(value, field, number)
    name = name or made
    with readable(field, name):
        if data is None:
            return _from_bytes(field, name, encode_png(pil), encoded=True)
        return _from_bytes(field, name, data, encoded=False)


def _edit_here(pil: Any) -> bytes:
    """A PNG (grey + alpha) transparent where ``pil`` is bright: "white = edit here"."""
    from PIL import Image

    grey = pil.convert("L")
    keep = grey.point(lambda v: 0 if v > 127 else 255)  # alpha: 0 = edit here
    mask = Image.merge("LA", (Image.new("L", grey.size, 0), keep))
    return encode_png(mask)


def mask_file(value: ImageInput, *, name: str | None = None) -> InputFile:
    """A mask as the API wants it: a PNG with alpha as it is; an image with transparency with
    its alpha kept; anything else read as "white = edit here" (``name`` as in ``input_file``)."""
    made, data, pil = source_of(value, "mask")
    name = name or made
    with readable("mask", name):
        if data is not None:
            upload = _from_bytes("mask", name, data, encoded=False)
            if upload.format == "png" and upload.alpha:
                return upload
            from PIL import Image

            with Image.open(io.BytesIO(data)) as opened:
                converted = _edit_here(opened)
        elif transparent(pil):
            converted = encode_png(pil.convert("RGBA") if pil.mode == "P" else pil)
        else:
            converted = _edit_here(pil)
        return _from_bytes(
            "mask", name if name.endswith(".png") else "mask.png", converted, encoded=True
        )


_QUICK_HEADS = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


def in_hand(value: ImageInput) -> bool:
    """Whether ``value`` is bytes in hand whose header is read in constant time (PNG, JPEG,
    WebP) and that go as they are (no copy, no file, no encoding): safe to take on a loop."""
    data = value.data if isinstance(value, GeneratedImage) else value
    if type(data) is not bytes:
        return False
    return data.startswith(_QUICK_HEADS) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
