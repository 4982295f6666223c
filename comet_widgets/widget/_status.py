"""The panel's words: the status line, the elapsed time, and one message box per problem.

Every text is escaped here: API messages can contain anything (even markup echoed back).
Messages speak the panel's terms: what happened, what to do in the panel, and the request id.
They are built from the facts errors carry as attributes (``_errors.py``), not by reading the
exception text: hints that only make sense in Python code (``pass retry_billable=True``) stay in
the text that ``await gen.generate()`` raises; the panel says what a person can do instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from .._constants import API_KEY_ENV
from .._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    CometError,
    ContentPolicyError,
    ImageDownloadError,
    InvalidParameterError,
    MissingAPIKeyError,
    ModelUnavailableError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseError,
    ServerError,
)
from ._controls import LABELS
from ._dom import classed, escaped, set_class, set_value, show

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
    def sentence(self) -> str:
        """The detail as a sentence of its own (a reason from the client has no full stop)."""
        detail = self.detail.strip()
        return detail if not detail or detail.endswith((".", "!", "?")) else f"{detail}."

    @property
    def text(self) -> str:
        """The message as one plain line (for the ``error`` trait's readers and tests)."""
        parts = [self.what, self.sentence, self.todo]
        rid = f"(request id {self.request_id})" if self.request_id else ""
        return " ".join(p for p in (*parts, rid) if p)

    def html(self) -> str:
        parts = [f'<span class="cw-what">{escaped(self.what)}</span>']
        if self.detail:
            parts.append(escaped(self.sentence))
        if self.todo:
            parts.append(f'<br><span class="cw-todo">{escaped(self.todo)}</span>')
        if self.request_id:
            rid = escaped(self.request_id)
            parts.append(f'<br><span class="cw-rid">Request id: {rid}</span>')
        return " ".join(parts)


#: The control a refused parameter is set with, as the panel labels it.
_FIELD_LABELS = {"model": "Model", "prompt": "Prompt", "n": "Images", "size": "Size", **LABELS}
AGAIN = "Click Generate to try again."
ADDRESS = "Check COMETAPI_BASE_URL (it should end with /v1), then click Generate again."
#: What the panel says for each kind of unusable answer (``ResponseError.kind``).
_ANSWER_WORDS: dict[str, tuple[str, str]] = {
    "not_json": ("The API's answer is not an image result.", ADDRESS),
    "no_data": ("The API's answer has no images in it.", ADDRESS),
    "no_images": (
        "The API returned no images: the provider may have filtered the prompt.",
        "Rephrase the prompt or pick another model, then click Generate again.",
    ),
    "too_large": (
        "The API's answer was too large to accept.",
        "Ask for fewer or smaller images, then click Generate again.",
    ),
    "bad_image": ("An image in the API's answer could not be read.", AGAIN),
    "stream": ("The streamed answer broke off or could not be read.", AGAIN),
}


def panel_message(exc: BaseException) -> Message:
    """What the panel says about ``exc``: what happened and what to do in the panel's terms.

    Built from the error's attributes (its class, ``status_code``, ``server_message``,
    ``retryable``, ``billable``, ``retries``, ``retry_after``, ``model``, ``replacement``,
    ``host``, ``timeout``, ``kind``, ``reason``), never from its text, which speaks to Python
    code (``pass retry_billable=True``) and keeps doing so.
    """
    if isinstance(exc, InvalidParameterError):
        label = _FIELD_LABELS.get(exc.field)
        what = f"{label}: {exc.message}" if label else exc.message
        return Message(what, todo="Change it, then click Generate.")
    if isinstance(exc, APIStatusError):
        return _status_message(exc)
    if isinstance(exc, APIConnectionError):
        return _connection_message(exc)
    if isinstance(exc, ImageDownloadError):
        detail = f"Details: {exc.reason}" if exc.reason else ""
        return Message("An image could not be downloaded.", detail, AGAIN)
    if isinstance(exc, ResponseError):
        what, todo = _ANSWER_WORDS.get(exc.kind, ("The API's answer could not be used.", AGAIN))
        detail = f"Details: {exc.reason}" if exc.reason and exc.kind != "no_images" else ""
        return Message(what, detail, todo, exc.request_id)
    if isinstance(exc, MissingAPIKeyError):
        return Message(
            "No API key is set.",
            todo=f"Set {API_KEY_ENV}, restart the kernel and run the panel's cell again;"
            " or use the offline fake.",
        )
    if isinstance(exc, ClientClosedError):
        return Message("The panel's connection was closed.", todo="Run the panel's cell again.")
    if isinstance(exc, CometError):
        return Message("Something went wrong.", f"Details: {exc.message}")
    return Message("Something went wrong:", f"{type(exc).__name__}: {exc}")


def _status_message(exc: APIStatusError) -> Message:
    said = exc.server_message.strip().rstrip(".")
    detail = f"The server said: {said}." if said else ""
    http = f"(HTTP {exc.status_code})"
    if isinstance(exc, AuthenticationError):
        what = f"The API refused the key {http}."
        todo = f"Check the key in {API_KEY_ENV}, restart the kernel and run the panel's cell again."
    elif isinstance(exc, ModelUnavailableError):
        what = f"{exc.model or 'This model'} is not available for this key right now {http}."
        instead = f" (try {exc.replacement})" if exc.replacement else ""
        todo = f"Pick another model{instead}, or try again later."
    elif isinstance(exc, PermissionDeniedError):
        what = f"This key may not use this model {http}."
        todo = "Pick another model, or check the key's permissions with your provider."
    elif isinstance(exc, ContentPolicyError):
        what = f"The provider refused the prompt {http}."
        todo = "Rephrase the prompt and click Generate again."
    elif isinstance(exc, NotFoundError):
        what = f"The API was not found {http}."
        todo = "Check the model name and COMETAPI_BASE_URL."
    elif isinstance(exc, RateLimitError):
        what = f"The API is rate limiting requests {http}."
        if exc.retry_after is not None and exc.max_retry_wait is not None:
            wait = _duration(exc.retry_after)
            detail = " ".join(p for p in (detail, f"It asks to wait {wait}.") if p)
            todo = f"Wait {wait}, then click Generate again."
        else:
            todo = "Wait a moment, then click Generate again."
    elif isinstance(exc, ServerError):
        what = f"The provider failed {http}."
        todo = _retry_words(exc)
    elif isinstance(exc, BadRequestError):
        what = f"The API refused the request {http}."
        todo = "Change the parameters, then click Generate again."
    else:
        what = f"The API answered with an error {http}."
        todo = _retry_words(exc)
    return Message(what, detail, todo, exc.request_id)


def _connection_message(exc: APIConnectionError) -> Message:
    where = f" at {exc.host}" if exc.host else ""
    if not exc.sent:
        return Message(
            f"Could not reach the API{where}.",
            todo="Check the network (and COMETAPI_BASE_URL), then click Generate again.",
        )
    if isinstance(exc, APITimeoutError):
        limit = f" (within {exc.timeout:g} s)" if exc.timeout else ""
        return Message(f"The API did not answer in time{limit}.", todo=_retry_words(exc))
    return Message(
        "The connection to the API broke before its answer was complete.", todo=_retry_words(exc)
    )


def _retry_words(exc: CometError) -> str:
    """What to do after a failure the client may or may not have retried."""
    if exc.billable and not exc.retries:
        return (
            "The provider may already have made (and billed) the image, so it was not retried:"
            " click Generate to try again."
        )
    if not exc.retryable and isinstance(exc, APIStatusError):
        return "The same request would fail again: change the parameters, then click Generate."
    if exc.retries:
        tries = plural(exc.retries + 1, "time")
        return f"Tried {tries}: wait a moment, then click Generate to try again."
    return AGAIN


def _duration(seconds: float) -> str:
    """``'45 s'``, ``'2 min'`` (rounded up), ``'1 h 30 min'``."""
    if seconds < 90:
        return f"{seconds:g} s" if seconds != int(seconds) else f"{int(seconds)} s"
    minutes = -(-int(seconds) // 60)
    if minutes < 90:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min" if minutes % 60 else f"{minutes // 60} h"


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
        self.stream_notice = classed(
            widgets.HTML(layout=hidden()), "cw-stream-notice", "cw-message", "cw-quiet"
        )

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
            self.stream_notice,
        ]

    def show_status(self, text: str) -> None:
        set_value(self.status, escaped(text))

    def show_elapsed(self, seconds: float | None) -> None:
        set_value(self.elapsed, "" if seconds is None else f"{seconds:.1f} s")

    def show_running(self, running: bool) -> None:
        show(self.next_note, running)

    def show_error(self, message: Message | None) -> None:
        set_value(self.error, message.html() if message else "")
        show(self.error, message is not None)

    def show_validation(self, message: str | None, *, quiet: bool = False) -> None:
        set_value(self.validation, escaped(message or ""))
        set_class(self.validation, "cw-quiet", quiet)
        show(self.validation, message is not None)

    def show_stream_notice(self, text: str | None) -> None:
        set_value(self.stream_notice, escaped(text or ""))
        show(self.stream_notice, text is not None)

    def show_notice(self, notice: str | None) -> None:
        set_value(self.notice, escaped(notice or ""))
        show(self.notice, notice is not None)
