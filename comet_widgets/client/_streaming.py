"""Streamed generations: a ``text/event-stream`` answer read into partial previews and a result.

With ``stream: true`` the API sends server-sent events: for each image ``partial_images``
``image_generation.partial_image`` events (``b64_json``, ``partial_image_index``), then its
``image_generation.completed`` event (the final ``b64_json`` and ``usage``); edits send
``image_edit.partial_image`` and ``image_edit.completed``. Like the official SDK, the reader
goes by each event's JSON ``type``, exactly (another route's types are ignored).
``read_stream`` turns them into ``PartialImage`` callbacks and the same ``ParsedBody`` a JSON
answer gives, so the client builds the same ``Generation`` either way.
The events are framed by httpx-sse; the bytes come through the client's boundary
(``_boundary.exchange(stream=...)``), so ``max_response_bytes`` and the whole-response deadline
hold for streams too, and each event is redacted of the key before it is read.

The events do not say which image a partial belongs to: images stream one after the other, so
a partial belongs to the image after the last completed one (always image 0 for ``n=1``).
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import jiter
from httpx_sse import EventSource

from .._errors import APIStatusError, ResponseError, redact, redact_bytes
from ..images._results import PartialImage
from ._wire import ParsedBody, decode_b64_image, error_from_response

__all__ = ["OnPartial", "StreamEnded", "read_stream"]

logger = logging.getLogger("comet_widgets")

#: Called with each partial preview as it arrives; may return an awaitable (it is awaited).
OnPartial = Callable[[PartialImage], object]

#: What an ``error`` event's ``code`` means as an HTTP status (the stream itself answered 200).
_ERROR_STATUS = {
    "content_policy_violation": 400,
    "moderation_blocked": 400,
    "invalid_request_error": 400,
    "rate_limit_exceeded": 429,
    "model_not_found": 503,
}
#: The (partial, completed) event types of a generation's stream and of an edit's.
_EVENT_TYPES = {
    False: ("image_generation.partial_image", "image_generation.completed"),
    True: ("image_edit.partial_image", "image_edit.completed"),
}
_NOT_EXTRA = frozenset({"type", "b64_json", "usage", "created_at", "partial_image_index"})


class StreamEnded(Exception):
    """The stream ended before any completed event."""


def _stream_error(
    document: dict[str, Any], request_id: str | None, secret: str | None
) -> APIStatusError:
    error = document.get("error")
    fields = error if isinstance(error, dict) else document
    code = fields.get("code")
    status = fields.get("status_code", fields.get("status"))
    if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
        status = _ERROR_STATUS.get(code, 500) if isinstance(code, str) else 500
    headers = {"x-request-id": request_id} if request_id else {}
    body = {"error": fields}
    exc = error_from_response(status, headers, json.dumps(body).encode(), secret=secret)
    exc.message = exc.message.replace(f"HTTP {status}: ", "the stream sent an error event: ", 1)
    return exc  # (scrub, on its way out of the client, sets its args to the new message)


async def read_stream(
    headers: httpx.Headers,
    chunks: AsyncIterator[bytes],
    *,
    n: int,
    max_pixels: int,
    secret: str | None,
    on_partial: OnPartial | None,
    partials: list[PartialImage],
    edit: bool = False,
) -> ParsedBody:
    """Read a stream of image events into a ``ParsedBody``; each partial preview is appended to
    ``partials`` and passed to ``on_partial``. ``edit``: the stream of an edit (its types).

    ``headers`` are the answer's (redacted) headers, ``chunks`` its raw body. Raises
    ``ResponseError`` for a malformed event, the typed ``APIStatusError`` for an error event
    before any completed image (after one, it ends the stream as the body's ``error``),
    ``StreamEnded`` when no completed event arrived; the transport's own errors (and the
    reader's caps) pass through.
    """
    request_id: str | None = headers.get("x-request-id")
    content_type = headers.get("content-type", "text/event-stream")
    view = httpx.Response(200, headers={"content-type": content_type}, content=chunks)
    parsed = ParsedBody(created=0, images=[], usage=None)
    partial_type, completed_type = _EVENT_TYPES[edit]
    async for event in EventSource(view).aiter_sse():
        data, name = event.data, redact(event.event, secret)
        if not data.strip():
            continue
        if data.startswith("[DONE]"):
            break
        try:
            document = jiter.from_json(redact_bytes(data.encode(), secret), cache_mode="keys")
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise ResponseError(
                f"a streamed event ({name}) is not a JSON object",
                request_id=request_id,
                kind="stream",
            )
        kind = document.get("type")
        if event.event == "error" or kind == "error" or document.get("error"):
            failed = _stream_error(document, request_id, secret)
            # The server took the request and started on it: the work may be billed, whatever
            # the event says (a rate limit, a 503), so it is not retried by default.
            failed.billable = True
            if not parsed.images:
                raise failed
            parsed.error = failed  # completed images are paid for: the error carries them
            break
        b64 = document.get("b64_json")
        if kind == partial_type:
            number = document.get("partial_image_index")
            if not isinstance(b64, str) or not isinstance(number, int) or isinstance(number, bool):
                raise ResponseError(
                    "a partial image event without b64_json or partial_image_index",
                    request_id=request_id,
                    kind="stream",
                )
            index = min(len(parsed.images), n - 1)
            image = decode_b64_image(b64, index, max_pixels=max_pixels, request_id=request_id)
            if image.data is None:
                logger.warning("skipping an unusable partial image: %s", image.error)
                continue
            partial = PartialImage(
                index=index,
                partial_index=number,
                data=image.data,
                format=image.format,
                width=image.width,
                height=image.height,
            )
            partials.append(partial)
            try:
                result = None if on_partial is None else on_partial(partial)
                if inspect.isawaitable(result):
                    await result
            except Exception:  # logged, not raised: the image is paid for
                logger.warning("on_partial raised; the generation goes on", exc_info=True)
        elif kind == completed_type:
            index = len(parsed.images)
            parsed.images.append(
                decode_b64_image(b64, index, max_pixels=max_pixels, request_id=request_id)
            )
            usage = document.get("usage")
            parsed.usage = usage if isinstance(usage, dict) else parsed.usage
            created = document.get("created_at")
            if isinstance(created, int) and not isinstance(created, bool):
                parsed.created = created
            extra = {k: v for k, v in document.items() if k not in _NOT_EXTRA}
            parsed.extra.update(extra)
        else:
            logger.debug("ignoring a streamed event of type %r", kind)
    if not parsed.images:
        raise StreamEnded
    return parsed
