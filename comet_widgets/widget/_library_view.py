"""The Library view: the panel's library (every run recorded, from any kernel), browsed in the
panel beside the gallery.

Newest first, one page at a time (``LIBRARY_VIEW_PAGE`` cards, reused from page to page): a
page is one indexed query plus the thumbnails stored in the library, so a library of 100,000
images opens as fast as one of ten, and no full image is decoded to browse. The search box
finds words in the prompts and revised prompts (SQLite FTS5); the filters narrow to a model, a
date range, the starred entries or a collection. Clicking a card chooses it: the detail bar
under the grid says what it is and offers View (the lightbox), Restore (its prompt and
parameters back into the panel; an edit's inputs too), Edit (the image becomes the edit
input), Star, Add to a collection and Delete (which asks first).

Threading: the library is read outside the panel's lock (a query may wait for the recording
thread's transaction); every widget write holds the lock (``RunController``'s rule). The
recording thread calls ``recorded()`` after each run, and an open view shows the new entries.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from .._constants import LIBRARY_VIEW_PAGE
from .._errors import CometError, LibraryError
from ..images._results import GeneratedImage, Generation
from ._dom import classed, escaped, made, set_class, set_value, show
from ._gallery import Lightbox, Preview, button, set_image
from ._history import shortened
from ._status import plural
from ._style import _BORDER, _BRAND, _ERROR, _FG2, _tint
from ._words import panel_message

if TYPE_CHECKING:
    from ..library._library import Library, LibraryEntry

__all__ = ["LIBRARY_CSS", "LibraryView", "entry_params"]

_ALL_MODELS = "All models"
_ALL_COLLECTIONS = "All collections"
_PROMPT_CHARS = 70

LIBRARY_CSS = f"""
.cw-library {{ gap: 8px; width: 100%; }}
.cw-library-where .widget-html-content {{ font-size: 12px; color: {_FG2};
  overflow-wrap: anywhere; white-space: normal; }}
.cw-library-filters, .cw-library-actions, .cw-library-confirm {{ flex-wrap: wrap; gap: 6px;
  align-items: center; }}
.cw-library-filters > *, .cw-library-actions > *, .cw-library-confirm > * {{
  margin: 0 !important; }}
.cw-panel .cw-library-search {{ flex: 1 1 220px; min-width: 160px; width: auto; }}
.cw-panel .cw-library-model, .cw-panel .cw-library-collection, .cw-panel .cw-library-since,
.cw-panel .cw-library-until, .cw-panel .cw-library-collection-name {{ width: 170px; }}
.cw-panel .cw-library-starred, .cw-panel .cw-library-actions button,
.cw-panel .cw-library-confirm button {{ width: auto; }}
.cw-library-grid {{ display: grid !important;
  grid-template-columns: repeat(auto-fill, minmax(120px, 1fr)); gap: 8px; width: 100%; }}
.cw-library-grid > * {{ margin: 0 !important; }}
.cw-library-item {{ position: relative; border: 2px solid transparent; border-radius: 8px;
  padding: 3px; gap: 2px; min-width: 0; }}
.cw-library-item:hover {{ border-color: {_BORDER}; }}
.cw-library-item.cw-selected {{ border-color: {_BRAND}; background: {_tint(_BRAND, 8)}; }}
.cw-library-item img.cw-library-thumb {{ width: 100%; aspect-ratio: 1; height: auto;
  object-fit: cover; border-radius: 5px; margin: 0; }}
.cw-library-caption .widget-html-content {{ font-size: 11px; color: {_FG2}; line-height: 1.25;
  white-space: normal; overflow-wrap: anywhere; overflow: hidden; display: -webkit-box;
  -webkit-box-orient: vertical; -webkit-line-clamp: 3; }}
.cw-library-caption .cw-library-star-mark {{ color: {_BRAND}; }}
.cw-library-pager {{ align-items: center; gap: 8px; }}
.cw-library-page .widget-html-content {{ font-size: 12px; color: {_FG2}; }}
.cw-library-empty .widget-html-content {{ color: {_FG2}; white-space: normal; }}
.cw-library-detail {{ border: 1px solid {_BORDER}; border-radius: 8px; padding: 8px; gap: 6px; }}
.cw-library-info .widget-html-content {{ white-space: normal; overflow-wrap: anywhere; }}
.cw-library-confirm .widget-html-content {{ color: {_ERROR}; white-space: normal; }}
"""


def _thumb_format(data: bytes) -> str:
    """The ``widgets.Image`` format of a stored thumbnail (JPEG, PNG or an SVG's own text)."""
    if data.startswith(b"\x89PNG"):
        return "png"
    if data.lstrip()[:1] == b"<":
        return "svg+xml"
    return "jpeg"


def entry_params(entry: LibraryEntry, names: tuple[str, ...]) -> dict[str, Any]:
    """The panel parameters an entry was made with (unset optional ones become ``None``)."""
    values: dict[str, Any] = {name: entry.params.get(name) for name in names}
    values["prompt"] = entry.prompt
    if entry.model:
        values["model"] = entry.model
    for name in ("n", "size"):
        if name in values and values[name] is None:
            values.pop(name)  # not sent: the panel keeps its own
    if "partial_images" in values:
        values["partial_images"] = values["partial_images"] or 0
    return values


def entry_preview(entry: LibraryEntry) -> Preview:
    """A lightbox item of ``entry``: its file's bytes (read now: one image, when asked).
    Raises ``LibraryError`` when the file cannot be read (deleted by hand)."""
    try:
        data = entry.path.read_bytes()
    except OSError as exc:
        raise LibraryError(
            f"cannot read the image of library entry {entry.id} ({entry.path}):"
            f" {exc.strerror or exc}; its thumbnail and provenance remain",
            path=entry.path,
        ) from exc
    image = GeneratedImage(
        index=entry.index,
        data=data,
        format=entry.format,
        width=entry.width,
        height=entry.height,
        revised_prompt=entry.revised_prompt,
    )
    # The image's generation names it where it goes (an edit's input: "image 1 from '...'").
    Generation(
        prompt=entry.prompt,
        model=entry.model or "",
        created=int(entry.created.timestamp()),
        images=[image],
        params=entry.params,
        request_id=entry.request_id,
    )
    dims = f"{entry.width}x{entry.height}" if entry.width and entry.height else "?"
    when = entry.created.astimezone().strftime("%d %b %Y %H:%M")
    thumb = entry.thumbnail
    return Preview(
        image,
        entry.revised_prompt or entry.prompt,
        f"{entry.model} · {dims} · {when} · library #{entry.id}",
        1,
        thumb or data,
        _thumb_format(thumb) if thumb else str(entry.format),
    )


class _Card:
    """One card of the grid (``cw-library-item``): thumbnail, caption, and a transparent
    button over it (``cw-library-pick``) that chooses the entry."""

    def __init__(self, on_pick: Callable[[int], None], slot: int) -> None:
        self.entry: LibraryEntry | None = None
        self.thumb = classed(made(widgets.Image, format="jpeg"), "cw-library-thumb")
        self.caption = classed(made(widgets.HTML), "cw-library-caption")
        self.pick = button("", "cw-library-pick")
        self.box = classed(
            made(widgets.VBox, [self.thumb, self.caption, self.pick]), "cw-library-item"
        )
        self.pick.on_click(lambda _button: on_pick(slot))

    def load(self, entry: LibraryEntry, thumb: bytes, selected: bool) -> None:
        self.entry = entry
        set_image(self.thumb, thumb, _thumb_format(thumb) if thumb else "png")
        star = '<span class="cw-library-star-mark">★</span> ' if entry.starred else ""
        gone = " · file missing" if entry.missing else ""
        when = entry.created.astimezone().strftime("%d %b %Y %H:%M")
        set_value(
            self.caption,
            f"{star}{escaped(shortened(entry.prompt, _PROMPT_CHARS))}"
            f'<br><span class="cw-detail">{escaped(entry.model or "?")} · {when}{gone}</span>',
        )
        tip = f"#{entry.id} · {when} · {entry.model} · {entry.prompt}"
        set_value(self.pick, tip, trait="tooltip")
        set_class(self.box, "cw-selected", selected)


class LibraryView:
    """The Library view (``cw-library``), browsing ``library``.

    ``on_restore(entry)`` and ``on_edit(entry)`` are the panel's (they take its lock);
    ``lightbox`` is the gallery's, where View opens an entry full size.
    """

    def __init__(
        self,
        library: Library,
        lock: AbstractContextManager[Any],
        lightbox: Lightbox,
        *,
        on_restore: Callable[[LibraryEntry], None],
        on_edit: Callable[[LibraryEntry], None],
        page_size: int = LIBRARY_VIEW_PAGE,
    ) -> None:
        self.library = library
        self._lock = lock
        self.lightbox = lightbox
        self.on_restore = on_restore
        self.on_edit = on_edit
        self.page_size = page_size
        self.page = 0
        self.entries: list[LibraryEntry] = []
        self.chosen: LibraryEntry | None = None
        self.opened = False
        # Refreshes are numbered: one that read an older state never replaces a newer page.
        self._reading = threading.Lock()
        self._asked = self._shown = 0

        # Nothing is drawn before the view is first shown: a saved notebook carries every
        # widget model (about 90 for this view, a page of cards as many again), and most
        # panels never open it.
        self.box = classed(made(widgets.VBox, []), "cw-library")
        self.built = False
        self.cards: list[_Card] = []

    def _build(self) -> None:
        """Make the view's widgets (once, when it is first shown); cards come with pages."""
        library = self.library
        self.built = True
        self.where = classed(
            made(widgets.HTML, escaped(f"Library: {library.path}")), "cw-library-where"
        )
        self.search = classed(
            made(widgets.Text, placeholder="Search prompts (Enter)", continuous_update=False),
            "cw-library-search",
        )
        self.model = classed(
            made(widgets.Dropdown, options=[_ALL_MODELS], value=_ALL_MODELS), "cw-library-model"
        )
        dates = {"description_width": "initial"}  # the label as wide as its word
        self.since = classed(
            made(widgets.DatePicker, description="From", style=dates), "cw-library-since"
        )
        self.until = classed(
            made(widgets.DatePicker, description="To", style=dates), "cw-library-until"
        )
        self.starred = classed(
            made(widgets.Checkbox, description="Starred only", indent=False), "cw-library-starred"
        )
        self.collection = classed(
            made(widgets.Dropdown, options=[_ALL_COLLECTIONS], value=_ALL_COLLECTIONS),
            "cw-library-collection",
        )
        filters = [self.search, self.model, self.since, self.until, self.starred, self.collection]
        self.filters = classed(made(widgets.HBox, filters), "cw-library-filters")
        self.grid = classed(made(widgets.Box, []), "cw-library-grid")
        self.empty = classed(
            made(widgets.HTML, layout=widgets.Layout(display="none")), "cw-library-empty"
        )
        self.error = classed(
            made(widgets.HTML, layout=widgets.Layout(display="none")),
            "cw-library-error",
            "cw-message",
        )
        self.previous = button("Newer", "cw-library-prev", icon="arrow-left", disabled=True)
        self.next = button("Older", "cw-library-next", icon="arrow-right", disabled=True)
        self.page_label = classed(made(widgets.HTML), "cw-library-page")
        self.pager = classed(
            made(widgets.HBox, [self.previous, self.page_label, self.next]), "cw-library-pager"
        )
        # The chosen entry and what can be done with it.
        self.info = classed(made(widgets.HTML), "cw-library-info")
        self.view = button("View", "cw-library-view", icon="expand", tooltip="Show it full size")
        tip = "Put its prompt and parameters back into the panel"
        self.restore = button("Restore", "cw-library-restore", icon="undo", tooltip=tip)
        self.edit = button("Edit", "cw-library-edit", icon="pencil", tooltip="Edit this image")
        self.star = button("Star", "cw-library-star", icon="star")
        self.collection_name = classed(
            made(widgets.Combobox, placeholder="Collection name", ensure_option=False),
            "cw-library-collection-name",
        )
        self.add = button("Add to collection", "cw-library-add", icon="folder")
        tip = "Delete from the library"
        self.delete = button("Delete", "cw-library-delete", icon="trash", tooltip=tip)
        row = [self.view, self.restore, self.edit, self.star, self.collection_name, self.add]
        self.actions = classed(made(widgets.HBox, [*row, self.delete]), "cw-library-actions")
        self.confirm_text = classed(made(widgets.HTML), "cw-library-confirm-text")
        self.confirm_delete = button(
            "Delete", "cw-library-confirm-delete", icon="trash", button_style="danger"
        )
        self.cancel_delete = button("Keep it", "cw-library-keep")
        self.confirm = classed(
            made(
                widgets.HBox,
                [self.confirm_text, self.confirm_delete, self.cancel_delete],
                layout=widgets.Layout(display="none"),
            ),
            "cw-library-confirm",
        )
        self.said = classed(made(widgets.HTML), "cw-library-said")
        self.detail = classed(
            made(
                widgets.VBox,
                [self.info, self.actions, self.confirm, self.said],
                layout=widgets.Layout(display="none"),
            ),
            "cw-library-detail",
        )
        self.box.children = (
            self.where,
            self.filters,
            self.error,
            self.empty,
            self.grid,
            self.pager,
            self.detail,
        )
        for control in filters:
            control.observe(lambda _change: self.refresh(page=0), names="value")
        self.previous.on_click(lambda _button: self.refresh(page=self.page - 1))
        self.next.on_click(lambda _button: self.refresh(page=self.page + 1))
        self.view.on_click(lambda _button: self._act(self._view))
        self.restore.on_click(lambda _button: self._act(self.on_restore))
        self.edit.on_click(lambda _button: self._act(self.on_edit))
        self.star.on_click(lambda _button: self._act(self._star))
        self.add.on_click(lambda _button: self._act(self._add))
        self.delete.on_click(lambda _button: self._ask_delete(True))
        self.cancel_delete.on_click(lambda _button: self._ask_delete(False))
        self.confirm_delete.on_click(lambda _button: self._act(self._delete))

    @property
    def all(self) -> list[widgets.Widget]:
        """The boxes holding every widget this view made (for closing): cards off the page too."""
        return [self.box, *(card.box for card in self.cards)]

    # -- reading ------------------------------------------------------------------------------
    def _query(self) -> dict[str, Any]:
        model = self.model.value
        collection = self.collection.value
        since = self.since.value
        until = self.until.value
        return {
            "text": self.search.value.strip() or None,
            "model": None if model in (None, _ALL_MODELS) else model,
            "since": since,
            "until": dt.datetime.combine(until, dt.time.max) if until else None,
            "starred": True if self.starred.value else None,
            "collection": None if collection in (None, _ALL_COLLECTIONS) else collection,
        }

    def open(self) -> None:
        """The view is shown: read the first page (and the filters' choices)."""
        if not self.built:
            self._build()
        self.opened = True
        self.refresh(page=self.page, choices=True)

    def recorded(self) -> None:
        """The recording thread added entries: an open view shows them (a new model too)."""
        if self.opened:
            self.refresh(page=self.page, choices=True)

    def refresh(self, *, page: int, choices: bool = False) -> None:
        """Read page ``page`` of what the filters select and show it (from any thread).

        The library is read without the panel's lock (the caller may hold it: the lock is
        reentrant, and nothing here waits for another thread while holding it); the page is
        shown under the lock, unless a later refresh has shown its own already."""
        library = self.library
        page = max(0, page)
        with self._reading:
            self._asked += 1
            number = self._asked
        problem: str | None = None
        try:
            query = self._query()
            found = library.search(**query, limit=self.page_size + 1, offset=page * self.page_size)
            if not found and page > 0:  # deleted from under the last page: go back one
                page -= 1
                found = library.search(
                    **query, limit=self.page_size + 1, offset=page * self.page_size
                )
            thumbs = [entry.thumbnail for entry in found[: self.page_size]]
            models = library.models if choices else None
            collections = library.collections if choices else None
            total = len(library) if choices else 0
        except CometError as exc:
            problem = panel_message(exc).html()
        with self._lock:
            if number < self._shown:
                return  # a later refresh is already shown
            self._shown = number
            set_value(self.error, problem or "")  # a problem reading: its line, facts in Details
            show(self.error, problem is not None)
            if problem is not None:
                return
            if models is not None and collections is not None:
                self._set_choices(models, collections, total)
            filtered = any(value is not None for value in query.values())
            self._show_page(page, found, thumbs, filtered=filtered)

    def _set_choices(self, models: dict[str, int], collections: dict[str, int], total: int) -> None:
        names = sorted(collections)
        for dropdown, options in (
            (self.model, [_ALL_MODELS, *sorted(m for m in models if m)]),
            (self.collection, [_ALL_COLLECTIONS, *names]),
        ):
            if list(dropdown.options) != options:  # the choice stays when it can (else "All")
                with dropdown.hold_trait_notifications():
                    kept = dropdown.value if dropdown.value in options else options[0]
                    dropdown.options = options
                    dropdown.value = kept
        if list(self.collection_name.options) != names:
            self.collection_name.options = names
        set_value(
            self.where,
            escaped(f"Library: {self.library.path} · {plural(total, 'image')}"),
        )

    def _show_page(
        self, page: int, found: list[LibraryEntry], thumbs: list[bytes], *, filtered: bool
    ) -> None:
        self.page = page
        shown = found[: self.page_size]
        self.entries = shown
        chosen_id = self.chosen.id if self.chosen is not None else None
        self.cards += [_Card(self._pick, slot) for slot in range(len(self.cards), len(shown))]
        for card, entry, thumb in zip(self.cards, shown, thumbs, strict=False):
            card.load(entry, thumb, entry.id == chosen_id)
        boxes = tuple(card.box for card in self.cards[: len(shown)])
        if self.grid.children != boxes:
            self.grid.children = boxes
        if not shown:
            set_value(
                self.empty,
                "Nothing matches: change the search or the filters."
                if filtered
                else "No images yet: every run of this panel is recorded here.",
            )
        show(self.empty, not shown)
        more = len(found) > self.page_size
        self.previous.disabled = page == 0
        self.next.disabled = not more
        first = page * self.page_size + 1
        span = f"{first}–{first + len(shown) - 1}" if shown else "none"
        set_value(self.page_label, escaped(f"Page {page + 1} · {span}"))
        show(self.pager, page > 0 or more)

    # -- the chosen entry ---------------------------------------------------------------------
    def _pick(self, slot: int) -> None:
        with self._lock:
            if slot >= len(self.entries):
                return
            self.chosen = self.entries[slot]
            for number, card in enumerate(self.cards):
                set_class(card.box, "cw-selected", number == slot)
            self._show_chosen()

    def _show_chosen(self) -> None:
        entry = self.chosen
        show(self.detail, entry is not None, display="flex")
        show(self.confirm, False)
        set_value(self.said, "")
        if entry is None:
            return
        dims = f"{entry.width}x{entry.height}" if entry.width and entry.height else "?"
        when = entry.created.astimezone().strftime("%d %b %Y %H:%M:%S")
        cost = f" · {entry.cost}" if entry.cost.usd is not None else ""
        rid = f" · request id {entry.request_id}" if entry.request_id else ""
        what = "edit" if entry.input_hashes else "generation"
        missing = entry.missing  # (a look at the disk: once)
        lines = [f"<div>{escaped(entry.prompt)}</div>"]
        if entry.revised_prompt and entry.revised_prompt != entry.prompt:
            lines.append(f'<div class="cw-detail">Revised: {escaped(entry.revised_prompt)}</div>')
        lines.append(
            f'<div class="cw-detail">#{entry.id} · {what} · {escaped(entry.model or "?")} · {dims}'
            f" · {when}{escaped(cost)}{escaped(rid)}</div>"
        )
        if missing:
            lines.append(
                '<div class="cw-detail">The image file was deleted; its thumbnail and provenance'
                " remain.</div>"
            )
        set_value(self.info, "".join(lines))
        self.view.disabled = missing
        self.edit.disabled = missing or entry.format == "svg"
        self._show_star(entry.starred)

    def _show_star(self, starred: bool) -> None:
        wanted = ("Unstar", "star-o") if starred else ("Star", "star")
        if (self.star.description, self.star.icon) != wanted:
            self.star.description, self.star.icon = wanted

    def _act(self, action: Callable[[LibraryEntry], None]) -> None:
        """Do ``action`` to the chosen entry; a ``CometError`` is said under its actions."""
        entry = self.chosen
        if entry is None:
            return
        try:
            action(entry)
        except CometError as exc:
            with self._lock:
                set_value(self.said, panel_message(exc).html())

    def _view(self, entry: LibraryEntry) -> None:
        preview = entry_preview(entry)
        with self._lock:
            self.lightbox.open([preview], 0)

    def _star(self, entry: LibraryEntry) -> None:
        self.library.star(entry, on=not entry.starred)
        with self._lock:
            self._show_star(entry.starred)
        self.refresh(page=self.page)

    def _add(self, entry: LibraryEntry) -> None:
        name = self.collection_name.value.strip()
        if not name:
            with self._lock:
                set_value(self.said, "Type a collection name first.")
            return
        self.library.add_to(name, entry)
        with self._lock:
            set_value(self.said, escaped(f"Added to the collection '{name}'."))
        self.refresh(page=self.page, choices=True)

    def _ask_delete(self, asking: bool) -> None:
        with self._lock:
            if asking and self.chosen is not None:
                set_value(
                    self.confirm_text,
                    escaped(
                        f"Delete #{self.chosen.id} from the library? Its image file goes too,"
                        " unless another entry uses it. This cannot be undone."
                    ),
                )
            show(self.confirm, asking and self.chosen is not None, display="flex")
            show(self.actions, not asking, display="flex")

    def _delete(self, entry: LibraryEntry) -> None:
        self.library.delete(entry)
        with self._lock:
            self.chosen = None
            show(self.actions, True, display="flex")
            self._show_chosen()
        self.refresh(page=self.page, choices=True)
