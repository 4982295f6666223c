"""The results column's views: "Results" (the gallery, its status and usage) and any view added
beside it (a library, a comparison...), one shown at a time.

A row of toggle buttons (``cw-view-switch``, hidden while there is only one view) picks the
view; each view sits in a box of its own (``cw-view`` and ``cw-view-<slug of its title>``), so
showing and hiding it never touches the added widget's own layout. The panel's ``add_view`` and
``show_view`` are the public door; like every write to the panel, these run holding the panel's
lock (a click in the browser takes it here).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from .._errors import InvalidCallError, InvalidParameterError
from ._dom import classed, made, show

__all__ = ["RESULTS", "ViewSlot"]

#: The first view's title: the gallery of the run shown, its status line and its usage.
RESULTS = "Results"


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "view"


class ViewSlot:
    """The switch and the views' boxes; ``box`` is what the panel lays out."""

    def __init__(self, results: widgets.Widget, lock: Any) -> None:
        self._lock = lock
        #: Each view's box, and what it calls when it is shown.
        self._views: dict[str, tuple[widgets.Box, Callable[[], None] | None]] = {}
        self.switch = classed(
            made(
                widgets.ToggleButtons,
                options=[RESULTS],
                value=RESULTS,
                tooltips=["The images of the run shown, its status and its cost"],
                layout=widgets.Layout(display="none"),
            ),
            "cw-view-switch",
        )
        self.stack = classed(made(widgets.VBox), "cw-views")
        self.box = classed(made(widgets.VBox, [self.switch, self.stack]), "cw-results-views")
        self._add(RESULTS, results, None)
        self.switch.observe(self._picked, names="value")

    @property
    def titles(self) -> list[str]:
        return list(self._views)

    @property
    def current(self) -> str:
        return str(self.switch.value)

    def _add(self, title: str, view: widgets.Widget, on_show: Callable[[], None] | None) -> None:
        box = classed(made(widgets.VBox, [view]), "cw-view", f"cw-view-{_slug(title)}")
        if self._views:
            show(box, False)
        self._views[title] = (box, on_show)
        self.stack.children = (*self.stack.children, box)

    def add(
        self, title: str, view: widgets.Widget, *, tooltip: str, on_show: Callable[[], None] | None
    ) -> None:
        """The panel's ``add_view`` (documented there): ``view`` under ``title``."""
        if not isinstance(view, widgets.Widget):
            raise InvalidCallError(
                f"add_view() takes an ipywidgets widget, not {type(view).__name__}"
            )
        title = str(title).strip()
        if not title or title in self._views:
            raise InvalidParameterError(
                "title",
                title,
                f"a non-empty title not among {self.titles}",
                reason=f"add_view(): the title {title!r} is empty or already taken",
            )
        self._add(title, view, on_show)
        tips = [*self.switch.tooltips, tooltip]
        with self.switch.hold_sync():
            self.switch.options = self.titles
            self.switch.value = self.current  # options= may reset it to the first
            self.switch.tooltips = tips
        show(self.switch, True)

    def show(self, title: str) -> None:
        """Show the view ``title`` (``ValueError`` when there is none of that title)."""
        if title not in self._views:
            raise InvalidParameterError(
                "title",
                title,
                f"the views are {self.titles}",
                reason=f"show_view(): no view {title!r}",
            )
        if self.switch.value != title:
            self.switch.value = title  # _picked shows it
        else:
            self._show(title)

    def _picked(self, change: Any) -> None:
        with self._lock:  # a click in the browser: the panel's owner lock, as every write
            self._show(str(change["new"]))

    def _show(self, title: str) -> None:
        for name, (box, _) in self._views.items():
            show(box, name == title)
        on_show = self._views[title][1]
        if on_show is not None:
            on_show()
