"""The views' small DOM helpers, in one place: show or hide a widget, set a value, CSS classes,
escape text for HTML, close what a view made.

Each helper sends a message to the browser only when something changes (every assignment of a
synced trait is a websocket message, and the panel updates its views often while running).

``made()`` builds every part of the panel: those that are not given a layout or style of their
own share one ``Layout`` and one style per kind of widget, instead of a model each: every model
is a comm the page opens and a ~1 KB entry in a notebook's saved widget state. ``show`` gives a
part that has the shared layout its own before changing it, so sharing can never hide or show
another widget (no code changes a layout or style in place: ``show`` is the one way).
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any, TypeVar

import ipywidgets as widgets
from ipywidgets.widgets.widget_description import DescriptionWidget

__all__ = ["classed", "dispose", "escaped", "made", "set_class", "set_state", "set_value", "show"]

W = TypeVar("W", bound=widgets.Widget)


def escaped(text: object) -> str:
    """``text`` as it may enter an HTML widget's value: the one way any text that is not the
    panel's own markup (a prompt, a file name, what the server said) gets into it."""
    return html.escape(str(text))


_SHARED: dict[type, widgets.Widget] = {}


def _one(kind: type) -> Any:
    found = _SHARED.get(kind)
    if found is None or found.comm is None:  # none yet, or closed (e.g. Widget.close_all())
        found = _SHARED[kind] = kind()
    return found


def made(kind: type[W], *args: Any, **kwargs: Any) -> W:
    """A ``kind`` widget on the shared layout (and the shared style of its kind, when it has
    one) unless ``kwargs`` give it its own: ``made(widgets.HTML, "text")``,
    ``made(widgets.Box, layout=widgets.Layout(display="none"))``."""
    shared: dict[str, Any] = {"layout": _one(widgets.Layout)}
    if issubclass(kind, DescriptionWidget):
        shared["tooltip"] = ""  # at construction: no message to empty it later (``classed``)
    style = kind.class_traits().get("style")
    if style is not None:  # HTMLStyle, ButtonStyle...: the class its ``style`` trait holds
        shared["style"] = _one(style.klass)
    widget: W = kind(*args, **{**shared, **kwargs})
    return widget


def dispose(*roots: widgets.Widget, keep: Iterable[widgets.Widget] = ()) -> None:
    """Close these widgets and every widget in them but those in ``keep``'s trees, with their
    own layouts and styles (``Widget.close`` leaves those open; the shared ones stay)."""
    kept = set(_tree(*keep))
    sharing = {id(model) for model in _SHARED.values()}
    for widget in (widget for widget in _tree(*roots) if widget not in kept):
        for model in (getattr(widget, name, None) for name in ("layout", "style")):
            if model is not None and id(model) not in sharing:
                model.close()
        widget.close()


def _tree(*roots: widgets.Widget) -> list[widgets.Widget]:
    """These widgets and every widget in them (a box's children, theirs...), each once."""
    found: dict[widgets.Widget, None] = {}
    stack = list(roots)
    while stack:
        widget = stack.pop()
        if widget not in found:
            found[widget] = None
            stack += widget.children if isinstance(widget, widgets.Box) else ()
    return list(found)


def show(widget: widgets.Widget, visible: bool, *, display: str = "") -> None:
    """Show (with ``display``, '' = the widget's own) or hide a widget through its layout."""
    value = display if visible else "none"
    if widget.layout.display != value:
        if widget.layout is _SHARED.get(widgets.Layout):
            widget.layout = widgets.Layout(display=value)  # its own: the shared one stays
            return
        widget.layout.display = value


def set_value(widget: widgets.Widget, value: Any, *, trait: str = "value") -> None:
    """Set ``widget.value`` (or another ``trait``) unless it already holds ``value``."""
    if getattr(widget, trait) != value:
        setattr(widget, trait, value)


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
    """``widget`` with these CSS classes added (for building views in one expression).

    A description widget's tooltip left unset becomes empty: ipywidgets 8 writes an unset one
    into the ``title`` of its label (a FileUpload's or ToggleButton's own) as the text "null"."""
    if isinstance(widget, DescriptionWidget) and widget.tooltip is None:
        widget.tooltip = ""
    for css in classes:
        widget.add_class(css)
    return widget
