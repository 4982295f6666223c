"""The boundary where answers enter the package, attacked by raw loopback servers.

A server echoes the key back in every way it can: JSON-escaped in an error body, as a request
id header, inside a successful answer (revised prompt, an extra field, usage), in an image URL's
query. None of it may reach a result, an error, a saved file or a log record, and the image
host must never receive the key (nor an Authorization header built from ``user:secret@``).
The whole response, status line and headers included, is bounded by the read timeout, and
``list_models()`` takes the same capped, deadlined, typed path.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import socket
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image

from comet_widgets import (
    APITimeoutError,
    AsyncImageClient,
    BadRequestError,
    CometError,
    ResponseError,
    read_metadata,
)

KEY = "sk-" + "boundary-SECRET-" + "0123456789abcdef"
SECRET_PART = "SECRET-0123456789abcdef"
#: The key with only its first character JSON-escaped, and with every character escaped.
ESCAPED_FIRST = "\\u0073" + KEY[1:]
ESCAPED_ALL = "".join(f"\\u{ord(c):04X}" for c in KEY)
PERCENT_ALL = "".join(f"%{ord(c):02x}" for c in KEY)


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(buffer, "PNG")
    return buffer.getvalue()


@dataclass
class Raw:
    """A raw HTTP/1.1 server on loopback: ``respond(path)`` gives the whole response bytes."""

    respond: Callable[[str], Awaitable[bytes] | bytes]
    requests: list[bytes] = field(default_factory=list)
    port: int = 0
    trickle: float = 0.0  # seconds between single bytes of the response

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length) if length else b""
            self.requests.append(head + body)
            path = head.split(b" ", 2)[1].decode()
            answer = self.respond(path)
            data = await answer if not isinstance(answer, bytes) else answer
            if self.trickle:
                for i in range(len(data)):
                    writer.write(data[i : i + 1])
                    await writer.drain()
                    await asyncio.sleep(self.trickle)
            else:
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


def http(status: int, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {"Content-Type": "application/json"}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@pytest.fixture
async def raw() -> AsyncIterator[Callable[..., Awaitable[Raw]]]:
    servers: list[asyncio.Server] = []

    async def start(respond: Callable[[str], bytes], **options: float) -> Raw:
        server = Raw(respond, **options)  # type: ignore[arg-type]
        listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        server.port = listening.sockets[0].getsockname()[1]
        servers.append(listening)
        return server

    yield start
    for listening in servers:
        listening.close()


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "comet_widgets"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def assert_clean(text: str, where: str) -> None:
    assert SECRET_PART not in text, f"the key leaked into {where}: {text[:300]}"
    assert ESCAPED_ALL[:60] not in text, where
    assert PERCENT_ALL[:60] not in text, where


def assert_logs_clean(logs: pytest.LogCaptureFixture) -> None:
    assert logs.records
    for record in logs.records:
        assert_clean(record.getMessage(), f"log record {record.name}")


def client(base_url: str, **options: object) -> AsyncImageClient:
    async def no_wait(seconds: float) -> None:
        pass

    return AsyncImageClient(api_key=KEY, base_url=base_url, sleep=no_wait, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("echo", [KEY, ESCAPED_FIRST, ESCAPED_ALL, PERCENT_ALL])
async def test_a_successful_answer_that_echoes_the_key_keeps_nothing_of_it(
    raw: Callable[..., Awaitable[Raw]],
    logs: pytest.LogCaptureFixture,
    tmp_path: Path,
    echo: str,
) -> None:
    b64 = base64.b64encode(png()).decode()
    body = (
        f'{{"created": 1700000000, "data": [{{"b64_json": "{b64}", "revised_prompt": "a boat'
        f' {echo}"}}], "usage": {{"total_tokens": 3, "note": "{echo}"}}, "echo": "{echo}"}}'
    ).encode()
    server = await raw(lambda path: http(200, body, {"x-request-id": f"req-{KEY}"}))
    async with client(server.base_url) as c:
        generation = await c.generate("a boat", model="dall-e-2", size="256x256")
    texts = {
        "repr": repr(generation),
        "request_id": str(generation.request_id),
        "revised": str(generation.images[0].revised_prompt),
        "usage": json.dumps(generation.usage),
        "extra": json.dumps(generation.extra),
    }
    for where, text in texts.items():
        assert_clean(text, where)
    assert "[redacted]" in texts["revised"]
    path = generation.images[0].save(tmp_path / "boat.png", sidecar=True)
    for saved in sorted(tmp_path.iterdir()):  # noqa: ASYNC240 - a few small local files
        assert_clean(saved.read_bytes().decode("latin-1"), f"saved file {saved.name}")
    assert_clean(json.dumps(read_metadata(path)), "the metadata")
    assert_logs_clean(logs)


@pytest.mark.parametrize("echo", [ESCAPED_FIRST, ESCAPED_ALL, PERCENT_ALL])
async def test_an_error_that_echoes_the_key_escaped_or_as_request_id_keeps_nothing(
    raw: Callable[..., Awaitable[Raw]], logs: pytest.LogCaptureFixture, echo: str
) -> None:
    body = f'{{"error": {{"message": "bad key {echo}", "code": "invalid"}}}}'.encode()
    server = await raw(lambda path: http(400, body, {"x-request-id": KEY}))
    async with client(server.base_url) as c:
        with pytest.raises(BadRequestError) as info:
            await c.generate("a boat", model="dall-e-2", size="256x256")
    error = info.value
    for where, text in {
        "str": str(error),
        "body": repr(error.body),
        "request_id": str(error.request_id),
        "traceback": "".join(traceback.format_exception(error)),
        "vars": repr(vars(error)),
    }.items():
        assert_clean(text, where)
    assert error.request_id == "[redacted]"
    assert_logs_clean(logs)


async def test_a_header_with_bytes_beyond_ascii_is_read_not_a_crash(
    raw: Callable[..., Awaitable[Raw]],
) -> None:
    """A header value may hold any byte but CR, LF and NUL (obs-text): the redacted copy of the
    headers keeps the encoding they were read with (it was re-encoded as ASCII: a
    UnicodeEncodeError instead of the server's error)."""
    answer = http(400, b'{"error": {"message": "bad"}}').replace(
        b"Connection: close", b"Connection: close\r\nx-request-id: id-\x1b\x9b\xff"
    )
    server = await raw(lambda path: answer)
    async with client(server.base_url) as c:
        with pytest.raises(BadRequestError) as info:
            await c.generate("a boat", model="dall-e-2", size="256x256")
    assert info.value.request_id == "id-\x1b\x9b\xff"


async def test_an_image_url_with_the_key_never_reaches_the_image_host(
    raw: Callable[..., Awaitable[Raw]], logs: pytest.LogCaptureFixture
) -> None:
    images = await raw(lambda path: http(200, png(), {"Content-Type": "image/png"}))
    urls = [
        f"http://127.0.0.1:{images.port}/a.png?token={KEY}",
        f"http://127.0.0.1:{images.port}/b.png?token={PERCENT_ALL}",
        f"http://user:{KEY}@127.0.0.1:{images.port}/c.png",
        f"http://alice:hunter2@127.0.0.1:{images.port}/d.png",
    ]
    body = json.dumps({"created": 1, "data": [{"url": u} for u in urls]}).encode()
    api = await raw(lambda path: http(200, body))
    async with client(api.base_url) as c:
        generation = await c.generate("a boat", model="dall-e-2", size="256x256", n=4)
    assert len(images.requests) == 4
    for request in images.requests:
        text = request.decode("latin-1")
        assert_clean(text, "a request to the image host")
        assert "authorization" not in text.lower(), text
        assert "hunter2" not in text
    for image in generation.images:
        assert image.ok, image.error
        assert_clean(str(image.url), "GeneratedImage.url")
        assert "hunter2" not in str(image.url)
    assert_logs_clean(logs)


@pytest.mark.slow
async def test_a_server_trickling_its_status_line_is_cut_at_the_read_timeout(
    raw: Callable[..., Awaitable[Raw]],
) -> None:
    body = json.dumps({"created": 1, "data": [{"url": "http://x/y.png"}]}).encode()
    server = await raw(lambda path: http(200, body), trickle=0.05)  # headers alone take ~4 s
    async with client(server.base_url, timeout=0.6) as c:
        with pytest.raises(APITimeoutError) as info:
            await c.generate("a boat", model="dall-e-2", size="256x256")
    assert info.value.sent
    assert "took longer than 0.6 s" in str(info.value)


async def test_a_connect_timeout_on_a_full_accept_queue_was_not_sent() -> None:
    """A listener whose accept queue is full never completes the handshake: the whole-response
    deadline passes while connecting, and nothing left the client (safe to retry)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        address = listener.getsockname()
        fillers = [socket.socket() for _ in range(8)]
        try:
            for filler in fillers:
                filler.setblocking(False)
                filler.connect_ex(address)
            await asyncio.sleep(0.1)
            base_url = f"http://127.0.0.1:{address[1]}/v1"
            async with client(base_url, timeout=0.3, max_retries=0) as c:
                with pytest.raises(APITimeoutError) as info:
                    await c.generate("a boat", model="gpt-image-2")
        finally:
            for filler in fillers:
                filler.close()
    assert not info.value.sent
    assert info.value.retryable
    assert not info.value.billable
    assert "connect timeout while sending the request" in str(info.value)


@pytest.mark.slow
async def test_list_models_is_capped_deadlined_and_typed(
    raw: Callable[..., Awaitable[Raw]], logs: pytest.LogCaptureFixture
) -> None:
    big = json.dumps({"data": [{"id": f"model-{i}"} for i in range(5000)]}).encode()
    server = await raw(lambda path: http(200, big))
    async with client(server.base_url, max_response_bytes=10_000) as c:
        with pytest.raises(ResponseError, match="max_response_bytes"):
            await c.list_models()

    deep = b"[" * 5000 + b"]" * 5000
    server = await raw(lambda path: http(200, deep))
    async with client(server.base_url) as c:
        with pytest.raises(CometError, match="model list"):
            await c.list_models()

    echoing = json.dumps({"data": [{"id": "dall-e-3"}, {"id": KEY}]}).encode()
    server = await raw(lambda path: http(200, echoing, {"x-request-id": KEY}))
    async with client(server.base_url) as c:
        names = await c.list_models()
    assert_clean(repr(names), "the model list")

    server = await raw(lambda path: http(200, echoing), trickle=0.05)
    async with client(server.base_url, timeout=0.6) as c:
        with pytest.raises(APITimeoutError):
            await c.list_models()
    assert_logs_clean(logs)
