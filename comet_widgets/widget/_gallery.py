"""The gallery: tiles (placeholders while running, then thumbnails), a lightbox, Save, usage.

Only thumbnails (longest side at most ``THUMBNAIL_MAX_SIDE``, JPEG unless the image has
transparency) go to the browser; the original bytes are sent only while the lightbox shows
them (and dropped when it closes). Tiles are reused from one generation to the next, so saved
widget state holds one set of thumbnails, not every set ever shown.

A ``Tile`` is one slot of the grid: ``pending()`` (a pulsing placeholder with the elapsed
time), ``show_partial()`` (a partial image while streaming), ``load()`` (a
finished image or its failure). Its ``actions`` row holds View and Save, and Edit (``cw-edit``;
``cw-lightbox-edit`` in the lightbox) when the gallery has an ``on_edit``. Images are numbered
as a person counts: "Image 2 of 3".
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import dataclasses
import os
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import ipywidgets as widgets

from .._constants import THUMBNAIL_MAX_SIDE
from ._dom import classed, escaped, made, set_class, set_state, set_value, show
from ._status import panel_message, plural
from ._style import TILE_STATES
from ._words import Message, details_html, plain, save_failed_html

if TYPE_CHECKING:
    from PIL.Image import Image

    from .._cost import Cost
    from ..images._results import GeneratedImage, Generation

__all__ = [
    "Gallery",
    "Lightbox",
    "Preview",
    "Tile",
    "format_usage",
    "make_previews",
    "mismatch_text",
    "saved_html",
]

#: The history strip's thumbnails: the longest side, in pixels.
MINI_SIDE = 96


@dataclass(frozen=True)
class Preview:
    """What one tile shows: an image's thumbnail and caption, or why the image failed."""

    image: GeneratedImage
    caption: str
    detail: str
    total: int = 1
    data: bytes | None = None
    format: str | None = None
    error: str | None = None
    mini: bytes | None = None
    #: What came back unlike what was asked, in words ("asked webp, got png"); "" when none;
    #: its tooltip names the prompt as asked when the service rewrote it.
    mismatch: str = ""
    mismatch_title: str = ""
    #: Why it failed, technically (behind the tile's "Details" toggle; the request id last).
    error_details: tuple[str, ...] = ()


def make_previews(generation: Generation) -> tuple[list[Preview], list[Image]]:
    """Thumbnails of every image and the decoded images that arrived (run it in a thread).

    Several images are decoded and thumbnailed at once, on a few threads (Pillow releases the
    GIL while it decodes and encodes): four 2 MB PNGs take ~40 ms instead of ~70 ms here.
    """
    total = len(generation.images)
    made = list(_pool().map(lambda image: _preview_of(generation, image, total), generation.images))
    return [preview for preview, _ in made], [image for _, image in made if image is not None]


_POOL: concurrent.futures.ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> concurrent.futures.ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            workers = min(4, os.cpu_count() or 1)
            _POOL = concurrent.futures.ThreadPoolExecutor(workers, "comet-previews")
        return _POOL


def _preview_of(
    generation: Generation, image: GeneratedImage, total: int
) -> tuple[Preview, Image | None]:
    """One image's tile preview, and its decoded pixels (None: failed, or vector SVG)."""
    from ..images._previews import encode_preview

    caption = image.revised_prompt or generation.prompt
    dims = f"{image.width}x{image.height}" if image.width and image.height else None
    detail = f"{generation.model} · {dims or generation.params.get('size', '?')}"
    if not image.ok:
        said = panel_message(image.error) if image.error else Message("The answer held no image.")
        rid = said.request_id or generation.request_id  # a download's error has none of its own
        facts = dataclasses.replace(said, request_id=rid).facts
        return Preview(image, caption, detail, total, error=said.text, error_details=facts), None
    mismatches = image.mismatches
    mismatch = mismatch_text(mismatches)
    title = f"asked: {mismatches['prompt'][0]}" if "prompt" in mismatches else ""
    try:
        data, fmt = image.preview(THUMBNAIL_MAX_SIDE)
        mini = decoded = None
        if image.format != "svg":  # vector text: shown as is, no pixels to decode
            mini, _ = encode_preview(image.image, max_side=MINI_SIDE)
            decoded = image.image
    except Exception as exc:  # a corrupt image must not sink its siblings
        failure, facts = "This image could not be shown.", (plain(f"{type(exc).__name__}: {exc}"),)
        return Preview(image, caption, detail, total, error=failure, error_details=facts), None
    made = Preview(image, caption, detail, total, data, fmt, None, mini, mismatch, title)
    return made, decoded


#: How a mismatch of each parameter is said, from (asked, got).
_MISMATCH_WORDS = {
    "size": "asked {0}, got {1}",
    "output_format": "asked {0}, got {1}",
    "quality": "asked {0} quality, got {1}",
    "background": "asked {0} background, got {1}",
    "prompt": "prompt rewritten",
}


def mismatch_text(mismatches: Mapping[str, tuple[str, str]]) -> str:
    """What came back unlike what was asked, short: 'asked 1536x1024, got 1024x1024 · asked
    webp, got png · prompt rewritten' ('' when everything matches)."""
    return " · ".join(_MISMATCH_WORDS[name].format(*pair) for name, pair in mismatches.items())


def _mismatch_html(preview: Preview) -> str:
    """The caption's line saying what differs from the request (class ``cw-mismatch``)."""
    if not preview.mismatch:
        return ""
    title = f' title="{escaped(preview.mismatch_title)}"' if preview.mismatch_title else ""
    return f'<div class="cw-mismatch"{title}>{escaped(preview.mismatch)}</div>'


#: A cost's basis in words, when it is not the answer's own usage.
_BASIS_WORDS = {
    "estimate": " (estimated: no usage in the answer)",
    "unpriced": " (no known price for this model)",
}


def format_usage(usage: dict[str, Any] | None, cost: Cost | None = None, session: str = "") -> str:
    """'Cost: $0.0052 · Usage: 50 input tokens · 4,160 output tokens · 4,210 total tokens ·
    this session: $0.42' (the parts there are: the usage's top-level counts; an estimated or
    unpriced cost says so)."""
    tokens = [
        f"{value:,} {key.replace('_', ' ')}"
        for key, value in (usage or {}).items()
        if isinstance(value, int) and not isinstance(value, bool)
    ]
    parts = [f"Cost: {cost}{_BASIS_WORDS.get(cost.basis, '')}"] if cost is not None else []
    parts += ["Usage: " + " · ".join(tokens)] if tokens else []
    parts += [f"this session: {session}"] if session else []
    return " · ".join(parts)


def saved_html(path: Path) -> str:
    """'Saved <a>boat-1.png</a>': the file name, linked relative to the working directory
    (the notebook's folder), so the notebook's file browser opens it; the full path on hover."""
    shown = escaped(path.name)
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        relative = str(path)
    href = quote(Path(relative).as_posix()) if not relative.startswith("..") else ""
    title = escaped(str(path))
    if not href:
        return f'Saved <span title="{title}">{shown}</span>'
    return f'Saved <a href="{href}" target="_blank" title="{title}">{shown}</a>'


def _save(previews: list[Preview], output_dir: str, *, several: bool = False) -> str:
    """Save these images (each with its metadata); the HTML to show: a link to the file, or
    for ``several`` how many and the folder, or why it failed."""
    folder = Path(output_dir)
    written: list[Path] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for preview in previews:
            written.append(preview.image.save(folder))
    except Exception as exc:  # said where the click was; what was written stays written
        return save_failed_html(exc, len(written))
    if not several:
        return saved_html(written[0])
    return saved_html(folder).replace("Saved ", f"Saved {plural(len(written), 'image')} in ", 1)


def button(description: str, *classes: str, **options: Any) -> widgets.Button:
    """One of the views' buttons, with its CSS classes (``made``: on the shared layout unless
    ``options`` give it one): ``button("Save", "cw-save", icon="save")``."""
    return classed(made(widgets.Button, description=description, **options), *classes)


def set_image(image: widgets.Image, data: bytes, fmt: str) -> None:
    """Show ``data`` (of the ``widgets.Image`` format ``fmt``) in ``image``: one message, none
    for what it already holds."""
    with image.hold_sync():
        if image.format != fmt:
            image.format = fmt
        if image.value != data:
            image.value = data


def clicked(
    target: widgets.Button,
    lock: AbstractContextManager[Any],
    action: Callable[..., None],
    *args: Any,
) -> None:
    """A click on ``target`` runs ``action(*args)`` holding ``lock`` (the panel's)."""

    def run(_button: widgets.Button) -> None:
        with lock:
            action(*args)

    target.on_click(run)


class Tile:
    """One slot of the gallery (class ``cw-tile``): placeholder, image or failure, and actions.

    The tile's state is one CSS class on its box (``TILE_STATES``: ``cw-tile-pending``,
    ``cw-tile-partial``, ``cw-tile-image``, ``cw-tile-failed``) and the stylesheet hides the
    parts a state does not show, so a change of state is one widget message, not one per part
    (a re-run of four images sent 32 tile messages before the placeholders could be drawn).
    The frame's image is not cleared when a placeholder or a failure covers it.
    """

    def __init__(self, gallery: Gallery) -> None:
        self.gallery = gallery
        self.preview: Preview | None = None
        self.position = 0
        # Image(format=...) first, then .value: the constructor compares the bytes (perf-facts).
        # Four tiles are ~100 widgets: every part the tile never resizes, hides or restyles
        # shares one layout and style (_dom.made), the tile's state class does the rest.
        self.thumb = classed(made(widgets.Image, format="jpeg"), "cw-thumb")
        self.placeholder = classed(made(widgets.HTML), "cw-placeholder")
        self.failure = classed(made(widgets.HTML), "cw-image-error")
        self.select = classed(
            made(widgets.Checkbox, description="Select", indent=False), "cw-select"
        )
        self.frame = classed(
            made(widgets.Box, [self.thumb, self.placeholder, self.failure, self.select]),
            "cw-frame",
        )
        self.caption = classed(made(widgets.HTML), "cw-caption")
        self.view = button("View", "cw-full-size", icon="expand")
        self.save = button("Save", "cw-save", icon="save")
        self.edit: widgets.Button | None = None
        if gallery.on_edit is not None:
            tip = "Edit this image: say what to change"
            self.edit = button("Edit", "cw-edit", icon="pencil", tooltip=tip)
            clicked(self.edit, gallery.lock, self._on_edit)
        shown = [self.view, self.save] if self.edit is None else [self.view, self.save, self.edit]
        self.actions = classed(made(widgets.HBox, shown), "cw-tile-actions")
        self.saved = classed(made(widgets.HTML, layout=widgets.Layout(display="none")), "cw-saved")
        self.box = classed(
            made(widgets.VBox, [self.frame, self.caption, self.actions, self.saved]),
            "cw-tile",
            TILE_STATES["pending"],
        )
        self._label = ""
        clicked(self.view, gallery.lock, self._on_view)
        clicked(self.save, gallery.lock, self._on_save)
        self.select.observe(self._on_select, names="value")

    def _state(self, state: str) -> None:
        set_state(self.box, TILE_STATES.values(), TILE_STATES[state])
        show(self.box, True)

    def pending(self, label: str) -> None:
        """A placeholder: a pulse, a spinner, ``label`` ("Image 2 of 4") and the elapsed time."""
        self.preview = None
        self._label = label
        self._state("pending")
        self.tick(0.0)

    def tick(self, seconds: float) -> None:
        """Update the placeholder's elapsed time."""
        set_value(
            self.placeholder,
            '<div class="cw-spinner" role="progressbar" aria-label="generating"></div>'
            f"<div>{escaped(self._label)}</div><div>{seconds:.1f} s</div>",
        )

    def load(self, preview: Preview) -> None:
        """Show a finished image, or why it failed ("Image 2 of 3 failed: ...")."""
        self.preview = preview
        ok = preview.data is not None
        number = f"Image {preview.image.index + 1} of {preview.total}"
        if preview.data is not None:
            set_image(self.thumb, preview.data, preview.format or "jpeg")
        else:
            if self.thumb.value:  # saved widget state keeps no stale image under a failure
                self.thumb.value = b""
            set_value(
                self.failure,
                f"<b>{escaped(number)} failed</b><span>{escaped(preview.error or '')}</span>"
                + details_html(preview.error_details),
            )
        set_value(
            self.caption,
            f'<div>{escaped(preview.caption)}</div><div class="cw-detail">{number} · '
            f"{escaped(preview.detail)}</div>{_mismatch_html(preview)}",
        )
        self.view.disabled = self.save.disabled = not ok
        if self.edit is not None:
            self.edit.disabled = not ok or preview.image.format == "svg"
        set_value(self.saved, "")
        show(self.saved, False)
        self._state("image" if ok else "failed")

    def clear(self) -> None:
        self.preview = None
        if self.thumb.value:
            self.thumb.value = b""
        show(self.box, False)

    def show_partial(self, index: int, data: bytes, fmt: str) -> None:
        """A running generation's latest partial preview of this image: shown in the frame,
        the caption says it is a preview."""
        self.preview = None
        set_image(self.thumb, data, fmt)
        self._label = f"Image {index + 1}: preview"
        set_value(self.caption, f'<span class="cw-detail">{escaped(self._label)}</span>')
        self._state("partial")

    def _on_view(self) -> None:
        if self.preview is not None:
            self.gallery.open(self.position)

    def _on_select(self, change: Any) -> None:
        """The Select box changed (a click, or the gallery mirroring its selection)."""
        with self.gallery.lock:
            if not self.gallery.mirroring:
                self.gallery.pick(self.position, bool(change["new"]))

    def mark(self, selected: bool) -> None:
        """Show this tile selected (its box checked, class ``cw-tile-selected``) or not."""
        if self.select.value != selected:
            self.select.value = selected
        set_class(self.box, "cw-tile-selected", selected)

    def _on_save(self) -> None:
        if self.preview is not None:
            set_value(self.saved, _save([self.preview], self.gallery.output_dir()))
            show(self.saved, True)

    def _on_edit(self) -> None:
        if self.preview is not None and self.gallery.on_edit is not None:
            self.gallery.on_edit(self.preview)


class Lightbox:
    """The full-size view (class ``cw-lightbox``): an overlay over the page with the image,
    its caption and number, Previous / Next, Save, Download, Edit (with an ``on_edit``) and
    Close. The original image is sent to the browser only while it is shown. Its clicks run
    holding ``lock`` (the panel's)."""

    def __init__(
        self,
        output_dir: Callable[[], str],
        on_edit: Callable[[Preview], None] | None = None,
        *,
        lock: AbstractContextManager[Any] | None = None,
    ) -> None:
        lock = lock if lock is not None else contextlib.nullcontext()
        self.output_dir = output_dir
        self.on_edit = on_edit
        self.items: list[Preview] = []
        self.index = 0
        self.count = classed(made(widgets.HTML), "cw-lightbox-count")
        tip = "Close the full size view"
        close = button("Close", "cw-lightbox-close", "cw-full-close", icon="times", tooltip=tip)
        spacer = classed(made(widgets.Box), "cw-header-spacer")
        bar = classed(made(widgets.HBox, [self.count, spacer, close]), "cw-lightbox-bar")
        self.image = classed(
            made(widgets.Image, format="png"), "cw-lightbox-image", "cw-full-image"
        )
        frame = classed(made(widgets.Box, [self.image]), "cw-lightbox-frame")
        self.caption = classed(made(widgets.HTML), "cw-lightbox-caption")
        self.previous = button("Previous", "cw-lightbox-prev", icon="arrow-left")
        self.next = button("Next", "cw-lightbox-next", icon="arrow-right")
        save = button("Save", "cw-lightbox-save", icon="save")
        tip = "Download the original image (full size, its own format)"
        download = button("Download", "cw-lightbox-download", icon="download", tooltip=tip)
        self.saved = classed(made(widgets.HTML), "cw-lightbox-saved")
        buttons = [self.previous, self.next, save, download]
        self.edit: widgets.Button | None = None
        if on_edit is not None:
            self.edit = button("Edit", "cw-lightbox-edit", icon="pencil", tooltip="Edit this image")
            buttons.append(self.edit)
            clicked(self.edit, lock, self._on_edit)
        actions = classed(made(widgets.HBox, [*buttons, self.saved]), "cw-lightbox-actions")
        card = classed(made(widgets.VBox, [bar, frame, self.caption, actions]), "cw-lightbox-card")
        #: Where the panel puts the page bridge (keys, focus), inside the overlay.
        self.box = classed(
            made(widgets.Box, [card], layout=widgets.Layout(display="none")),
            "cw-lightbox",
            "cw-full-view",
        )
        #: ``deliver(name, mime, data)``: how Download hands a file to the browser (the
        #: gallery's).
        self.deliver: Callable[[str, str, bytes], None] | None = None
        clicked(close, lock, self.close)
        clicked(self.previous, lock, self.step, -1)
        clicked(self.next, lock, self.step, 1)
        clicked(save, lock, self._on_save)
        clicked(download, lock, self._on_download)

    def open(self, previews: list[Preview], position: int) -> None:
        """Show ``previews[position]`` full size; Previous/Next walk the images that arrived."""
        self.items = [p for p in previews if p.data is not None]
        chosen = previews[position] if 0 <= position < len(previews) else None
        if chosen is None or chosen not in self.items:
            return
        self._show(self.items.index(chosen))
        show(self.box, True, display="flex")

    @property
    def shown(self) -> bool:
        """Whether the lightbox is open."""
        return bool(self.box.layout.display != "none")

    def step(self, delta: int) -> None:
        if self.items:
            self._show((self.index + delta) % len(self.items))

    def _show(self, index: int) -> None:
        self.index = index
        preview = self.items[index]
        image = preview.image
        fmt = "svg+xml" if image.format == "svg" else image.format or "png"
        set_image(self.image, image.data or b"", fmt)
        total = len(self.items)
        set_value(self.count, escaped(f"Image {index + 1} of {total}"))
        size = f"{len(image.data or b''):,} bytes"
        set_value(
            self.caption,
            f"<div>{escaped(preview.caption)}</div>"
            f'<div class="cw-detail">{escaped(preview.detail)} · {size}</div>'
            f"{_mismatch_html(preview)}",
        )
        self.previous.disabled = self.next.disabled = total < 2
        if self.edit is not None:
            self.edit.disabled = image.format == "svg"
        set_value(self.saved, "")

    def close(self) -> None:
        if self.image.value:
            self.image.value = b""
        set_value(self.saved, "")  # a download link's data URL must not stay in widget state
        show(self.box, False)

    def _on_save(self) -> None:
        if self.items:
            set_value(self.saved, _save([self.items[self.index]], self.output_dir()))

    def _on_download(self) -> None:
        if self.items and self.deliver is not None:
            image = self.items[self.index].image
            if image.data is not None:
                mime = image.mime_type or "application/octet-stream"
                self.deliver(image.default_filename(), mime, image.data)

    def _on_edit(self) -> None:
        if self.items and self.on_edit is not None:
            chosen = self.items[self.index]
            self.close()
            self.on_edit(chosen)


def _size(count: int) -> str:
    """A file's size in words: '812 KB', '2.4 MB'."""
    if count < 1_000_000:
        return f"{max(1, round(count / 1000))} KB"
    return f"{count / 1_000_000:.1f} MB"


class SelectionBar:
    """The row over the tiles (class ``cw-selection``, shown while there are images): how many
    are selected (``cw-selection-count``), Select all (``cw-select-all``), Clear
    (``cw-select-none``), Save selected (``cw-save-selected``: each image with its metadata,
    in the output folder), Download selected (``cw-download-selected``: one ZIP of the images
    and their ``metadata.jsonl``) and what the last of these did (``cw-selection-saved``)."""

    def __init__(self, gallery: Gallery) -> None:
        self.gallery = gallery
        lock = gallery.lock
        self.count = classed(made(widgets.HTML), "cw-selection-count")
        self.all_button = button("Select all", "cw-select-all", icon="check-square")
        tip = "Select none"
        self.none_button = button("Clear", "cw-select-none", icon="square-o", tooltip=tip)
        tip = "Save the selected images, with their metadata, in the output folder"
        self.save = button("Save selected", "cw-save-selected", icon="save", tooltip=tip)
        tip = "Download the selected images as one ZIP, with a metadata.jsonl"
        self.download = button(
            "Download selected", "cw-download-selected", icon="download", tooltip=tip
        )
        self.saved = classed(
            made(widgets.HTML, layout=widgets.Layout(display="none")), "cw-selection-saved"
        )
        parts = [self.count, self.all_button, self.none_button, self.save, self.download]
        self.box = classed(
            made(widgets.HBox, [*parts, self.saved], layout=widgets.Layout(display="none")),
            "cw-selection",
        )
        clicked(self.all_button, lock, gallery.select_all, True)
        clicked(self.none_button, lock, gallery.select_all, False)
        clicked(self.save, lock, self._on_save)
        clicked(self.download, lock, self._on_download)

    def show(self, selected: int, images: int) -> None:
        """``selected`` of ``images`` are selected (the bar is hidden without images)."""
        text = f"{selected} of {images} selected" if selected else "None selected"
        set_value(self.count, escaped(text))
        self.save.disabled = self.download.disabled = self.none_button.disabled = not selected
        self.all_button.disabled = selected == images
        if not selected and self.saved.value:
            set_value(self.saved, "")
            show(self.saved, False)
        show(self.box, images > 0)

    def _on_save(self) -> None:
        chosen = self.gallery.selected()
        if chosen:
            set_value(self.saved, _save(chosen, self.gallery.output_dir(), several=True))
            show(self.saved, True)

    def _on_download(self) -> None:
        from ..images._archive import archive_name, zip_images

        chosen = self.gallery.selected()
        if chosen:
            data = zip_images([preview.image for preview in chosen])
            self.gallery.deliver(archive_name(len(chosen)), "application/zip", data)


class Gallery:
    """Tiles for the shown generation(s), the usage line and the lightbox; ``on_edit(preview)``
    (when given) is what Edit on a tile or in the lightbox calls. Every click on its parts
    runs holding ``lock`` (the panel's: see ``_run.RunController``)."""

    def __init__(
        self,
        output_dir: Callable[[], str],
        on_edit: Callable[[Preview], None] | None = None,
        *,
        lock: AbstractContextManager[Any] | None = None,
    ) -> None:
        self.lock = lock if lock is not None else contextlib.nullcontext()
        self.output_dir = output_dir
        self.on_edit = on_edit
        self.tiles: list[Tile] = []
        #: The previews on show, in tile order (``None``: a slot still pending).
        self.slots: list[Preview | None] = []
        self.box = classed(made(widgets.Box, layout=widgets.Layout(display="none")), "cw-gallery")
        self.usage = classed(made(widgets.HTML, layout=widgets.Layout(display="none")), "cw-usage")
        self.lightbox = Lightbox(output_dir, on_edit, lock=self.lock)
        self.lightbox.deliver = self.deliver
        #: The selected tiles' positions; the last one clicked (a Shift+click's other end);
        #: True while the gallery itself sets the Select boxes.
        self.chosen: set[int] = set()
        self.anchor: int | None = None
        self.mirroring = False
        self.selection = SelectionBar(self)
        #: The front-end helper (keys, focus, ranges, downloads), None without anywidget.
        self.bridge: Any = None
        try:
            from ._bridge import PageBridge
        except ImportError:
            pass
        else:
            self.bridge = PageBridge(self.pick_range)
            self.lightbox.box.children = (*self.lightbox.box.children, self.bridge)

    @property
    def shown(self) -> list[Preview]:
        """The finished previews on show, in order."""
        return [p for p in self.slots if p is not None]

    @property
    def all(self) -> list[widgets.Widget]:
        """The boxes holding every widget this object created (for closing)."""
        return [self.box, self.usage, self.lightbox.box, self.selection.box]

    # -- the lightbox and downloads ---------------------------------------------------------
    def open(self, position: int) -> None:
        """Open the lightbox on the tile at ``position`` (focus goes back to it after)."""
        if self.bridge is not None and self.bridge.origin != position:
            self.bridge.origin = position
        self.lightbox.open(self.shown, position)

    def deliver(self, name: str, mime: str, data: bytes) -> None:
        """Hand the file ``name`` to the browser: downloaded at once through the bridge when a
        front-end drew it; else a link to click (``cw-download-link``, a data URL) in the
        lightbox's or the selection bar's message, whichever the click came from."""
        if self.bridge is not None and self.bridge.rendered:
            self.bridge.offer(name, mime, data)
            return
        url = f"data:{mime};base64," + base64.b64encode(data).decode("ascii")
        link = (
            f'<a class="cw-download-link" download="{escaped(name)}" href="{url}">'
            f"Download {escaped(name)}</a> ({_size(len(data))})"
        )
        target = self.lightbox.saved if self.lightbox.shown else self.selection.saved
        set_value(target, link)
        show(target, True)

    # -- selection ---------------------------------------------------------------------------
    def selected(self) -> list[Preview]:
        """The selected images' previews, in tile order."""
        return [p for i, p in enumerate(self.slots) if i in self.chosen and p is not None]

    def pick(self, position: int, selected: bool) -> None:
        """A click on a tile's Select box: select or unselect it (it becomes the anchor)."""
        if self._selectable(position):
            if selected:
                self.chosen.add(position)
            else:
                self.chosen.discard(position)
            self.anchor = position
        self._mark()

    def pick_range(self, position: int) -> None:
        """A Shift+click: select every image from the anchor (the last tile clicked) to
        ``position``; without an anchor, that one tile."""
        with self.lock:
            if not self._selectable(position):
                return
            if self.anchor is None:
                self.anchor = position
            low, high = sorted((self.anchor, position))
            self.chosen.update(range(low, high + 1))  # _mark keeps the images among them
            self._mark()

    def select_all(self, selected: bool) -> None:
        """Select every image on show (or none)."""
        self.chosen = set(range(len(self.slots))) if selected else set()  # _mark drops failures
        self.anchor = None
        self._mark()

    def _selectable(self, position: int) -> bool:
        slot = self.slots[position] if 0 <= position < len(self.slots) else None
        return slot is not None and slot.data is not None

    def _mark(self) -> None:
        """Make the tiles' Select boxes and the selection bar say what is selected."""
        self.chosen = {i for i in self.chosen if self._selectable(i)}
        self.mirroring = True
        try:
            for position, tile in enumerate(self.tiles):
                tile.mark(position in self.chosen)
        finally:
            self.mirroring = False
        self.selection.show(len(self.chosen), len([p for p in self.slots if p and p.data]))

    def show_partial(self, index: int, data: bytes, fmt: str) -> None:
        """Show a running generation's partial preview of image ``index`` in its tile (the
        final images replace it through ``show``)."""
        self._grow(index + 1)
        self.tiles[index].show_partial(index, data, fmt)

    def _grow(self, count: int) -> None:
        """At least ``count`` slots (new ones pending)."""
        if count > len(self.slots):
            self.slots += [None] * (count - len(self.slots))
            self._layout(count)

    def _layout(self, count: int) -> None:
        while len(self.tiles) < count:
            self.tiles.append(Tile(self))
        for tile in self.tiles[count:]:
            tile.clear()
        children = tuple(tile.box for tile in self.tiles)
        if tuple(self.box.children) != children:
            self.box.children = children
        show(self.box, count > 0)

    def pending(self, count: int, labels: list[str] | None = None) -> None:
        """``count`` placeholder tiles ("Image 1 of 4"...), replacing what was shown."""
        self.lightbox.close()
        self.slots = [None] * count
        self.chosen, self.anchor = set(), None
        self._layout(count)
        for number, tile in enumerate(self.tiles[:count], 1):
            tile.position = number - 1
            tile.pending(labels[number - 1] if labels else f"Image {number} of {count}")
        set_class(self.box, "cw-running", True)
        show(self.usage, False)
        self._mark()

    def tick(self, seconds: float) -> None:
        for tile, slot in zip(self.tiles, self.slots, strict=False):
            if slot is None:
                tile.tick(seconds)

    def fill(self, start: int, previews: list[Preview]) -> None:
        """Put finished previews into slots ``start...`` (a batch item lands in its place)."""
        self._grow(start + len(previews))
        for offset, preview in enumerate(previews):
            tile = self.tiles[start + offset]
            tile.position = start + offset
            self.slots[start + offset] = preview
            tile.load(preview)
        self._mark()

    def show(
        self,
        previews: list[Preview],
        usage: dict[str, Any] | None,
        cost: Cost | None = None,
        session: str = "",
    ) -> None:
        """Show these previews (reusing tiles) and the usage line: the usage, the run's cost
        and the session's total (``format_usage``)."""
        self.lightbox.close()
        # What stays on show stays selected (at its new position); other images start unselected.
        kept = {id(self.slots[i]) for i in self.chosen if i < len(self.slots)}
        self.chosen = {i for i, p in enumerate(previews) if id(p) in kept}
        self.anchor = None
        self.slots = []
        self._layout(len(previews))
        self.fill(0, previews)
        set_class(self.box, "cw-running", False)
        text = format_usage(usage, cost, session)
        set_value(self.usage, escaped(text))
        show(self.usage, bool(text))

    def settle(self) -> None:
        """The run ended: drop placeholders that will not be filled."""
        keep = [p for p in self.slots if p is not None]
        if len(keep) != len(self.slots):
            self.show(keep, None)
        set_class(self.box, "cw-running", False)
