"""The gallery: thumbnails with captions, a full-size view on request, Save, and usage.

Only thumbnails (longest side at most ``THUMBNAIL_MAX_SIDE``, JPEG unless the image has
transparency) go to the browser; the original bytes stay in Python until the user clicks
"Full size". Tiles are reused from one generation to the next, so saved widget state holds one
set of thumbnails, not every set ever shown.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from .._constants import THUMBNAIL_MAX_SIDE
from .._errors import describe

if TYPE_CHECKING:
    from PIL.Image import Image

    from ..images._results import GeneratedImage, Generation

__all__ = ["FullView", "Gallery", "Preview", "format_usage", "make_previews"]

_TILE_WIDTH = "272px"
_THUMB_WIDTH = "256px"


@dataclass(frozen=True)
class Preview:
    """What one tile shows: an image's thumbnail and caption, or why the image failed."""

    image: GeneratedImage
    caption: str
    detail: str
    data: bytes | None = None
    format: str | None = None
    error: str | None = None


def make_previews(generation: Generation) -> tuple[list[Preview], list[Image]]:
    """Thumbnails of every image and the decoded images that arrived (run it in a thread)."""
    previews: list[Preview] = []
    decoded: list[Image] = []
    for image in generation.images:
        caption = image.revised_prompt or generation.prompt
        dims = f"{image.width}x{image.height}" if image.width and image.height else None
        detail = f"{generation.model} · {dims or generation.params.get('size', '?')}"
        if not image.ok:
            failure = describe(image.error) if image.error else "no image data"
            previews.append(Preview(image, caption, detail, error=failure))
            continue
        try:
            data, fmt = image.preview(THUMBNAIL_MAX_SIDE)
            if image.format != "svg":  # vector text: shown as is, no pixels to decode
                decoded.append(image.image)
        except Exception as exc:  # a corrupt image must not sink its siblings
            previews.append(Preview(image, caption, detail, error=f"cannot decode: {exc}"))
            continue
        previews.append(Preview(image, caption, detail, data=data, format=fmt))
    return previews, decoded


def format_usage(usage: dict[str, Any] | None) -> str:
    """'usage: 50 input tokens · 4,160 output tokens · 4,210 total tokens' (top-level counts)."""
    if not usage:
        return ""
    parts = [
        f"{value:,} {key.replace('_', ' ')}"
        for key, value in usage.items()
        if isinstance(value, int) and not isinstance(value, bool)
    ]
    return "usage: " + " · ".join(parts) if parts else ""


def _display(widget: widgets.Widget, visible: bool) -> None:
    display = "" if visible else "none"
    if widget.layout.display != display:
        widget.layout.display = display


class FullView:
    """The full-size image, sent to the browser only when asked for (and dropped on Close)."""

    def __init__(self) -> None:
        self.image = widgets.Image(layout=widgets.Layout(max_width="100%", height="auto"))
        self.caption = widgets.HTML()
        self.close = widgets.Button(description="Close full size", icon="times")
        self.box = widgets.VBox(
            [self.caption, self.image, self.close], layout=widgets.Layout(display="none")
        )
        self.image.add_class("cw-full-image")
        self.close.add_class("cw-full-close")
        self.box.add_class("cw-full-view")
        self.close.on_click(lambda _button: self.hide())

    def show(self, preview: Preview) -> None:
        image = preview.image
        if image.data is None:
            return
        with self.image.hold_sync():
            self.image.format = "svg+xml" if image.format == "svg" else image.format or "png"
            self.image.value = image.data
        self.caption.value = (
            f"<b>{html.escape(preview.caption)}</b><br><small>{html.escape(preview.detail)},"
            f" {len(image.data):,} bytes</small>"
        )
        _display(self.box, True)

    def hide(self) -> None:
        if self.image.value:
            self.image.value = b""
        _display(self.box, False)


class _Tile:
    def __init__(self, gallery: Gallery) -> None:
        self.gallery = gallery
        self.preview: Preview | None = None
        # Image(format=...) first, then .value: the constructor compares the bytes (perf-facts).
        self.thumb = widgets.Image(
            format="jpeg", layout=widgets.Layout(max_width=_THUMB_WIDTH, height="auto")
        )
        self.failure = widgets.HTML(layout=widgets.Layout(display="none", width=_THUMB_WIDTH))
        self.caption = widgets.HTML(layout=widgets.Layout(width=_THUMB_WIDTH))
        self.full = widgets.Button(
            description="Full size", icon="expand", layout=widgets.Layout(width="auto")
        )
        self.save = widgets.Button(
            description="Save", icon="save", layout=widgets.Layout(width="auto")
        )
        self.saved = widgets.HTML(layout=widgets.Layout(width=_THUMB_WIDTH))
        self.actions = widgets.HBox([self.full, self.save])
        self.box = widgets.VBox(
            [self.thumb, self.failure, self.caption, self.actions, self.saved],
            layout=widgets.Layout(width=_TILE_WIDTH, margin="0 0.5em 0.5em 0"),
        )
        for widget, css in (
            (self.thumb, "cw-thumb"),
            (self.failure, "cw-image-error"),
            (self.caption, "cw-caption"),
            (self.full, "cw-full-size"),
            (self.save, "cw-save"),
            (self.saved, "cw-saved"),
            (self.box, "cw-tile"),
        ):
            widget.add_class(css)
        self.full.on_click(lambda _button: self._on_full())
        self.save.on_click(lambda _button: self._on_save())

    @property
    def widgets(self) -> list[widgets.Widget]:
        return [*self.box.children, self.full, self.save, self.box]

    def load(self, preview: Preview) -> None:
        self.preview = preview
        ok = preview.data is not None
        if ok:
            with self.thumb.hold_sync():
                self.thumb.format = preview.format or "jpeg"
                self.thumb.value = preview.data
        elif self.thumb.value:
            self.thumb.value = b""
        self.failure.value = (
            ""
            if ok
            else f"<b>image {preview.image.index} failed</b><br>{html.escape(preview.error or '')}"
        )
        _display(self.thumb, ok)
        _display(self.failure, not ok)
        caption = html.escape(preview.caption)
        self.caption.value = (
            f'<div style="line-height:1.3" title="{caption}">{caption}<br>'
            f'<small style="color:#666">{html.escape(preview.detail)}</small></div>'
        )
        self.full.disabled = self.save.disabled = not ok
        self.saved.value = ""
        _display(self.box, True)

    def clear(self) -> None:
        self.preview = None
        if self.thumb.value:
            self.thumb.value = b""
        _display(self.box, False)

    def show_partial(self, index: int, data: bytes, fmt: str) -> None:
        """A running generation's latest partial preview: the thumbnail, no actions."""
        self.preview = None
        with self.thumb.hold_sync():
            self.thumb.format = fmt
            self.thumb.value = data
        _display(self.thumb, True)
        _display(self.failure, False)
        self.caption.value = f'<small style="color:#666">image {index + 1}: preview</small>'
        self.full.disabled = self.save.disabled = True
        self.saved.value = ""
        _display(self.box, True)

    def _on_full(self) -> None:
        if self.preview is not None:
            self.gallery.full_view.show(self.preview)

    def _on_save(self) -> None:
        if self.preview is None:
            return
        try:
            folder = Path(self.gallery.output_dir())
            folder.mkdir(parents=True, exist_ok=True)
            path = self.preview.image.save(folder)
        except Exception as exc:  # shown on the tile: a failed save must not break the panel
            self.saved.value = (
                f'<span style="color:#b00">save failed: {html.escape(str(exc))}</span>'
            )
            return
        self.saved.value = f"saved <code>{html.escape(str(path))}</code>"
        self.gallery.saved.append(path)


class Gallery:
    """Tiles for the shown generation, the usage line and the full-size view."""

    def __init__(self, output_dir: Callable[[], str]) -> None:
        self.output_dir = output_dir
        self.tiles: list[_Tile] = []
        self.saved: list[Path] = []
        self.box = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap", display="none"))
        self.box.add_class("cw-gallery")
        self.usage = widgets.HTML(layout=widgets.Layout(display="none"))
        self.usage.add_class("cw-usage")
        self.full_view = FullView()

    @property
    def all(self) -> list[widgets.Widget]:
        """Every widget this object created (for closing)."""
        found: list[widgets.Widget] = [self.box, self.usage, self.full_view.box]
        found += [self.full_view.image, self.full_view.caption, self.full_view.close]
        for tile in self.tiles:
            found += tile.widgets
        return found

    def show_partial(self, index: int, data: bytes, fmt: str) -> None:
        """Show a running generation's partial preview of image ``index`` in its tile (the
        final images replace it through ``show``)."""
        while len(self.tiles) <= index:
            self.tiles.append(_Tile(self))
        self.tiles[index].show_partial(index, data, fmt)
        children = tuple(tile.box for tile in self.tiles)
        if tuple(self.box.children) != children:
            self.box.children = children
        _display(self.box, True)
        self.full_view.hide()

    def show(self, previews: list[Preview], usage: dict[str, Any] | None) -> None:
        """Show these previews (reusing tiles) and the usage line."""
        while len(self.tiles) < len(previews):
            self.tiles.append(_Tile(self))
        for tile, preview in zip(self.tiles, previews, strict=False):
            tile.load(preview)
        for tile in self.tiles[len(previews) :]:
            tile.clear()
        children = tuple(tile.box for tile in self.tiles)
        if tuple(self.box.children) != children:
            self.box.children = children
        _display(self.box, bool(previews))
        text = format_usage(usage)
        self.usage.value = html.escape(text)
        _display(self.usage, bool(text))
        self.full_view.hide()
