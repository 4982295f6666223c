"""The panel's messages: status line, elapsed seconds, validation, error, banner and key notice.

Every text is escaped here: API messages can contain anything (even markup echoed back).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ._client_source import OFFLINE_BANNER

if TYPE_CHECKING:
    from ..images._results import Generation

__all__ = ["StatusView", "status_text"]

_ERROR_HTML = '<pre style="color:#b00020;white-space:pre-wrap;margin:0">{}</pre>'
_VALIDATION_HTML = '<span style="color:{}">{}</span>'


def status_text(status: str, generation: Generation | None, retries: list[str]) -> str:
    """The status line: the status word; "done: N images [after K retries (last reason)]"."""
    if status != "done" or generation is None:
        return status
    count = len(generation.images)
    text = f"done: {count} image{'' if count == 1 else 's'}"
    if generation.shortfall:
        # The API answered with fewer images than n: say so, not just "done: 2 images".
        text = f"done: {count} of {generation.requested} images"
    if retries:
        text += f" after {len(retries)} retr{'y' if len(retries) == 1 else 'ies'} ({retries[-1]})"
    return text


def _show(widget: widgets.Widget, visible: bool) -> None:
    display = "" if visible else "none"
    if widget.layout.display != display:
        widget.layout.display = display


def _set(widget: widgets.Widget, value: str) -> None:
    if widget.value != value:
        widget.value = value


class StatusView:
    """The message widgets, each with its CSS class; hidden while they have nothing to say."""

    def __init__(self, *, offline: bool) -> None:
        hidden = {"layout": widgets.Layout(display="none")}
        self.banner = widgets.HTML(f"<b>{html.escape(OFFLINE_BANNER)}</b>", **hidden)
        _show(self.banner, offline)
        self.notice = widgets.HTML(layout=widgets.Layout(display="none"))
        self.status = widgets.HTML("idle")
        self.elapsed = widgets.Label("")
        self.validation = widgets.HTML(layout=widgets.Layout(display="none"))
        self.error = widgets.HTML(layout=widgets.Layout(display="none"))
        for widget, css in (
            (self.banner, "cw-offline-banner"),
            (self.notice, "cw-key-notice"),
            (self.status, "cw-status"),
            (self.elapsed, "cw-elapsed"),
            (self.validation, "cw-validation"),
            (self.error, "cw-error"),
        ):
            widget.add_class(css)

    @property
    def all(self) -> list[Any]:
        """Every widget this object created (for closing)."""
        return [self.banner, self.notice, self.status, self.elapsed, self.validation, self.error]

    def show_status(self, text: str) -> None:
        _set(self.status, html.escape(text))

    def show_elapsed(self, seconds: float | None) -> None:
        _set(self.elapsed, "" if seconds is None else f"{seconds:.1f} s")

    def show_error(self, error: str) -> None:
        _set(self.error, _ERROR_HTML.format(html.escape(error)) if error else "")
        _show(self.error, bool(error))

    def show_validation(self, message: str | None, *, quiet: bool = False) -> None:
        colour = "#666" if quiet else "#a15c00"
        _set(self.validation, _VALIDATION_HTML.format(colour, html.escape(message or "")))
        _show(self.validation, message is not None)

    def show_notice(self, notice: str | None) -> None:
        _set(self.notice, html.escape(notice or ""))
        _show(self.notice, notice is not None)
