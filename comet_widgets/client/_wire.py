"""The wire format: parsing answers of ``/images/generations`` into results or typed errors.

Pure functions over bytes and headers (no HTTP here), so every malformed answer can be unit
tested. JSON is parsed with jiter and base64 with pybase64: on a 2 MB image they are about ten
times faster than the standard library (see bench/RESULTS.md).
"""

from __future__ import annotations

import binascii
import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jiter
import pybase64

from .._catalog import replacement_for
from .._errors import (
    APIStatusError,
    CometError,
    ContentPolicyError,
    ModelUnavailableError,
    RateLimitError,
    ResponseError,
    advice_for,
    redact,
    request_id_from,
    status_error_class,
)
from ..images._formats import NotAnImage, sniff
from ..images._results import GeneratedImage
from ._boundary import media_type, strip_userinfo

__all__ = [
    "ParsedBody",
    "decode_b64_image",
    "error_from_response",
    "parse_body",
    "refuses_streaming",
]

_KNOWN_FIELDS = frozenset({"created", "data", "usage"})
#: "(request id: ...)" as gateways write it into their messages.
_REQUEST_ID_NOTE = re.compile(r"\s*\(request id: ?[^)\s]+\)", re.IGNORECASE)
#: The streaming fields, as a refusal names them ("stream is not supported", "streaming ...",
#: param "partial_images", code "stream_not_supported"); not "upstream" or "mainstream".
_STREAMING = re.compile(r"(?<![a-z])(stream(ing|s|ed)?|partial[_ ]images?)(?![a-z])", re.I)


@dataclass
class ParsedBody:
    """A parsed success body; ``pending_urls`` maps image index to a URL still to download."""

    created: int
    images: list[GeneratedImage]
    usage: dict[str, Any] | None
    extra: dict[str, Any] = field(default_factory=dict)
    pending_urls: dict[int, str] = field(default_factory=dict)
    #: A stream's error event after some images completed: raised carrying those images.
    error: CometError | None = None


def _describe_body(body: bytes, content_type: str) -> str:
    kind = media_type(content_type) or "no content type"
    head = body[:200].decode("utf-8", "replace")
    if "<html" in head.lower() or kind == "text/html":
        return f"an HTML page ({kind})"
    return f"{kind}: {head[:80]!r}"


def decode_b64_image(
    text: object, index: int, *, max_pixels: int, request_id: str | None = None
) -> GeneratedImage:
    """Decode one ``b64_json`` item; a bad item becomes an image that records its error."""
    try:
        if not isinstance(text, str):
            kind = f"{type(text).__name__}, not a string"
            raise NotAnImage("there is no b64_json" if text is None else f"b64_json is {kind}")
        data = pybase64.b64decode(text, validate=True)
        info = sniff(data, max_pixels=max_pixels)
    except (binascii.Error, ValueError) as exc:
        reason = "b64_json is not valid base64" if isinstance(exc, binascii.Error) else str(exc)
        error = ResponseError(
            f"image {index}: {reason}",
            request_id=request_id,
            kind="bad_image",
            index=index,
            reason=reason,
        )
        return GeneratedImage(index=index, error=error)
    return GeneratedImage(
        index=index, data=data, format=info.format, width=info.width, height=info.height
    )


def parse_body(
    body: bytes,
    *,
    status: int,
    content_type: str,
    request_id: str | None,
    max_pixels: int,
) -> ParsedBody:
    """Parse a 2xx answer. Raises ``ResponseError`` for anything that is not an image result."""
    try:
        document = jiter.from_json(body, cache_mode="keys")
    except ValueError:
        if media_type(content_type) == "text/event-stream":
            raise ResponseError(
                "the server streamed its answer (text/event-stream) to a request that did not"
                " ask for streaming; this client reads streams only when stream=True is"
                " supported: report it to the provider or use a model that answers in JSON",
                request_id=request_id,
                kind="stream",
                reason="the server streamed an answer that was not asked for as a stream",
            ) from None
        described = _describe_body(body, content_type)
        what = f"the API answered {status} with {described} instead of JSON"
        raise ResponseError(
            f"{what}; check base_url (it should end with /v1)",
            request_id=request_id,
            kind="not_json",
            reason=what,
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        raise ResponseError(
            f"the API answered {status} without a 'data' list",
            request_id=request_id,
            kind="no_data",
        )
    items = document["data"]
    if not items:
        raise ResponseError(
            "the API returned no images (an empty 'data' list): the provider may have filtered"
            " the prompt; rephrase it or try another model",
            request_id=request_id,
            kind="no_images",
            reason="the API returned no images: the provider may have filtered the prompt",
        )
    created = document.get("created")
    parsed = ParsedBody(
        created=created if isinstance(created, int) else 0,
        images=[],
        usage=document.get("usage") if isinstance(document.get("usage"), dict) else None,
        extra={k: v for k, v in document.items() if k not in _KNOWN_FIELDS},
    )
    for index, item in enumerate(items):
        item = item if isinstance(item, dict) else {}
        revised = item.get("revised_prompt")
        if item.get("b64_json") is not None:
            image = decode_b64_image(
                item["b64_json"], index, max_pixels=max_pixels, request_id=request_id
            )
        elif isinstance(item.get("url"), str):
            url = strip_userinfo(item["url"])  # httpx would send a user:password@ as Basic auth
            image = GeneratedImage(index=index, url=url)
            parsed.pending_urls[index] = url
        else:
            error = ResponseError(
                f"image {index} has neither 'url' nor 'b64_json'",
                request_id=request_id,
                kind="bad_image",
                index=index,
                reason="the answer has neither 'url' nor 'b64_json' for it",
            )
            image = GeneratedImage(index=index, error=error)
        image.revised_prompt = revised if isinstance(revised, str) else None
        parsed.images.append(image)
    return parsed


def _problem_text(err: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    """A readable message from a non-OpenAI error object (``application/problem+json``:
    ``title``, ``detail``, and a list of ``errors``/``reasons``/``invalid_params``/``validation``),
    and what its entries say about each field they name (with what is allowed, when given)."""
    parts = [str(err[key]).strip() for key in ("title", "detail") if err.get(key)]
    fields: dict[str, str] = {}
    for key in ("errors", "reasons", "invalid_params", "validation"):
        items = err.get(key)
        if not isinstance(items, list):
            continue
        reasons = []
        for item in items[:10]:
            if not isinstance(item, Mapping):
                reasons.append(str(item))
                continue
            where = next((str(item[k]) for k in _WHERE if item.get(k)), "")
            what = next((str(item[k]).strip().rstrip(".") for k in _WHAT if item.get(k)), "")
            allowed = next((item[k] for k in _ALLOWED if item.get(k)), None)
            if allowed is not None:
                listed = allowed if isinstance(allowed, list) else [allowed]
                what = f"{what} (allowed: {', '.join(map(str, listed))})".lstrip()
            if where:
                fields.setdefault(where, what)
            reasons.append(f"{where}: {what}" if where and what else where or what)
        if reasons:
            parts.append("; ".join(r.strip().rstrip(".") for r in reasons if r))
    return ": ".join(p.rstrip(".") for p in parts if p), fields


_WHERE = ("name", "field", "param", "pointer", "path")
_WHAT = ("reason", "message", "detail")
_ALLOWED = ("allowed", "expected", "enum")


def refuses_streaming(error: CometError) -> bool:
    """Whether ``error`` refuses streaming itself: a 4xx (not a rate limit or a content-policy
    refusal) whose message, ``param`` or ``code`` names ``stream`` or ``partial_images``, as a
    gateway that does not stream a model answers a streaming request."""
    if (
        not isinstance(error, APIStatusError)
        or not 400 <= error.status_code < 500
        or isinstance(error, (RateLimitError, ContentPolicyError))
    ):
        return False
    detail = error.body.get("error") if isinstance(error.body, dict) else None
    param = detail.get("param") if isinstance(detail, dict) else None
    named = (error.server_message, error.code, param)
    return any(isinstance(text, str) and _STREAMING.search(text) for text in named)


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    retry_after: float | None = None,
    secret: str | None = None,
    model: str | None = None,
) -> APIStatusError:
    """Build the typed exception for an error answer; its message says what to do next
    (for a model that cannot be routed: which current model to try instead)."""
    message, code, parsed = "", None, None
    fields: dict[str, str] = {}
    if body:
        # A gateway may echo the request's headers back: scrub before anything reads the body
        # (what is derived from it below is then clean too).
        body = redact(body.decode("utf-8", "replace"), secret).encode()
        with contextlib.suppress(ValueError):
            parsed = jiter.from_json(body, cache_mode="keys")
    if isinstance(parsed, dict):
        err = parsed.get("error", parsed)
        if isinstance(err, dict):
            message = str(err.get("message") or "")
            if not message:
                message, fields = _problem_text(err)
            elif isinstance(err.get("param"), str) and err["param"]:
                fields = {err["param"]: message}
            code = str(err.get("code")) if err.get("code") not in (None, "") else None
        elif isinstance(err, str):
            message = err
    if not message:
        content_type = headers.get("content-type", "")
        message = _describe_body(body, content_type) if body else "no details given"
    request_id = request_id_from(message, headers.get("x-request-id"))
    cls = status_error_class(status, code, message)
    text = f"HTTP {status}: {message.strip().rstrip('.')}"
    if request_id and request_id not in text:
        text += f" (request id: {request_id})"
    if cls is RateLimitError and retry_after is not None:
        text += f"; the server asks to wait {retry_after:g} s"
    advice = advice_for(cls)
    if issubclass(cls, ModelUnavailableError):
        advice = (
            f"{model or 'this model'} is not available for your key right now; pick another"
            f" model: try {replacement_for(model)}"
        )
    text += f". What to do: {advice}."
    error = cls(
        text,
        status_code=status,
        request_id=request_id,
        code=code,
        body=parsed if parsed is not None else body[:1000].decode("utf-8", "replace"),
        server_message=_REQUEST_ID_NOTE.sub("", message).strip(),
        invalid_params=fields,
    )
    if isinstance(error, RateLimitError):
        error.retry_after = retry_after
    if isinstance(error, ModelUnavailableError):
        error.model = model or None
        error.replacement = replacement_for(model)
    return error


def first_error(images: list[GeneratedImage]) -> CometError | None:
    """The first image's error when no image arrived, else None."""
    if any(image.ok for image in images):
        return None
    return next((image.error for image in images if image.error is not None), None)
