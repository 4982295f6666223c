"""The panel's words: the status line, the elapsed time, and one message box per problem.

Every text is escaped here: API messages can contain anything (even markup echoed back).
Messages speak the panel's terms: what happened, what to do in the panel, and the request id.
Hints that only make sense in Python code (``pass retry_billable=True``) stay in the exception
text that ``await gen.generate()`` raises; the panel says what a person can do instead.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from .._constants import API_KEY_ENV
from .._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    CometError,
    ContentPolicyError,
    ImageDownloadError,
    InvalidParameterError,
    ModelUnavailableError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    describe,
)
from ._dom import classed, set_class, set_value, show

if TYPE_CHECKING:
    from ..images._results import Generation

__all__ = ["Message", "StatusView", "count_text", "panel_message", "plural", "status_text"]


def plural(count: int, word: str) -> str:
    """``'1 image'``, ``'3 images'``."""
    return f"{count} {word}{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class Message:
    """One problem as the panel shows it: what happened, what to do, and the request id."""

    what: str
    detail: str = ""
    todo: str = ""
    request_id: str | None = None

    @property
    def text(self) -> str:
        """The message as one plain line (for the ``error`` trait's readers and tests)."""
        parts = [self.what, self.detail, self.todo]
        rid = f"(request id {self.request_id})" if self.request_id else ""
        return " ".join(p for p in (*parts, rid) if p)

    def html(self) -> str:
        parts = [f'<span class="cw-what">{html.escape(self.what)}</span>']
        if self.detail:
            parts.append(html.escape(self.detail))
        if self.todo:
            parts.append(f'<br><span class="cw-todo">{html.escape(self.todo)}</span>')
        if self.request_id:
            rid = html.escape(self.request_id)
            parts.append(f'<br><span class="cw-rid">Request id: {rid}</span>')
        return " ".join(parts)


#: (error class, what happened, what to do in the panel), most specific first.
_PANEL_WORDS: tuple[tuple[type[CometError], str, str], ...] = (
    (
        AuthenticationError,
        "The API refused the key.",
        f"Check the key in {API_KEY_ENV}, restart the kernel and run the panel's cell again.",
    ),
    (
        PermissionDeniedError,
        "This key may not use this model.",
        "Pick another model, or check the key's permissions with your provider.",
    ),
    (
        ContentPolicyError,
        "The provider refused the prompt.",
        "Rephrase the prompt and click Generate again.",
    ),
    (
        ModelUnavailableError,
        "This model is not available for this key right now.",
        "Pick another model, or try again later.",
    ),
    (NotFoundError, "The API was not found.", "Check the model name and COMETAPI_BASE_URL."),
    (
        RateLimitError,
        "The API is rate limiting requests.",
        "Wait a moment, then click Generate again.",
    ),
    (
        ServerError,
        "The provider failed.",
        "It may already have made (and billed) the image, so it was not retried: click"
        " Generate to try again.",
    ),
    (APITimeoutError, "The API did not answer in time.", "Click Generate to try again."),
    (
        APIConnectionError,
        "Could not reach the API.",
        "Check the network (and COMETAPI_BASE_URL), then click Generate again.",
    ),
    (ImageDownloadError, "An image could not be downloaded.", "Click Generate to try again."),
)

_SERVER_SAID = re.compile(r"^HTTP \d{3}: (?P<said>.*?)(?: \(request id[^)]*\))*(?:\. What to do|$)")
#: Sentences of exception texts that speak to Python code, not to a person in the panel.
_CODE_HINTS = re.compile(
    r"\s*(?:What to do:[^.]*\.|Not retried, as it may have been billed[^;]*; pass"
    r" retry_billable=True to retry such failures\.)"
)


def panel_message(exc: BaseException) -> Message:
    """What the panel says about ``exc``: its own words, the server's reason, the request id."""
    request_id = getattr(exc, "request_id", None)
    if isinstance(exc, InvalidParameterError):
        return Message(describe(exc), todo="Change it, then click Generate.")
    for cls, what, todo in _PANEL_WORDS:
        if isinstance(exc, cls):
            detail = _server_said(exc) if isinstance(exc, APIStatusError) else _details(exc)
            if isinstance(exc, ServerError) and "retry_billable" not in str(exc):
                todo = "Click Generate to try again."
            if isinstance(exc, APIStatusError):
                what = f"{what[:-1]} (HTTP {exc.status_code})."
            return Message(what, detail, todo, request_id)
    if isinstance(exc, CometError):
        return Message(_CODE_HINTS.sub("", exc.message).strip(), request_id=request_id)
    return Message("Something went wrong:", f"{type(exc).__name__}: {exc}")


def _details(exc: BaseException) -> str:
    """The exception's own text without hints for code, nor the client's 0-based "image N:"."""
    text = _CODE_HINTS.sub("", str(getattr(exc, "message", exc)))
    text = re.sub(r"^image \d+: ", "", text).strip()
    return f"Details: {text}" if text else ""


def _server_said(exc: BaseException) -> str:
    text = str(getattr(exc, "message", exc))
    match = _SERVER_SAID.match(text)
    said = match.group("said") if match else _CODE_HINTS.sub("", text)
    said = re.sub(r"\s*\(request id[^)]*\)", "", said).strip().rstrip(".")
    return f"The server said: {said}." if said else ""


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

        self.notice = classed(widgets.HTML(layout=hidden()), "cw-key-notice", "cw-message")
        self.status = classed(widgets.HTML("Ready"), "cw-status")
        self.elapsed = classed(widgets.HTML(""), "cw-elapsed")
        self.next_note = classed(
            widgets.HTML("Changes apply to the next run.", layout=hidden()), "cw-next-note"
        )
        self.validation = classed(widgets.HTML(layout=hidden()), "cw-validation", "cw-message")
        self.error = classed(widgets.HTML(layout=hidden()), "cw-error", "cw-message")

    @property
    def all(self) -> list[Any]:
        """Every widget this object created (for closing)."""
        return [
            self.notice,
            self.status,
            self.elapsed,
            self.next_note,
            self.validation,
            self.error,
        ]

    def show_status(self, text: str) -> None:
        set_value(self.status, html.escape(text))

    def show_elapsed(self, seconds: float | None) -> None:
        set_value(self.elapsed, "" if seconds is None else f"{seconds:.1f} s")

    def show_running(self, running: bool) -> None:
        show(self.next_note, running)

    def show_error(self, message: Message | None) -> None:
        set_value(self.error, message.html() if message else "")
        show(self.error, message is not None)

    def show_validation(self, message: str | None, *, quiet: bool = False) -> None:
        set_value(self.validation, html.escape(message or ""))
        set_class(self.validation, "cw-quiet", quiet)
        show(self.validation, message is not None)

    def show_notice(self, notice: str | None) -> None:
        set_value(self.notice, html.escape(notice or ""))
        show(self.notice, notice is not None)
