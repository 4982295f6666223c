"""Find a panel's parts as docs/panel.md documents them: by their ``cw-*`` CSS classes.

Widget tests speak to the panel through these (and its public traits and methods), never
through its private attributes, so the panel's insides can change without touching them.
"""

from __future__ import annotations

import html
import re
from typing import Any

import ipywidgets
from ipywidgets.widgets.widget import widget_serialization


def descendants(root: ipywidgets.Widget) -> list[ipywidgets.Widget]:
    """Every widget reachable from ``root`` through its synced traits, in document order."""
    return list(_walk(root))


#: ``.state .part { display: none }`` rules of the panel's stylesheet: state class -> the
#: classes of the parts it hides. Read from the first stylesheet seen (every panel has the same).
_HIDES: dict[str, set[str]] = {}


def _read_hides(stylesheet: str) -> None:
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", stylesheet):
        if not re.search(r"display:\s*none", body):
            continue
        for selector in selectors.split(","):
            found = re.fullmatch(r"\s*\.([\w-]+)\s+\.([\w-]+)\s*", selector)
            if found:
                _HIDES.setdefault(found[1], set()).add(found[2])


def _walk(root: ipywidgets.Widget) -> dict[ipywidgets.Widget, bool]:
    """Every widget under ``root`` (document order) and whether a browser would show it: not
    hidden by its own layout, by an ancestor, or by a state class of an ancestor whose
    stylesheet rule hides it (a gallery tile's parts follow the tile's state class)."""
    found = _visibility(root)
    if not _HIDES:  # the first panel seen: learn its stylesheet's rules, then look again
        for widget in found:
            if "cw-stylesheet" in getattr(widget, "_dom_classes", ()):
                _read_hides(str(widget.value))
        if _HIDES:
            found = _visibility(root)
    return found


#: Per widget class, its synced traits that reference widgets (those the front-end resolves as
#: children, layout, style...: tagged with ipywidgets' ``widget_serialization``). Walking only
#: these, not every synced trait, is what keeps the walk cheap: tests walk a panel thousands of
#: times while they wait for it.
_WIDGET_KEYS: dict[type, tuple[str, ...]] = {}


def _widget_keys(widget: ipywidgets.Widget) -> tuple[str, ...]:
    keys = _WIDGET_KEYS.get(type(widget))
    if keys is None:
        to_json = widget_serialization["to_json"]
        keys = tuple(k for k in widget.keys if widget.trait_metadata(k, "to_json") is to_json)
        _WIDGET_KEYS[type(widget)] = keys
    return keys


def _visibility(root: ipywidgets.Widget) -> dict[ipywidgets.Widget, bool]:
    found: dict[ipywidgets.Widget, bool] = {}

    def visit(item: Any, hidden: frozenset[str], visible: bool) -> None:
        if isinstance(item, (list, tuple)):
            for child in item:
                visit(child, hidden, visible)
        elif isinstance(item, ipywidgets.Widget) and item not in found:
            classes = set(getattr(item, "_dom_classes", ()))
            layout = getattr(item, "layout", None)
            own = visible and not classes & hidden
            own = own and (layout is None or layout.display != "none")
            found[item] = own
            for css in classes & _HIDES.keys():
                hidden = hidden | _HIDES[css]
            for key in _widget_keys(item):
                visit(getattr(item, key), hidden, own)

    visit(root, frozenset(), True)
    return found


def shown(widget: ipywidgets.Widget, *, within: ipywidgets.Widget | None = None) -> bool:
    """Shown by its own layout and, given the panel it is in (``within``), by its ancestors
    and their state classes."""
    if within is None:
        return bool(widget.layout.display != "none")
    return _walk(within)[widget]


def parts(root: ipywidgets.Widget, css: str, *, visible: bool = False) -> list[Any]:
    """The widgets under ``root`` with the class ``css``, in document order (``visible``: only
    those a browser would show)."""
    walked = _walk(root)
    found = [w for w in walked if css in getattr(w, "_dom_classes", ())]
    return [w for w in found if walked[w]] if visible else found


def part(root: ipywidgets.Widget, css: str) -> Any:
    """The one widget under ``root`` with the class ``css``."""
    found = parts(root, css)
    assert len(found) == 1, f"{len(found)} widgets have the class {css!r}"
    return found[0]


def text(root: ipywidgets.Widget, css: str) -> str:
    """The text of the one HTML widget with class ``css`` (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", str(part(root, css).value))).strip()


def tiles(panel: ipywidgets.Widget) -> list[Any]:
    """The gallery's visible tiles, in order."""
    return parts(panel, "cw-tile", visible=True)


def thumb_bytes(tile: ipywidgets.Widget) -> bytes:
    return bytes(part(tile, "cw-thumb").value)
