"""The gallery: tiles (placeholders while running, then thumbnails), a lightbox, Save, usage.

Only thumbnails (longest side at most ``THUMBNAIL_MAX_SIDE``, JPEG unless the image has
transparency) go to the browser; the original bytes are sent only while the lightbox shows
them (and dropped when it closes). Tiles are reused from one generation to the next, so saved
widget state holds one set of thumbnails, not every set ever shown.

A ``Tile`` is one slot of the grid: ``pending()`` (a pulsing placeholder with the elapsed
time), ``set_image()`` (any image bytes, e.g. a partial image while streaming), ``load()`` (a
finished image or its failure). Its ``actions`` row holds View and Save; more buttons can be
appended to it (``Tile.add_action``): the panel adds Edit (``cw-edit``) there, and to the
lightbox's actions (``cw-lightbox-edit``), when the gallery has an ``on_edit``. Images are
numbered as a person counts: "Image 2 of 3".
"""

from __future__ import annotations

import concurrent.futures
import contextlib
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
from ._dom import classed, escaped, fixed, set_class, set_state, set_value, show
from ._status import panel_message
from ._style import TILE_STATES

if TYPE_CHECKING:
    from PIL.Image import Image

    from .._cost import Cost
    from ..images._results import GeneratedImage, Generation

__all__ = [
    "Gallery",
    "Lightbox",
    "Preview",
    "Tile",
    "cost_words",
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

    @property
    def number(self) -> int:
        """The image's number in its generation, counted from 1."""
        return self.image.index + 1


def make_previews(generation: Generation) -> tuple[list[Preview], list[Image]]:
    """Thumbnails of every image and the decoded images that arrived (run it in a thread).

    Several images are decoded and thumbnailed at once, on a few threads (Pillow releases the
    GIL while it decodes and encodes): four 2 MB PNGs take ~40 ms instead of ~70 ms here.
    """
    total = len(generation.images)
    if total > 1:
        made = list(
            _pool().map(lambda image: _preview_of(generation, image, total), generation.images)
        )
    else:
        made = [_preview_of(generation, image, total) for image in generation.images]
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
        failure = panel_message(image.error).text if image.error else "no image data"
        return Preview(image, caption, detail, total, error=failure), None
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
        return Preview(image, caption, detail, total, error=f"cannot decode: {exc}"), None
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


def cost_words(cost: Cost) -> str:
    """A cost with its basis in words when it is not the answer's own usage: '$0.0052',
    'about $0.05 (estimated: no usage in the answer)', 'unpriced (no known price)'."""
    if cost.basis == "estimate":
        return f"{cost} (estimated: no usage in the answer)"
    if cost.basis == "unpriced":
        return f"{cost} (no known price for this model)"
    return str(cost)


def format_usage(usage: dict[str, Any] | None, cost: Cost | None = None, session: str = "") -> str:
    """'Cost: $0.0052 · Usage: 50 input tokens · 4,160 output tokens · 4,210 total tokens ·
    this session: $0.42' (the parts there are: the usage's top-level counts)."""
    tokens = [
        f"{value:,} {key.replace('_', ' ')}"
        for key, value in (usage or {}).items()
        if isinstance(value, int) and not isinstance(value, bool)
    ]
    parts = [f"Cost: {cost_words(cost)}"] if cost is not None else []
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


def _save(preview: Preview, output_dir: str) -> str:
    """Save one image; the HTML to show (the link, or why it failed)."""
    try:
        folder = Path(output_dir)
        folder.mkdir(parents=True, exist_ok=True)
        path = preview.image.save(folder)
    except Exception as exc:  # shown where the click was: a failed save must not break things
        return f"Save failed: {escaped(str(exc))}"
    return saved_html(path)


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
        # shares one layout and style (_dom.fixed), the tile's state class does the rest.
        html, button = fixed(widgets.HTML), fixed(widgets.Button)
        self.thumb = classed(widgets.Image(format="jpeg", **fixed(widgets.Image)), "cw-thumb")
        self.placeholder = classed(widgets.HTML(**html), "cw-placeholder")
        self.failure = classed(widgets.HTML(**html), "cw-image-error")
        self.frame = classed(
            widgets.Box([self.thumb, self.placeholder, self.failure], **fixed(widgets.Box)),
            "cw-frame",
        )
        self.caption = classed(widgets.HTML(**html), "cw-caption")
        self.view = classed(
            widgets.Button(description="View", icon="expand", **button), "cw-full-size"
        )
        self.save = classed(widgets.Button(description="Save", icon="save", **button), "cw-save")
        self.actions = classed(
            widgets.HBox([self.view, self.save], **fixed(widgets.HBox)), "cw-tile-actions"
        )
        self.saved = classed(widgets.HTML(layout=widgets.Layout(display="none")), "cw-saved")
        self.box = classed(
            widgets.VBox([self.frame, self.caption, self.actions, self.saved]),
            "cw-tile",
            TILE_STATES["pending"],
        )
        self._label = ""
        self.view.on_click(lambda _button: self._on_view())
        self.save.on_click(lambda _button: self._on_save())
        self.edit: widgets.Button | None = None
        if gallery.on_edit is not None:
            self.edit = classed(
                widgets.Button(
                    description="Edit",
                    icon="pencil",
                    tooltip="Edit this image: say what to change",
                    **button,
                ),
                "cw-edit",
            )
            self.edit.on_click(lambda _button: self._on_edit())
            self.add_action(self.edit)

    @property
    def parts(self) -> list[widgets.Widget]:
        return [
            *self.frame.children,
            self.frame,
            *self.actions.children,
            *self.box.children,
            self.box,
        ]

    def add_action(self, button: widgets.Widget) -> None:
        """Append a button to the tile's actions row."""
        self.actions.children = (*self.actions.children, button)

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

    def set_image(self, data: bytes, fmt: str) -> None:
        """Put these image bytes in the frame (a thumbnail, or a partial image)."""
        with self.thumb.hold_sync():
            if self.thumb.format != fmt:
                self.thumb.format = fmt
            self.thumb.value = data

    def load(self, preview: Preview) -> None:
        """Show a finished image, or why it failed ("Image 2 of 3 failed: ...")."""
        self.preview = preview
        ok = preview.data is not None
        if ok:
            self.set_image(preview.data or b"", preview.format or "jpeg")
        else:
            if self.thumb.value:  # saved widget state keeps no stale image under a failure
                self.thumb.value = b""
            name = f"Image {preview.number} of {preview.total} failed"
            set_value(
                self.failure,
                f"<b>{escaped(name)}</b><span>{escaped(preview.error or '')}</span>",
            )
        caption = escaped(preview.caption)
        set_value(
            self.caption,
            f"<div>{caption}</div>"
            f'<div class="cw-detail">Image {preview.number} of {preview.total} · '
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
        self.set_image(data, fmt)
        self._label = f"Image {index + 1}: preview"
        set_value(self.caption, f'<span class="cw-detail">{escaped(self._label)}</span>')
        self._state("partial")

    def _on_view(self) -> None:
        with self.gallery.lock:
            if self.preview is not None:
                self.gallery.lightbox.open(self.gallery.shown, self.position)

    def _on_save(self) -> None:
        with self.gallery.lock:
            if self.preview is not None:
                set_value(self.saved, _save(self.preview, self.gallery.output_dir()))
                show(self.saved, True)

    def _on_edit(self) -> None:
        with self.gallery.lock:
            if self.preview is not None and self.gallery.on_edit is not None:
                self.gallery.on_edit(self.preview)


class Lightbox:
    """The full-size view (class ``cw-lightbox``): an overlay over the page with the image,
    its caption and number, Previous / Next, Save and Close. The original image is sent to
    the browser only while it is shown. More buttons can go into its ``actions`` row.
    Its clicks run holding ``lock`` (the panel's)."""

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
        self.items: list[Preview] = []
        self.index = 0
        self.count = classed(widgets.HTML(), "cw-lightbox-count")
        self.close_button = classed(
            widgets.Button(description="Close", icon="times", tooltip="Close the full size view"),
            "cw-lightbox-close",
            "cw-full-close",
        )
        spacer = classed(widgets.Box(), "cw-header-spacer")
        self.bar = classed(widgets.HBox([self.count, spacer, self.close_button]), "cw-lightbox-bar")
        self.image = classed(widgets.Image(format="png"), "cw-lightbox-image", "cw-full-image")
        self.frame = classed(widgets.Box([self.image]), "cw-lightbox-frame", "cw-checker")
        self.caption = classed(widgets.HTML(), "cw-lightbox-caption")
        self.previous = classed(
            widgets.Button(description="Previous", icon="arrow-left"), "cw-lightbox-prev"
        )
        self.next = classed(
            widgets.Button(description="Next", icon="arrow-right"), "cw-lightbox-next"
        )
        self.save = classed(widgets.Button(description="Save", icon="save"), "cw-lightbox-save")
        self.saved = classed(widgets.HTML(), "cw-lightbox-saved")
        self.edit = classed(
            widgets.Button(description="Edit", icon="pencil", tooltip="Edit this image"),
            "cw-lightbox-edit",
        )
        buttons = [self.previous, self.next, self.save]
        if on_edit is not None:
            buttons.append(self.edit)
        self.actions = classed(widgets.HBox([*buttons, self.saved]), "cw-lightbox-actions")
        self.card = classed(
            widgets.VBox([self.bar, self.frame, self.caption, self.actions]), "cw-lightbox-card"
        )
        self.box = classed(
            widgets.Box([self.card], layout=widgets.Layout(display="none")),
            "cw-lightbox",
            "cw-full-view",
        )
        self.close_button.on_click(lambda _button: self._locked(self.close))
        self.previous.on_click(lambda _button: self._locked(self.step, -1))
        self.next.on_click(lambda _button: self._locked(self.step, 1))
        self.save.on_click(lambda _button: self._locked(self._on_save))
        self.edit.on_click(lambda _button: self._locked(self._on_edit))

    def _locked(self, action: Callable[..., None], *args: Any) -> None:
        with self.lock:
            action(*args)

    @property
    def all(self) -> list[widgets.Widget]:
        return [
            self.edit,
            *self.bar.children,
            self.bar,
            self.image,
            self.frame,
            self.caption,
            *self.actions.children,
            self.actions,
            self.card,
            self.box,
        ]

    def open(self, previews: list[Preview], position: int) -> None:
        """Show ``previews[position]`` full size; Previous/Next walk the images that arrived."""
        self.items = [p for p in previews if p.data is not None]
        chosen = previews[position] if 0 <= position < len(previews) else None
        if chosen is None or chosen not in self.items:
            return
        self._show(self.items.index(chosen))
        show(self.box, True, display="flex")

    def step(self, delta: int) -> None:
        if self.items:
            self._show((self.index + delta) % len(self.items))

    def _show(self, index: int) -> None:
        self.index = index
        preview = self.items[index]
        image = preview.image
        with self.image.hold_sync():
            self.image.format = "svg+xml" if image.format == "svg" else image.format or "png"
            self.image.value = image.data or b""
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
        self.edit.disabled = image.format == "svg"
        set_value(self.saved, "")

    def close(self) -> None:
        if self.image.value:
            self.image.value = b""
        show(self.box, False)

    def _on_save(self) -> None:
        if self.items:
            set_value(self.saved, _save(self.items[self.index], self.output_dir()))

    def _on_edit(self) -> None:
        if self.items and self.on_edit is not None:
            chosen = self.items[self.index]
            self.close()
            self.on_edit(chosen)


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
        self.box = classed(widgets.Box(layout=widgets.Layout(display="none")), "cw-gallery")
        self.usage = classed(widgets.HTML(layout=widgets.Layout(display="none")), "cw-usage")
        self.lightbox = Lightbox(output_dir, on_edit, lock=self.lock)

    @property
    def shown(self) -> list[Preview]:
        """The finished previews on show, in order."""
        return [p for p in self.slots if p is not None]

    @property
    def all(self) -> list[widgets.Widget]:
        """Every widget this object created (for closing)."""
        found: list[widgets.Widget] = [self.box, self.usage, *self.lightbox.all]
        for tile in self.tiles:
            found += tile.parts
        return found

    def show_partial(self, index: int, data: bytes, fmt: str) -> None:
        """Show a running generation's partial preview of image ``index`` in its tile (the
        final images replace it through ``show``)."""
        if index >= len(self.slots):
            self.slots += [None] * (index + 1 - len(self.slots))
            self._layout(len(self.slots))
        self.tiles[index].show_partial(index, data, fmt)

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
        self._layout(count)
        for number, tile in enumerate(self.tiles[:count], 1):
            tile.position = number - 1
            tile.pending(labels[number - 1] if labels else f"Image {number} of {count}")
        set_class(self.box, "cw-running", True)
        show(self.usage, False)

    def tick(self, seconds: float) -> None:
        for tile, slot in zip(self.tiles, self.slots, strict=False):
            if slot is None:
                tile.tick(seconds)

    def fill(self, start: int, previews: list[Preview]) -> None:
        """Put finished previews into slots ``start...`` (a batch item lands in its place)."""
        if start + len(previews) > len(self.slots):
            self.slots += [None] * (start + len(previews) - len(self.slots))
            self._layout(len(self.slots))
        for offset, preview in enumerate(previews):
            tile = self.tiles[start + offset]
            tile.position = start + offset
            self.slots[start + offset] = preview
            tile.load(preview)

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
