"""The panel's header: its name and a badge saying where images come from.

The badge reads "Offline" whenever the fake API serves the images: in offline mode (the
built-in fake), and as soon as an answer carries the fake's request ids (``fake-...``), e.g.
a fake served on loopback through ``COMETAPI_BASE_URL``. Otherwise it names the API's host
("Online", or "Local API" for a loopback address): the client's, as soon as the panel has one
(a ``client_factory``'s client is built in the background right after the panel). The model
is not repeated here: the Model field shows it, with its notices under it.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import ipywidgets as widgets

from .._constants import BASE_URL_ENV, DEFAULT_BASE_URL
from ..testing import REQUEST_ID_PREFIX
from ._client_source import OFFLINE_BANNER
from ._dom import classed, escaped, made, set_class, set_value, show

__all__ = ["Header", "badge_of"]

_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_BADGES = ("cw-offline", "cw-online", "cw-local")


def badge_of(*, offline: bool, base_url: str | None) -> tuple[str, str, str]:
    """``(css class, text, tooltip)`` of the badge for where requests go."""
    if offline:
        return "cw-offline", "Offline · fake API", OFFLINE_BANNER
    url = base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    host = urlsplit(url).netloc or url
    if (urlsplit(url).hostname or "") in _LOOPBACK:
        return "cw-local", f"Local API · {host}", f"Requests go to {url}"
    return "cw-online", f"Online · {host}", f"Requests go to {url}"


class Header:
    """Title, badge (``cw-badge``) and offline banner."""

    def __init__(self, *, offline: bool) -> None:
        self.title = classed(made(widgets.HTML, "Image generator"), "cw-title")
        self.badge = classed(made(widgets.HTML), "cw-badge")
        self.box = classed(made(widgets.HBox, [self.title, self.badge]), "cw-header")
        self.banner = classed(
            made(widgets.HTML, escaped(OFFLINE_BANNER), layout=widgets.Layout(display="none")),
            "cw-offline-banner",
        )
        self.offline = False
        self._show_badge(*badge_of(offline=offline, base_url=None))

    def _show_badge(self, css: str, text: str, tooltip: str) -> None:
        for name in _BADGES:
            set_class(self.badge, name, name == css)
        set_value(self.badge, f'<span title="{escaped(tooltip)}">{escaped(text)}</span>')
        self.offline = css == "cw-offline"
        show(self.banner, self.offline)

    def point_at(self, base_url: str) -> None:
        """The client now exists (e.g. built by a ``client_factory``): name its address."""
        if not self.offline:
            self._show_badge(*badge_of(offline=False, base_url=base_url))

    def saw_request_id(self, request_id: str | None) -> None:
        """An answer arrived: the fake's ids turn the badge to "Offline"."""
        if not self.offline and request_id and request_id.startswith(REQUEST_ID_PREFIX):
            self._show_badge(*badge_of(offline=True, base_url=None))
