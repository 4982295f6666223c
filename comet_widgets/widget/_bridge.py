"""``PageBridge``: the gallery's small front-end helper, for what core widgets cannot do.

Core ipywidgets see no keys, no Shift on a click and no way to hand the browser a file. This
helper (on ``anywidget``, the ``painter`` extra; without it the gallery has none) sits
invisible inside the panel's lightbox and does exactly that, through the panel's own buttons:

- while the lightbox is open: Escape clicks its Close, Left / Right its Previous / Next, Tab and
  Shift+Tab stay inside it (focus is trapped), a click on the dark backdrop closes it; it
  focuses Close when it opens and gives focus back to the View button of the tile it was opened
  from (``origin``) when it closes;
- a Shift+click on a tile's Select box sends ``{"range": position}`` (the box does not toggle):
  the gallery then selects every tile from the last one clicked to that one;
- ``offer(name, mime, data)`` makes the browser download ``data`` as ``name`` (a Blob: no size
  limit, nothing kept in widget state).

``rendered`` turns True once a front-end has drawn it; until then (or without anywidget) the
lightbox works with its buttons and a download is a link to click (see ``Gallery.deliver``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import traitlets

from .._constants import PAINTER_INSTALL
from .._errors import MissingDependencyError

try:
    import anywidget
except ImportError as exc:  # the gallery then goes without the bridge (buttons and links)
    raise MissingDependencyError(
        "the lightbox's keys and direct downloads (the panel's page bridge)",
        "anywidget",
        PAINTER_INSTALL,
    ) from exc

__all__ = ["PageBridge"]


class PageBridge(anywidget.AnyWidget):
    """The gallery's front-end helper (class ``cw-bridge``); ``on_range(position)`` is what a
    Shift+click on a tile's Select box calls."""

    _esm = Path(__file__).with_name("_bridge.js")
    #: The position of the tile the lightbox was opened from (focus goes back to it).
    origin = traitlets.Int(0).tag(sync=True)
    #: Set True by the front-end once it has drawn the bridge.
    rendered = traitlets.Bool(False).tag(sync=True)

    def __init__(self, on_range: Callable[[int], None]) -> None:
        super().__init__()
        self._on_range = on_range
        self.add_class("cw-bridge")
        self.on_msg(self._received)

    def _received(self, _widget: Any, content: Any, _buffers: Any) -> None:
        position = content.get("range") if isinstance(content, dict) else None
        if isinstance(position, int) and not isinstance(position, bool) and position >= 0:
            self._on_range(position)

    def offer(self, name: str, mime: str, data: bytes) -> None:
        """Make the browser download ``data`` as the file ``name``."""
        self.send({"download": name, "mime": mime}, buffers=[data])
