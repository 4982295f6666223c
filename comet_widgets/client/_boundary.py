"""The one boundary where answers enter the package: every request path reads through ``exchange``.

``exchange`` sends a request and reads the whole response (status line, headers and body) within
one deadline, refuses a body above a byte cap, and hands back an ``Answer`` in which the API key
is already replaced by ``[redacted]`` wherever a server may have echoed it: in the body bytes
(literally, JSON-escaped as ``\\u0073k-...`` or percent-encoded) and in every header value (so
in the request id). Nothing downstream (parsing, errors, metadata, manifests, the panel, logs)
ever sees the raw answer, so no later path can miss the key. Generations, edits, streams, model
lists and image downloads all read through it.

Streams: with ``stream=`` an answer of type ``text/event-stream`` (status 200) is not collected;
its chunks go to that reader as they arrive, under the same deadline and byte cap, and what the
reader returns is the ``Answer``'s ``streamed``. Chunks are not redacted (a key may span two of
them): the reader redacts each whole event with ``redact_bytes`` before it reads it.

The key also passes through the logging of httpx and httpcore (httpcore logs response headers
at DEBUG, httpx logs URLs at INFO). A filter on those loggers (and the package's) rewrites a
record that holds the key of the client it was made for: ``secret_scope(key)`` says whose key
that is, for the task that runs the request and the tasks and threads it starts (a context
variable). So each client's records are scrubbed of its own key, every occurrence however short,
and no other client's records are touched (a test's one-letter key garbles only its own lines).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from .._errors import redact, redact_bytes

__all__ = [
    "Answer",
    "BodyTooLarge",
    "DeadlinePassed",
    "StreamReader",
    "exchange",
    "media_type",
    "secret_scope",
    "strip_userinfo",
]

#: Loggers of the HTTP stack (and the package's own) whose records are scrubbed of keys.
LOGGERS = (
    "comet_widgets",
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)


class BodyTooLarge(Exception):
    """The body passed the byte cap (or declared a larger Content-Length)."""

    def __init__(self, request_id: str | None) -> None:
        super().__init__(request_id)
        self.request_id = request_id  # redacted


class DeadlinePassed(Exception):
    """The whole response did not arrive within the deadline."""


class _Progress:
    """httpcore's ``trace`` extension: whether the connection was being opened and whether the
    request started to go out (no trace at all, e.g. another transport: both stay False)."""

    connecting = sending = False

    async def __call__(self, name: str, info: dict[str, Any]) -> None:
        self.connecting = self.connecting or name.startswith("connection.")
        self.sending = self.sending or ".send_request" in name


#: Reads a streamed answer: gets its (redacted) headers and raw chunks, returns the result.
StreamReader = Callable[[httpx.Headers, AsyncIterator[bytes]], Awaitable[Any]]


def media_type(content_type: str) -> str:
    """The media type of a ``Content-Type`` value: lower case, without parameters ("" if none).
    The one place an answer's kind is read (event stream or not, and in error messages)."""
    return content_type.split(";")[0].strip().lower()


@dataclass(frozen=True)
class Answer:
    """A complete response, already redacted."""

    status: int
    headers: httpx.Headers
    body: bytes
    #: What the ``stream`` reader returned, for a streamed answer (``body`` is then empty).
    streamed: Any = None

    @property
    def request_id(self) -> str | None:
        value: str | None = self.headers.get("x-request-id")
        return value


#: The key of the client whose request makes the records in this context.
_SCOPE: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "comet_widgets_key", default=None
)


class _SecretFilter(logging.Filter):
    """Rewrites a record that holds a key in scope (``secret_scope``); other records pass as
    they are, without even being formatted."""

    def filter(self, record: logging.LogRecord) -> bool:
        secret = _SCOPE.get()
        if not secret:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken record: let logging report it as it would
            return True
        if secret in message or "\\" in message or "%" in message:
            scrubbed = redact(message, secret)
            if scrubbed != message:
                record.msg, record.args = scrubbed, ()
        return True


_FILTER = _SecretFilter()
for _name in LOGGERS:
    logging.getLogger(_name).addFilter(_FILTER)


@contextlib.contextmanager
def secret_scope(secret: str | None) -> Iterator[None]:
    """Within the block (and the tasks and ``to_thread`` calls it starts), scrub ``secret`` from
    the records of ``LOGGERS``; outside it, this key is not looked for."""
    if not secret:
        yield
        return
    token = _SCOPE.set(secret)
    try:
        yield
    finally:
        _SCOPE.reset(token)


def strip_userinfo(url: str) -> str:
    """``url`` without ``user:password@`` (httpx would turn it into an Authorization header)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    end = min((i for i in (rest.find(c) for c in "/?#") if i != -1), default=len(rest))
    netloc = rest[:end]
    if "@" not in netloc:
        return url
    return f"{scheme}://{netloc.rpartition('@')[2]}{rest[end:]}"


def _headers(headers: httpx.Headers, secret: str | None) -> httpx.Headers:
    if not secret:
        return headers
    # In the encoding they were read with: a header may carry any byte but CR, LF and NUL.
    redacted = [(k, redact(v, secret)) for k, v in headers.multi_items()]
    return httpx.Headers(redacted, encoding=headers.encoding)


async def _capped(
    response: httpx.Response, limit: int, too_large: BodyTooLarge
) -> AsyncGenerator[bytes, None]:
    total = 0
    async for chunk in response.aiter_bytes():
        total += len(chunk)
        if total > limit:
            raise too_large
        yield chunk


async def _read(
    http: httpx.AsyncClient,
    request: httpx.Request,
    limit: int,
    secret: str | None,
    follow_redirects: bool,
    stream: StreamReader | None,
) -> tuple[httpx.Response, bytes, Any]:
    response = await http.send(request, stream=True, follow_redirects=follow_redirects)
    try:
        request_id = response.headers.get("x-request-id")
        too_large = BodyTooLarge(None if request_id is None else redact(request_id, secret))
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise too_large
        chunks = _capped(response, limit, too_large)
        events = media_type(response.headers.get("content-type", "")) == "text/event-stream"
        if stream is not None and response.status_code == 200 and events:
            try:
                return response, b"", await stream(_headers(response.headers, secret), chunks)
            finally:
                await chunks.aclose()
        body = b"".join([chunk async for chunk in chunks])
    finally:
        await response.aclose()
    return response, body, None


async def exchange(
    http: httpx.AsyncClient,
    request: httpx.Request,
    *,
    secret: str | None,
    limit: int,
    timeout: float | None,
    redact_body: bool = True,
    follow_redirects: bool = False,
    stream: StreamReader | None = None,
) -> Answer:
    """Send ``request``; the whole response within ``timeout`` s, the body within ``limit`` bytes.

    Raises ``BodyTooLarge``, ``DeadlinePassed`` or httpx's own errors (the caller types them);
    a deadline that passes while the connection is still opening is httpx's ``ConnectTimeout``
    (nothing was sent).
    ``redact_body=False`` for binary bodies (downloaded images); headers are always redacted.
    ``stream`` reads an event-stream answer as it arrives (see the module docstring); what it
    raises passes through.
    """
    progress = request.extensions["trace"] = _Progress()
    reading = _read(http, request, limit, secret, follow_redirects, stream)
    try:
        with secret_scope(secret):
            if sys.version_info >= (3, 11):
                async with asyncio.timeout(timeout):
                    response, body, streamed = await reading
            else:  # pragma: no cover - Python 3.10
                response, body, streamed = await asyncio.wait_for(reading, timeout)
    except (TimeoutError, asyncio.TimeoutError):
        if progress.connecting and not progress.sending:
            # Still connecting (a full accept queue, a black-holed address): nothing was sent.
            raise httpx.ConnectTimeout("the connection did not open in time") from None
        raise DeadlinePassed from None
    return Answer(
        status=response.status_code,
        headers=_headers(response.headers, secret),
        body=redact_bytes(body, secret) if redact_body else body,
        streamed=streamed,
    )
