"""The panel's words for people: what each error means, in the panel's own terms.

Every problem the panel shows is one ``Message``: a short line (what happened, then what to do
in the panel, using its labels: "File type", not the API's field name) and, behind a "Details"
toggle (``cw-details``), the technical facts: the API's own message, the HTTP status, the
parameter names, the request id. The line is built from the facts errors carry as attributes
(``_errors.py``: the class, ``status_code``, ``server_message``, ``retryable``, ``billable``,
``retries``, ``retry_after``, ``model``, ``replacement``, ``host``, ``timeout``, ``kind``,
``reason``, ``field``, ``value``...), never by reading the exception's text, which speaks to
Python code (``pass retry_billable=True``) and stays in what ``await gen.generate()`` raises.
Details are plain text too: a Python repr that an error's text quotes (``b'hello world'``) is
shown as the text it holds (``plain``).
"""

from __future__ import annotations

import dataclasses
import errno
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .. import _errors as errors
from .._catalog import typo_of
from .._constants import API_KEY_ENV, BASE_URL_ENV, OFFLINE_ENV
from .._types import EDIT_PARAMETERS, PARAMETERS
from ._dom import escaped

__all__ = [
    "FIELD_WORDS",
    "LABELS",
    "Message",
    "details_html",
    "field_label",
    "key_notice",
    "panel_message",
    "plain",
    "plural",
    "save_failed_html",
]


def plural(count: int, word: str) -> str:
    """``'1 image'``, ``'3 images'``."""
    return f"{count} {word}{'' if count == 1 else 's'}"


#: What a person reads beside each optional choice (plain words, not API field names).
LABELS = {
    "response_format": "Return as",
    "quality": "Quality",
    "style": "Style",
    "background": "Background",
    "output_format": "File type",
    "moderation": "Moderation",
    "complexity": "Planning effort",
}
#: Every parameter a generation or an edit declares (``_types.ImageParams``/``EditParams``),
#: and what the panel calls the others it refuses, as a person reads them: the controls'
#: labels, and plain names for what has no control (set from code, or in a batch's items).
FIELD_WORDS: dict[str, str] = {
    "model": "Model",
    "prompt": "Prompt",
    "n": "Images",
    "size": "Size",
    **LABELS,
    "output_compression": "Compression",
    "frame_count": "Frames",
    "frame_duration_ms": "Frame time",
    "svg": "SVG author",
    "safety_identifier": "Safety id",
    "user": "User",
    "stream": "Streaming",
    "partial_images": "Previews",
    "extra_body": "Extra fields",
    "mask": "Mask",
    "markup": "Markup",
    "input_fidelity": "Input fidelity",
    "image": "Images to edit",
    "inputs": "Images to edit",
    "prompts": "Prompts",
}
assert set(PARAMETERS) | set(EDIT_PARAMETERS) <= set(FIELD_WORDS), "a parameter has no words"


#: The parameters the panel has a control for (the others are set from code).
_CONTROLLED = frozenset({"model", "prompt", "n", "size", "partial_images", *LABELS})


def field_label(field: str) -> str:
    """The panel's name for a parameter ("File type" for ``output_format``)."""
    return FIELD_WORDS.get(field, "A setting")


AGAIN = "Click Generate to try again."
ADDRESS = f"Check {BASE_URL_ENV} (it should end with /v1), then click Generate again."
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

_BYTES_REPR = re.compile(r"""\bb(['"])((?:\\.|(?!\1).)*)\1""")
_ESCAPE = re.compile(r"\\x[0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}|\\[nrt]")
_OBJECT_REPR = re.compile(r"<([\w.]+) object at 0x[0-9a-fA-F]+>")
_TRACEBACK = re.compile(r"Traceback \(most recent call last\):.*", re.S)


def plain(text: str) -> str:
    """``text`` (an error's reason, a server's message) without Python reprs: a bytes repr
    becomes the text it holds, in quotes, its escapes (``\\x89``) dropped; an object's repr
    becomes its type's name; a traceback is cut."""
    text = _TRACEBACK.sub("", text)
    text = _BYTES_REPR.sub(lambda m: f'"{_ESCAPE.sub("", m.group(2)).strip()}"', text)
    text = _OBJECT_REPR.sub(lambda m: f"a {m.group(1).rsplit('.', 1)[-1]}", text)
    return _ESCAPE.sub("", text).strip()


@dataclass(frozen=True)
class Message:
    """One problem as the panel shows it: one line (what happened, what to do), and the
    technical facts behind "Details" (the request id among them)."""

    what: str
    todo: str = ""
    details: tuple[str, ...] = ()
    request_id: str | None = None

    @property
    def text(self) -> str:
        """The line, as plain text (what a person reads before opening Details)."""
        return " ".join(part for part in (self.what, self.todo) if part)

    @property
    def facts(self) -> tuple[str, ...]:
        """The Details lines, the request id last."""
        rid = (f"{_RID}{self.request_id}",) if self.request_id else ()
        return (*(plain(line) for line in self.details if line), *rid)

    def html(self) -> str:
        """The line (``cw-line``: ``cw-what`` and ``cw-todo``), then the Details toggle."""
        line = f'<span class="cw-what">{escaped(self.what)}</span>'
        if self.todo:
            line += f' <span class="cw-todo">{escaped(self.todo)}</span>'
        return f'<div class="cw-line">{line}</div>{details_html(self.facts)}'

    def button(self, label: str) -> Message:
        """The same message when the panel's button reads ``label`` ("Apply edit")."""
        return dataclasses.replace(self, todo=self.todo.replace("click Generate", f"click {label}"))


_RID = "Request id: "


def details_html(facts: Iterable[str]) -> str:
    """The "Details" toggle (``cw-details``, a ``<details>`` element: no script needed) over
    ``facts``, one per line; the request id's line is ``cw-rid``, the others ``cw-fact``."""
    rows = []
    for fact in facts:
        css = "cw-rid" if fact.startswith(_RID) else "cw-fact"
        rows.append(f'<div class="{css}">{escaped(fact)}</div>')
    if not rows:
        return ""
    return (
        '<details class="cw-details"><summary>Details</summary>'
        f'<div class="cw-details-body">{"".join(rows)}</div></details>'
    )


def key_notice() -> Message:
    """How to give the panel a key, in words (the exception raised keeps the code)."""
    return Message(
        "No API key is set.",
        f"Set the {API_KEY_ENV} environment variable and restart the kernel; or set"
        f" {OFFLINE_ENV} to 1 to try the panel with placeholder images.",
    )


def _shown_value(value: object) -> str | None:
    """A refused value as a person reads it, or None when it has no short plain form."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (int, float)):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, str) and value.strip() and len(value) <= 40 and value.isprintable():
        return value
    return None


#: What the panel calls the images an edit takes, when one is refused.
_FILE_WORDS = {
    "image": "An image to edit",
    "inputs": "An image to edit",
    "mask": "The mask",
    "markup": "The guide drawing",
}


def _refusal(exc: errors.InvalidParameterError) -> Message:
    field = re.sub(r"\[.*$", "", exc.field)  # image[2], extra_body['seed']
    label = field_label(field)
    shown = _shown_value(exc.value)
    prefix = f"Prompt {exc.index + 1}: " if isinstance(exc, errors.InvalidItemError) else ""
    details = (f"Parameter: {exc.field}", exc.message)
    if field in _FILE_WORDS:
        value = exc.value
        if value is None or (isinstance(value, (list, tuple)) and not value):
            what, todo = "There is no image to edit.", "Click Edit on an image, or upload one."
        else:
            what = f"{_FILE_WORDS[field]} cannot be used here."
            todo = "Use another one (Details say why)."
        return Message(prefix + what, todo, details)
    if isinstance(exc.value, str) and not exc.value.strip():
        what = f"{label} is empty."
    elif shown is not None:
        what = f"{label} “{shown}” is not accepted here."
    else:
        what = f"{label} has a value that is not accepted here."
    typo = typo_of(exc.value) if field == "model" and isinstance(exc.value, str) else None
    if typo is not None:
        what += f" Did you mean {typo}?"
    if field in _CONTROLLED:
        todo = f"Change {label}, then click Generate."
    else:  # set from code (a batch's item, an option): the panel has no control for it
        todo = "Change it where it was set, then try again."
    return Message(prefix + what, todo, details)


def panel_message(exc: BaseException) -> Message:
    """What the panel says about ``exc``: one line in its own terms, the facts in Details."""
    if isinstance(exc, errors.InvalidParameterError):
        return _refusal(exc)
    if isinstance(exc, errors.APIStatusError):
        return _status_message(exc)
    if isinstance(exc, errors.APIConnectionError):
        return _connection_message(exc)
    if isinstance(exc, errors.ImageDownloadError):
        http = f"HTTP {exc.status_code}" if exc.status_code else ""
        return Message("An image could not be downloaded.", AGAIN, (exc.reason, http))
    if isinstance(exc, errors.ResponseError):
        what, todo = _ANSWER_WORDS.get(exc.kind, ("The API's answer could not be used.", AGAIN))
        return Message(what, todo, (exc.reason,), exc.request_id)
    if isinstance(exc, errors.MissingAPIKeyError):
        return key_notice()
    if isinstance(exc, errors.ClientClosedError):
        return Message("The panel's connection was closed.", "Run the panel's cell again.")
    if isinstance(exc, errors.MissingDependencyError):
        return Message(
            "A package this needs is not installed.",
            "Install it, restart the kernel, then try again.",
            (f"Missing package: {exc.package}", exc.install),
        )
    if isinstance(exc, errors.LibraryError):
        return Message("The image library could not be read or written.", AGAIN, (exc.message,))
    if isinstance(exc, errors.CometError):
        return Message("Something went wrong.", AGAIN, (exc.message,))
    return Message("Something went wrong in the panel.", AGAIN, (f"{type(exc).__name__}: {exc}",))


def _status_message(exc: errors.APIStatusError) -> Message:
    said = exc.server_message.strip()
    details = [f"HTTP {exc.status_code}"]
    if said:
        details.append(f"The server said: {said}")
    if exc.code:
        details.append(f"Code: {exc.code}")
    details += [f"{name}: {text}" for name, text in exc.invalid_params.items()]
    if isinstance(exc, errors.AuthenticationError):
        what = "The API did not accept the key."
        todo = f"Check the key in {API_KEY_ENV}, restart the kernel and run the panel's cell again."
    elif isinstance(exc, errors.ModelUnavailableError):
        what = f"{exc.model or 'This model'} is not available for this key right now."
        instead = f" (try {exc.replacement})" if exc.replacement else ""
        todo = f"Pick another model{instead}, or try again later."
    elif isinstance(exc, errors.PermissionDeniedError):
        what = "This key may not use this model."
        todo = "Pick another model, or check the key's permissions with your provider."
    elif isinstance(exc, errors.ContentPolicyError):
        what = "The provider refused the prompt."
        todo = "Rephrase the prompt and click Generate again."
    elif isinstance(exc, errors.NotFoundError):
        what = "The API or the model was not found."
        todo = f"Check the model and {BASE_URL_ENV}."
    elif isinstance(exc, errors.RateLimitError):
        what = "The API is rate limiting requests."
        wait = "a moment"
        if exc.retry_after is not None:
            details.append(f"It asks to wait {_duration(exc.retry_after)}")
            if exc.max_retry_wait is not None:
                wait = _duration(exc.retry_after)
        todo = f"Wait {wait}, then click Generate again."
    elif isinstance(exc, errors.ServerError):
        what = "The provider failed."
        todo = _retry_words(exc)
    elif isinstance(exc, errors.BadRequestError):
        named = dict.fromkeys(field_label(name) for name in exc.invalid_params)
        what = f"The API refused {' and '.join(named) or 'the request'}."
        todo = "Change the settings, then click Generate again."
    else:
        what = "The API answered with an error."
        todo = _retry_words(exc)
    return Message(what, todo, tuple(details), exc.request_id)


def _connection_message(exc: errors.APIConnectionError) -> Message:
    details = (f"Address: {exc.host}",) if exc.host else ()
    if not exc.sent:
        return Message(
            "Could not reach the API.",
            f"Check the network (and {BASE_URL_ENV}), then click Generate again.",
            details,
        )
    if isinstance(exc, errors.APITimeoutError):
        waited = (f"Waited {exc.timeout:g} s for the answer",) if exc.timeout else ()
        return Message("The API did not answer in time.", _retry_words(exc), (*details, *waited))
    return Message(
        "The connection to the API broke before its answer was complete.",
        _retry_words(exc),
        details,
    )


def _retry_words(exc: errors.CometError) -> str:
    """What to do after a failure the client may or may not have retried."""
    if exc.billable and not exc.retries:
        return (
            "The provider may already have made (and billed) the image, so it was not retried:"
            " click Generate to try again."
        )
    if not exc.retryable and isinstance(exc, errors.APIStatusError):
        return "The same request would fail again: change the settings, then click Generate."
    if exc.retries:
        tries = plural(exc.retries + 1, "time")
        return f"Tried {tries}: wait a moment, then click Generate to try again."
    return AGAIN


def _save_reason(exc: BaseException) -> str:
    if isinstance(exc, PermissionError):
        return "the folder is not writable"
    if isinstance(exc, (FileNotFoundError, NotADirectoryError, FileExistsError)):
        return "the output folder's path is not a folder"
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return "the disk is full"
    return "the file could not be written"


def save_failed_html(exc: BaseException, written: int = 0) -> str:
    """Why Save did not work, in one line (the file system's words behind Details)."""
    done = f" ({plural(written, 'image')} written)" if written else ""
    line = f"Could not save: {_save_reason(exc)}{done}."
    what = f"{type(exc).__name__}: {exc}" if not isinstance(exc, errors.CometError) else exc.message
    return f'<div class="cw-line">{escaped(line)}</div>{details_html([plain(what)])}'


def _duration(seconds: float) -> str:
    """``'45 s'``, ``'2 min'`` (rounded up), ``'1 h 30 min'``."""
    if seconds < 90:
        return f"{seconds:g} s"
    minutes = -(-int(seconds) // 60)
    if minutes < 90:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min" if minutes % 60 else f"{minutes // 60} h"
