"""Find a panel's parts as the README documents them: by their ``cw-*`` CSS classes.

Widget tests speak to the panel through these (and its public traits and methods), never
through its private attributes, so the panel's insides can change without touching them.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets


def descendants(root: ipywidgets.Widget) -> list[ipywidgets.Widget]:
    """Every widget reachable from ``root`` through its synced traits, in document order."""
    found: dict[int, ipywidgets.Widget] = {}

    def visit(item: Any) -> None:
        if isinstance(item, (list, tuple)):
            for child in item:
                visit(child)
        elif isinstance(item, ipywidgets.Widget) and id(item) not in found:
            found[id(item)] = item
            for key in item.keys:
                visit(getattr(item, key))

    visit(root)
    return list(found.values())


def shown(widget: ipywidgets.Widget) -> bool:
    """Not hidden by its own layout."""
    return bool(widget.layout.display != "none")


def parts(root: ipywidgets.Widget, css: str, *, visible: bool = False) -> list[Any]:
    """The widgets under ``root`` with the class ``css``, in document order."""
    found = [w for w in descendants(root) if css in getattr(w, "_dom_classes", ())]
    return [w for w in found if shown(w)] if visible else found


def part(root: ipywidgets.Widget, css: str) -> Any:
    """The one widget under ``root`` with the class ``css``."""
    found = parts(root, css)
    assert len(found) == 1, f"{len(found)} widgets have the class {css!r}"
    return found[0]


def text(root: ipywidgets.Widget, css: str) -> str:
    """The text of the one HTML widget with class ``css`` (tags dropped, entities decoded)."""
    import re

    return html.unescape(re.sub(r"<[^>]+>", " ", str(part(root, css).value))).strip()


def tiles(panel: ipywidgets.Widget) -> list[Any]:
    """The gallery's visible tiles, in order."""
    return parts(panel, "cw-tile", visible=True)


def thumb_bytes(tile: ipywidgets.Widget) -> bytes:
    return bytes(part(tile, "cw-thumb").value)
