"""Edit mode's parts of the panel: the input strip, the upload control and the mask painter.

``check_input`` turns what a user holds (the kinds ``client.edit`` accepts: a PIL image, a
numpy array, bytes, a path, a ``GeneratedImage``) into an ``InputImage``: a name for people and
the size and format the catalogue's edit rules need. It is cheap (the kind and the header: no
decoding; a path is read) and runs where ``gen.inputs`` is set, so a bad input is refused at
once. Decoding for the thumbnail (``INPUT_THUMB_SIDE`` px) and the painter's preview takes tens
of milliseconds for 1024 px and hundreds for a large PNG photo, so the panel does it in a worker
thread and the cards and painter fill in after. Only those thumbnails, and the painter's
<= 512 px preview and mask PNG, go to the browser: the inputs stay in the kernel, read and sent
by ``client.edit`` on the panel's loop.

``EditArea`` owns the widgets: the ``cw-input`` cards, "Back to generating", the upload control
(core ``FileUpload``, read once and cleared: no uploaded file stays in widget state) and the
mask area with the package's ``MaskPainter`` (anywidget, the ``painter`` extra); without it, or
in a front-end that cannot show custom widgets, the area says to set ``gen.mask`` from code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from .._catalog import EditInput
from .._constants import MAX_IMAGE_PIXELS, PAINTER_INSTALL
from .._errors import InvalidParameterError
from ..images._formats import NotAnImage, has_alpha, sniff
from ..images._results import GeneratedImage
from ._dom import classed, escaped, made, set_class, set_value, show
from ._gallery import button, set_image
from ._traits import PixelList
from ._words import plain, plural

__all__ = [
    "EditArea",
    "InputImage",
    "InputList",
    "check_input",
    "describe_input",
    "mask_array",
    "prepare",
    "shortened",
]

#: The input strip's thumbnails: the longest side, in pixels.
INPUT_THUMB_SIDE = 96
#: What the mask area says until the front-end reports that the painter rendered.
PAINTER_NOTICE = (
    "Painting needs a front-end that shows custom widgets; set gen.mask from code"
    " (True = change here)."
)
#: What it says when the ``painter`` extra (anywidget) is not installed.
NO_PAINTER = (
    f"The mask painter needs the painter extra ({PAINTER_INSTALL});"
    " set gen.mask from code (True = change here), or edit without a mask."
)
#: What the upload control takes (the formats every model that edits accepts some of).
UPLOAD_ACCEPT = ".png,.jpg,.jpeg,.webp,image/png,image/jpeg,image/webp"
_NAME_CHARS = 40
#: A tooltip's: the whole prompt, up to this many characters (a prompt may be 32,000).
_TITLE_CHARS = 300


class InputList(PixelList):
    """``gen.inputs``: a list compared by identity (arrays and images are never compared by
    value); one image alone, or ``None``, is taken as a list of one, or none."""

    def validate(self, obj: Any, value: Any) -> Any:
        if value is None:
            value = []
        elif not isinstance(value, (list, tuple)):
            value = [value]
        return super().validate(obj, value)


@dataclass(frozen=True, eq=False)
class InputImage:
    """One input as the panel knows it: never its full pixels or bytes besides ``source``."""

    #: What was given (sent as it is by ``client.edit``).
    source: Any
    #: For people: "image 2 of 'A paper boat…'", "photo.png", "a PIL image".
    name: str
    width: int
    height: int
    #: As sniffed from the bytes ("png", "jpeg"...); "png" for an image encoded when sent.
    format: str
    #: Bytes as sent (0: encoded when sent, the size is not known yet).
    size: int
    alpha: bool
    #: The thumbnail (empty until ``with_thumbnail`` made it).
    thumb: bytes
    thumb_format: str
    #: The whole name, for a tooltip ("image 2 of 'A paper boat on a lake at dawn, …'" in full).
    title: str = ""
    #: Why no thumbnail could be made (the bytes are not a decodable image), or "".
    problem: str = ""

    @property
    def full_name(self) -> str:
        return self.title or self.name

    def for_catalogue(self, number: int) -> EditInput:
        return EditInput(
            self.name or f"image-{number}",
            self.format,
            self.width,
            self.height,
            self.size,
            alpha=self.alpha,
        )


def shortened(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters ("…" where it was cut)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _generated_name(image: GeneratedImage, limit: int = _NAME_CHARS) -> str:
    generation = image.generation
    prompt = generation.prompt if generation is not None else ""
    total = len(generation.images) if generation is not None else 0
    of = f" of {total}" if total > 1 else ""
    what = f"image {image.index + 1}{of}"
    return f"{what} from '{shortened(prompt, limit)}'" if prompt else what


def _decode(data: bytes, name: str, *, small: bool = True, field: str = "inputs") -> Any:
    from PIL import Image

    from ..images._inputs import readable

    with readable(field, name):
        opened = Image.open(io.BytesIO(data))
        if small:  # a JPEG decodes at a fraction of its size, enough for a thumbnail
            opened.draft("RGB", (INPUT_THUMB_SIDE * 2, INPUT_THUMB_SIDE * 2))
        opened.load()
    return opened


def check_input(value: Any, number: int, *, name: str | None = None) -> InputImage:
    """The record of one input without its thumbnail: cheap (nothing is decoded; a path is
    read, bytes are sniffed). Raises ``InvalidParameterError`` naming ``inputs`` for what
    ``client.edit`` could not send."""
    from ..images._inputs import check_array, is_array, source_of

    title = ""
    if is_array(value):
        width, height, alpha = check_array(value, "inputs")
        shown = name or "an array"
        return InputImage(value, shown, width, height, "png", 0, alpha, b"", "jpeg")
    _, data, pil = source_of(value, "inputs", number)
    if isinstance(value, GeneratedImage):
        if value.format == "svg":
            raise InvalidParameterError(
                "inputs",
                f"GeneratedImage #{value.index}",
                "a raster image (png, jpeg or webp)",
                reason="an SVG image cannot be edited",
            )
        shown = name or _generated_name(value)
        title = name or _generated_name(value, _TITLE_CHARS)
    elif isinstance(value, (str, os.PathLike)):
        shown = name or Path(value).name
    elif pil is not None:
        shown = name or "a PIL image"
    else:
        shown = name or "image bytes"
    if data is not None:
        try:
            info = sniff(data, max_pixels=MAX_IMAGE_PIXELS)
        except NotAnImage as exc:
            raise InvalidParameterError(
                "inputs",
                shown,
                "a png, jpeg or webp image",
                reason=f"input {shown!r} is not an image ({exc})",
            ) from None
        fmt, width, height, size = info.format, info.width, info.height, len(data)
        alpha = bool(has_alpha(data))
    else:
        width, height = pil.size
        fmt, size = "png", 0
        alpha = "A" in pil.getbands() or "transparency" in pil.info
    return InputImage(value, shown, width, height, fmt, size, alpha, b"", "jpeg", title=title)


def with_thumbnail(item: InputImage) -> InputImage:
    """``item`` with its thumbnail (decodes the input: the panel runs this in a worker
    thread); with ``problem`` set instead when the bytes cannot be decoded."""
    from ..images._inputs import source_of
    from ..images._previews import encode_preview

    if item.thumb or item.problem:
        return item
    try:
        _, data, pil = source_of(item.source, "inputs")
        picture = pil if data is None else _decode(data, item.name)
        thumb, thumb_format = encode_preview(picture, max_side=INPUT_THUMB_SIDE)
    except InvalidParameterError as exc:
        return dataclasses.replace(item, problem=str(exc))
    except Exception as exc:  # an array of an odd dtype, a file changed meanwhile...
        return dataclasses.replace(item, problem=f"cannot be shown ({exc})")
    return dataclasses.replace(item, thumb=thumb, thumb_format=thumb_format)


def prepare(pending: Sequence[InputImage], first: InputImage | None) -> tuple[list[Any], str]:
    """The slow half, for a worker thread: ``pending`` with their thumbnails, and the
    painter's preview (a data URL) of ``first`` ("" when not asked for or not decodable)."""
    done = [with_thumbnail(item) for item in pending]
    url = ""
    if first is not None and not first.problem:
        # A failure is shown on its card (``problem``); the painter stays blank.
        with contextlib.suppress(Exception):
            from ._painter import preview_of

            url = preview_of(first.source)[1]
    return done, url


def describe_input(value: Any, number: int, *, name: str | None = None) -> InputImage:
    """``check_input`` and ``with_thumbnail`` in one (decodes: not on the kernel's thread)."""
    return with_thumbnail(check_input(value, number, name=name))


def mask_array(value: Any) -> Any:
    """``value`` as a boolean array, True = change here, with ``client.edit``'s meaning: a
    boolean or 0-1 array (True / >= 0.5), a uint8 array or an image without alpha (> 127), an
    image with alpha (fully transparent = change here); bytes and paths are read."""
    import numpy as np

    from ..images._inputs import readable, source_of, transparent

    name, data, pil = source_of(value, "mask")
    with readable("mask", name):
        if data is not None:
            pil = _decode(data, name, small=False, field="mask")
        if transparent(pil):
            alpha = np.asarray(pil.convert("RGBA").getchannel("A"))
            return alpha == 0
        return np.asarray(pil.convert("L")) > 127


class _InputCard:
    def __init__(self, remove: Callable[[int], None]) -> None:
        self.index = -1
        self.thumb = classed(made(widgets.Image, format="jpeg"), "cw-input-thumb")
        self.label = classed(made(widgets.HTML), "cw-input-label")
        self.remove = button("", "cw-input-remove", icon="times", tooltip="Remove this input")
        self.box = classed(made(widgets.VBox, [self.thumb, self.remove, self.label]), "cw-input")
        self.remove.on_click(lambda _button: remove(self.index))

    def load(self, index: int, item: InputImage, total: int) -> None:
        self.index = index
        set_image(self.thumb, item.thumb, item.thumb_format)
        set_class(self.box, "cw-input-pending", not item.thumb and not item.problem)
        first = " · mask" if index == 0 and total > 1 else ""
        problem = ""
        if item.problem:  # in words; the reason (the decoder's) where the pointer rests
            problem = f'<span title="{escaped(plain(item.problem))}"> · cannot be shown</span>'
        set_value(
            self.label,
            f'<span title="{escaped(item.full_name)}">{escaped(item.name)}</span>'
            f'<span class="cw-detail">{item.width}x{item.height}{escaped(first)}{problem}</span>',
        )
        set_value(self.remove, f"Remove {item.full_name}", trait="tooltip")


class EditArea:
    """The edit-mode widgets; the panel keeps the state and calls ``show_inputs``/``show_mask``.

    ``on_remove(index)``, ``on_back()`` and ``on_upload(files)`` (``[(name, bytes)]``) report
    the user's clicks; ``on_painted()`` a stroke that reached the kernel.
    """

    def __init__(
        self,
        *,
        on_remove: Callable[[int], None],
        on_back: Callable[[], None],
        on_upload: Callable[[list[tuple[str, bytes]]], None],
        on_painted: Callable[[], None],
    ) -> None:
        self._on_remove = on_remove
        self._on_upload = on_upload
        self._on_painted = on_painted
        self._cards: list[_InputCard] = []
        self.painter: Any = None
        #: What the painter paints over (the first input's ``source``).
        self._painting: Any = None
        self._previewed = False
        #: ``MaskPainter``; None without the ``painter`` extra (anywidget).
        self._painter_class: Any = None
        with contextlib.suppress(ImportError):
            from ._painter import MaskPainter

            self._painter_class = MaskPainter
        self.title = classed(made(widgets.HTML), "cw-edit-title")
        self.back = button(
            "Back to generating",
            "cw-back-to-generate",
            icon="arrow-left",
            tooltip="Clear the inputs and the mask; Generate makes new images again",
        )
        spacer = classed(made(widgets.Box), "cw-header-spacer")
        # The bar (what is edited, "Back to generating") sits above the prompt; the strip and
        # the mask area (``box``) beside it at wide widths, below Apply edit at narrow ones.
        self.bar = classed(
            made(
                widgets.HBox, [self.title, spacer, self.back], layout=widgets.Layout(display="none")
            ),
            "cw-edit-bar",
        )
        self.strip = classed(made(widgets.HBox, layout=widgets.Layout(display="none")), "cw-inputs")
        self.upload = classed(
            made(
                widgets.FileUpload,
                accept=UPLOAD_ACCEPT,
                multiple=True,
                description="Upload to edit",
                icon="upload",
                tooltip="Add png, jpeg or webp images to edit",
            ),
            "cw-upload",
        )
        self.mask_title = classed(
            made(
                widgets.HTML,
                "<b>Mask</b> <span class='cw-detail'>paint where the edit may change the first"
                " image; no mask: the whole image may change</span>",
            ),
            "cw-mask-title",
        )
        self.notice = classed(
            made(widgets.HTML, layout=widgets.Layout(display="none")), "cw-painter-notice"
        )
        self.mask_note = classed(made(widgets.HTML), "cw-mask-note")
        self.painter_slot = classed(made(widgets.Box), "cw-mask-slot")
        self.mask_box = classed(
            made(widgets.VBox, [self.mask_title, self.painter_slot, self.notice, self.mask_note]),
            "cw-mask-area",
        )
        self.box = classed(
            made(widgets.VBox, [self.strip, self.mask_box], layout=widgets.Layout(display="none")),
            "cw-edit-area",
        )
        self.back.on_click(lambda _button: on_back())
        self.upload.observe(self._uploaded, names="value")

    @property
    def cards(self) -> list[widgets.Widget]:
        """Every input card made, shown or kept for reuse (for closing)."""
        return [card.box for card in self._cards]

    def _uploaded(self, change: Any) -> None:
        files = change["new"]
        if not files:
            return
        received = [(str(f.get("name") or "upload"), bytes(f["content"])) for f in files]
        # Read once, then dropped from the widget: no uploaded file stays in widget state.
        self.upload.value = ()
        self._on_upload(received)

    def show_inputs(self, items: Sequence[InputImage]) -> None:
        """Show the strip (hidden when empty) and the whole area in edit mode."""
        while len(self._cards) < len(items):
            self._cards.append(_InputCard(self._on_remove))
        for index, (card, item) in enumerate(zip(self._cards, items, strict=False)):
            card.load(index, item, len(items))
        children = tuple(card.box for card in self._cards[: len(items)])
        if tuple(self.strip.children) != children:
            self.strip.children = children
        for part in (self.strip, self.box, self.bar):
            show(part, bool(items))
        what = f"Editing {plural(len(items), 'image')}"
        hint = (
            "say what to change in the prompt, then Apply edit"
            if len(items) == 1
            else "the first is the one the mask applies to"
        )
        set_value(self.title, f"<b>{what}</b> <span class='cw-detail'>{escaped(hint)}</span>")
        self.upload.description = "Add images" if items else "Upload to edit"
        set_class(self.upload, "cw-upload-more", bool(items))
        if items:
            self._show_painter(items[0])

    def _show_painter(self, first: InputImage) -> None:
        cls = self._painter_class
        if cls is None:
            set_value(self.notice, escaped(NO_PAINTER))
            show(self.notice, True)
            return
        if self.painter is None:
            self.painter = cls(brush_size=40)
            self.painter.add_class("cw-mask-painter")
            self.painter.observe(lambda _change: self._on_painted(), names="_mask_png")
            self.painter.observe(lambda _change: self._show_notice(), names="rendered")
            self.painter_slot.children = (self.painter,)
            self.set_first(first)
        self._show_notice()

    def set_first(self, first: InputImage) -> None:
        """The first input changed: paint over it (the painted mask is cleared at once; the
        preview follows with ``show_preview``, made off the kernel's thread)."""
        if self.painter is not None and self._painting is not first.source:
            self.painter.expect((first.width, first.height))
            self._previewed = False
        self._painting = first.source

    def wants_preview(self, source: Any) -> bool:
        """Whether the painter paints over ``source`` and does not show its preview yet."""
        return self.painter is not None and source is self._painting and not self._previewed

    def show_preview(self, source: Any, url: str) -> None:
        """Show the painter's preview of ``source`` if it is still the first input."""
        if self.painter is not None and source is self._painting and url:
            self.painter.show_preview(url)
            self._previewed = True

    def _show_notice(self) -> None:
        rendered = bool(getattr(self.painter, "rendered", False))
        set_value(self.notice, escaped(PAINTER_NOTICE))
        show(self.notice, not rendered)

    def show_mask(self, text: str) -> None:
        set_value(self.mask_note, escaped(text))
