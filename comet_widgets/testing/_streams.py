"""Streamed answers of the fake: server-sent events like the API's ``stream: true`` answers.

For each image, ``partial_images`` partial events (coarser versions of the final placeholder,
sharpest last) and then its completed event with the usage::

    event: image_generation.partial_image
    data: {"type":"image_generation.partial_image","b64_json":"...","partial_image_index":0,...}

    event: image_generation.completed
    data: {"type":"image_generation.completed","b64_json":"...","usage":{...},...}

Edits stream ``image_edit.partial_image`` and ``image_edit.completed`` instead. Every event
validates against the SDK's ``ImageGenStreamEvent`` (edits: ``ImageEditStreamEvent``). Each
event waits the fake's ``stream_interval`` first, so a client sees them arrive spaced out.
``StreamBreak`` faults cut the connection, end the stream early, send an ``error`` event or
malformed events instead.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from ._asgi import InjectedDisconnect, Responder, Watcher
from ._faults import StreamBreak

__all__ = ["EDIT_EVENTS", "GENERATION_EVENTS", "coarseness", "image_event", "send_stream", "sse"]

EVENT_STREAM_TYPE = "text/event-stream; charset=utf-8"
#: The event types of a generation's stream: (partial, completed).
GENERATION_EVENTS = ("image_generation.partial_image", "image_generation.completed")
#: The event types of an edit's stream: (partial, completed).
EDIT_EVENTS = ("image_edit.partial_image", "image_edit.completed")


def coarseness(partial: int, partials: int) -> int:
    """The block size (pixels) of partial ``partial`` of ``partials``: 16, 32, 64 from the last
    (coarse enough to tell apart from the final image in a 512 px thumbnail)."""
    return int(2 ** (4 + partials - 1 - partial))


def sse(event: str, data: bytes) -> bytes:
    """One server-sent event (``data`` is one line of JSON)."""
    return b"event: " + event.encode() + b"\ndata: " + data + b"\n\n"


def image_event(kind: str, b64: bytes, fields: Mapping[str, Any]) -> bytes:
    """A partial or completed event: ``b64_json`` (base64, ASCII), ``type`` ``kind``, ``fields``."""
    rest = json.dumps({"type": kind, **fields}, separators=(",", ":")).encode()
    # The base64 is spliced in as is (json.dumps would scan megabytes for escapes).
    return sse(kind, b'{"b64_json":"' + b64 + b'",' + rest[1:])


async def send_stream(
    responder: Responder,
    watcher: Watcher,
    events: Sequence[bytes],
    *,
    interval: float,
    brk: StreamBreak | None,
    sent_at: list[float],
    kinds: tuple[str, str],
) -> None:
    """Send ``events`` (of the event types ``kinds``) as a ``text/event-stream``, each after
    ``interval`` seconds.

    ``brk`` breaks the stream after ``brk.after`` events. ``sent_at`` collects the
    ``time.perf_counter()`` at which each event was handed to the server (benchmarks).
    """
    await responder.start(
        200,
        content_type=EVENT_STREAM_TYPE,
        content_length=None,
        headers=[("cache-control", "no-cache")],
    )
    limit = len(events) if brk is None else min(brk.after, len(events))
    for event in events[:limit]:
        if not await watcher.sleep(interval):
            return  # the client hung up
        sent_at.append(time.perf_counter())
        await responder.body(event, more=True)
    if brk is not None and brk.kind == "cut":
        raise InjectedDisconnect(f"the fake API cut the stream after {limit} event(s)")
    partial = kinds[0]
    broken = b""  # "end_early": the stream just ends
    if brk is not None and brk.kind == "error":
        message = brk.message or "the upstream provider failed while generating the image"
        error = responder.error_document(500, message, code=brk.code)
        broken = sse(brk.event or "error", json.dumps({"type": "error", "error": error}).encode())
    elif brk is not None and brk.kind == "invalid_json":
        broken = sse(brk.event or partial, b'{"type":"' + partial.encode() + b'","b64_js')
    elif brk is not None and brk.kind == "bad_event":
        data = {"type": partial, "partial_image_index": "first", "created_at": 0}
        broken = sse(brk.event or partial, json.dumps(data).encode())
    if broken and not await watcher.sleep(interval):
        return
    await responder.body(broken)
