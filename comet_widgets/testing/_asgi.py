"""Plain ASGI 3 plumbing for the fake API: reading, recording and answering requests, noticing
hang-ups.

No framework: the fake must control every byte and every broken connection it sends, which is
easiest with the raw ``receive``/``send`` protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx

__all__ = [
    "HTML_TYPE",
    "JSON_TYPE",
    "ErrorStyle",
    "InjectedDisconnect",
    "Receive",
    "RecordedRequest",
    "Refusal",
    "Request",
    "Responder",
    "Scope",
    "Send",
    "Watcher",
    "check_method",
    "lifespan",
    "read_body",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON_TYPE = "application/json"
HTML_TYPE = "text/html; charset=utf-8"


@dataclass
class RecordedRequest:
    """One request the fake received. The key itself is never stored: only whether it matched."""

    method: str
    path: str
    request_id: str
    #: ``time.monotonic()`` when the request arrived.
    started: float
    #: Whether an ``Authorization`` header was sent, and whether it carried an accepted key.
    auth_present: bool = False
    auth_ok: bool = False
    #: The parsed JSON body (None when there was none or it was not JSON).
    json: Any = None
    #: The status answered; None while in flight or when the client hung up first.
    status: int | None = None
    finished: float | None = None
    #: The injected fault, e.g. "fail:429", "random:503" or "malform:bomb".
    fault: str | None = None
    #: An edit's multipart parts (``_edits.FormPart``: fields' text, files' name, type, size
    #: and sha256, never their bytes), in the order they arrived; None for other requests.
    form: list[Any] | None = None

    @property
    def duration(self) -> float | None:
        return None if self.finished is None else self.finished - self.started


class InjectedDisconnect(httpx.RemoteProtocolError):
    """Raised by the fake to break a connection on purpose (``malform_next("reset_mid_body")``).

    On loopback uvicorn answers it by closing the socket mid-response, so the client sees a
    truncated body. In-process, ``httpx.ASGITransport`` re-raises it; deriving from
    ``httpx.RemoteProtocolError`` makes that look like what a client gets on a real socket.
    """


@dataclass(frozen=True)
class Request:
    """One HTTP request as the fake sees it (the body already read)."""

    method: str
    #: The path below the app's root path, e.g. ``/v1/images/generations``.
    path: str
    #: Header names in lower case; the last value wins.
    headers: dict[str, str]
    body: bytes
    #: ``scheme://host[:port]`` plus the root path: where URLs of this server start.
    base: str

    @classmethod
    def from_scope(cls, scope: Scope, body: bytes) -> Request:
        # ASGI servers give the method upper case and header names lower case.
        headers = {
            bytes(k).decode("latin-1"): bytes(v).decode("latin-1") for k, v in scope["headers"]
        }
        root = str(scope.get("root_path", "")).rstrip("/")
        path = str(scope["path"])
        if root and path.startswith(root + "/"):
            path = path[len(root) :]
        server = scope.get("server") or ("127.0.0.1", 80)
        host = headers.get("host") or f"{server[0]}:{server[1]}"
        base = f"{scope.get('scheme', 'http')}://{host}{root}"
        return cls(str(scope["method"]), path, headers, body, base)


async def read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None when the client hung up before sending it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(bytes(message.get("body", b"")))
        if not message.get("more_body", False):
            return b"".join(chunks)


class Watcher:
    """Notices a client that hangs up while the fake sleeps or streams.

    Started by the first ``sleep``: it keeps a task waiting on ``receive()``, which (after the
    body has been read) answers ``http.disconnect`` when the client goes away or the response
    ends.
    """

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self._event.set()
                return

    async def sleep(self, seconds: float) -> bool:
        """Sleep ``seconds`` (0: let other tasks run); return False as soon as the client hangs
        up (True otherwise)."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._watch())
        if seconds <= 0:
            await asyncio.sleep(0)
        else:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._event.wait(), timeout=seconds)
        return not self._event.is_set()

    async def aclose(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


#: Whose error bodies the fake sends (``FakeAPI.error_style``).
ErrorStyle = Literal["openai", "comet"]


class Responder:
    """Sends one response and remembers its status; adds ``x-request-id`` when asked to and
    words its errors in ``style``."""

    def __init__(
        self, send: Send, request_id: str, *, id_header: bool, style: ErrorStyle = "openai"
    ) -> None:
        self._send = send
        self.request_id = request_id
        self.id_header = id_header
        self.style = style
        self.status: int | None = None

    async def start(
        self,
        status: int,
        *,
        content_type: str | None,
        content_length: int | None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        raw: list[tuple[bytes, bytes]] = []
        if content_type:
            raw.append((b"content-type", content_type.encode("latin-1")))
        if content_length is not None:
            raw.append((b"content-length", str(content_length).encode("latin-1")))
        if self.id_header:
            raw.append((b"x-request-id", self.request_id.encode("latin-1")))
        raw.extend((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers)
        self.status = status
        await self._send({"type": "http.response.start", "status": status, "headers": raw})

    async def body(self, chunk: bytes, *, more: bool = False) -> None:
        await self._send({"type": "http.response.body", "body": chunk, "more_body": more})

    async def respond(
        self,
        status: int,
        body: bytes,
        *,
        content_type: str | None = JSON_TYPE,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Send a whole response in one piece."""
        await self.start(
            status, content_type=content_type, content_length=len(body), headers=headers
        )
        await self.body(body)

    async def error(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Send an error body (``error_document``)."""
        document = {"error": self.error_document(status, message, code=code, param=param)}
        await self.respond(status, json.dumps(document).encode(), headers=headers)

    def error_document(
        self, status: int, message: str, *, code: str | None = None, param: str | None = None
    ) -> dict[str, Any]:
        """An error object, ``{"message", "type", "param", "code"}``, in this responder's style.

        "openai": OpenAI's: ``type`` by status (``invalid_request_error``, ``requests``,
        ``server_error``), ``null`` for a ``param`` or ``code`` that has no value, the request
        id only in ``x-request-id`` (in the message too when that header is off). "comet":
        CometAPI's: ``type`` ``comet_api_error``, ``""`` for no value and the request id always
        inside the message, ``"... (request id: ...)"``.
        """
        if self.style == "comet" or not self.id_header:
            message = f"{message} (request id: {self.request_id})"
        if self.style == "comet":
            return {
                "message": message,
                "type": "comet_api_error",
                "param": param or "",
                "code": code or "",
            }
        kind = "requests" if status == 429 else "server_error" if status >= 500 else None
        return {
            "message": message,
            "type": kind or "invalid_request_error",
            "param": param or None,
            "code": code or None,
        }


@dataclass
class Refusal(Exception):
    """An error answer (``Responder.error``), raised by a route before it sends anything and
    sent by ``FakeAPI``: each refusal is one ``raise``, wherever it is found."""

    status: int
    message: str
    code: str | None = None
    param: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


def check_method(request: Request, *allowed: str) -> None:
    """Refuse a method the path does not take: 405 with an ``Allow`` header."""
    if request.method not in allowed:
        message = f"method {request.method} is not allowed on {request.path}; use {allowed[0]}"
        raise Refusal(405, message, headers=(("allow", allowed[0]),))


async def lifespan(receive: Receive, send: Send) -> None:
    """The ASGI lifespan protocol: nothing to set up, so acknowledge and return."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
