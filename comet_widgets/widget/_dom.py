"""The views' small DOM helpers, in one place: show or hide a widget, set a value, CSS classes.

Each helper sends a message to the browser only when something changes (every assignment of a
synced trait is a websocket message, and the panel updates its views often while running).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

import ipywidgets as widgets

__all__ = ["classed", "set_class", "set_state", "set_value", "show"]

W = TypeVar("W", bound=widgets.Widget)


def show(widget: widgets.Widget, visible: bool, *, display: str = "") -> None:
    """Show (with ``display``, '' = the widget's own) or hide a widget through its layout."""
    value = display if visible else "none"
    if widget.layout.display != value:
        widget.layout.display = value


def set_value(widget: widgets.Widget, value: Any) -> None:
    """Set ``widget.value`` unless it already holds ``value``."""
    if widget.value != value:
        widget.value = value


def set_class(widget: widgets.Widget, css: str, on: bool) -> None:
    """Add or remove one CSS class."""
    if on and css not in widget._dom_classes:
        widget.add_class(css)
    elif not on and css in widget._dom_classes:
        widget.remove_class(css)


def set_state(widget: widgets.Widget, states: Iterable[str], state: str) -> None:
    """Make ``state`` the one class of ``states`` the widget has, in one message."""
    others = set(states) - {state}
    classes = [css for css in widget._dom_classes if css not in others]
    if state not in classes:
        classes.append(state)
    if tuple(classes) != tuple(widget._dom_classes):
        widget._dom_classes = tuple(classes)


def classed(widget: W, *classes: str) -> W:
    """``widget`` with these CSS classes added (for building views in one expression)."""
    for css in classes:
        widget.add_class(css)
    return widget
