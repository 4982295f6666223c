"""Exceptions raised by comet-widgets.

Every error the package raises derives from ``CometError``; httpx exceptions never escape.
The tree::

    CometError
    ├── InvalidParameterError (also ValueError)  bad input, refused before any request
    │   └── InvalidItemError                      an item of a batch is invalid: nothing was sent
    ├── InvalidCallError (also TypeError)         a call the API does not take: an unknown
    │                                             keyword, options that exclude each other,
    │                                             an argument of the wrong kind
    ├── StateError (also RuntimeError)            a sound call that cannot be served now: a
    │                                             generation already running, a wait on the
    │                                             panel's own thread, the interpreter exiting
    ├── FakeServerError (also RuntimeError)       serve_fake could not start the fake API
    ├── MissingAPIKeyError                        no key given and COMETAPI_KEY unset
    ├── MissingDependencyError (also ImportError) a feature's optional package (an extra) is
    │                                             not installed: says the pip install line
    ├── ClientClosedError                         the client was used after aclose()
    ├── APIConnectionError                        the request did not get a complete answer
    │   └── APITimeoutError                       connect, read, write or pool timeout
    ├── APIStatusError                            the API answered with an error status
    │   ├── BadRequestError                       400
    │   │   └── ContentPolicyError                400 content_policy_violation / moderation_blocked
    │   ├── AuthenticationError                   401
    │   ├── PermissionDeniedError                 403
    │   ├── NotFoundError                         404
    │   ├── ConflictError                         409
    │   ├── UnprocessableEntityError              422
    │   ├── RateLimitError                        429
    │   ├── ServerError                           5xx
    │   └── ModelUnavailableError                 "no available channel", model_not_found: the
    │                                             one raised is also its status's class (a 404
    │                                             one is a NotFoundError, a 503 a ServerError)
    ├── ResponseError                             a 2xx answer that is not a usable result
    ├── ImageDownloadError                        one url-mode image could not be fetched
    ├── BatchError                                generate_many(raise_on_error=True): items failed
    └── LibraryError                              the image library cannot be read or written

Every ``APIStatusError`` carries ``status_code``, ``request_id``, ``code``, ``body`` and the
server's own ``server_message``; its message says what to do next. Besides the text (written
for Python users), every error carries the facts as attributes, so that a front end (the panel)
can say it in its own words without reading the text: ``retryable``, ``billable`` and
``retries`` (set by the client's retry policy), ``retry_after``/``max_retry_wait`` on a
``RateLimitError``, ``model``/``replacement`` on a ``ModelUnavailableError``, ``host`` and
``timeout`` on connection errors, ``kind``, ``index`` and ``reason`` on answers that could not
be used, ``field``/``value``/``allowed`` on ``InvalidParameterError``. No message or repr ever
contains the API key: the client never puts it anywhere but the ``Authorization`` header, and
``redact`` scrubs any text that echoes it.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence
from typing import Any, Literal

from ._constants import API_KEY_ENV, OFFLINE_ENV

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BatchError",
    "ClientClosedError",
    "CometError",
    "ConflictError",
    "ContentPolicyError",
    "FakeServerError",
    "ImageDownloadError",
    "InvalidCallError",
    "InvalidItemError",
    "InvalidParameterError",
    "LibraryError",
    "MissingAPIKeyError",
    "MissingDependencyError",
    "ModelUnavailableError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseError",
    "ServerError",
    "StateError",
    "UnprocessableEntityError",
]


class CometError(Exception):
    """Root of every exception comet-widgets raises.

    ``retryable``: whether the same request, sent again, may succeed (a rate limit, a gateway
    refusal, a broken connection; not a refused parameter or key). ``billable``: whether the
    provider may already have done, and billed, the work (the request reached it and no clean
    refusal came back). ``retries``: how many times the client retried before raising. The
    client sets all three from its retry policy; they default to False, False and 0.
    """

    retryable: bool = False
    billable: bool = False
    retries: int = 0

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        # The types below are the images folder's; this module sits beneath every other one and
        # imports none of them (tests/package/test_layers.py), hence Any.
        #: The partial result (a ``Generation``), when the API answered but part of it could
        #: not be used.
        self.generation: Any = None
        #: The partial previews (``PartialImage``s) a streamed generation received before it
        #: failed.
        self.partials: list[Any] = []

    def __str__(self) -> str:
        return self.message


class InvalidParameterError(CometError, ValueError):
    """A parameter was refused before any request was sent.

    ``field`` names the parameter, ``value`` is what was given and ``allowed`` describes what
    would have been accepted.
    """

    def __init__(self, field: str, value: object, allowed: str, *, reason: str | None = None):
        self.field = field
        self.value = value
        self.allowed = allowed
        shown = _short_repr(value)
        text = reason or f"{field} {shown} is not allowed"
        if shown not in text:
            # Every message names the value, even when the reason only describes it.
            text += f" (got {shown})"
        super().__init__(f"{text}; {allowed}")


class InvalidCallError(CometError, TypeError):
    """A call the API does not take: an unknown keyword (``ImageGenerator(foo=1)``), options
    that exclude each other (``client=`` with ``client_factory=``), an argument of the wrong
    kind (``add_view`` given something that is not a widget, ``progress=`` that is neither a
    bool nor a callable). Also a ``TypeError``, as Python's own answer to such a call is."""


class StateError(CometError, RuntimeError):
    """A sound call that cannot be served now: a generation is already running on the panel,
    ``result()`` would wait forever on the panel's own thread, the interpreter is shutting
    down. Also a ``RuntimeError``. Waiting (``await gen.wait()``) or cancelling first helps."""


class FakeServerError(CometError, RuntimeError):
    """``serve_fake`` could not start the fake API: the address cannot be listened on (a port
    taken), the server thread died, or it did not start in time. Also a ``RuntimeError``."""


class MissingAPIKeyError(CometError):
    """No API key was given and ``COMETAPI_KEY`` is not set."""


def key_from_env() -> str | None:
    """The API key in ``COMETAPI_KEY``, or None when it is unset or empty: the one place that
    reads it (client, batch, CLI and panel alike)."""
    return os.environ.get(API_KEY_ENV) or None


def offline_from_env() -> bool:
    """Whether ``COMETAPI_OFFLINE`` asks for the built-in fake API (1, true, yes or on): the
    panel's default for ``offline=`` and the CLI's for ``--offline``."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def missing_key(remedy: str) -> MissingAPIKeyError:
    """The one "no API key" error: what is missing, then ``remedy``, how to give a key (or do
    without one) where the caller stands, e.g. ``"or pass AsyncImageClient(api_key=...)"``."""
    return MissingAPIKeyError(f"no API key: set the {API_KEY_ENV} environment variable {remedy}")


class MissingDependencyError(CometError, ImportError):
    """A feature was used without the optional package it needs (an extra, e.g. uvicorn for
    ``serve_fake``): raised when the feature is used, never at ``import comet_widgets``.

    ``package`` is the missing package; ``install`` the command that adds it, which the
    message ends with (``pip install "comet-widgets[server]"``).
    """

    def __init__(self, feature: str, package: str, install: str) -> None:
        self.package = package
        self.install = install
        super().__init__(f"{feature} needs {package}, which is not installed: {install}")


class LibraryError(CometError):
    """The image library (``Library``) cannot be read or written: a corrupted, foreign or
    newer database file, a folder that is not writable, a full disk. ``path`` is the file or
    folder concerned. Raised by ``Library.add`` too, so a caller that just made a generation
    can catch it and keep the generation."""

    def __init__(self, message: str, *, path: object = None) -> None:
        super().__init__(message)
        self.path = path


class ClientClosedError(CometError):
    """The client was used after ``aclose()`` or outside its ``async with`` block."""


class APIConnectionError(CometError):
    """The request did not receive a complete answer (refused, reset, closed early...).

    ``host`` is the API's ``host:port``; ``timeout`` the seconds that passed, for a timeout.
    """

    def __init__(
        self,
        message: str,
        *,
        sent: bool = True,
        host: str | None = None,
        timeout: float | None = None,
    ) -> None:
        super().__init__(message)
        #: False when the failure happened before the request reached the server.
        self.sent = sent
        self.host = host
        self.timeout = timeout


class APITimeoutError(APIConnectionError):
    """A connect, read, write or pool timeout."""


#: What made an answer unusable (``ResponseError.kind``): "not_json" (an HTML page, a
#: redirect or other text where JSON was due: usually a wrong base URL), "no_data" (JSON
#: without a ``data`` list), "no_images" (an empty one: the provider may have filtered the
#: prompt), "too_large" (over ``max_response_bytes``), "bad_image" (one image of the answer
#: could not be read), "stream" (an event stream that broke or was not asked for),
#: "unusable" (anything else).
ResponseKind = Literal[
    "not_json", "no_data", "no_images", "too_large", "bad_image", "stream", "unusable"
]


class ResponseError(CometError):
    """The API answered 2xx (or a redirect) but the body is not a usable image result.

    ``kind`` says what was wrong (see ``ResponseKind``); for one image's failure ``index`` is
    that image's 0-based index and ``reason`` what was wrong with it, without the index or the
    request id. The message ends with the request id, when there is one.
    """

    def __init__(
        self,
        message: str,
        *,
        request_id: str | None = None,
        kind: ResponseKind = "unusable",
        index: int | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(f"{message} (request id: {request_id})" if request_id else message)
        self.request_id = request_id
        self.kind = kind
        self.index = index
        self.reason = reason if reason is not None else message


class ImageDownloadError(CometError):
    """One image of a url-mode answer could not be downloaded (recorded on that image).

    ``index`` is the image's 0-based index, ``reason`` what went wrong without it.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        status_code: int | None = None,
        index: int | None = None,
        reason: str | None = None,
    ):
        super().__init__(message)
        self.url = url
        self.status_code = status_code
        self.index = index
        self.reason = reason if reason is not None else message


class APIStatusError(CometError):
    """The API answered with an error status."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        request_id: str | None = None,
        code: str | None = None,
        body: object = None,
        server_message: str = "",
        invalid_params: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.request_id = request_id
        self.code = code
        self.body = body
        #: What the server said, as it said it (the key redacted; no request id, no advice).
        self.server_message = server_message
        #: The fields the server named as wrong and what it said of each (OpenAI's ``param``;
        #: a problem+json answer's ``validation``/``errors`` entries, with what is allowed).
        self.invalid_params = dict(invalid_params or {})


class BadRequestError(APIStatusError):
    """400: the API refused the request as invalid."""


class ContentPolicyError(BadRequestError):
    """400: the prompt or the image was refused by the provider's content policy."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, wrong or revoked."""


class PermissionDeniedError(APIStatusError):
    """403: the key is not allowed to do this."""


class NotFoundError(APIStatusError):
    """404: wrong base URL or path, or an unknown resource."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the state of a resource."""


class UnprocessableEntityError(APIStatusError):
    """422: the request was well-formed but its values could not be processed."""


class RateLimitError(APIStatusError):
    """429: too many requests; ``retry_after`` holds the server's hint in seconds, if any.

    ``max_retry_wait`` is set when the client did not wait because the hint was longer than
    that cap (then ``retry_after`` says how long to wait before trying again).
    """

    retry_after: float | None = None
    max_retry_wait: float | None = None


class ServerError(APIStatusError):
    """5xx: the provider or the gateway failed."""


class ModelUnavailableError(APIStatusError):
    """The model is not routable for this key (503 "no available channel", model_not_found).

    One type to catch for "this model is unavailable", whatever the status: the error raised is
    also the class of its status, so a 404 one is a ``NotFoundError``, a 400 one a
    ``BadRequestError`` and a 503 one a ``ServerError``. ``model`` is the model asked for,
    ``replacement`` the current model(s) to try instead ("gpt-image-2", "a or b").
    """

    model: str | None = None
    replacement: str | None = None


_MODEL_UNAVAILABLE_CLASSES: dict[type[APIStatusError], type[APIStatusError]] = {
    APIStatusError: ModelUnavailableError
}


def model_unavailable_class(base: type[APIStatusError]) -> type[APIStatusError]:
    """``ModelUnavailableError`` combined with the class its status decides (one per status)."""
    if base not in _MODEL_UNAVAILABLE_CLASSES:
        name = f"ModelUnavailable{base.__name__}"
        doc = f"The model is not routable for this key; also a ``{base.__name__}``."
        attributes = {"__doc__": doc, "__module__": __name__}
        _MODEL_UNAVAILABLE_CLASSES[base] = type(name, (ModelUnavailableError, base), attributes)
    return _MODEL_UNAVAILABLE_CLASSES[base]


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}

_CONTENT_POLICY_CODES = frozenset({"content_policy_violation", "moderation_blocked"})
_REQUEST_ID_IN_MESSAGE = re.compile(r"\(request id: ?([^)\s]+)\)", re.IGNORECASE)
_MODEL_UNAVAILABLE = re.compile(r"no available channel|model_not_found|model not found", re.I)


def status_error_class(status: int, code: str | None, message: str) -> type[APIStatusError]:
    """Return the exception class for an error answer (a pure function, table-driven)."""
    if code in _CONTENT_POLICY_CODES:
        return ContentPolicyError
    base = _STATUS_CLASSES.get(status) or (ServerError if status >= 500 else APIStatusError)
    if code == "model_not_found" or (status in (404, 503) and _MODEL_UNAVAILABLE.search(message)):
        return model_unavailable_class(base)
    return base


def request_id_from(message: str, header: str | None) -> str | None:
    """The request id: the ``x-request-id`` header, else ``(request id: ...)`` in the message."""
    if header:
        return header
    match = _REQUEST_ID_IN_MESSAGE.search(message)
    return match.group(1) if match else None


_ADVICE: dict[type[APIStatusError], str] = {
    AuthenticationError: "check the key: set COMETAPI_KEY or pass api_key=",
    PermissionDeniedError: "this key is not allowed to use this model or endpoint",
    NotFoundError: "check base_url (it should end with /v1) and the model name",
    ConflictError: "the request conflicts with the server's state; try again later",
    UnprocessableEntityError: "check the parameter values named above",
    RateLimitError: "wait a little and try again, or lower the concurrency",
    ContentPolicyError: "the provider refused the prompt; rephrase it",
    BadRequestError: "check the parameters for this model",
    ModelUnavailableError: "this model is not available for your key right now; pick another model",
    ServerError: "the provider failed; try again in a moment",
}


def advice_for(cls: type[APIStatusError]) -> str:
    """A short 'what to do next' for an error class."""
    for klass in cls.__mro__:
        if klass in _ADVICE:
            return _ADVICE[klass]
    return "see the message above"


REDACTED = "[redacted]"


def _hex(digits: str) -> str:
    return "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in digits)


@functools.lru_cache(maxsize=32)
def secret_pattern(secret: str) -> str:
    """A regex matching ``secret`` written any way an answer can carry it: literally, with any
    character JSON-escaped (``\\u0073``, either case of hex, ``\\/``) or percent-encoded."""
    parts = []
    for char in secret:
        code = ord(char)
        forms = [re.escape(char)]
        if code < 0x10000:
            forms.append(r"\\u" + _hex(f"{code:04x}"))
        if code < 0x80:
            forms.append("%" + _hex(f"{code:02x}"))
        if char == "/":
            forms.append(r"\\/")
        parts.append("(?:" + "|".join(forms) + ")")
    return "".join(parts)


@functools.lru_cache(maxsize=32)
def _compiled(secret: str, binary: bool) -> re.Pattern[Any]:
    source = secret_pattern(secret)
    return re.compile(source.encode("utf-8") if binary else source)


def redact(text: str, secret: str | None) -> str:
    """Replace every occurrence of ``secret`` (also JSON-escaped or percent-encoded) and of a
    Bearer token in ``text``."""
    if secret:
        text = text.replace(secret, REDACTED)
        if "\\" in text or "%" in text:
            text = _compiled(secret, False).sub(REDACTED, text)
    return re.sub(r"(?i)(bearer\s+)[^\s\"',]+", r"\1[redacted]", text)


def redact_all(value: Any, secret: str | None) -> Any:
    """``redact`` every string in ``value``: a str, or the strings (keys too) of its dicts,
    lists and tuples, however nested; anything else is returned as it is."""
    if isinstance(value, str):
        return redact(value, secret)
    if isinstance(value, dict):
        return {redact_all(k, secret): redact_all(v, secret) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_all(item, secret) for item in value)
    return value


def scrub(error: CometError, secret: str | None) -> CometError:
    """Redact ``secret`` from everything ``error`` carries: its message and every attribute
    (``reason``, ``body``, ``code``, ``invalid_params``, ``request_id``...), and the errors of
    its partial result. A server may echo the key in any string it sends; this is the one
    place every error leaving the client passes."""
    for name, value in vars(error).items():
        if name in ("generation", "partials"):
            continue
        try:
            setattr(error, name, redact_all(value, secret))
        except RecursionError:  # a body nested thousands deep: kept as its (redacted) outline
            setattr(error, name, redact(_short_repr(value), secret))
    error.args = (error.message,)
    for other in error.generation.errors if error.generation is not None else []:
        if other is not error:
            scrub(other, secret)
    return error


#: Bytes of the (standard) base64 alphabet, which fills most of an image answer.
_BASE64 = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
#: Occurrences looked at one by one before a whole-body search is cheaper.
_FEW = 64
_MANY = 1024


def _holds(data: bytes, literal: bytes) -> bool:
    """``literal in data``, fast on base64: ``bytes.find`` steps through a dense alphabet nearly
    byte by byte (~0.7 ms per 2.9 MB for a short key), while a byte of the key that base64
    never uses (the ``-`` of ``sk-...``) is found at memchr speed, and there are few of them."""
    index = next((i for i, byte in enumerate(literal) if byte not in _BASE64), -1)
    if index < 0:
        return literal in data
    marker = literal[index : index + 1]
    position = data.find(marker, index)
    for _ in range(_FEW):
        if position < 0:
            return False
        if data.startswith(literal, position - index):
            return True
        position = data.find(marker, position + 1)
    return data.find(literal, max(position - index, 0)) >= 0


def _escapes(data: bytes, secret: str) -> list[int] | None:
    """Where an escaped form of ``secret`` could have an escape (``\\u``, ``%``, ``\\/``): a
    list of positions, or None when there are too many to look at one by one."""
    relevant = (b"u", b"/") if "/" in secret else (b"u",)
    found: list[int] = []
    looked = 0
    for marker in (b"\\", b"%"):
        position = data.find(marker)  # memchr speed: a base64 answer has neither
        while position >= 0:
            looked += 1
            if looked > _MANY:
                return None
            if marker == b"%" or data[position + 1 : position + 2] in relevant:
                if len(found) == _FEW:
                    return None
                found.append(position)
            position = data.find(marker, position + 1)
    return found


def redact_bytes(data: bytes, secret: str | None) -> bytes:
    """``redact`` for raw bytes (an answer's body), fast on a multi-megabyte base64 body: a few
    memchr scans when nothing is escaped, and when a few escapes are (a ``\\u0026`` in a revised
    prompt) the secret's pattern is only tried around them. The replacement holds no quote or
    backslash, so a JSON body stays JSON."""
    if not secret:
        return data
    literal = secret.encode("utf-8", "surrogatepass")
    if _holds(data, literal):
        data = data.replace(literal, REDACTED.encode())
    escapes = _escapes(data, secret)
    if escapes == []:
        return data
    pattern = _compiled(secret, True)
    if escapes is not None:
        # An escaped form is at most 6 bytes per character (\\uXXXX): it lies within reach of
        # one of its escapes. Only when one is found is the whole body rewritten.
        reach = 6 * len(secret)
        if not any(pattern.search(data, max(p - reach, 0), p + reach) for p in escapes):
            return data
    return pattern.sub(REDACTED.encode(), data)


def _short_repr(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, keeping its closing quote or bracket."""
    try:
        text = repr(value)
    except (RecursionError, ValueError):  # nested thousands deep; an int too long for repr
        return f"<a {type(value).__name__} too deeply nested or too large to show>"
    if len(text) <= limit:
        return text
    closing = text[-1] if text[-1] in "'\")]}>" else ""
    return text[: limit - 3 - len(closing)] + "..." + closing


def describe(exc: BaseException) -> str:
    """A one-line, human-readable description used by the widget and the CLI."""
    if isinstance(exc, CometError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def error_payload(exc: BaseException) -> dict[str, Any]:
    """A JSON-safe summary of an error, for manifests and data frames."""
    data: dict[str, Any] = {"type": type(exc).__name__, "message": describe(exc)}
    for attr in ("status_code", "request_id", "code", "field"):
        value = getattr(exc, attr, None)
        if value is not None:
            data[attr] = value
    return data


class InvalidItemError(InvalidParameterError):
    """One or more items of a batch are invalid; nothing was sent.

    ``index`` is the first invalid item; ``errors`` lists ``(index, InvalidParameterError)`` for
    every invalid item. ``field``, ``value`` and ``allowed`` describe the first one.
    """

    def __init__(self, errors: list[tuple[int, InvalidParameterError]]) -> None:
        index, first = errors[0]
        self.index = index
        self.errors = errors
        self.field, self.value, self.allowed = first.field, first.value, first.allowed
        more = ""
        if len(errors) > 1:
            others = ", ".join(str(i) for i, _ in errors[1:6])
            tail = ", ..." if len(errors) > 6 else ""
            more = f" ({len(errors) - 1} more invalid item(s): {others}{tail})"
        CometError.__init__(self, f"item {index}: {first.message}{more}; nothing was sent")


class BatchError(CometError):
    """Raised by ``generate_many(raise_on_error=True)`` after the batch, when items failed.

    ``results`` holds the whole ``BatchResults`` (the successful items included).
    """

    def __init__(self, results: Any) -> None:  # a BatchResults (see CometError.generation)
        super().__init__(failure_summary(results.failed, len(results)))
        self.results = results


def failure_summary(
    failed: Sequence[Any], total: int, *, noun: str = "item", start: int = 0
) -> str:
    """``"2 of 5 items failed; first: item 3: <its message>"``: the one wording of a batch that
    partly failed (``BatchError``, the panel). ``failed`` holds the failed ``BatchItem``s
    (at least one); items are numbered by input index plus ``start`` (1 for people)."""
    first = failed[0]
    message = (first.error or {}).get("message", "?")
    nouns = noun if total == 1 else noun + "s"
    return (
        f"{len(failed)} of {total} {nouns} failed; first: {noun} {first.index + start}: {message}"
    )
