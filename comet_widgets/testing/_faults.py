"""The fake's faults: queued failures, malformed answers and broken URLs, and how they are sent.

Broken connections are made by raising ``InjectedDisconnect`` after a partial response: uvicorn
then closes the socket mid-message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Literal, get_args

from .._errors import InvalidParameterError
from ._asgi import HTML_TYPE, JSON_TYPE, InjectedDisconnect, Responder, Watcher

__all__ = [
    "MALFORM_KINDS",
    "STREAM_BREAK_KINDS",
    "STREAM_REFUSALS",
    "Failure",
    "Fault",
    "MalformKind",
    "Malformed",
    "StreamBreak",
    "StreamBreakKind",
    "StreamRefusal",
    "UrlPlan",
    "check_choice",
    "check_indexes",
    "check_whole",
    "default_message",
    "deliver",
    "send_huge",
    "send_malformed_document",
]

MalformKind = Literal[
    "invalid_json",
    "html_200",
    "html_301",
    "empty_data",
    "no_image_fields",
    "bad_base64",
    "not_an_image",
    "truncated_png",
    "bomb",
    "reset_mid_body",
    "close_after_headers",
    "trickle",
    "huge_body",
]
#: Every kind ``FakeAPI.malform_next`` accepts.
MALFORM_KINDS: tuple[str, ...] = get_args(MalformKind)
#: Kinds that break image items, so ``malform_next(..., indexes=...)`` can pick which ones.
ITEM_KINDS = frozenset({"bad_base64", "not_an_image", "truncated_png", "bomb", "no_image_fields"})
#: What "bad_base64" puts in ``b64_json``.
BAD_BASE64 = "%%% this is not base64 %%%"

_MESSAGES: dict[int, str] = {
    400: "invalid request",
    401: "invalid api key",
    403: "access to this model is not allowed for this key",
    413: "request entity too large",
    429: "rate limit exceeded",
    502: "bad gateway: the upstream provider returned an invalid response",
    504: "gateway timeout: the upstream provider did not answer in time",
    524: "a timeout occurred: the upstream provider did not answer in time",
}


def check_whole(field: str, value: object, minimum: int, allowed: str = "") -> None:
    """Refuse a ``value`` that is not a whole number of at least ``minimum``."""
    allowed = allowed or f"a whole number of at least {minimum}"
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidParameterError(
            field, value, allowed, reason=f"{field} must be {allowed}, got {value!r}"
        )


def check_indexes(indexes: Iterable[int]) -> frozenset[int]:
    """Image indexes (0-based) as a set; refuses any that is not a whole number of at least 0."""
    chosen = frozenset(indexes)
    for index in chosen:
        check_whole("indexes", index, 0, "0-based whole numbers")
    return chosen


def check_choice(field: str, value: object, choices: Sequence[str]) -> None:
    """Refuse a ``value`` that is not one of ``choices``."""
    if value not in choices:
        allowed = f"choose one of {', '.join(choices)}"
        raise InvalidParameterError(field, value, allowed, reason=f"unknown {field} {value!r}")


def default_message(status: int, model: str) -> str:
    """The message ``fail_next`` uses when none is given (503 means "model unavailable")."""
    if status == 503:
        return f"no available channel for model {model} under group default"
    if status in _MESSAGES:
        return _MESSAGES[status]
    try:
        return HTTPStatus(status).phrase.lower()
    except ValueError:
        return f"upstream error {status}"


def html_page(title: str, text: str) -> bytes:
    """A small HTML page, like the ones gateways and CDNs answer with when something is off."""
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{title}</title></head>\n<body><h1>{title}</h1><p>{text}</p></body></html>\n"
    ).encode()


@dataclass(frozen=True)
class Failure:
    """One injected error answer."""

    status: int
    message: str | None = None
    code: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    #: Sent verbatim (with ``content_type``) instead of the JSON error body.
    body: bytes | None = None
    content_type: str = HTML_TYPE
    #: How the request log names it: "fail" (fail_next) or "random" (fault_rates).
    source: str = "fail"

    @property
    def label(self) -> str:
        return f"{self.source}:{self.status}"


@dataclass(frozen=True)
class Malformed:
    """One deliberately broken answer (see ``MALFORM_KINDS``)."""

    kind: MalformKind
    #: For kinds that break image items: only these indexes (None: every item).
    indexes: frozenset[int] | None = None

    @property
    def label(self) -> str:
        return f"malform:{self.kind}"


StreamBreakKind = Literal["cut", "end_early", "error", "invalid_json", "bad_event"]
#: Every kind ``FakeAPI.break_stream_next`` accepts.
STREAM_BREAK_KINDS: tuple[str, ...] = get_args(StreamBreakKind)


@dataclass(frozen=True)
class StreamBreak:
    """One streamed answer broken after ``after`` good events (see ``STREAM_BREAK_KINDS``)."""

    kind: StreamBreakKind
    after: int = 1
    message: str | None = None
    code: str = ""
    event: str | None = None

    @property
    def label(self) -> str:
        return f"stream:{self.kind}@{self.after}"


Fault = Failure | Malformed | StreamBreak

StreamRefusal = Literal["comet", "openai"]
#: Every way ``FakeAPI.stream_refusal`` refuses a streaming request.
STREAM_REFUSALS: tuple[str, ...] = get_args(StreamRefusal)


UrlFault = Literal["expired", "slow", "redirect_loop", "non_http"]


@dataclass(frozen=True)
class UrlPlan:
    """What goes wrong with one image URL of the next url-mode answer."""

    fault: UrlFault
    seconds: float = 0.0
    #: The URL put in the answer for ``non_http``.
    url: str = ""


async def send_malformed_document(
    responder: Responder, kind: MalformKind, *, created: int, n: int, location: str
) -> bool:
    """Send the malformed answers that need no image; False when ``kind`` needs one."""
    if kind == "invalid_json":
        await responder.respond(200, b'{"created": ' + str(created).encode() + b', "data": [{')
    elif kind == "html_200":
        page = html_page("CometAPI", "Welcome to the CometAPI console. Please sign in.")
        await responder.respond(200, page, content_type=HTML_TYPE)
    elif kind == "html_301":
        page = html_page("301 Moved Permanently", f"The document has moved to {location}.")
        headers = [("location", location)]
        await responder.respond(301, page, content_type=HTML_TYPE, headers=headers)
    elif kind == "empty_data":
        await responder.respond(200, json.dumps({"created": created, "data": []}).encode())
    elif kind == "bad_base64":
        items = [{"b64_json": BAD_BASE64}] * n
        await responder.respond(200, json.dumps({"created": created, "data": items}).encode())
    else:
        return False
    return True


async def deliver(
    responder: Responder,
    watcher: Watcher,
    body: bytes,
    kind: MalformKind | None,
    *,
    trickle_seconds: float,
    trickle_chunks: int,
) -> None:
    """Send a 200 JSON body: whole, or broken as "reset_mid_body", "close_after_headers" or
    "trickle" ask."""
    if kind not in ("reset_mid_body", "close_after_headers", "trickle"):
        await responder.respond(200, body)
        return
    await responder.start(200, content_type=JSON_TYPE, content_length=len(body))
    if kind == "close_after_headers":
        raise InjectedDisconnect("the fake API closed the connection after the headers")
    if kind == "reset_mid_body":
        await responder.body(body[: len(body) // 2], more=True)
        raise InjectedDisconnect("the fake API closed the connection mid-body")
    step = max(1, -(-len(body) // max(1, trickle_chunks)))
    pieces = range(0, len(body), step)
    pause = trickle_seconds / max(1, len(pieces))
    for offset in pieces:
        if not await watcher.sleep(pause):
            return
        await responder.body(body[offset : offset + step], more=True)
    await responder.body(b"")


_HUGE_CHUNK = b"A" * 65536


async def send_huge(
    responder: Responder, watcher: Watcher, *, created: int, total: int, declare_length: bool
) -> None:
    """Stream a ``total``-byte JSON body (chunked when ``declare_length`` is False)."""
    total = max(64, total)
    head = b'{"created":' + str(created).encode() + b',"data":[{"b64_json":"'
    tail = b'"}]}'
    length = total if declare_length else None
    await responder.start(200, content_type=JSON_TYPE, content_length=length)
    await responder.body(head, more=True)
    remaining = total - len(head) - len(tail)
    while remaining > 0:
        # The same chunk object every time: the server side stays small whatever the size.
        piece = _HUGE_CHUNK if remaining >= len(_HUGE_CHUNK) else _HUGE_CHUNK[:remaining]
        await responder.body(piece, more=True)
        remaining -= len(piece)
        if not await watcher.sleep(0):  # lets the hang-up watcher run
            return
    await responder.body(tail)
