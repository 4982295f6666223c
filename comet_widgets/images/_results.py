"""Results of a generation: ``Generation`` and its ``GeneratedImage`` items.

A ``GeneratedImage`` always holds the bytes exactly as received (URL answers are downloaded at
once: their URLs expire). The PIL image is decoded lazily on first access and kept in a small
process-wide LRU cache (``DECODED_CACHE_SIZE`` images), so a session of hundreds of images holds
only their compressed bytes; an evicted image is decoded again on its next access.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, TypeVar, get_args

from .._catalog import Price
from .._constants import DECODED_CACHE_SIZE, DEFAULT_OUTPUT_DIR, RESCUE_DIR, THUMBNAIL_MAX_SIDE
from .._cost import Cost, generation_cost
from .._errors import CometError
from .._version import __version__
from ._formats import EXTENSIONS, MIME_TYPES, ImageFormat, has_alpha
from ._metadata import add_png_text, sidecar_path, write_file
from ._previews import decode_image

if TYPE_CHECKING:
    import numpy as np
    from PIL.Image import Image

__all__ = ["GeneratedImage", "Generation", "PartialImage", "numbered", "save_in", "slug"]

_P = TypeVar("_P", bound=PurePath)


class _DecodedCache:
    """A bounded LRU of decoded PIL images, keyed by the GeneratedImage that owns them."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[GeneratedImage, Image] = OrderedDict()
        self._lock = threading.Lock()

    def image(self, owner: GeneratedImage, data: bytes) -> Image:
        """``owner``'s decoded image: the cached one, else ``data`` decoded (outside the lock)."""
        with self._lock:
            if owner in self._items:
                self._items.move_to_end(owner)
                return self._items[owner]
        image = decode_image(data)
        with self._lock:
            self._items[owner] = image
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return image

    def __len__(self) -> int:
        return len(self._items)


decoded_cache = _DecodedCache(DECODED_CACHE_SIZE)


_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str, limit: int = 48) -> str:
    """``text`` lowercased, runs of anything but ``a-z0-9`` made ``-``, at most ``limit`` chars
    (``image`` when nothing is left)."""
    return _SLUG.sub("-", text.lower()).strip("-")[:limit].rstrip("-") or "image"


@dataclass(eq=False, repr=False, kw_only=True)
class GeneratedImage:
    """One image of a generation.

    ``data`` is the original encoded bytes (``None`` when ``error`` is set), ``format`` is sniffed
    from those bytes, ``image`` decodes them on first access.
    """

    index: int
    data: bytes | None = None
    format: ImageFormat | None = None
    width: int | None = None
    height: int | None = None
    url: str | None = None
    revised_prompt: str | None = None
    error: CometError | None = None
    generation: Generation | None = None

    @property
    def ok(self) -> bool:
        """True when the image bytes arrived intact."""
        return self.error is None and self.data is not None

    @property
    def mime_type(self) -> str | None:
        return MIME_TYPES[self.format] if self.format else None

    def _require_data(self) -> bytes:
        if self.data is None:
            raise self.error or CometError(f"image {self.index} has no data")
        return self.data

    @property
    def svg(self) -> str | None:
        """The SVG document as text (``format == "svg"``), else None."""
        if self.format != "svg" or self.data is None:
            return None
        return self.data.decode("utf-8", "replace")

    @property
    def frames(self) -> int:
        """How many frames the image has (more than 1 for an animated GIF)."""
        if self.format != "gif" or self.data is None:
            return 1
        from PIL import Image as PILImage

        with PILImage.open(io.BytesIO(self.data)) as opened:
            return int(getattr(opened, "n_frames", 1))

    @property
    def image(self) -> Image:
        """The decoded ``PIL.Image.Image`` (decoded on first access, then cached; the first
        frame of an animated GIF, with ``n_frames`` and ``seek``). Raises ``CometError`` for
        SVG, which is vector text: use ``.svg`` or ``.data``."""
        if self.format == "svg":
            raise CometError(
                f"image {self.index} is an SVG (vector XML text), which Pillow cannot decode"
                " into pixels; use .svg for the text or .data for the bytes (save() writes it"
                " as .svg)"
            )
        return decoded_cache.image(self, self._require_data())

    def to_numpy(self) -> np.ndarray[Any, Any]:
        """The pixels as a numpy array of shape (height, width, channels); needs numpy."""
        import numpy as np

        return np.asarray(self.image)

    # -- provenance -------------------------------------------------------------------------
    @property
    def mismatches(self) -> dict[str, tuple[str, str]]:
        """What came back unlike what was asked: ``{parameter: (asked, got)}``, empty when all
        matches (or nothing was asked).

        ``size`` and ``output_format`` are read from the image's bytes (``jpg`` and ``jpeg``
        are one format); ``background`` and ``quality`` from the answer's own fields (a
        transparent background also from the bytes: an image without alpha is opaque);
        ``prompt`` is ``(prompt, revised_prompt)`` when the service rewrote it. "auto" and
        parameters not sent ask nothing.
        """
        gen = self.generation
        if gen is None:
            return {}
        params, said = gen.params, gen.extra
        found: dict[str, tuple[str, str]] = {}

        def compare(name: str, got: object, same: Callable[[str], str] = str.lower) -> None:
            asked = params.get(name)
            if not isinstance(asked, str) or asked == "auto" or not isinstance(got, str):
                return
            if same(asked) != same(got):
                found[name] = (asked, got)

        if self.width and self.height:
            compare("size", f"{self.width}x{self.height}")
        else:
            compare("size", said.get("size"))
        compare("output_format", self.format or said.get("output_format"), _format_name)
        compare("quality", said.get("quality"))
        background = said.get("background")
        if params.get("background") == "transparent" and background in (None, "transparent"):
            data = self.data if self.error is None else None  # read once (a file's, maybe)
            alpha = has_alpha(data) if data else None
            background = "opaque" if alpha is False else background
        compare("background", background)
        revised = self.revised_prompt
        if revised and revised.strip() != gen.prompt.strip():
            found["prompt"] = (gen.prompt, revised)
        return found

    @property
    def metadata(self) -> dict[str, Any]:
        """The record written into saved files and read back by ``read_metadata``."""
        gen = self.generation
        return {
            "prompt": gen.prompt if gen else None,
            "revised_prompt": self.revised_prompt,
            "model": gen.model if gen else None,
            "size": gen.params.get("size") if gen else None,
            "created": gen.created if gen else None,
            "request_id": gen.request_id if gen else None,
            "index": self.index,
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "parameters": {k: v for k, v in gen.params.items() if k != "prompt"} if gen else {},
            "usage": gen.usage if gen else None,
            "mismatches": self.mismatches,
            "software": f"comet-widgets {__version__}",
        }

    def default_filename(self) -> str:
        gen = self.generation
        stem = slug(gen.prompt) if gen else "image"
        # An answer without "created" (0) is named for now, not for 1970.
        created = gen.created if gen and gen.created > 0 else None
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(created))
        ext = EXTENSIONS[self.format] if self.format else ".bin"
        return f"{stamp}-{stem}-{self.index}{ext}"

    def save(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        sidecar: bool | None = None,
        fsync: bool = False,
    ) -> Path:
        """Write the image with its metadata and return the path written.

        ``path`` may be a file, a directory (a name is made from the time and the prompt) or
        ``None`` (``./comet-images/``). When the file's extension matches the real format, or
        names none, the original bytes are written untouched (PNG gets metadata text chunks
        inserted, no pixel is re-encoded); another extension converts the image with Pillow.
        ``<file>.json`` holds the metadata when the format cannot (JPEG, WebP, GIF, SVG);
        an animated GIF keeps every frame;
        ``sidecar=True`` writes it for PNG too, ``sidecar=False`` never. A made-up name never
        replaces an existing file (``-2``, ``-3``... is added); an explicit file path does.
        """
        data = self._require_data()
        target = Path(DEFAULT_OUTPUT_DIR if path is None else path)
        if path is None or target.is_dir() or str(path).endswith(os.sep):
            target = numbered(target / self.default_filename(), Path.exists)
        wanted = _SUFFIX_FORMATS.get(target.suffix.lower())
        if wanted is None:
            target = target.with_name(target.name + EXTENSIONS[self.format or "png"])
        elif wanted != self.format:
            if "svg" in (wanted, self.format):
                raise CometError(
                    f"cannot save image {self.index} ({self.format}) as {target.suffix}: SVG is"
                    " vector text, not pixels; save it with a .svg name (or none)"
                )
            data = _convert(self.image, wanted)
        record = self.metadata
        if (wanted or self.format) == "png":
            data = add_png_text(data, record)
        write_file(target, data, fsync=fsync)
        if sidecar or (sidecar is None and (wanted or self.format) != "png"):
            import json

            text = json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True)
            write_file(sidecar_path(target), text.encode("utf-8"), fsync=fsync)
        return target

    # -- display --------------------------------------------------------------------------
    def preview(self, max_side: int = THUMBNAIL_MAX_SIDE) -> tuple[bytes, str]:
        """A downscaled JPEG (or PNG, with transparency) for display: ``(bytes, format)``. An SVG
        is its own preview (``svg+xml``, shown through an ``<img>``: no script runs); an
        animated GIF stays animated (``gif``, every frame downscaled)."""
        from ._previews import encode_preview, gif_preview

        data = self._require_data()
        if self.format == "svg":
            return data, "svg+xml"
        if self.format == "gif" and self.frames > 1:
            return gif_preview(data, max_side=max_side), "gif"
        return encode_preview(self.image, max_side=max_side)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle: dict[str, Any] = {"text/plain": repr(self)}
        if self.ok:
            data, fmt = self.preview()
            if fmt in ("svg+xml", "gif"):
                # As an <img>: the browser runs no script of an SVG shown this way, and the
                # notebook's sanitiser keeps it (a data: image URL) in untrusted notebooks.
                import base64

                source = f"data:image/{fmt};base64,{base64.b64encode(data).decode()}"
                bundle["text/html"] = (
                    f'<img src="{source}" alt="generated image {self.index}"'
                    f' style="max-width:{THUMBNAIL_MAX_SIDE}px">'
                )
            else:
                bundle[f"image/{fmt}"] = data
        return bundle

    def __repr__(self) -> str:
        if not self.ok:
            return f"<GeneratedImage #{self.index} failed: {self.error}>"
        size = f"{self.width}x{self.height}"
        return f"<GeneratedImage #{self.index} {self.format} {size}, {len(self.data or b'')} bytes>"


_SUFFIX_FORMATS: dict[str, ImageFormat] = {EXTENSIONS[f]: f for f in get_args(ImageFormat)}
_SUFFIX_FORMATS[".jpeg"] = "jpeg"


def save_in(
    image: GeneratedImage, folder: Path, *, name: str | None = None, **options: Any
) -> tuple[Path, OSError | None]:
    """Save ``image`` in ``folder`` (made if missing) as ``name`` (the extension added), or
    under a made-up name; ``options`` go to ``GeneratedImage.save``. An image that was paid for
    is never lost: when ``folder`` cannot be written (a full disk, a folder removed or made
    read-only since it was checked), it is saved in ``<temp folder>/comet-images-rescued``
    under a made-up name instead. Returns the path written and the error that moved it there
    (None when it is in ``folder``); raises that error only when the rescue fails too."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return image.save(folder / name if name else folder, **options), None
    except OSError as exc:
        rescue = Path(tempfile.gettempdir()) / RESCUE_DIR
        try:
            rescue.mkdir(parents=True, exist_ok=True)
            return image.save(rescue, **options), exc
        except OSError:
            raise exc from None


def numbered(path: _P, taken: Callable[[_P], bool]) -> _P:
    """``path``, or ``stem-2.ext``, ``stem-3.ext``... if taken (two generations of one prompt
    in the same second get the same made-up name)."""
    candidate, number = path, 1
    while taken(candidate):
        number += 1
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
    return candidate


def _format_name(name: str) -> str:
    """One spelling per format: ``jpg`` is ``jpeg``."""
    name = name.lower()
    return "jpeg" if name == "jpg" else name


def _convert(image: Image, fmt: ImageFormat) -> bytes:
    buffer = io.BytesIO()
    if fmt == "jpeg" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    options: dict[str, Any] = {"quality": 95} if fmt in ("jpeg", "webp") else {}
    image.save(buffer, format=fmt.upper(), **options)
    return buffer.getvalue()


@dataclass(eq=False, repr=False, kw_only=True)
class PartialImage:
    """A partial preview of one image while a streamed generation is running.

    ``index`` says which image of the generation it belongs to, ``partial_index`` which partial
    (0 first, coarsest). ``data`` holds the bytes as received, ``image`` decodes them on first
    access. In a notebook it displays as a downscaled preview. Partials never become part of a
    ``Generation``: only the final images do.
    """

    index: int
    partial_index: int
    data: bytes
    format: ImageFormat | None
    width: int | None
    height: int | None
    _decoded: Image | None = field(default=None, init=False)

    @property
    def image(self) -> Image:
        """The decoded ``PIL.Image.Image`` (decoded on first access)."""
        if self._decoded is None:
            self._decoded = decode_image(self.data)
        return self._decoded

    def preview(self, max_side: int = THUMBNAIL_MAX_SIDE) -> tuple[bytes, str]:
        """A downscaled JPEG (or PNG, with transparency) for display: ``(bytes, format)``."""
        from ._previews import encode_preview

        return encode_preview(self.image, max_side=max_side)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        data, fmt = self.preview()
        return {"text/plain": repr(self), f"image/{fmt}": data}

    def __repr__(self) -> str:
        return (
            f"<PartialImage image #{self.index} partial #{self.partial_index} {self.format}"
            f" {self.width}x{self.height}, {len(self.data)} bytes>"
        )


@dataclass(repr=False, eq=False)
class Generation:
    """The answer to one generation request, with every image's bytes already received."""

    prompt: str
    model: str
    created: int
    images: list[GeneratedImage]
    #: The fields really sent (without the key, which never leaves the client's headers):
    #: no ``stream``/``partial_images`` when the gateway does not stream this model.
    params: dict[str, Any]
    request_id: str | None = None
    elapsed: float = 0.0
    usage: dict[str, Any] | None = None
    #: Response fields this package does not interpret (gateways add their own).
    extra: dict[str, Any] = field(default_factory=dict)
    #: The prices ``cost`` uses: the client's (``AsyncImageClient(prices=...)``), or
    #: ``comet_widgets.PRICES`` when None.
    prices: Mapping[str, Price] | None = field(default=None, repr=False)
    #: True only when the answer really came as a stream (partial previews could arrive);
    #: False when streaming was not asked for or the gateway does not stream this model.
    streamed: bool = False

    def __post_init__(self) -> None:
        for image in self.images:
            image.generation = self

    @property
    def requested(self) -> int:
        """How many images were asked for (``n``)."""
        n = self.params.get("n", len(self.images))
        return n if isinstance(n, int) and not isinstance(n, bool) else len(self.images)

    @property
    def shortfall(self) -> int:
        """How many fewer images the API answered with than were asked for (0 when none)."""
        return max(0, self.requested - len(self.images))

    @property
    def ok(self) -> bool:
        """True when every image asked for arrived (no failed image and no shortfall)."""
        return self.shortfall == 0 and all(image.ok for image in self.images)

    @property
    def cost(self) -> Cost:
        """What this generation cost: the answer's ``usage`` times the model's token prices
        (``basis="usage"``), else, when the answer has no usable ``usage``, the estimate of the
        parameters sent (``"estimate"``); ``"unpriced"`` with ``usd`` None for a model without
        a known price. Never raises."""
        return generation_cost(
            self.model, self.params, self.usage, len(self.images), prices=self.prices
        )

    @property
    def errors(self) -> list[CometError]:
        return [image.error for image in self.images if image.error is not None]

    @property
    def pil_images(self) -> list[Image]:
        """The decoded images that arrived, in order (SVG images have no pixels: see ``.svg``)."""
        return [image.image for image in self.images if image.ok and image.format != "svg"]

    def save(self, directory: str | os.PathLike[str] | None = None, **options: Any) -> list[Path]:
        """Save every image that arrived into ``directory``; returns the paths."""
        folder = Path(DEFAULT_OUTPUT_DIR if directory is None else directory)
        folder.mkdir(parents=True, exist_ok=True)
        return [image.save(folder, **options) for image in self.images if image.ok]

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle: dict[str, Any] = {"text/plain": repr(self)}
        good = self.pil_images
        if good:
            from ._previews import contact_sheet

            bundle["image/png"] = contact_sheet(good)
        return bundle

    def __repr__(self) -> str:
        failed = len(self.errors)
        status = f", {failed} failed" if failed else ""
        count = f"{len(self.images)} image(s)"
        if self.shortfall:
            count = f"{len(self.images)} of {self.requested} image(s)"
        return (
            f"<Generation {self.model} {count}{status}"
            f" request_id={self.request_id!r} elapsed={self.elapsed:.2f}s>"
        )
