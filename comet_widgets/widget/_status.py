"""The panel's status line, the elapsed time, and one message box per problem.

Every text is escaped here: API messages can contain anything (even markup echoed back).
What a message says (one line in the panel's terms, the technical facts behind "Details")
is ``_words.py``'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ipywidgets as widgets

from ._dom import classed, escaped, made, set_class, set_value, show
from ._words import Message, key_notice, panel_message, plural

if TYPE_CHECKING:
    from ..images._results import Generation

__all__ = ["Message", "StatusView", "count_text", "panel_message", "plural", "status_text"]


def count_text(generation: Generation) -> str:
    """``'3 images'``, or ``'2 of 3 images; image 2 failed'`` (numbered as a person counts)."""
    total = len(generation.images)
    failed = [image.index + 1 for image in generation.images if not image.ok]
    if not failed:
        return plural(total, "image")
    numbers = ", ".join(str(number) for number in failed)
    which = f"image{'s' if len(failed) > 1 else ''} {numbers} failed"
    return f"{total - len(failed)} of {plural(total, 'image')}; {which}"


def status_text(status: str, generation: Generation | None, retries: list[str]) -> str:
    """The status line for a settled state (the running line is the ticker's)."""
    if status == "done" and generation is not None:
        text = f"Done: {count_text(generation)}"
        if generation.shortfall:  # the API answered with fewer images than asked for
            text = f"Done: {len(generation.images)} of {plural(generation.requested, 'image')}"
        if retries:
            text += f" after {plural(len(retries), 'retry').replace('retrys', 'retries')}"
        return text
    return {
        "idle": "Ready",
        "running": "Starting...",
        "error": "Failed",
        "cancelled": "Cancelled",
        "done": "Done",
    }.get(status, status)


class StatusView:
    """The status line, the elapsed time and the message boxes, each with its CSS class.

    At most one message box shows at a time for one problem: the key notice, a refused
    parameter (``cw-validation``) or the last error (``cw-error``).
    """

    def __init__(self) -> None:
        def hidden() -> widgets.Layout:
            return widgets.Layout(display="none")

        self.notice = classed(made(widgets.HTML, layout=hidden()), "cw-key-notice", "cw-message")
        self.status = classed(made(widgets.HTML, "Ready"), "cw-status")
        self.elapsed = classed(made(widgets.HTML, ""), "cw-elapsed")
        self.next_note = classed(
            made(widgets.HTML, "Changes apply to the next run.", layout=hidden()), "cw-next-note"
        )
        self.validation = classed(
            made(widgets.HTML, layout=hidden()), "cw-validation", "cw-message"
        )
        self.error = classed(made(widgets.HTML, layout=hidden()), "cw-error", "cw-message")
        self.stream_notice = classed(
            made(widgets.HTML, layout=hidden()), "cw-stream-notice", "cw-message", "cw-quiet"
        )

    def show_status(self, text: str) -> None:
        set_value(self.status, escaped(text))

    def show_elapsed(self, seconds: float | None) -> None:
        set_value(self.elapsed, "" if seconds is None else f"{seconds:.1f} s")

    def show_error(self, message: Message | None) -> None:
        set_value(self.error, message.html() if message else "")
        show(self.error, message is not None)

    def show_validation(self, message: Message | str | None, *, quiet: bool = False) -> None:
        """A refused parameter's message, or (``quiet``) a hint in one plain line."""
        if isinstance(message, Message):
            value = message.html()
        else:
            value = f'<div class="cw-line">{escaped(message)}</div>' if message else ""
        set_value(self.validation, value)
        set_class(self.validation, "cw-quiet", quiet)
        show(self.validation, message is not None)

    def show_stream_notice(self, text: str | None) -> None:
        set_value(self.stream_notice, escaped(text or ""))
        show(self.stream_notice, text is not None)

    def show_notice(self, notice: str | None) -> None:
        """The no-key notice (``notice``: the exception's text, None when there is a key),
        in words: how to set the key, no code."""
        set_value(self.notice, key_notice().html() if notice is not None else "")
        show(self.notice, notice is not None)
