"""Edit inputs: turn what a user holds (a PIL image, a numpy array, bytes, a path, a
``GeneratedImage``) into the files of a ``POST /v1/images/edits`` multipart body.

Bytes and files that already fit go as they are; a PIL image or an array is encoded once, as
PNG. A mask may also mean "edit here" (a boolean or 0-1 array, a single-channel image, any image
without alpha: white = edit); it becomes the PNG the API wants, whose fully transparent pixels
mark the area to change. Reading, encoding and converting run in a worker thread (``prepare``):
megabytes of them would stall a notebook's event loop; PNG, JPEG or WebP bytes already in hand
only have their header read, on the loop. Provenance (``describe``) holds names and SHA-256
hashes, never bytes; the hashes are computed in a worker thread once the body is sent
(``Hashing``), while the server reads and answers.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from .._catalog import EditInput, check_edit
from .._errors import InvalidParameterError
from .._types import ImageInput
from ..images._formats import MIME_TYPES, NotAnImage, png_has_alpha, sniff
from ..images._results import GeneratedImage

__all__ = [
    "EditFiles",
    "Hashing",
    "ImageInput",
    "Upload",
    "form_fields",
    "hash_all",
    "prepare",
    "read_path",
    "when_sent",
]


_KINDS = "a PIL.Image, a numpy array, bytes, a file path or a GeneratedImage"
_EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp", "gif": "gif"}


@dataclass
class Upload:
    """One file of the multipart body. ``sha256`` is filled by ``hash_all`` (in a worker
    thread; for an edit once the body is sent, see ``Hashing``: 16 MB take ~9 ms)."""

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

    def as_file(self) -> tuple[str, tuple[str, bytes, str]]:
        return self.field, (self.name, self.data, self.content_type)


def _is_pil(value: object) -> bool:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is a dependency
        return False
    return isinstance(value, Image.Image)


def _is_array(value: object) -> bool:
    return type(value).__module__ == "numpy" and type(value).__name__ == "ndarray"


def _encode_png(image: Any) -> bytes:
    if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


def _array_image(array: Any, field: str) -> Any:
    import numpy as np
    from PIL import Image

    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise InvalidParameterError(
            field,
            f"array of shape {array.shape}",
            "an array of shape (H, W), (H, W, 3) or (H, W, 4)",
            reason=f"{field} array of shape {tuple(array.shape)} is not an image",
        )
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.dtype != np.uint8:
        if array.dtype == bool:
            array = array.astype(np.uint8) * 255
        else:
            peak = float(array.max()) if array.size else 0.0
            scaled = array * 255.0 if peak <= 1.0 else array
            array = np.clip(scaled, 0, 255).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(array))


def read_path(value: str | os.PathLike[str], field: str) -> tuple[str, bytes]:
    """``(file name, bytes)`` of an input file; a file that cannot be read is refused with
    ``InvalidParameterError`` naming ``field`` (edits and batch edit items alike)."""
    path = Path(value)
    try:
        return path.name, path.read_bytes()
    except OSError as exc:
        raise InvalidParameterError(
            field,
            str(value),
            "a path to an image file that exists and can be read",
            reason=f"cannot read {field} {str(value)!r} ({exc.strerror or type(exc).__name__})",
        ) from None


def _raw(value: ImageInput, field: str, number: int) -> tuple[str, bytes | None, Any]:
    """``(name, bytes or None, PIL image or None)`` of one input."""
    stem = field if field in ("mask", "markup") else f"image-{number}"
    if isinstance(value, GeneratedImage):
        if value.data is None:
            raise InvalidParameterError(
                field,
                f"GeneratedImage #{value.index}",
                "an image that arrived (its error is set)",
                reason=f"{field} is a GeneratedImage without bytes",
            )
        return (
            f"generated-{value.index}.{_EXTENSIONS.get(str(value.format), 'png')}",
            value.data,
            None,
        )
    if isinstance(value, (bytes, bytearray, memoryview)):
        return stem, bytes(value), None
    if isinstance(value, (str, os.PathLike)):
        name, data = read_path(value, field)
        return name, data, None
    if _is_pil(value):
        return f"{stem}.png", None, value
    if _is_array(value):
        return f"{stem}.png", None, _array_image(value, field)
    raise InvalidParameterError(
        field,
        type(value).__name__,
        f"give {_KINDS}",
        reason=f"{field} of type {type(value).__name__} cannot be uploaded",
    )


def _from_bytes(field: str, name: str, data: bytes, *, encoded: bool) -> Upload:
    try:
        info = sniff(data)
    except NotAnImage as exc:
        raise InvalidParameterError(
            field,
            name,
            "a png, jpeg or webp image",
            reason=f"{field} {name!r} is not an image ({exc})",
        ) from None
    if "." not in name:
        name = f"{name}.{_EXTENSIONS[info.format]}"
    alpha = png_has_alpha(data) if info.format == "png" else info.format == "webp"
    return Upload(
        field=field,
        name=name,
        data=data,
        format=info.format,
        width=info.width,
        height=info.height,
        alpha=alpha,
        encoded=encoded,
    )


def _image_upload(value: ImageInput, field: str, number: int) -> Upload:
    name, data, pil = _raw(value, field, number)
    if data is None:
        return _from_bytes(field, name, _encode_png(pil), encoded=True)
    return _from_bytes(field, name, data, encoded=False)


def _edit_here(pil: Any) -> bytes:
    """A PNG (grey + alpha) transparent where ``pil`` is bright: "white = edit here"."""
    from PIL import Image

    grey = pil.convert("L")
    keep = grey.point(lambda v: 0 if v > 127 else 255)  # alpha: 0 = edit here
    mask = Image.merge("LA", (Image.new("L", grey.size, 0), keep))
    return _encode_png(mask)


def _mask_upload(value: ImageInput) -> Upload:
    name, data, pil = _raw(value, "mask", 0)
    if data is not None:
        upload = _from_bytes("mask", name, data, encoded=False)
        if upload.format == "png" and upload.alpha:
            return upload
        from PIL import Image

        with Image.open(io.BytesIO(data)) as opened:
            converted = _edit_here(opened)
    elif "A" in pil.getbands() or (pil.mode == "P" and "transparency" in pil.info):
        converted = _encode_png(pil.convert("RGBA") if pil.mode == "P" else pil)
    else:
        converted = _edit_here(pil)
    return _from_bytes(
        "mask", name if name.endswith(".png") else "mask.png", converted, encoded=True
    )


@dataclass
class EditFiles:
    """The files of one edit: its images, and its mask or markup."""

    images: list[Upload]
    mask: Upload | None = None
    markup: Upload | None = None

    @property
    def all(self) -> list[Upload]:
        """Every file, in the SDK's order (images, markup, mask)."""
        return [*self.images, *(u for u in (self.markup, self.mask) if u is not None)]

    def check(self, model: str) -> None:
        """Refuse files ``model`` does not accept (``check_edit``)."""
        check_edit(
            model,
            [u.for_catalogue() for u in self.images],
            None if self.mask is None else self.mask.for_catalogue(),
            None if self.markup is None else self.markup.for_catalogue(),
        )

    def describe(self) -> dict[str, Any]:
        """What an edit's params record of its files: names, sizes and hashes (no bytes)."""
        params: dict[str, Any] = {"image": [u.describe() for u in self.images]}
        for upload in (self.mask, self.markup):
            if upload is not None:
                params[upload.field] = upload.describe()
        return params


def _prepare_sync(
    image: ImageInput | Sequence[ImageInput], mask: ImageInput | None, markup: ImageInput | None
) -> EditFiles:
    many = isinstance(image, (list, tuple))
    items = list(image) if many else [image]
    if not items:
        raise InvalidParameterError(
            "image", [], f"give one image or a list of them ({_KINDS})", reason="no image to edit"
        )
    field = "image[]" if many else "image"
    return EditFiles(
        [_image_upload(item, field, number) for number, item in enumerate(items)],
        mask=None if mask is None else _mask_upload(mask),
        markup=None if markup is None else _image_upload(markup, "markup", 0),
    )


async def prepare(
    image: ImageInput | Sequence[ImageInput],
    mask: ImageInput | None = None,
    markup: ImageInput | None = None,
) -> EditFiles:
    """The files of an edit: ``image`` (one, or a list: then sent as ``image[]``), ``mask``
    and ``markup`` (sent as it is: it must be a PNG with transparent pixels).

    Runs in a worker thread: reading, encoding and converting never stall the event loop. Only
    when every input is PNG, JPEG or WebP bytes already (``bytes`` or a ``GeneratedImage``) and
    there is no mask or markup does it run here: reading their headers takes microseconds, less
    than the hop to a thread and back (a GIF's frames, by contrast, are walked to the end).
    """
    items = list(image) if isinstance(image, (list, tuple)) else [image]
    if mask is None and markup is None and all(_held(item) for item in items):
        return _prepare_sync(image, mask, markup)
    return await asyncio.to_thread(_prepare_sync, image, mask, markup)


def _held(value: ImageInput) -> bool:
    """Whether ``value`` is bytes in hand whose header is read in constant time (PNG, JPEG,
    WebP) and that go as they are (no copy, no file, no encoding)."""
    data = value.data if isinstance(value, GeneratedImage) else value
    if type(data) is not bytes:
        return False
    return data.startswith(_QUICK_HEADS) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


_QUICK_HEADS = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


def _hash_sync(uploads: list[Upload]) -> None:
    for upload in uploads:
        if not upload.sha256:
            upload.sha256 = hashlib.sha256(upload.data).hexdigest()


async def hash_all(uploads: list[Upload]) -> None:
    """Fill each upload's ``sha256`` in a worker thread (hashlib releases the GIL)."""
    await asyncio.to_thread(_hash_sync, uploads)


class Hashing:
    """The provenance hashes of an edit's uploads, computed while the server works.

    ``start`` (given to the request as its "body sent" callback) runs ``hash_all`` once the
    whole body has been handed to the socket: while the upload is under way the client's core
    is busy sending (on loopback, moving the bytes to the reader too), and hashing then would
    compete with it; after that the client only waits for the answer. ``finish`` starts it if
    the body was never sent and waits for it; ``settle`` waits only if it was started (a thread
    cannot be cancelled: let it end before the uploads are dropped).
    """

    def __init__(self, uploads: list[Upload]) -> None:
        self._uploads = uploads
        self._task: asyncio.Future[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(hash_all(self._uploads))

    async def finish(self) -> None:
        self.start()
        assert self._task is not None
        await asyncio.shield(self._task)

    async def settle(self) -> None:
        if self._task is not None and not self._task.done():
            await asyncio.shield(self._task)


class _ThenCall(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, then: Callable[[], None]) -> None:
        self._inner = inner
        self._then = then

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk
        self._then()

    async def aclose(self) -> None:
        await self._inner.aclose()


def when_sent(request: httpx.Request, then: Callable[[], None]) -> httpx.Request:
    """``request`` with ``then()`` called once its whole body has been handed to the socket."""
    if not isinstance(request.stream, httpx.AsyncByteStream):  # pragma: no cover
        return request
    return httpx.Request(
        request.method,
        request.url,
        headers=request.headers,
        stream=_ThenCall(request.stream, then),
        extensions=request.extensions,
    )


def form_fields(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """The text fields of the multipart body, as the SDK writes them: numbers and strings as
    text, booleans as ``true``/``false``, a dict as ``key[sub]``, a list as ``key[]``."""
    fields: list[tuple[str, str]] = []

    def add(key: str, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, bool):
            fields.append((key, "true" if value else "false"))
        elif isinstance(value, dict):
            for sub, item in value.items():
                add(f"{key}[{sub}]", item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                add(f"{key}[]", item)
        else:
            fields.append((key, str(value)))

    for key, value in payload.items():
        add(key, value)
    return fields
