"""Over a real socket: multi-megabyte answers and uploads arrive intact (the client's capped
chunk loop and multipart body), and a proxy set in the environment is used."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json

import numpy as np
import pytest
from PIL import Image

from comet_widgets import AsyncImageClient
from comet_widgets.testing import FakeAPI


def noisy_png(side: int, seed: int) -> bytes:
    """A PNG of noise: megabytes that do not compress."""
    pixels = np.random.default_rng(seed).integers(0, 255, (side, side, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG", compress_level=1)
    return out.getvalue()


async def test_a_multi_megabyte_answer_arrives_intact(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    data = noisy_png(1100, seed=1)
    assert len(data) > 3 * 1024 * 1024  # more than several socket reads
    fake.image_bytes = data
    generation = await client.generate("x", model="gpt-image-2", n=2)
    assert [image.data for image in generation.images] == [data, data]


@pytest.mark.slow
async def test_multi_megabyte_uploads_arrive_intact(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    inputs = [noisy_png(1100, seed=2), noisy_png(900, seed=3)]
    assert all(len(data) > 2 * 1024 * 1024 for data in inputs)
    generation = await client.edit("x", image=inputs, model="gpt-image-2")
    assert generation.ok
    edits = [r for r in fake.requests if r.path == "/v1/images/edits"]
    received = [(p.size, p.sha256) for p in edits[-1].form or [] if p.value is None]
    digests = [hashlib.sha256(data).hexdigest() for data in inputs]
    assert received == [(len(data), d) for data, d in zip(inputs, digests, strict=True)]
    assert [image["sha256"] for image in generation.params["image"]] == digests


async def test_a_proxy_set_in_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """The request goes to the proxy named by HTTP_PROXY, not to the API host (which is down)."""
    seen: list[bytes] = []
    pixel = Image.new("RGB", (8, 8), (1, 2, 3))
    out = io.BytesIO()
    pixel.save(out, "PNG")
    answer = json.dumps(
        {"created": 1, "data": [{"b64_json": base64.b64encode(out.getvalue()).decode()}]}
    ).encode()

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        seen.append(head.split(b"\r\n")[0])
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        await reader.readexactly(length)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(answer), answer)
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(proxy, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{port}")
    try:
        # Port 9 on loopback: nothing listens there, so only the proxy can answer.
        async with AsyncImageClient(
            api_key="sk-proxy-test-key", base_url="http://127.0.0.1:9/v1", max_retries=0
        ) as client:
            generation = await client.generate("x", model="gpt-image-2")
    finally:
        server.close()
        await server.wait_closed()
    assert generation.images[0].data == out.getvalue()
    assert seen == [b"POST http://127.0.0.1:9/v1/images/generations HTTP/1.1"]
