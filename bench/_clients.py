"""The three ways to call the API that every benchmark compares.

- ``ours``: ``comet_widgets.AsyncImageClient`` (what the package ships);
- ``httpx``: a hand-written baseline, one shared ``httpx.AsyncClient``, ``json.loads`` and
  ``base64.b64decode`` on the event loop (what a user would write without the package);
- ``sdk``: ``openai.AsyncOpenAI(...).images.generate`` + ``base64.b64decode``;
- ``receive-only`` (batches only): a floor, httpx reading each body into nothing;
- ``raw-floor`` (batches only): a lower floor, HTTP/1.1 by hand on asyncio streams.

Each is an async callable ``call(prompt) -> list[bytes]`` (the decoded image bytes), built by
``open_clients`` inside one ``AsyncExitStack`` so they share an event loop and are closed after.
With ``verify`` (an ``ssl.SSLContext`` trusting the https fake's certificate) each client is
given an httpx client built with it: ``ours`` through ``http_client=``, the SDK through
``openai.DefaultAsyncHttpxClient`` (its own defaults, that context).
"""

from __future__ import annotations

import base64
import contextlib
import json
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from ._common import FAKE_KEY

Call = Callable[[str], Awaitable[list[bytes]]]
MODEL = "qwen-image"  # current, and answers in url mode as well as b64_json
NAMES = ("ours", "httpx", "sdk")


async def open_clients(
    stack: contextlib.AsyncExitStack,
    base_url: str,
    *,
    mode: str = "b64_json",
    names: tuple[str, ...] = NAMES,
    verify: ssl.SSLContext | None = None,
) -> dict[str, Call]:
    """Build the named callables (``mode``: ``b64_json`` or ``url``) and register their closing."""
    calls: dict[str, Call] = {}
    if "ours" in names:
        calls["ours"] = await _ours(stack, base_url, mode, verify)
    if "httpx" in names:
        calls["httpx"] = await _httpx(stack, base_url, mode, verify)
    if "sdk" in names:
        calls["sdk"] = await _sdk(stack, base_url, mode, verify)
    if "receive-only" in names:
        calls["receive-only"] = await _receive_only(stack, base_url)
    if "raw-floor" in names:
        calls["raw-floor"] = _raw_floor(base_url)
    return calls


def _raw_floor(base_url: str) -> Call:
    """A floor without httpx: HTTP/1.1 by hand on asyncio streams, the body read into nothing."""
    import asyncio
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    host, port, path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path

    async def call(prompt: str) -> list[bytes]:
        payload = {"model": MODEL, "prompt": prompt, "n": 1, "response_format": "b64_json"}
        body = json.dumps(payload).encode()
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(
                f"POST {path}/images/generations HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Authorization: Bearer {FAKE_KEY}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            head = await reader.readuntil(b"\r\n\r\n")
            fields = dict(line.split(b":", 1) for line in head.split(b"\r\n")[1:] if b":" in line)
            length = int({k.strip().lower(): v for k, v in fields.items()}[b"content-length"])
            size = 0
            while size < length:
                size += len(await reader.read(min(length - size, 1 << 20)) or b"x" * length)
        finally:
            writer.close()
        return [b"x"]

    return call


async def _receive_only(stack: contextlib.AsyncExitStack, base_url: str) -> Call:
    """A floor, not a client: post and read the body into nothing (no parsing, no decoding)."""
    import httpx

    http = await stack.enter_async_context(httpx.AsyncClient(timeout=httpx.Timeout(600.0)))
    headers = {"Authorization": f"Bearer {FAKE_KEY}"}
    url = f"{base_url}/images/generations"

    async def call(prompt: str) -> list[bytes]:
        payload = {"model": MODEL, "prompt": prompt, "n": 1, "response_format": "b64_json"}
        size = 0
        async with http.stream("POST", url, json=payload, headers=headers) as response:
            async for chunk in response.aiter_raw():
                size += len(chunk)
        return [b"x" * min(size, 1)]

    return call


async def _ours(
    stack: contextlib.AsyncExitStack, base_url: str, mode: str, verify: ssl.SSLContext | None
) -> Call:
    import httpx

    from comet_widgets import AsyncImageClient

    http = None
    if verify is not None:
        http = await stack.enter_async_context(httpx.AsyncClient(verify=verify, timeout=600.0))
    client = await stack.enter_async_context(
        AsyncImageClient(api_key=FAKE_KEY, base_url=base_url, max_retries=0, http_client=http)
    )

    async def call(prompt: str) -> list[bytes]:
        generation = await client.generate(prompt, model=MODEL, response_format=mode)
        return [image.data for image in generation.images if image.data is not None]

    return call


async def _httpx(
    stack: contextlib.AsyncExitStack, base_url: str, mode: str, verify: ssl.SSLContext | None
) -> Call:
    import httpx

    http = await stack.enter_async_context(
        httpx.AsyncClient(timeout=httpx.Timeout(600.0), verify=verify or True)
    )
    headers = {"Authorization": f"Bearer {FAKE_KEY}"}
    url = f"{base_url}/images/generations"

    async def call(prompt: str) -> list[bytes]:
        payload = {"model": MODEL, "prompt": prompt, "n": 1, "response_format": mode}
        response = await http.post(url, json=payload, headers=headers)
        response.raise_for_status()
        document: dict[str, Any] = json.loads(response.content)
        out = []
        for item in document["data"]:
            if item.get("b64_json") is not None:
                out.append(base64.b64decode(item["b64_json"]))
            else:
                image = await http.get(item["url"])
                image.raise_for_status()
                out.append(image.content)
        return out

    return call


async def _sdk(
    stack: contextlib.AsyncExitStack, base_url: str, mode: str, verify: ssl.SSLContext | None
) -> Call:
    import openai

    http = None if verify is None else openai.DefaultAsyncHttpxClient(verify=verify)
    sdk = openai.AsyncOpenAI(
        api_key=FAKE_KEY, base_url=base_url, max_retries=0, timeout=600.0, http_client=http
    )
    stack.push_async_callback(sdk.close)
    download: Any = None
    if mode == "url":
        import httpx

        download = await stack.enter_async_context(httpx.AsyncClient(timeout=600.0))

    async def call(prompt: str) -> list[bytes]:
        answer: Any = await sdk.images.generate(
            model=MODEL,
            prompt=prompt,
            n=1,
            response_format=mode,  # type: ignore[arg-type]
        )
        out = []
        for item in answer.data or []:
            if item.b64_json is not None:
                out.append(base64.b64decode(item.b64_json))
            else:
                image = await download.get(item.url)
                out.append(image.content)
        return out

    return call
